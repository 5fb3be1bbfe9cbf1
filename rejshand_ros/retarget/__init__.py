"""Retargeting human hand poses to dexterous robot hands (ROS-free).

    frames       camera-frame keypoints -> wrist-relative keypoints in the MANO wrist frame
    config       RobotConfig: dex-retargeting YAML + URDF resolution
    retargeter   Retargeter: HandPrediction -> robot joint positions (dex-retargeting)
    selection    HandSelector: which of the hands in an image to follow
    controller   CommandController: engage, heartbeat, timeouts, ramps, velocity and soft limits
    teleop       Teleoperation: selector + retargeter + controller, one frame in, a command out
    drivers      DriverSpec: what a hand's ROS 2 driver takes (topic, type, order, units)
    rejshand_hand, urdf_writer   the package's own 16-DoF robot hand (URDF generator)
    human_poses  human keypoints from the open hand model, for tests and benchmarks

Nothing here imports rclpy or ROS messages; dex-retargeting (and with it torch,
pinocchio, nlopt) is imported when a Retargeter is built.
"""

from rejshand_ros.retarget.config import (RETARGETING_TYPES, RobotConfig, RobotConfigError,
                                          UrdfNotFoundError, load_robot_config, robot_config_path)
from rejshand_ros.retarget.wrist_frame import DegenerateHandError, to_wrist_frame, wrist_rotation
from rejshand_ros.retarget.controller import (Command, CommandController, ControllerConfig,
                                              limit_velocity)
from rejshand_ros.retarget.retargeter import Retargeter, RetargetStats
from rejshand_ros.retarget.selection import HandSelector, Selection, SelectionPolicy

__all__ = [
    "RETARGETING_TYPES", "RobotConfig", "RobotConfigError", "UrdfNotFoundError",
    "load_robot_config", "robot_config_path", "DegenerateHandError", "to_wrist_frame",
    "wrist_rotation", "Retargeter", "RetargetStats", "limit_velocity", "HandSelector",
    "Selection", "SelectionPolicy", "Command", "CommandController", "ControllerConfig",
]
