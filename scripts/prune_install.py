"""Delete installed copies of hand-written modules (and package data: weights, hand-model
files) that no longer exist in the checkout.

``cmake --install`` copies files but never removes them, so a module deleted or renamed
in the source tree would stay importable from the venv and hide a broken import.
Generated message code (``msg/``, compiled extensions) is left alone.

usage: python scripts/prune_install.py <source package dir> <install prefix>
"""

import sys
import sysconfig
from pathlib import Path


def main() -> int:
    source = Path(sys.argv[1]).resolve()
    prefix = Path(sys.argv[2]).resolve()
    purelib = Path(sysconfig.get_paths(vars={"base": str(prefix), "platbase": str(prefix)})["purelib"])
    installed = purelib / source.name
    if not installed.is_dir():
        return 0
    data = [p for top in ("weights", "hand_model/data") for p in (installed / top).rglob("*")
            if p.is_file()] if installed.is_dir() else []
    for path in sorted(installed.rglob("*.py")) + sorted(data):
        relative = path.relative_to(installed)
        if relative.parts[0] == "msg" or relative.name.startswith("_" + source.name):
            continue
        if not (source / relative).exists():
            print(f"[setup] removing stale installed file {relative}", file=sys.stderr)
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
