"""A node's ROS parameters as one table: declare each once (descriptor, range, choices).

A node module lists ``ParamSpec``s; :func:`declare_all` declares them on the node with a
read-only ``ParameterDescriptor`` (description, numeric range or allowed values) and
returns the values; :func:`check_value` validates a value against its spec (used by the
config dataclasses' ``__post_init__``, so a YAML typo is refused even without ROS).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: name, default (its type is the parameter's type), description,
    inclusive numeric range [low, high] or allowed string values."""

    name: str
    default: Any
    description: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None


def check_value(spec: ParamSpec, value: Any) -> None:
    """Raise ValueError naming the parameter when ``value`` is outside its choices/range."""
    if spec.choices is not None and value not in spec.choices:
        raise ValueError(f"parameter {spec.name} must be one of {', '.join(spec.choices)}; "
                         f"got {value!r}")
    if spec.low is not None and spec.high is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"parameter {spec.name} must be a number, got {value!r}")
        if not spec.low <= value <= spec.high:
            raise ValueError(f"parameter {spec.name} must be in [{spec.low}, {spec.high}], "
                             f"got {value!r}")


def descriptor(spec: ParamSpec):
    """The read-only ``rcl_interfaces/ParameterDescriptor`` of ``spec``."""
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

    desc = ParameterDescriptor(name=spec.name, description=spec.description, read_only=True)
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


def declare_all(node, specs: Iterable[ParamSpec]) -> dict[str, Any]:
    """Declare every spec on ``node``; returns ``{name: value}`` (YAML/CLI overrides
    applied). rclpy enforces the ranges (``InvalidParameterValueException``); choices
    are checked by the caller's config dataclass."""
    return {spec.name: node.declare_parameter(spec.name, spec.default, descriptor(spec)).value
            for spec in specs}
