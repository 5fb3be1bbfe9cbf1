"""A node's ROS parameters, each declared once: as a field of its config dataclass.

A node's config class derives from :class:`NodeConfig` and declares every parameter with
:func:`param` (default, description, numeric range or allowed values, whether it may
change at run time). Everything else follows from that one declaration:

- :meth:`NodeConfig.specs` -> :class:`ParamSpec` table;
- :meth:`NodeConfig.declare` -> ``declare_parameter`` with a ``ParameterDescriptor``
  (description, range, ``read_only`` unless tunable) and the validated config;
- ``__post_init__`` -> validation of every value (choices, range, type), also without ROS;
- :func:`add_tuning_callback` -> a parameter callback that accepts run-time changes of
  tunable parameters only, validated like the config, refusing bad ones with a reason;
- :func:`markdown_table` -> the tables of ``docs/parameters.md`` (``scripts/param_docs.py``);
- the YAML files under ``config/`` are checked against it by ``test/test_parameters.py``.

No rclpy import at module level: configs and tables are used without ROS.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

_META = "rejshand_param"
C = TypeVar("C", bound="NodeConfig")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: name, default (its type is the parameter's type), description,
    inclusive numeric range [low, high] or allowed string values, and whether it may be
    changed while the node runs."""

    name: str
    default: Any
    description: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    tunable: bool = False


def param(default: Any, description: str, low: float | None = None,
          high: float | None = None, *, choices: tuple[str, ...] | None = None,
          tunable: bool = False) -> Any:
    """A config dataclass field that is also a ROS parameter (see the module docstring).

    ``tunable``: may change at run time through ``set_parameters`` (validated); otherwise
    the parameter is read-only after start-up.
    """
    if (low is None) != (high is None):
        raise ValueError("param: give both low and high, or neither")
    return field(default=default, metadata={_META: dict(
        description=description, low=low, high=high, choices=choices, tunable=tunable)})


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number",
            str: "a string"}.get(type(value), type(value).__name__)


def check_value(spec: ParamSpec, value: Any) -> None:
    """Raise ValueError naming the parameter when ``value`` has the wrong type or lies
    outside its choices/range. Integers are accepted for float parameters."""
    expected = type(spec.default)
    ok_type = (type(value) is expected
               or (expected is float and type(value) is int))
    if not ok_type:
        raise ValueError(f"parameter {spec.name} must be {_type_name(spec.default)}, "
                         f"got {value!r}")
    if spec.choices is not None and value not in spec.choices:
        raise ValueError(f"parameter {spec.name} must be one of {', '.join(spec.choices)}; "
                         f"got {value!r}")
    if spec.low is not None and spec.high is not None and not spec.low <= value <= spec.high:
        raise ValueError(f"parameter {spec.name} must be in [{spec.low:g}, {spec.high:g}], "
                         f"got {value!r}")


class NodeConfig:
    """Base of a node's config dataclass whose fields are declared with :func:`param`.

    Subclasses are ``@dataclass``es; override :meth:`check` for rules that involve
    several parameters (raise ValueError naming them).
    """

    def __post_init__(self) -> None:
        for spec in self.specs():
            check_value(spec, getattr(self, spec.name))
        self.check()

    def check(self) -> None:
        """Cross-parameter rules (none by default)."""

    @classmethod
    def specs(cls) -> tuple[ParamSpec, ...]:
        """The parameter table, in declaration order."""
        return tuple(ParamSpec(f.name, f.default, **f.metadata[_META])
                     for f in dataclasses.fields(cls) if _META in f.metadata)

    @classmethod
    def from_values(cls: type[C], values: dict[str, Any]) -> C:
        """From ``{name: value}`` (unknown names raise ValueError naming them)."""
        known = {spec.name for spec in cls.specs()}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} parameter(s): {unknown}")
        return cls(**values)

    @classmethod
    def declare(cls: type[C], node) -> C:
        """Declare every parameter on ``node`` (YAML/CLI overrides applied) and return
        the validated config.

        Raises:
            ValueError: a value of the wrong type or outside its choices (rclpy itself
                refuses out-of-range numbers with ``InvalidParameterValueException``).
        """
        return cls.from_values({
            spec.name: node.declare_parameter(spec.name, spec.default, descriptor(spec)).value
            for spec in cls.specs()})

    def replaced(self: C, changes: dict[str, Any]) -> C:
        """A validated copy with ``changes`` applied (ValueError when invalid)."""
        try:
            return dataclasses.replace(self, **changes)
        except TypeError as exc:  # unknown field
            raise ValueError(str(exc)) from exc


