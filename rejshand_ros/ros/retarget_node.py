"""``retarget_node``: HandPoseArray in, robot-hand JointTrajectory and JointState out.

Topics (relative names, remap at launch):
    hand_poses        (sub) rejshand_ros/HandPoseArray from the perception node
    joint_trajectory  (pub) trajectory_msgs/JointTrajectory: one point, joint_names in the
                      URDF's order, header.stamp zero (execute on receipt),
                      time_from_start from the parameter
    joint_states      (pub) sensor_msgs/JointState of the same command, stamped with the
                      image time (for robot_state_publisher / RViz)
    /diagnostics      (pub) diagnostic_msgs/DiagnosticArray: engaged, tracking, solve time
Service:
    engage            std_srvs/SetBool: true starts sending commands, false stops
Nothing is published on joint_trajectory / joint_states while disengaged or while no
hand is tracked. Parameters: see ``rejshand_ros.ros.retarget_params`` and
``config/retarget.yaml``; low_pass_alpha, max_rate and max_joint_velocity are tunable at run
time (validated by the parameter callback, applied from the next hand_poses message).

Velocity limit: each command moves every joint at most max_joint_velocity * min(time
since the previous command, time_from_start) from the previous command (kept across
disengagement and lost tracks: the robot stays where it was last sent). The very first
command after start-up is not limited: engage with the robot hand near the human's pose.
"""

from __future__ import annotations

import sys
import time
from collections import deque

USAGE = """usage: retarget_node [-h] [--ros-args -p name:=value ... | --params-file FILE]

Retarget tracked human hands (rejshand_ros/HandPoseArray on `hand_poses`) to a robot hand:
publishes trajectory_msgs/JointTrajectory on `joint_trajectory` and sensor_msgs/JointState
on `joint_states` while engaged (std_srvs/SetBool service `engage`).
Parameters: config/retarget.yaml (robot, robot_side, retargeting_type, urdf_dir, ...).
"""


