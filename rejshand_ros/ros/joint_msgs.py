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
    """JointState of the commanded positions (``joint_commands``), stamped with the source
    image's time."""
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


def driver_message(output, values: np.ndarray, stamp: Time, time_from_start: float):
    """The message a hand's driver takes (``retarget.drivers.DriverOutput``) for driver
    ``values`` (len(output.joints),) in the driver's order, units and offsets.

    joint_state: JointState (stamp, the driver's names, position); trajectory: one-point
    JointTrajectory (as ``joint_trajectory_msg``); float64_array: Float64MultiArray
    (data only); digits: ah_messages/Digits (reply_mode 0, data as float32).

    Raises:
        ValueError: values of the wrong length or not finite.
        ImportError: digits without the ah_messages package.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(output.joints),) or not np.isfinite(values).all():
        raise ValueError(f"{output.topic}: need {len(output.joints)} finite values, got {values}")
    if output.type == "joint_state":
        return joint_state_msg(stamp, output.names, values)
    if output.type == "trajectory":
        return joint_trajectory_msg(output.names, values, time_from_start)
    if output.type == "float64_array":
        from std_msgs.msg import Float64MultiArray

        return Float64MultiArray(data=values.tolist())
    if output.type == "digits":
        from ah_messages.msg import Digits

        return Digits(reply_mode=0, data=values.astype(np.float32).tolist())
    raise ValueError(f"{output.topic}: unknown driver output type {output.type!r}")


def driver_message_type(output):
    """The message class of a DriverOutput (ImportError: digits without ah_messages)."""
    if output.type == "joint_state":
        return JointState
    if output.type == "trajectory":
        return JointTrajectory
    if output.type == "float64_array":
        from std_msgs.msg import Float64MultiArray

        return Float64MultiArray
    if output.type == "digits":
        from ah_messages.msg import Digits

        return Digits
    raise ValueError(f"{output.topic}: unknown driver output type {output.type!r}")
