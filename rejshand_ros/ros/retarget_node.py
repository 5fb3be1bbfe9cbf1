"""``retarget_node``: HandPoseArray in, robot-hand commands out, under the safety rules of
``rejshand_ros.retarget.controller`` (this node only wires it to topics).

Topics (relative names, remap at launch):
    hand_poses        (sub) rejshand_ros/HandPoseArray from the perception node
    <measured_state_topic> (sub, optional) sensor_msgs/JointState: the robot's measured
                      joints (driver's joint_states); ramps start there
    <heartbeat_topic> (sub, optional) std_msgs/Bool: dead-man switch
    joint_trajectory  (pub) trajectory_msgs/JointTrajectory: one point, joint_names in the
                      URDF's order, header.stamp zero (execute on receipt),
                      time_from_start from the parameter
    joint_commands    (pub) sensor_msgs/JointState of the same command, stamped with the
                      image time (robot_state_publisher / RViz / recordings). Never on
                      joint_states, which carries the driver's *measured* joints
    <driver topics>   (pub, driver_output) the command as the config's driver: block says
    /tf_static        (pub, camera_to_robot) camera_frame -> the URDF's root link
    /diagnostics      (pub) diagnostic_msgs/DiagnosticArray: status, holds, ramps, solve time
Service:
    engage            std_srvs/SetBool: true starts sending commands, false stops
Nothing is sent while disengaged, without a live heartbeat (when one is configured), when
no hand is followed, when perception stalls or the input is too old: the robot holds.
Every command after start-up, engage or a hold ramps from the measured state (or the last
command, or the home pose) within max_joint_velocity; targets are clipped into the robot
config's soft joint limits. Parameters: ``rejshand_ros.ros.retarget_params``.
"""

from __future__ import annotations

import sys
import time
from collections import deque

USAGE = """usage: retarget_node [-h] [--ros-args -p name:=value ... | --params-file FILE]

Retarget tracked human hands (rejshand_ros/HandPoseArray on `hand_poses`) to a robot hand:
publishes trajectory_msgs/JointTrajectory on `joint_trajectory` and the commanded
sensor_msgs/JointState on `joint_commands` while engaged (std_srvs/SetBool service
`engage`), ramping from the robot's measured state (`measured_state_topic`), with an
optional dead-man heartbeat (`heartbeat_topic`) and the driver's own message
(`driver_output`). Parameters: config/retarget.yaml.
"""


def controller_config(cfg):
    """The node's parameters -> ``ControllerConfig``."""
    from rejshand_ros.retarget.controller import ControllerConfig

    return ControllerConfig(
        max_rate=cfg.max_rate, max_joint_velocity=cfg.max_joint_velocity,
        time_from_start=cfg.time_from_start, hand_timeout=cfg.hand_timeout,
        max_input_age=cfg.max_input_age,
        heartbeat_timeout=cfg.heartbeat_timeout if cfg.heartbeat_topic else 0.0,
        use_measured_state=bool(cfg.measured_state_topic),
        measured_state_timeout=cfg.measured_state_timeout)


