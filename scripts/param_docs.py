"""Write (or check) the README's parameter tables from the nodes' declarations.

    .venv/bin/python scripts/param_docs.py          # rewrite README.md's tables
    .venv/bin/python scripts/param_docs.py --check  # exit 1 when README.md is stale

Each table sits between the marker comments of ``rejshand_ros.ros.param_specs.
readme_markers``; ``test/test_parameters.py`` fails when one differs from its declaration.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rejshand_ros.ros.image_source_params import ImageSourceConfig
from rejshand_ros.ros.node_params import HandPoseNodeConfig
from rejshand_ros.ros.param_specs import markdown_table, replace_table
from rejshand_ros.ros.retarget_params import RetargetNodeConfig

NODES = {"hand_pose_node": HandPoseNodeConfig, "retarget_node": RetargetNodeConfig,
         "image_source_node": ImageSourceConfig}


def render(text: str) -> str:
    """``text`` with every node's table regenerated."""
    for name, config in NODES.items():
        text = replace_table(text, name, markdown_table(config.specs()))
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report a stale README")
    parser.add_argument("--readme", default=str(Path(__file__).resolve().parents[1]
                                                / "README.md"))
    args = parser.parse_args(argv)
    path = Path(args.readme)
    text = path.read_text(encoding="utf-8")
    try:
        new = render(text)
    except ValueError as exc:
        print(f"param_docs: error: {path}: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if new != text:
            print(f"param_docs: {path} is stale: run scripts/param_docs.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
