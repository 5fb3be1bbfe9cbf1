"""Let a second venv use big packages of .venv by reference instead of a copy.

    python scripts/share_packages.py SOURCE_VENV TARGET_VENV

Links (symlinks) every top-level entry of the distributions matching ``SHARED`` in
SOURCE_VENV's site-packages (package directories, modules, .libs folders and their
.dist-info, so pip sees them as installed) into ``TARGET_VENV/shared`` and adds that
folder to TARGET_VENV's ``sys.path`` with ``rejshand_shared.pth``. The .pth entry comes
after TARGET_VENV's own site-packages, so anything the target installs itself wins (its
numpy 1.26 over .venv's numpy 2, which is not shared). Run with the target venv's Python
or any Python 3.11. Prints the number of distributions and entries linked.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import re
import shutil
import sys
from pathlib import Path

#: torch and what it needs at run time (all numpy-free), plus torchvision: the ~5.6 GB
#: of CUDA-enabled wheels that the Jazzy venv would otherwise hold a second copy of
SHARED = re.compile(r"^(torch|torchvision|triton|nvidia-.*|cuda-.*|sympy|mpmath|networkx|"
                    r"jinja2|markupsafe|filelock|fsspec|typing-extensions)$")


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if len(found) != 1:
        raise SystemExit(f"share_packages: error: no single site-packages in {venv}")
    return found[0]


def shared_entries(source: Path) -> tuple[int, list[str]]:
    """(number of distributions, top-level entry names) to link from ``source``."""
    entries, count = set(), 0
    for dist in metadata.distributions(path=[str(source)]):
        name = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        if not SHARED.match(name):
            continue
        count += 1
        for file in dist.files or []:
            top = Path(file).parts[0]
            if top not in ("..", "__pycache__"):
                entries.add(top)
    return count, sorted(entries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source_venv", type=Path)
    parser.add_argument("target_venv", type=Path)
    args = parser.parse_args(argv)
    source = site_packages(args.source_venv.resolve())
    target_site = site_packages(args.target_venv.resolve())
    count, entries = shared_entries(source)
    if not count:
        print(f"share_packages: error: nothing to share in {source}", file=sys.stderr)
        return 1
    shared = args.target_venv.resolve() / "shared"
    if shared.exists():
        shutil.rmtree(shared)
    shared.mkdir()
    for entry in entries:
        (shared / entry).symlink_to(source / entry)
    (target_site / "rejshand_shared.pth").write_text(f"{shared}\n")
    print(f"shared {count} distributions ({len(entries)} entries) from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
