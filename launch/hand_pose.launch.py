"""ros2 launch rejshand_ros hand_pose.launch.py [source:=synthetic] [retarget:=true] ...

Starts hand_pose_node with config/hand_pose.yaml (and optionally image_source_node,
retarget_node and the MCAP recorder). The node list comes from
rejshand_ros.ros.launch_spec, which rejshand-bringup uses too; arguments: see
LAUNCH_ARGUMENTS there (or `ros2 launch rejshand_ros hand_pose.launch.py --show-args`).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from rejshand_ros.ros.launch_spec import LAUNCH_ARGUMENTS, specs_from_arguments


def _nodes(context):
    values = {name: LaunchConfiguration(name).perform(context) for name in LAUNCH_ARGUMENTS}
    return [Node(package=spec.package, executable=spec.executable, name=spec.name,
                 namespace=spec.namespace, output="screen", arguments=list(spec.arguments),
                 parameters=[*spec.params_files, dict(spec.parameters)],
                 remappings=list(spec.remappings))
            for spec in specs_from_arguments(values)]


def generate_launch_description() -> LaunchDescription:
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=description)
         for name, (default, description) in LAUNCH_ARGUMENTS.items()]
        + [OpaqueFunction(function=_nodes)])
