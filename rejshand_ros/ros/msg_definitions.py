"""Full ROS 2 message definitions (``ros2msg`` encoding) built from installed .msg files.

MCAP readers that do not know a type ahead of time (Foxglove, ``ros2 bag`` with the
MCAP plugin, ``mcap_ros2``) decode messages from the schema stored in the file: the
type's .msg text followed by every type it depends on, recursively, each preceded by a
line of 80 ``=`` and ``MSG: <package>/msg/<Type>`` (rosbag2's
message_definition_encoding). The .msg files are read from
``<prefix>/share/<package>/msg/<Type>.msg`` of the install prefixes. No ROS import.
"""

from __future__ import annotations

import os
import re
import sys
from functools import lru_cache
from pathlib import Path

SEPARATOR = "=" * 80
PRIMITIVE_TYPES = frozenset({
    "bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16",
    "int32", "uint32", "int64", "uint64", "string", "wstring"})


class MessageDefinitionError(LookupError):
    """A .msg file is missing or a type name is malformed (the message names it)."""


def search_prefixes() -> list[Path]:
    """Install prefixes searched for share/<pkg>/msg: AMENT_PREFIX_PATH, this install,
    then sys.prefix (duplicates removed, order kept)."""
    here = Path(__file__).resolve()
    candidates = [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    if len(here.parents) > 5:
        candidates.append(here.parents[5])
    candidates.append(Path(sys.prefix))
    unique: list[Path] = []
    for path in candidates:
        if path not in unique:
            unique.append(path)
    return unique


def normalize_type(type_name: str, package: str = "") -> str:
    """'pkg/Type', 'pkg/msg/Type' or 'Type' (relative to ``package``) -> 'pkg/msg/Type'."""
    parts = type_name.strip().split("/")
    if len(parts) == 1 and package:
        parts = [package, "msg", parts[0]]
    elif len(parts) == 2:
        parts = [parts[0], "msg", parts[1]]
    if len(parts) != 3 or parts[1] != "msg" or not all(parts):
        raise MessageDefinitionError(f"not a message type name: {type_name!r}")
    return "/".join(parts)


def msg_file(type_name: str, prefixes: list[Path] | None = None) -> Path:
    """Path of the installed .msg file of ``pkg/msg/Type``."""
    package, _, name = normalize_type(type_name).split("/")
    searched = prefixes if prefixes is not None else search_prefixes()
    for prefix in searched:
        path = prefix / "share" / package / "msg" / f"{name}.msg"
        if path.is_file():
            return path
    raise MessageDefinitionError(
        f"message definition {package}/msg/{name}.msg not found under "
        f"{', '.join(str(p / 'share' / package / 'msg') for p in searched)}")


_FIELD = re.compile(r"^\s*([A-Za-z][\w/]*)(?:<=\d+)?(?:\[[^\]]*\])?\s+[A-Za-z]\w*")


def field_types(text: str, package: str) -> list[str]:
    """Non-primitive field types of a .msg text, as 'pkg/msg/Type', in order of appearance."""
    found: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _FIELD.match(line)
        if match is None:
            raise MessageDefinitionError(f"cannot parse .msg line {raw!r} of package {package}")
        type_name = match.group(1)
        rest = line[match.end():].strip()
        if type_name in PRIMITIVE_TYPES or rest.startswith("="):  # constants are primitive
            continue
        full = normalize_type(type_name, package)
        if full not in found:
            found.append(full)
    return found


@lru_cache(maxsize=None)
def _read(type_name: str) -> str:
    return msg_file(type_name).read_text()


def dependencies(type_name: str) -> list[str]:
    """Every message type ``type_name`` depends on (recursively), depth first, no repeats."""
    order: list[str] = []

    def visit(current: str) -> None:
        package = current.split("/")[0]
        for dependency in field_types(_read(current), package):
            if dependency not in order and dependency != type_name:
                order.append(dependency)
                visit(dependency)

    visit(normalize_type(type_name))
    return order


def full_definition(type_name: str) -> str:
    """The complete ``ros2msg`` definition text of ``type_name`` ('pkg/msg/Type')."""
    type_name = normalize_type(type_name)
    parts = [_read(type_name).rstrip("\n")]
    for dependency in dependencies(type_name):
        parts.append(f"{SEPARATOR}\nMSG: {dependency}\n{_read(dependency).rstrip(chr(10))}")
    return "\n".join(parts) + "\n"