def _make_node_class():
    import numpy as np
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from rclpy.node import Node
    from rclpy.qos import QoSProfile, QoSReliabilityPolicy
    from rclpy.time import Time
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Bool
    from std_srvs.srv import SetBool
    from trajectory_msgs.msg import JointTrajectory

    from rejshand_ros.msg import HandPoseArray
    from rejshand_ros.retarget.config import load_robot_config, robot_config_path
    from rejshand_ros.retarget.drivers import measured_from_names
    from rejshand_ros.retarget.selection import SelectionPolicy
    from rejshand_ros.retarget.teleop import Teleoperation
    from rejshand_ros.ros.conversions import hand_pose_to_prediction
    from rejshand_ros.ros.joint_msgs import (
        diagnostic_status,
        joint_state_msg,
        joint_trajectory_msg,
    )
    from rejshand_ros.ros.param_specs import add_tuning_callback
    from rejshand_ros.ros.retarget_outputs import DriverPublishers, publish_camera_to_robot
    from rejshand_ros.ros.retarget_params import declare_parameters
    from rejshand_ros.ros.throttled_log import ThrottledWarnings

    class RetargetNode(Node):
        def __init__(self, node_name: str = "retarget_node") -> None:
            super().__init__(node_name)
            self.cfg = declare_parameters(self)
            cfg = self.cfg
            path = cfg.config_file or robot_config_path(cfg.robot, cfg.robot_side,
                                                        cfg.retargeting_type)
            robot = load_robot_config(path, urdf_dir=cfg.urdf_dir or None)
            self.robot = robot
            self.teleop = Teleoperation(
                robot, controller_config(cfg),
                SelectionPolicy(cfg.follow_handedness, cfg.follow_track_id, cfg.min_score,
                                cfg.max_missed_frames),
                _alpha(cfg.low_pass_alpha), logger=self.get_logger())
            self.retargeter = self.teleop.retargeter
            self.controller = self.teleop.controller
            self.selector = self.teleop.selector
            self.joint_names = self.teleop.joint_names
            self.mimic = robot.mimic_joints()
            self.controller.engage(cfg.engaged_on_start, time.monotonic())
            self.warnings = ThrottledWarnings(self.get_logger().warning, 2.0)
            self.solve_times: deque[float] = deque(maxlen=100)
            self.counts = dict(frames=0, rejected=0, measured=0, measured_rejected=0,
                               heartbeats=0)
            # outputs first: a driver: block that cannot be used stops the start-up
            self.driver = (DriverPublishers(self, robot, self.joint_names, self.mimic)
                           if cfg.driver_output else None)
            self.trajectory_pub = self.create_publisher(JointTrajectory, "joint_trajectory", 1)
            self.command_pub = self.create_publisher(JointState, "joint_commands", 10)
            self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
            self.static_tf_pub = publish_camera_to_robot(self, cfg, robot)
            reliability = (QoSReliabilityPolicy.RELIABLE
                           if cfg.hand_poses_reliability == "reliable"
                           else QoSReliabilityPolicy.BEST_EFFORT)
            self.create_subscription(HandPoseArray, "hand_poses", self._on_hands,
                                     QoSProfile(depth=1, reliability=reliability))
            if cfg.measured_state_topic:
                self.create_subscription(JointState, cfg.measured_state_topic,
                                         self._on_measured, 10)
            if cfg.heartbeat_topic:
                self.create_subscription(Bool, cfg.heartbeat_topic, self._on_heartbeat, 10)
            self.create_service(SetBool, "engage", self._on_engage)
            add_tuning_callback(self, lambda: self.cfg, self._retune)
            self.create_timer(cfg.diagnostics_period, self._on_diagnostics_timer)
            self.create_timer(0.05, self._on_safety_tick)
            ramps = (f"the measured state on {cfg.measured_state_topic}"
                     if cfg.measured_state_topic else "the last command (home at start-up)")
            self.get_logger().info(
                f"retargeting to {robot.name} ({robot.side.value}, {robot.type}) from "
                f"{robot.source}; URDF {robot.urdf_path}; {len(self.joint_names)} joints; "
                f"ramps from {ramps}"
                f"{'; heartbeat ' + cfg.heartbeat_topic if cfg.heartbeat_topic else ''}; "
                f"{'engaged' if cfg.engaged_on_start else 'disengaged (call engage)'}")

        # -- callbacks ---------------------------------------------------------------
        def _retune(self, cfg) -> None:
            """A validated run-time parameter change (applied between two messages)."""
            changed = {name: value for name, value in vars(cfg).items()
                       if getattr(self.cfg, name) != value}
            self.retargeter.set_low_pass_alpha(_alpha(cfg.low_pass_alpha))
            self.controller.set_config(controller_config(cfg))
            self.cfg = cfg
            self.get_logger().info(f"parameters changed: {changed}")

        def _on_engage(self, request, response):
            self.controller.engage(bool(request.data), time.monotonic())
            response.success = True
            response.message = "engaged" if request.data else "disengaged"
            self.get_logger().info(f"retargeting {response.message}")
            return response

        def _on_heartbeat(self, msg) -> None:
            self.counts["heartbeats"] += 1
            was = self.controller.status(time.monotonic())
            self.controller.heartbeat(bool(msg.data), time.monotonic())
            if not msg.data and was == "commanding":
                self.get_logger().info("heartbeat released: holding")

        def _on_measured(self, msg) -> None:
            now = time.monotonic()
            if self.robot.driver is not None:
                positions = self.robot.driver.measured_positions(
                    msg.name, msg.position, self.joint_names, self.mimic)
            else:
                positions = measured_from_names(dict(zip(msg.name, msg.position)), {},
                                                self.joint_names, self.mimic)
            if positions is None:
                self.counts["measured_rejected"] += 1
                self.warnings.warn(f"{self.cfg.measured_state_topic}: measured state without "
                                   f"all of the robot's joints {self.joint_names} (got "
                                   f"{list(msg.name)}) or not finite: ignored")
                return
            self.counts["measured"] += 1
            self.controller.measured(positions, now)

        def _input_age(self, stamp) -> float | None:
            """s between the image's stamp and the node clock's now (None: no stamp)."""
            stamp_ns = Time.from_msg(stamp).nanoseconds
            if stamp_ns == 0:
                return None
            return (self.get_clock().now().nanoseconds - stamp_ns) * 1e-9

        def _on_hands(self, msg) -> None:
            self.counts["frames"] += 1
            hands = []
            for hand in msg.hands:
                try:
                    hands.append(hand_pose_to_prediction(hand))
                except ValueError as exc:  # malformed arrays
                    self.counts["rejected"] += 1
                    self.warnings.warn(f"hand_poses: malformed hand skipped: {exc}")
            command = self.teleop.frame(time.monotonic(), hands,
                                        self._input_age(msg.header.stamp))
            if command is None:
                return
            self.trajectory_pub.publish(joint_trajectory_msg(
                self.joint_names, command.positions, self.cfg.time_from_start))
            self.command_pub.publish(joint_state_msg(msg.header.stamp, self.joint_names,
                                                     command.positions))
            if self.driver is not None:
                self.driver.publish(command.positions, msg.header.stamp,
                                    self.cfg.time_from_start)
            self.solve_times.append(self.teleop.solve_time)

        def _on_safety_tick(self) -> None:
            """Between frames: perception stalled or the heartbeat died -> hold now."""
            reason = self.teleop.tick(time.monotonic())
            if reason is not None:
                self.get_logger().info(f"holding: {reason}")

        def _on_diagnostics_timer(self) -> None:
            self.diag_pub.publish(self.diagnostics())

        # -- reporting ---------------------------------------------------------------
        def diagnostics(self):
            ctl, now = self.controller, time.monotonic()
            status = ctl.status(now)
            if status == "commanding":
                level, text = DiagnosticStatus.OK, "engaged, tracking: sending commands"
            elif status == "disengaged":
                level, text = DiagnosticStatus.OK, "disengaged: not sending commands"
            else:
                level, text = DiagnosticStatus.WARN, f"engaged, holding: {status}"
            times = np.array(self.solve_times) * 1000.0 if self.solve_times else np.array([np.nan])
            stats = self.retargeter.stats
            values = {
                "status": status,
                "engaged": ctl.engaged,
                "tracking": self.selector.tracking,
                "track_id": self.selector.tracked_id if self.selector.tracking else -1,
                "robot": self.robot.name,
                "retargeting_type": self.retargeter.retargeting_type,
                "frames_received": self.counts["frames"],
                "frames_dropped_by_rate": ctl.holds["rate limit"],
                "commands_sent": ctl.commands,
                "velocity_limited_commands": ctl.limited,
                "ramps_from_measured": ctl.ramps["measured"],
                "ramps_from_last_command": ctl.ramps["last"],
                "ramps_from_home": ctl.ramps["home"],
                "measured_states": self.counts["measured"],
                "measured_states_rejected": self.counts["measured_rejected"],
                "heartbeats": self.counts["heartbeats"],
                **{f"held_{reason.replace(' ', '_')}": count
                   for reason, count in sorted(ctl.holds.items()) if reason != "rate limit"},
                "hands_rejected": self.counts["rejected"] + stats.rejected,
                "solver_failures": stats.failures,
                "solve_time_ms_median": float(np.median(times)),
                "solve_time_ms_max": float(np.max(times)),
            }
            array = DiagnosticArray()
            array.header.stamp = self.get_clock().now().to_msg()
            array.status = [diagnostic_status(f"{self.get_name()}: retargeting",
                                              self.robot.name, level, text, values)]
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

        return (UrdfNotFoundError, RobotConfigError, FileNotFoundError, ImportError)

    def make_process_node():
        set_solver_threads()  # process-wide: only in the node's own process
        return make_node()

    return run_node("retarget_node", USAGE, make_process_node, startup_errors, argv)


if __name__ == "__main__":
    sys.exit(main())
