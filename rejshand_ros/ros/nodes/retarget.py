"""The retarget_node's node class (imports rclpy and the message packages; the
executable ``rejshand_ros.ros.retarget_node`` answers ``--help`` without them)."""

from __future__ import annotations

import time
from collections import deque

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
from rejshand_ros.ros.joint_msgs import diagnostic_status, joint_state_msg, joint_trajectory_msg
from rejshand_ros.ros.param_specs import add_tuning_callback
from rejshand_ros.ros.retarget_outputs import DriverPublishers, publish_camera_to_robot
from rejshand_ros.ros.retarget_params import controller_config, declare_parameters, filter_alpha
from rejshand_ros.ros.throttled_log import ThrottledWarnings


class RetargetNode(Node):
    """HandPoseArray in, robot-hand commands out under the controller's safety rules
    (topics and parameters: ``rejshand_ros.ros.retarget_node``)."""

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
            filter_alpha(cfg), logger=self.get_logger())
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
        self.retargeter.set_low_pass_alpha(filter_alpha(cfg))
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
