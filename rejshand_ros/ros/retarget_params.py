"""The retarget node's parameters: declared once (descriptors, ranges), read into a dataclass.

``PARAMETERS`` is the single table (``rejshand_ros.ros.param_specs`` declares it);
``config/retarget.yaml`` carries the same names and defaults (a test keeps them equal).
All parameters are read-only after start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from rejshand_ros.retarget.config import RETARGETING_TYPES
from rejshand_ros.retarget.selection import FOLLOW_CHOICES
from rejshand_ros.ros.param_specs import ParamSpec, check_value, declare_all

RELIABILITY_CHOICES = ("best_effort", "reliable")


PARAMETERS: tuple[ParamSpec, ...] = (
    ParamSpec("robot", "rejshand_hand", "robot hand: a config name in config/retargeting "
              "(rejshand_hand, allegro_hand, leap_hand, shadow_hand, inspire_hand, ability_hand)"),
    ParamSpec("robot_side", "right", "which hand the robot is", choices=("right", "left")),
    ParamSpec("retargeting_type", "vector", "optimiser: vector (teleop), dexpilot (teleop, "
              "pinch-aware) or position (offline)", choices=RETARGETING_TYPES),
    ParamSpec("config_file", "", "explicit retargeting YAML; overrides robot, robot_side, "
              "retargeting_type when set"),
    ParamSpec("urdf_dir", "", "directory of user-supplied robot URDFs, searched before the "
              "package's own config/robots"),
    ParamSpec("low_pass_alpha", -1.0, "low-pass weight of the newest solution (1 = off, "
              "smaller = smoother); < 0 keeps the config file's value", -1.0, 1.0),
    ParamSpec("follow_handedness", "same", "which human hand to follow: same (as the robot), "
              "left, right or any", choices=FOLLOW_CHOICES),
    ParamSpec("follow_track_id", -1, "follow only this track id; -1 for any", -1, 2**31 - 1),
    ParamSpec("min_score", 0.5, "minimum hand presence score to follow a hand", 0.0, 1.0),
    ParamSpec("max_missed_frames", 2, "images without the tracked hand before it counts as "
              "lost (then the retargeter is reset)", 0, 1000),
    ParamSpec("hand_timeout", 0.5, "s without any hand_poses message before the tracked "
              "hand counts as lost", 0.05, 60.0),
    ParamSpec("engaged_on_start", False, "send commands from start-up without a call to the "
              "engage service"),
    ParamSpec("time_from_start", 0.1, "s, time_from_start of the trajectory point (the "
              "controller reaches the target in this time)", 0.01, 5.0),
    ParamSpec("max_rate", 60.0, "Hz, most commands per second (faster input is dropped); "
              "0 = no limit", 0.0, 1000.0),
    ParamSpec("max_joint_velocity", 4.0, "rad/s, largest joint speed a command may ask for "
              "(relative to the previous command); 0 = no limit", 0.0, 100.0),
    ParamSpec("hand_poses_reliability", "best_effort", "QoS reliability of the hand_poses "
              "subscription", choices=RELIABILITY_CHOICES),
    ParamSpec("diagnostics_period", 1.0, "s between /diagnostics messages", 0.1, 60.0),
)


@dataclass
class RetargetNodeConfig:
    """Values of :data:`PARAMETERS` (see their descriptions)."""

    robot: str = "rejshand_hand"
    robot_side: str = "right"
    retargeting_type: str = "vector"
    config_file: str = ""
    urdf_dir: str = ""
    low_pass_alpha: float = -1.0
    follow_handedness: str = "same"
    follow_track_id: int = -1
    min_score: float = 0.5
    max_missed_frames: int = 2
    hand_timeout: float = 0.5
    engaged_on_start: bool = False
    time_from_start: float = 0.1
    max_rate: float = 60.0
    max_joint_velocity: float = 4.0
    hand_poses_reliability: str = "best_effort"
    diagnostics_period: float = 1.0

    def __post_init__(self) -> None:
        for spec in PARAMETERS:
            check_value(spec, getattr(self, spec.name))


def declare_parameters(node) -> RetargetNodeConfig:
    """Declare every parameter on ``node`` and return their values.

    Raises:
        ValueError: a value outside its choices (ranges are enforced by rclpy itself).
    """
    values = declare_all(node, PARAMETERS)
    names = {f.name for f in fields(RetargetNodeConfig)}
    return RetargetNodeConfig(**{k: v for k, v in values.items() if k in names})