def _make_node_class():
    import numpy as np
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from rclpy.node import Node
    from rclpy.qos import QoSProfile, QoSReliabilityPolicy
    from sensor_msgs.msg import JointState
    from std_srvs.srv import SetBool
    from trajectory_msgs.msg import JointTrajectory

    from rejshand_ros.msg import HandPoseArray
    from rejshand_ros.retarget.config import load_robot_config, robot_config_path
    from rejshand_ros.retarget.retargeter import Retargeter, limit_velocity
    from rejshand_ros.retarget.selection import HandSelector, SelectionPolicy
    from rejshand_ros.ros.conversions import hand_pose_to_prediction
    from rejshand_ros.ros.joint_msgs import (
        diagnostic_status,
        joint_state_msg,
        joint_trajectory_msg,
    )
    from rejshand_ros.ros.param_specs import add_tuning_callback
    from rejshand_ros.ros.retarget_params import declare_parameters

    class RetargetNode(Node):
        def __init__(self, node_name: str = "retarget_node") -> None:
            super().__init__(node_name)
            self.cfg = declare_parameters(self)
            cfg = self.cfg
            path = cfg.config_file or robot_config_path(cfg.robot, cfg.robot_side,
                                                        cfg.retargeting_type)
            robot = load_robot_config(path, urdf_dir=cfg.urdf_dir or None)
            self.retargeter = Retargeter(robot, logger=self.get_logger())
            self.retargeter.set_low_pass_alpha(_alpha(cfg.low_pass_alpha))
            self.selector = HandSelector(
                SelectionPolicy(cfg.follow_handedness, cfg.follow_track_id, cfg.min_score,
                                cfg.max_missed_frames), robot.side)
            self.engaged = bool(cfg.engaged_on_start)
            self.last_command: np.ndarray | None = None
            self.last_command_time = -float("inf")
            self.last_input_time = -float("inf")
            self.last_processed = -float("inf")
            self.solve_times: deque[float] = deque(maxlen=100)
            self.counts = dict(frames=0, dropped=0, rejected=0, commands=0, limited=0)

            reliability = (QoSReliabilityPolicy.RELIABLE if cfg.hand_poses_reliability == "reliable"
                           else QoSReliabilityPolicy.BEST_EFFORT)
            self.create_subscription(HandPoseArray, "hand_poses", self._on_hands,
                                     QoSProfile(depth=1, reliability=reliability))
            self.trajectory_pub = self.create_publisher(JointTrajectory, "joint_trajectory", 1)
            self.state_pub = self.create_publisher(JointState, "joint_states", 10)
            self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
            self.create_service(SetBool, "engage", self._on_engage)
            add_tuning_callback(self, lambda: self.cfg, self._retune)
            self.create_timer(cfg.diagnostics_period, self._on_diagnostics_timer)
            self.create_timer(min(cfg.hand_timeout / 2.0, 0.1), self._check_input_timeout)
            self.get_logger().info(
                f"retargeting to {robot.name} ({robot.side.value}, {robot.type}) from "
                f"{robot.source}; URDF {robot.urdf_path}; {len(self.retargeter.joint_names)} "
                f"joints; {'engaged' if self.engaged else 'disengaged (call engage)'}")

        # -- callbacks ---------------------------------------------------------------
        def _retune(self, cfg) -> None:
            """A validated run-time parameter change (the executor runs it between two
            hand_poses messages)."""
            changed = {name: value for name, value in vars(cfg).items()
                       if getattr(self.cfg, name) != value}
            self.retargeter.set_low_pass_alpha(_alpha(cfg.low_pass_alpha))
            self.cfg = cfg
            self.get_logger().info(f"parameters changed: {changed}")

        def _on_engage(self, request, response):
            self.engaged = bool(request.data)
            response.success = True
            response.message = "engaged" if self.engaged else "disengaged"
            self.get_logger().info(f"retargeting {response.message}")
            return response

        def _on_hands(self, msg) -> None:
            now = time.monotonic()
            self.counts["frames"] += 1
            self.last_input_time = now
            hands = []
            for hand in msg.hands:
                try:
                    hands.append(hand_pose_to_prediction(hand))
                except ValueError as exc:  # malformed arrays
                    self.counts["rejected"] += 1
                    self.get_logger().warning(f"hand_poses: malformed hand skipped: {exc}",
                                              throttle_duration_sec=1.0)
            selection = self.selector.select(hands)
            if selection.new_track or selection.lost:
                self.retargeter.reset()
            if selection.hand is None or not self.engaged:
                return
            period = 1.0 / self.cfg.max_rate if self.cfg.max_rate > 0 else 0.0
            if now - self.last_processed < 0.95 * period:
                self.counts["dropped"] += 1
                return
            self.last_processed = now
            start = time.perf_counter()
            target = self.retargeter.retarget(selection.hand)
            if target is None:  # rejected or failed: logged and counted by the retargeter
                return
            step_time = min(now - self.last_command_time, self.cfg.time_from_start)
            command = limit_velocity(self.last_command, target, self.cfg.max_joint_velocity,
                                     step_time)
            if self.last_command is not None and not np.allclose(command, target):
                self.counts["limited"] += 1
            names = self.retargeter.joint_names
            self.trajectory_pub.publish(
                joint_trajectory_msg(names, command, self.cfg.time_from_start))
            self.state_pub.publish(joint_state_msg(msg.header.stamp, names, command))
            self.last_command, self.last_command_time = command, now
            self.counts["commands"] += 1
            self.solve_times.append(time.perf_counter() - start)

        def _check_input_timeout(self) -> None:
            """No hand_poses for hand_timeout: the tracked hand is lost."""
            if (self.selector.tracking
                    and time.monotonic() - self.last_input_time > self.cfg.hand_timeout):
                self.selector.clear()
                self.retargeter.reset()

        def _on_diagnostics_timer(self) -> None:
            self.diag_pub.publish(self.diagnostics())

        # -- reporting ---------------------------------------------------------------
        def diagnostics(self):
            tracking = self.selector.tracking
            if not self.engaged:
                level, text = DiagnosticStatus.OK, "disengaged: not sending commands"
            elif not tracking:
                level, text = DiagnosticStatus.WARN, "engaged, no hand tracked: not sending"
            else:
                level, text = DiagnosticStatus.OK, "engaged, tracking: sending commands"
            times = np.array(self.solve_times) * 1000.0 if self.solve_times else np.array([np.nan])
            stats = self.retargeter.stats
            values = {
                "engaged": self.engaged,
                "tracking": tracking,
                "track_id": self.selector.tracked_id if tracking else -1,
                "robot": self.retargeter.config.name,
                "retargeting_type": self.retargeter.retargeting_type,
                "frames_received": self.counts["frames"],
                "frames_dropped_by_rate": self.counts["dropped"],
                "commands_sent": self.counts["commands"],
                "velocity_limited_commands": self.counts["limited"],
                "hands_rejected": self.counts["rejected"] + stats.rejected,
                "solver_failures": stats.failures,
                "solve_time_ms_median": float(np.median(times)),
                "solve_time_ms_max": float(np.max(times)),
            }
            array = DiagnosticArray()
            array.header.stamp = self.get_clock().now().to_msg()
            array.status = [diagnostic_status(f"{self.get_name()}: retargeting",
                                              self.retargeter.config.name, level, text, values)]
            return array

    return RetargetNode


def _alpha(low_pass_alpha: float) -> float | None:
    """The parameter's value for ``Retargeter.set_low_pass_alpha`` (< 0: the file's)."""
    return low_pass_alpha if low_pass_alpha >= 0 else None


def set_solver_threads(threads: int = 1) -> None:
    """dex-retargeting evaluates tiny tensors with torch: intra-op threads only add
    overhead (measured: median 4.7 vs 6.5 ms per frame on 2 busy cores). Process-wide."""
    import torch

    torch.set_num_threads(threads)


def make_node():
    """Create the node (rclpy must be initialised)."""
    return _make_node_class()()


def main(argv: list[str] | None = None) -> int:
    from rejshand_ros.ros.runtime import run_node

    def startup_errors():
        from rejshand_ros.retarget.config import RobotConfigError, UrdfNotFoundError

        return (UrdfNotFoundError, RobotConfigError, FileNotFoundError)

    def make_process_node():
        set_solver_threads()  # process-wide: only in the node's own process
        return make_node()

    return run_node("retarget_node", USAGE, make_process_node, startup_errors, argv)


if __name__ == "__main__":
    sys.exit(main())
