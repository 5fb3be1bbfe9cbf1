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
config's soft joint limits. Parameters: ``rejshand_ros.ros.retarget_params``. The node
class: ``rejshand_ros.ros.nodes.retarget.RetargetNode`` (imported only when the node
starts, so that ``--help`` needs no ROS).
"""

from __future__ import annotations

import sys

USAGE = """usage: retarget_node [-h] [--ros-args -p name:=value ... | --params-file FILE]

Retarget tracked human hands (rejshand_ros/HandPoseArray on `hand_poses`) to a robot hand:
publishes trajectory_msgs/JointTrajectory on `joint_trajectory` and the commanded
sensor_msgs/JointState on `joint_commands` while engaged (std_srvs/SetBool service
`engage`), ramping from the robot's measured state (`measured_state_topic`), with an
optional dead-man heartbeat (`heartbeat_topic`) and the driver's own message
(`driver_output`). Parameters: config/retarget.yaml.
"""


def set_solver_threads(threads: int = 1) -> None:
    """dex-retargeting evaluates tiny tensors with torch: intra-op threads only add
    overhead (measured: median 4.7 vs 6.5 ms per frame on 2 busy cores). Process-wide."""
    import torch

    torch.set_num_threads(threads)


def make_node():
    """Create the node (rclpy must be initialised)."""
    from rejshand_ros.ros.nodes.retarget import RetargetNode

    return RetargetNode()


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
