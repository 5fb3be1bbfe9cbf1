"""retarget_node's optional outputs: the driver's own messages and the camera-to-robot
static transform (thin ROS wrappers; the mapping is ``retarget.drivers``)."""

from __future__ import annotations

import numpy as np


class DriverPublishers:
    """One publisher per output of the robot config's ``driver:`` block.

    Raises (at construction, so the node refuses to start):
        RobotConfigError: the config has no driver block.
        DriverConfigError: its joints do not fit the robot.
        ImportError: a message package the driver needs is missing (ah_messages).
    """

    def __init__(self, node, robot, joint_names: list[str], mimic: dict) -> None:
        from rejshand_ros.retarget.config import RobotConfigError
        from rejshand_ros.ros.joint_msgs import driver_message_type

        if robot.driver is None:
            raise RobotConfigError(f"{robot.source}: driver_output is on but the config has "
                                   "no 'driver:' block (see config/retargeting/README.md)")
        robot.driver.check_joints(joint_names, mimic)
        self.joint_names = list(joint_names)
        self.outputs = robot.driver.outputs
        self.publishers = []
        for output in self.outputs:
            try:
                kind = driver_message_type(output)
            except ImportError as exc:
                raise ImportError(f"driver output {output.topic} needs {exc.name}: build "
                                  "that message package (see docs/retargeting.md)") from exc
            self.publishers.append(node.create_publisher(kind, output.topic, 10))
        node.get_logger().info(
            f"driver output for {robot.driver.package}: "
            + ", ".join(f"{o.topic} ({o.type}, {len(o.joints)} joints)" for o in self.outputs))

    def publish(self, positions: np.ndarray, stamp, time_from_start: float) -> None:
        from rejshand_ros.ros.joint_msgs import driver_message

        for output, publisher in zip(self.outputs, self.publishers):
            values = output.values(self.joint_names, positions)
            publisher.publish(driver_message(output, values, stamp, time_from_start))


def publish_camera_to_robot(node, cfg, robot):
    """Latch camera_frame -> the URDF's root link on /tf_static when ``camera_to_robot``
    is set; returns the publisher (None when not set)."""
    from rclpy.qos import DurabilityPolicy, QoSProfile

    from rejshand_ros.retarget.config import urdf_root_link
    from rejshand_ros.ros.retarget_params import camera_to_robot_pose
    from rejshand_ros.ros.tf_frames import static_transform, tf_message

    pose = camera_to_robot_pose(cfg.camera_to_robot)
    if pose is None:
        return None
    from tf2_msgs.msg import TFMessage

    publisher = node.create_publisher(
        TFMessage, "/tf_static", QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL))
    child = urdf_root_link(robot.urdf_path)
    publisher.publish(tf_message([static_transform(cfg.camera_frame, child, pose,
                                                   node.get_clock().now().to_msg())]))
    node.get_logger().info(f"/tf_static: {cfg.camera_frame} -> {child} at {pose}")
    return publisher
