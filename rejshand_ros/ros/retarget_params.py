"""The retarget node's parameters, each declared once (``param_specs``).

The fields of :class:`RetargetNodeConfig` are the declaration; ``config/retarget.yaml``
and the README table are checked against it. The command shaping (``low_pass_alpha``,
``max_rate``, ``max_joint_velocity``) is tunable at run time; the robot, its files, the
hand selection and the QoS are read-only.
"""

from __future__ import annotations

from dataclasses import dataclass

from rejshand_ros.retarget.config import RETARGETING_TYPES
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
        0.5, "s without any hand_poses message before the tracked hand counts as lost",
        0.05, 60.0)
    engaged_on_start: bool = param(
        False, "send commands from start-up without a call to the engage service")
    time_from_start: float = param(
        0.1, "s, time_from_start of the trajectory point (the controller reaches the target "
        "in this time)", 0.01, 5.0)
    max_rate: float = param(
        60.0, "Hz, most commands per second (faster input is dropped); 0 = no limit", 0.0,
        1000.0, tunable=True)
    max_joint_velocity: float = param(
        4.0, "rad/s, largest joint speed a command may ask for (relative to the previous "
        "command); 0 = no limit", 0.0, 100.0, tunable=True)
    hand_poses_reliability: str = param(
        "best_effort", "QoS reliability of the hand_poses subscription",
        choices=RELIABILITY_CHOICES)
    diagnostics_period: float = param(1.0, "s between /diagnostics messages", 0.1, 60.0)


#: the parameter table (declaration order)
PARAMETERS: tuple[ParamSpec, ...] = RetargetNodeConfig.specs()


def declare_parameters(node) -> RetargetNodeConfig:
    """Declare every parameter on ``node`` and return their values.

    Raises:
        ValueError: a value outside its choices (ranges are enforced by rclpy itself).
    """
    return RetargetNodeConfig.declare(node)
