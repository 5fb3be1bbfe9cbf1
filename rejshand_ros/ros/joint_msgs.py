"""Pure conversions from retargeting results to ROS messages (no node, no spinning)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from builtin_interfaces.msg import Duration, Time
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from sensor_msgs.msg import JointState
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint


def duration_msg(seconds: float) -> Duration:
    """Seconds (>= 0) -> builtin_interfaces/Duration."""
    nanoseconds = int(round(max(float(seconds), 0.0) * 1e9))
    return Duration(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def joint_trajectory_msg(joint_names: Sequence[str], positions: np.ndarray,
                         time_from_start: float) -> JointTrajectory:
    """One-point JointTrajectory, header.stamp zero: the controller executes it on receipt.

    Args:
        joint_names: the robot's joints, in the order of ``positions``.
        positions: (J,) rad (m for prismatic joints).
        time_from_start: s after receipt at which the point is to be reached.
    """
    positions = np.asarray(positions, dtype=np.float64)
    if positions.shape != (len(joint_names),) or not np.isfinite(positions).all():
        raise ValueError(f"need {len(joint_names)} finite positions, got {positions}")
    msg = JointTrajectory()
    msg.header.stamp = Time(sec=0, nanosec=0)  # zero: start now (a past stamp is rejected)
    msg.joint_names = list(joint_names)
    point = JointTrajectoryPoint()
    point.positions = positions.tolist()
    point.time_from_start = duration_msg(time_from_start)
    msg.points = [point]
    return msg


def joint_state_msg(stamp: Time, joint_names: Sequence[str],
                    positions: np.ndarray) -> JointState:
    """JointState of the commanded positions, stamped with the source image's time."""
    positions = np.asarray(positions, dtype=np.float64)
    if positions.shape != (len(joint_names),) or not np.isfinite(positions).all():
        raise ValueError(f"need {len(joint_names)} finite positions, got {positions}")
    msg = JointState()
    msg.header.stamp = stamp
    msg.name = list(joint_names)
    msg.position = positions.tolist()
    return msg


def diagnostic_status(name: str, hardware_id: str, level: bytes, message: str,
                      values: Mapping[str, object]) -> DiagnosticStatus:
    """DiagnosticStatus with ``values`` as key/value strings (floats with 3 decimals)."""
    status = DiagnosticStatus(name=name, hardware_id=hardware_id, level=level, message=message)
    status.values = [KeyValue(key=str(k), value=(f"{v:.3f}" if isinstance(v, float) else str(v)))
                     for k, v in values.items()]
    return status
