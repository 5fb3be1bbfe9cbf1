"""``hand_pose_node``: camera images in, 3D hand poses, meshes, markers and TF out.

Topics (relative names, remap at launch):
    image             (sub) sensor_msgs/Image (rgb8, bgr8, rgba8, bgra8, mono8) when
                      image_transport is raw; QoS reliability from qos_reliability
    image/compressed  (sub) sensor_msgs/CompressedImage (JPEG/PNG) when compressed
    camera_info       (sub) sensor_msgs/CameraInfo, optional: K + D -> absolute 3D
    hand_poses        (pub) rejshand_ros/HandPoseArray, header = the image's header;
                      one per processed image (zero hands is valid)
    hand_mesh         (pub) rejshand_ros/HandMesh, transient-local depth 1, once per mesh_id
    markers           (pub) visualization_msgs/MarkerArray (while subscribed)
    debug_image       (pub) sensor_msgs/Image rgb8, skeleton + boxes (while subscribed)
    /tf               (pub) tf2_msgs/TFMessage, <tf_prefix>_{left,right}_wrist (absolute 3D:
                      under the image frame; root-relative: see tf_relative_frame)
    /diagnostics      (pub) diagnostic_msgs/DiagnosticArray, every diagnostics_period
Parameters: ``rejshand_ros.ros.node_params`` and ``config/hand_pose.yaml``; the tunable
ones (tracking, detection cadence, smoothing, TF and marker output) may change at run
time: the executor's parameter callback validates them and applies them between frames.

The node class: ``rejshand_ros.ros.nodes.hand_pose.HandPoseNode`` (imported only when
the node starts, so that ``--help`` needs no ROS).
"""

from __future__ import annotations

import sys

USAGE = """usage: hand_pose_node [-h] [--ros-args -p name:=value ... | --params-file FILE]

3D hand pose and mesh estimation: subscribes `image` (or `image/compressed`) and
`camera_info`; publishes `hand_poses`, `hand_mesh`, `markers`, `debug_image`, /tf and
/diagnostics. Parameters: config/hand_pose.yaml (model_path, detector_model_path, device,
image_transport, qos_reliability, ...).
"""


def make_node():
    """Create the node (rclpy must be initialised). Raises StartupError & co."""
    from rejshand_ros.ros.nodes.hand_pose import HandPoseNode

    return HandPoseNode()


def main(argv: list[str] | None = None) -> int:
    from rejshand_ros.ros.runtime import run_node

    def startup_errors():
        from rejshand_ros.perception.pipeline_setup import StartupError

        return (StartupError,)

    return run_node("hand_pose_node", USAGE, make_node, startup_errors, argv)


if __name__ == "__main__":
    sys.exit(main())