def descriptor(spec: ParamSpec):
    """The ``rcl_interfaces/ParameterDescriptor`` of ``spec`` (read-only unless tunable)."""
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

    desc = ParameterDescriptor(name=spec.name, description=spec.description,
                               read_only=not spec.tunable)
    if spec.choices is not None:
        desc.additional_constraints = "one of: " + ", ".join(spec.choices)
    if spec.low is not None and spec.high is not None:
        if isinstance(spec.default, int) and not isinstance(spec.default, bool):
            desc.integer_range = [IntegerRange(from_value=int(spec.low),
                                               to_value=int(spec.high), step=1)]
        else:
            desc.floating_point_range = [FloatingPointRange(
                from_value=float(spec.low), to_value=float(spec.high), step=0.0)]
    return desc


def add_tuning_callback(node, current: Callable[[], C], apply: Callable[[C], None]):
    """Accept run-time changes of ``current()``'s tunable parameters on ``node``.

    ``set_parameters`` on a tunable parameter builds a new config with the changes (the
    same validation as at start-up), hands it to ``apply`` (which may raise ValueError to
    refuse, e.g. a combination its pipeline cannot take) and reports success; anything
    else is refused with the reason in ``SetParametersResult.reason``. Parameters not in
    the config (``use_sim_time``) are left to rclpy. Register after declaring: rclpy
    calls the callback for declarations too. Uses ``add_on_set_parameters_callback``,
    which rclpy has on every distro from Humble on.
    """
    from rcl_interfaces.msg import SetParametersResult

    specs = {spec.name: spec for spec in type(current()).specs()}

    def on_set(parameters) -> SetParametersResult:
        changes = {p.name: p.value for p in parameters if p.name in specs}
        if not changes:
            return SetParametersResult(successful=True)
        fixed = sorted(name for name in changes if not specs[name].tunable)
        if fixed:
            return SetParametersResult(successful=False, reason=(
                f"{', '.join(fixed)} cannot change at run time (read-only: restart the "
                "node with the new value)"))
        try:
            apply(current().replaced(changes))
        except ValueError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    node.add_on_set_parameters_callback(on_set)
    return on_set


def _cell(text: str) -> str:
    return (str(text).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")
            .replace(">", "&gt;"))


def format_value(value: Any) -> str:
    """A parameter value as the documentation tables write it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    return repr(float(value)) if isinstance(value, float) else str(value)


def markdown_table(specs: tuple[ParamSpec, ...]) -> str:
    """The docs/parameters.md table of ``specs`` (one row each, declaration order)."""
    lines = ["| name | default | range / choices | at run time | meaning |",
             "|---|---|---|---|---|"]
    for spec in specs:
        if spec.choices is not None:
            allowed = " \\| ".join(f"`{c}`" if c else '`""`' for c in spec.choices)
        elif spec.low is not None:
            kind = type(spec.default)
            allowed = f"[{format_value(kind(spec.low))}, {format_value(kind(spec.high))}]"
        else:
            allowed = ""
        lines.append(f"| `{spec.name}` | {format_value(spec.default)} | {allowed} | "
                     f"{'tunable' if spec.tunable else 'read-only'} | "
                     f"{_cell(spec.description)} |")
    return "\n".join(lines)


def readme_markers(node_name: str) -> tuple[str, str]:
    """The comment lines around ``node_name``'s generated table in docs/parameters.md."""
    return (f"<!-- parameters of {node_name}: generated by scripts/param_docs.py -->",
            f"<!-- end of the parameters of {node_name} -->")


def replace_table(text: str, node_name: str, table: str) -> str:
    """``text`` (docs/parameters.md) with the table between ``node_name``'s markers replaced.

    Raises:
        ValueError: the markers are missing or out of order.
    """
    begin, end = readme_markers(node_name)
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise ValueError(f"the document lacks the lines {begin!r} ... {end!r}")
    return text[:start + len(begin)] + "\n" + table + "\n" + text[stop:]
