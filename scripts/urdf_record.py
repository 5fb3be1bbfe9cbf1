"""Write a JSON record of a robot URDF: its joints (type, limits, mimic, kinematics) and links.

The commercial hands' URDFs are not all under licences this package can ship, so their
retargeting configs are checked (``test/test_urdf_records.py``) against these records
instead: the facts read from one public URDF at one commit, with where it came from.

    # from a git repository (e.g. the bare mirror of github.com/dexsuite/dex-urdf)
    python scripts/urdf_record.py --git-dir DEX_URDF.git --commit HEAD \\
        --path robots/hands/leap_hand/leap_hand_right.urdf \\
        --repository github.com/dexsuite/dex-urdf --licence "MIT (...)" \\
        --robot leap_hand --side right -o config/retargeting/urdf_records/leap_hand_right.json
    # from a file
    python scripts/urdf_record.py --file my_hand.urdf --robot my_hand --side left

xacro files are read as plain XML (joints and links anywhere in the tree, e.g. inside a
``xacro:macro``); ``--define prefix=ah_`` replaces ``${prefix}`` first. Nothing else of
xacro is evaluated, so a record of a xacro holds only literal values.
Only the standard library is used (xml.etree, json, hashlib, subprocess for git).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

FORMAT = 1


def _floats(text: str | None, default: tuple[float, ...]) -> list[float]:
    return [float(v) for v in text.split()] if text else list(default)


def _joint(element: ET.Element) -> dict[str, Any]:
    """One ``<joint>``: name, type, parent, child, origin, axis, limits and mimic."""
    origin = element.find("origin")
    axis = element.find("axis")
    joint: dict[str, Any] = {
        "name": element.get("name"), "type": element.get("type"),
        "parent": element.find("parent").get("link"),
        "child": element.find("child").get("link"),
        "xyz": _floats(origin.get("xyz") if origin is not None else None, (0.0, 0.0, 0.0)),
        "rpy": _floats(origin.get("rpy") if origin is not None else None, (0.0, 0.0, 0.0)),
    }
    if joint["type"] == "fixed":
        return joint
    joint["axis"] = _floats(axis.get("xyz") if axis is not None else None, (1.0, 0.0, 0.0))
    limit = element.find("limit")
    if limit is not None and limit.get("lower") is not None:
        joint["lower"] = float(limit.get("lower"))
        joint["upper"] = float(limit.get("upper"))
    mimic = element.find("mimic")
    if mimic is not None:
        joint["mimic"] = {"joint": mimic.get("joint"),
                          "multiplier": float(mimic.get("multiplier", 1.0)),
                          "offset": float(mimic.get("offset", 0.0))}
    return joint


def record_from_urdf(text: str, defines: dict[str, str] | None = None) -> dict[str, Any]:
    """The kinematic facts of a URDF (or literal xacro) text.

    Returns a dict with ``robot_name``, ``root_link``, ``links`` (every link name, file
    order), ``joints`` (every movable joint, file order: name, type, parent, child, xyz,
    rpy, axis, lower, upper, mimic when present) and ``fixed_joints`` (name, parent,
    child, xyz, rpy), enough to check names, limits and the zero-pose geometry.

    Raises:
        ValueError: not XML, or not exactly one root link.
    """
    for key, value in (defines or {}).items():
        text = text.replace("${" + key + "}", value)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"not a URDF: {exc}") from exc
    links = [e.get("name") for e in root.iter("link") if e.get("name")]
    # <joint> with a type: kinematic joints (transmission / ros2_control ones have none)
    joints = [_joint(e) for e in root.iter("joint") if e.get("type")]
    children = {j["child"] for j in joints}
    roots = [link for link in links if link not in children]
    if len(roots) != 1:
        raise ValueError(f"expected one root link, found {roots}")
    return {"robot_name": root.get("name"), "root_link": roots[0], "links": links,
            "joints": [j for j in joints if j["type"] != "fixed"],
            "fixed_joints": [j for j in joints if j["type"] == "fixed"]}


def _git(git_dir: str, *args: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True,
                          capture_output=True).stdout


def _command(args: argparse.Namespace, commit: str) -> str:
    """The command line that reproduces the record (the local git dir as a placeholder)."""
    words = ["python", "scripts/urdf_record.py"]
    if args.git_dir:
        words += ["--git-dir", f"<clone of {args.repository or 'the repository'}>",
                  "--commit", commit, "--path", args.path]
    else:
        words += ["--file", args.file]
    for flag in ("repository", "licence", "licence_file", "robot", "side", "note"):
        value = getattr(args, flag)
        if value:
            words += [f"--{flag.replace('_', '-')}", value]
    for define in args.define:
        words += ["--define", define]
    return shlex.join(words)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--git-dir", help="git repository to read --path from at --commit")
    where.add_argument("--file", help="a URDF file")
    parser.add_argument("--commit", default="HEAD", help="with --git-dir (resolved to 40 hex)")
    parser.add_argument("--path", help="path in the repository (with --git-dir)")
    parser.add_argument("--repository", default="", help="e.g. github.com/dexsuite/dex-urdf")
    parser.add_argument("--licence", default="", help="the licence as stated by the source")
    parser.add_argument("--licence-file", default="", help="path of the licence in the repository")
    parser.add_argument("--robot", required=True)
    parser.add_argument("--side", default="")
    parser.add_argument("--note", default="")
    parser.add_argument("--define", action="append", default=[], metavar="NAME=VALUE",
                        help="replace ${NAME} by VALUE before parsing (xacro properties)")
    parser.add_argument("-o", "--output", help="JSON file (default: stdout)")
    args = parser.parse_args(argv)
    defines = dict(d.split("=", 1) for d in args.define)
    if args.git_dir:
        if not args.path:
            parser.error("--git-dir needs --path")
        commit = _git(args.git_dir, "rev-parse", f"{args.commit}^{{commit}}").decode().strip()
        data = _git(args.git_dir, "show", f"{commit}:{args.path}")
        path = args.path
    else:
        commit, path = "", args.path or Path(args.file).name
        data = Path(args.file).read_bytes()
    record = {
        "format": FORMAT, "robot": args.robot, "side": args.side,
        "source": {"repository": args.repository, "commit": commit, "path": path,
                   "sha256": hashlib.sha256(data).hexdigest(),
                   "licence": args.licence, "licence_file": args.licence_file},
        "made_by": _command(args, commit),
        "defines": defines, "note": args.note,
        **record_from_urdf(data.decode("utf-8"), defines),
    }
    text = json.dumps(record, indent=1) + "\n"
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
