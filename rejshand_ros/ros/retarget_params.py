"""The retarget node's parameters, each declared once (``param_specs``).

The fields of :class:`RetargetNodeConfig` are the declaration; ``config/retarget.yaml``
and the docs/parameters.md table are checked against it. The command shaping (``low_pass_alpha``,
``max_rate``, ``max_joint_velocity``) and the safety timeouts are tunable at run time; the
robot, its files, the topics, the hand selection and the QoS are read-only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rejshand_ros.retarget.config import RETARGETING_TYPES
from rejshand_ros.retarget.controller import ControllerConfig
from rejshand_ros.retarget.selection import FOLLOW_CHOICES
from rejshand_ros.ros.param_specs import NodeConfig, ParamSpec, param

RELIABILITY_CHOICES = ("best_effort", "reliable")


@dataclass
class RetargetNodeConfig(NodeConfig):
    """retarget_node's parameters (see each description)."""

    robot: str = param(
        "rejshand_hand", "robot hand: a config name in config/retargeting (rejshand_hand, "
        "allegro_hand, leap_hand, shadow_hand, inspire_hand, ability_hand)")
    robot_side: str = param("right", "which hand the robot is", choices=("right", "left"))
    retargeting_type: str = param(
        "vector", "optimiser: vector (teleop), dexpilot (teleop, pinch-aware) or position "
        "(offline)", choices=RETARGETING_TYPES)
    config_file: str = param(
        "", "explicit retargeting YAML; overrides robot, robot_side, retargeting_type when "
        "set")
    urdf_dir: str = param(
        "", "directory of user-supplied robot URDFs, searched before the package's own "
        "config/robots")
    low_pass_alpha: float = param(
        -1.0, "low-pass weight of the newest solution (1 = off, smaller = smoother); < 0: "
        "the config file's value (0.2 for teleop)", -1.0, 1.0, tunable=True)
    follow_handedness: str = param(
        "same", "which human hand to follow: same (as the robot), left, right or any",
        choices=FOLLOW_CHOICES)
    follow_track_id: int = param(-1, "follow only this track id; -1 for any", -1, 2**31 - 1)
    min_score: float = param(0.5, "minimum hand presence score to follow a hand", 0.0, 1.0)
    max_missed_frames: int = param(
        2, "images without the tracked hand before it counts as lost (then the retargeter "
        "is reset)", 0, 1000)
    hand_timeout: float = param(
        0.5, "s without any hand_poses message before perception counts as stalled: the "
        "tracked hand is lost and the robot holds", 0.05, 60.0, tunable=True)
    max_input_age: float = param(
        0.5, "s; hand_poses whose image stamp is older than this (node clock) are not "
        "followed and the robot holds; 0 = no check (e.g. replaying old recordings)",
        0.0, 60.0, tunable=True)
    engaged_on_start: bool = param(
        False, "send commands from start-up without a call to the engage service")
    time_from_start: float = param(
        0.1, "s, time_from_start of the trajectory point (the controller reaches the target "
        "in this time)", 0.01, 5.0)
    max_rate: float = param(
        60.0, "Hz, most commands per second (faster input is dropped); 0 = no limit", 0.0,
        1000.0, tunable=True)
    max_joint_velocity: float = param(
        4.0, "rad/s, largest joint speed a command may ask for, relative to the previous "
        "command or, after start-up / engage / a hold, to the robot's measured state (else "
        "the last command); 0 = no limit", 0.0, 100.0, tunable=True)
    measured_state_topic: str = param(
        "", "sensor_msgs/JointState topic of the robot's measured joints (its driver's "
        "joint_states; our or the driver's joint names); every ramp starts there and no "
        "command is sent without a fresh one. Empty: ramps start from the last command")
    measured_state_timeout: float = param(
        0.5, "s; an older measured state does not count", 0.01, 60.0, tunable=True)
    heartbeat_topic: str = param(
        "", "std_msgs/Bool dead-man switch: when set, commands are sent only while true "
        "arrives at least every heartbeat_timeout (false stops at once); empty = none")
    heartbeat_timeout: float = param(
        0.3, "s; the heartbeat counts as dead after this long without a true message",
        0.01, 60.0, tunable=True)
    driver_output: bool = param(
        False, "also publish each command as the robot's ROS 2 driver takes it (the "
        "config's driver: block: topic, message type, joint order, units, offsets)")
    camera_to_robot: str = param(
        "", "static transform camera_frame -> the robot's base link for RViz, 'x y z roll "
        "pitch yaw' (m, rad, fixed axes as a URDF origin), on /tf_static; empty = none")
    camera_frame: str = param(
        "camera_optical_frame", "parent frame of camera_to_robot (the image's frame_id)")
    hand_poses_reliability: str = param(
        "best_effort", "QoS reliability of the hand_poses subscription",
        choices=RELIABILITY_CHOICES)
    diagnostics_period: float = param(1.0, "s between /diagnostics messages", 0.1, 60.0)

    def check(self) -> None:
        camera_to_robot_pose(self.camera_to_robot)  # ValueError naming the parameter


def camera_to_robot_pose(text: str) -> tuple[float, ...] | None:
    """'x y z roll pitch yaw' -> 6 floats (m, rad), or None for an empty text.

    Raises:
        ValueError: not six finite numbers.
    """
    if not text.strip():
        return None
    try:
        values = tuple(float(v) for v in text.replace(",", " ").split())
    except ValueError:
        values = ()
    if len(values) != 6 or not all(math.isfinite(v) for v in values):
        raise ValueError("parameter camera_to_robot must be 'x y z roll pitch yaw' (six "
                         f"numbers, m and rad), got {text!r}")
    return values


def controller_config(cfg: RetargetNodeConfig) -> ControllerConfig:
    """The node's parameters -> ``ControllerConfig``."""
    return ControllerConfig(
        max_rate=cfg.max_rate, max_joint_velocity=cfg.max_joint_velocity,
        time_from_start=cfg.time_from_start, hand_timeout=cfg.hand_timeout,
        max_input_age=cfg.max_input_age,
        heartbeat_timeout=cfg.heartbeat_timeout if cfg.heartbeat_topic else 0.0,
        use_measured_state=bool(cfg.measured_state_topic),
        measured_state_timeout=cfg.measured_state_timeout)


def filter_alpha(cfg: RetargetNodeConfig) -> float | None:
    """The parameter low_pass_alpha for ``Retargeter.set_low_pass_alpha``: None (the
    robot config file's filter) when it is negative."""
    return cfg.low_pass_alpha if cfg.low_pass_alpha >= 0 else None


#: the parameter table (declaration order)
PARAMETERS: tuple[ParamSpec, ...] = RetargetNodeConfig.specs()


def declare_parameters(node) -> RetargetNodeConfig:
    """Declare every parameter on ``node`` and return their values.

    Raises:
        ValueError: a value outside its choices (ranges are enforced by rclpy itself).
    """
    return RetargetNodeConfig.declare(node)
