"""``image_source_node``: camera images for people without a ROS camera driver.

Publishes, at ``rate`` Hz, frames from a webcam (OpenCV), a video file, a folder of
images or the synthetic renderer (relative names, remap at launch):
    image             sensor_msgs/Image (rgb8 by default), sensor-data QoS by default
    image/compressed  sensor_msgs/CompressedImage, only when compressed_format is set
    camera_info       sensor_msgs/CameraInfo (from camera_info_file, or the renderer's K),
                      same header as the image; not published without intrinsics
    hand_poses_gt     rejshand_ros/HandPoseArray (synthetic only): the true hands of the
                      frame (absolute 3D, camera optical frame), same header as the image,
                      reliable QoS, so the perception node can be scored live
All messages of one frame carry the same header (stamp = publish time, frame_id).
Parameters: ``rejshand_ros.ros.image_source_params`` and ``config/image_source.yaml``.
The node class: ``rejshand_ros.ros.nodes.image_source.ImageSourceNode`` (imported only
when the node starts, so that ``--help`` needs no ROS).
"""

from __future__ import annotations

import sys

USAGE = """usage: image_source_node [-h] [--ros-args -p name:=value ... | --params-file FILE]

Publish sensor_msgs/Image (+ camera_info) on `image` from a camera, a video file, an image
folder or the synthetic renderer (ground truth on `hand_poses_gt`) at a chosen rate.
Examples:
  image_source_node --ros-args -p source:=camera -p location:=0 -p camera_info_file:=cam.yaml
  image_source_node --ros-args -p source:=video -p location:=hands.mp4 -p rate:=30.0
  image_source_node --ros-args -p source:=synthetic -p synthetic_hands:=2
Parameters: config/image_source.yaml (source, location, rate, frame_id, reliability, ...).
"""


def make_node():
    """Create the node (rclpy must be initialised)."""
    from rejshand_ros.ros.nodes.image_source import ImageSourceNode

    return ImageSourceNode()


def main(argv: list[str] | None = None) -> int:
    from rejshand_ros.ros.runtime import run_node

    def startup_errors():
        from rejshand_ros.sources import CalibrationError, SourceError

        return (SourceError, CalibrationError)

    def spin_until_finished(node) -> None:
        import rclpy

        while rclpy.ok() and not node.finished:
            rclpy.spin_once(node, timeout_sec=0.1)

    return run_node("image_source_node", USAGE, make_node, startup_errors, argv,
                    spin=spin_until_finished)


if __name__ == "__main__":
    sys.exit(main())
