"""What a robot hand's ROS 2 driver takes: the ``driver:`` block of a robot config, ROS-free.

A retargeting config may name the hand's driver and what it expects, read from the
driver's public source (repository and commit in ``source``)::

    driver:
      package: leap_hand (LEAP_Hand_API/ros2_module, node leaphand_node)
      source: github.com/leap-hand/LEAP_Hand_API @ b0d00c8, ros2_module/...
      outputs:
        - topic: /cmd_leap
          type: joint_state          # joint_state | trajectory | float64_array | digits
          joints: ["0", "1", ...]    # our (URDF) joint names, in the driver's order
          names: ["0", "1", ...]     # the driver's names for them (default: joints)
          scale: 1.0                 # driver value = scale * position + offset
          offset: 3.141592653589793  # (a number, or one per joint)
      measured_state_topic: ""       # the driver's sensor_msgs/JointState, "" if none

Message types of ``type``: ``joint_state`` sensor_msgs/JointState (name + position);
``trajectory`` trajectory_msgs/JointTrajectory (one point, for a ros2_control
JointTrajectoryController's ``~/joint_trajectory``); ``float64_array``
std_msgs/Float64MultiArray (a ForwardCommandController's ``~/commands``, data in the
controller's joint order); ``digits`` ah_messages/Digits (PSYONIC's Ability Hand node:
``reply_mode`` 0 and ``data``). The conversion to messages is
``rejshand_ros.ros.joint_msgs.driver_messages``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

OUTPUT_TYPES = ("joint_state", "trajectory", "float64_array", "digits")


class DriverConfigError(ValueError):
    """A ``driver:`` block that cannot be used."""


@dataclass(frozen=True)
class DriverOutput:
    """One message the driver takes (see the module docstring).

    joints: our joint names in the driver's order; names: the driver's names of them;
    scale, offset: (len(joints),) driver value = scale * position + offset.
    """

    topic: str
    type: str
    joints: tuple[str, ...]
    names: tuple[str, ...]
    scale: tuple[float, ...]
    offset: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.topic:
            raise DriverConfigError("driver output: topic is empty")
        if self.type not in OUTPUT_TYPES:
            raise DriverConfigError(f"driver output {self.topic}: type must be one of "
                                    f"{OUTPUT_TYPES}, got {self.type!r}")
        n = len(self.joints)
        if n == 0 or len(set(self.joints)) != n:
            raise DriverConfigError(f"driver output {self.topic}: joints must be distinct "
                                    f"and not empty, got {list(self.joints)}")
        for field_name in ("names", "scale", "offset"):
            if len(getattr(self, field_name)) != n:
                raise DriverConfigError(f"driver output {self.topic}: {field_name} needs "
                                        f"{n} entries (one per joint)")
        if not all(np.isfinite(self.scale)) or any(s == 0 for s in self.scale):
            raise DriverConfigError(f"driver output {self.topic}: scale must be finite "
                                    "and non-zero")

    def values(self, joint_names: Sequence[str], positions: np.ndarray) -> np.ndarray:
        """(len(joints),) driver values from positions (J,) in ``joint_names`` order.

        Raises:
            DriverConfigError: a joint of this output is not among ``joint_names``.
        """
        index = {name: i for i, name in enumerate(joint_names)}
        missing = [j for j in self.joints if j not in index]
        if missing:
            raise DriverConfigError(f"driver output {self.topic}: joints {missing} are not "
                                    f"joints of the robot ({list(joint_names)})")
        positions = np.asarray(positions, dtype=np.float64)
        picked = positions[[index[j] for j in self.joints]]
        return picked * np.asarray(self.scale) + np.asarray(self.offset)


@dataclass(frozen=True)
class DriverSpec:
    """A hand's driver: package and source (documentation), its outputs and the topic of
    its measured joint states ("" when it publishes none)."""

    package: str
    source: str
    outputs: tuple[DriverOutput, ...]
    measured_state_topic: str = ""
    note: str = ""

    def check_joints(self, joint_names: Sequence[str],
                     mimic: Mapping[str, tuple[str, float, float]] | None = None) -> None:
        """Every output joint is a robot joint; every robot joint is driven, or is a
        mimic joint of a driven one. Raises DriverConfigError naming the problem."""
        known = set(joint_names)
        driven = {j for output in self.outputs for j in output.joints}
        unknown = sorted(driven - known)
        if unknown:
            raise DriverConfigError(f"driver {self.package}: {unknown} are not joints of the "
                                    f"robot ({sorted(known)})")
        mimic = mimic or {}
        undriven = sorted(j for j in known - driven
                          if not (j in mimic and mimic[j][0] in driven))
        if undriven:
            raise DriverConfigError(f"driver {self.package}: the robot's joints {undriven} "
                                    "are in no output (and mimic no driven joint)")

    def measured_positions(self, names: Sequence[str], positions: Sequence[float],
                           joint_names: Sequence[str],
                           mimic: Mapping[str, tuple[str, float, float]] | None = None
                           ) -> np.ndarray | None:
        """Our (J,) positions from the driver's JointState (``names``, ``positions``), or
        None when a joint is missing. A joint is looked up by our name, then by the
        driver's name (value converted back: (value - offset) / scale), then computed
        from the joint it mimics (URDF ``<mimic>``: multiplier * source + offset)."""
        given = dict(zip(names, (float(p) for p in positions)))
        by_driver_name: dict[str, float] = {}
        for output in self.outputs:
            for joint, name, scale, offset in zip(output.joints, output.names, output.scale,
                                                  output.offset):
                if name in given:
                    by_driver_name.setdefault(joint, (given[name] - offset) / scale)
        return measured_from_names(given, by_driver_name, joint_names, mimic)


def measured_from_names(given: Mapping[str, float], converted: Mapping[str, float],
                        joint_names: Sequence[str],
                        mimic: Mapping[str, tuple[str, float, float]] | None = None
                        ) -> np.ndarray | None:
    """(J,) positions of ``joint_names`` from ``given`` (our names) or ``converted``
    (from the driver's names), mimic joints computed from their source; None if any is
    missing or not finite."""
    mimic = mimic or {}
    values: dict[str, float] = {}
    for joint in joint_names:
        if joint in given:
            values[joint] = given[joint]
        elif joint in converted:
            values[joint] = converted[joint]
    for joint in joint_names:
        if joint not in values and joint in mimic and mimic[joint][0] in values:
            source, multiplier, offset = mimic[joint]
            values[joint] = multiplier * values[source] + offset
    if any(joint not in values for joint in joint_names):
        return None
    out = np.array([values[joint] for joint in joint_names], dtype=np.float64)
    return out if np.isfinite(out).all() else None


def _per_joint(value: Any, n: int, what: str, where: str) -> tuple[float, ...]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (float(value),) * n
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == n:
        try:
            return tuple(float(v) for v in value)
        except (TypeError, ValueError):
            pass
    raise DriverConfigError(f"{where}: {what} must be a number or a list of {n} numbers, "
                            f"got {value!r}")


def driver_from_dict(block: Mapping[str, Any], where: str = "driver") -> DriverSpec:
    """A DriverSpec from a config's ``driver:`` mapping (DriverConfigError if invalid)."""
    if not isinstance(block, Mapping):
        raise DriverConfigError(f"{where}: 'driver:' must be a mapping")
    unknown = sorted(set(block) - {"package", "source", "outputs", "measured_state_topic",
                                   "note"})
    if unknown:
        raise DriverConfigError(f"{where}: unknown driver keys {unknown}")
    outputs = []
    for i, item in enumerate(block.get("outputs") or []):
        here = f"{where}.outputs[{i}]"
        if not isinstance(item, Mapping):
            raise DriverConfigError(f"{here}: must be a mapping")
        extra = sorted(set(item) - {"topic", "type", "joints", "names", "scale", "offset"})
        if extra:
            raise DriverConfigError(f"{here}: unknown keys {extra}")
        joints = tuple(str(j) for j in item.get("joints") or [])
        names = tuple(str(n) for n in item.get("names") or joints)
        try:
            outputs.append(DriverOutput(
                topic=str(item.get("topic", "")), type=str(item.get("type", "")),
                joints=joints, names=names,
                scale=_per_joint(item.get("scale", 1.0), len(joints), "scale", here),
                offset=_per_joint(item.get("offset", 0.0), len(joints), "offset", here)))
        except DriverConfigError as exc:
            raise DriverConfigError(f"{where}: {exc}") from exc
    if not outputs:
        raise DriverConfigError(f"{where}: give at least one entry under 'outputs:'")
    return DriverSpec(package=str(block.get("package", "")), source=str(block.get("source", "")),
                      outputs=tuple(outputs),
                      measured_state_topic=str(block.get("measured_state_topic", "") or ""),
                      note=str(block.get("note", "") or ""))
