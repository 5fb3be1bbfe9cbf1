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
"""

from __future__ import annotations

import sys
import time

USAGE = """usage: image_source_node [-h] [--ros-args -p name:=value ... | --params-file FILE]

Publish sensor_msgs/Image (+ camera_info) on `image` from a camera, a video file, an image
folder or the synthetic renderer (ground truth on `hand_poses_gt`) at a chosen rate.
Examples:
  image_source_node --ros-args -p source:=camera -p location:=0 -p camera_info_file:=cam.yaml
  image_source_node --ros-args -p source:=video -p location:=hands.mp4 -p rate:=30.0
  image_source_node --ros-args -p source:=synthetic -p synthetic_hands:=2
Parameters: config/image_source.yaml (source, location, rate, frame_id, reliability, ...).
"""


def _make_node_class():
    from rclpy.node import Node
    from rclpy.qos import (QoSDurabilityPolicy, QoSHistoryPolicy, QoSProfile,
                           QoSReliabilityPolicy)
    from sensor_msgs.msg import CameraInfo, CompressedImage, Image
    from std_msgs.msg import Header

    from rejshand_ros.msg import HandPoseArray
    from rejshand_ros.ros.conversions import predictions_to_array
    from rejshand_ros.ros.image_source_params import declare_parameters
    from rejshand_ros.ros.camera_input import (camera_info_msg, rgb_to_compressed_msg,
                                               rgb_to_image_msg)
    from rejshand_ros.sources import CameraCalibration, SourceError, open_source

    class ImageSourceNode(Node):
        def __init__(self, node_name: str = "image_source_node") -> None:
            super().__init__(node_name)
            self.cfg = cfg = declare_parameters(self)
            self.calibration = (CameraCalibration.load(cfg.camera_info_file)
                                if cfg.camera_info_file else None)
            self.source = open_source(
                cfg.source, cfg.location, loop=cfg.loop, width=cfg.width, height=cfg.height,
                seed=cfg.synthetic_seed, num_frames=cfg.synthetic_frames,
                motion=cfg.synthetic_motion, num_hands=cfg.synthetic_hands,
                scene=cfg.synthetic_scene)
            synthetic = cfg.source == "synthetic"
            if synthetic and cfg.prerender:
                start = time.monotonic()
                self.source.prerender()
                self.get_logger().info(f"rendered {cfg.synthetic_frames} synthetic frames in "
                                       f"{time.monotonic() - start:.1f} s")
            self.pending = self.source.read()  # fails here, at start-up, when it cannot read
            if self.pending is None:
                raise SourceError(f"{cfg.source} {cfg.location!r} gave no frame")
            if self.calibration is not None:
                self.calibration.check_size(*self.pending.size, where=cfg.camera_info_file)

            qos = QoSProfile(
                depth=cfg.qos_depth, history=QoSHistoryPolicy.KEEP_LAST,
                durability=QoSDurabilityPolicy.VOLATILE,
                reliability=(QoSReliabilityPolicy.RELIABLE if cfg.reliability == "reliable"
                             else QoSReliabilityPolicy.BEST_EFFORT))
            self.image_pub = self.create_publisher(Image, "image", qos)
            self.compressed_pub = (self.create_publisher(CompressedImage, "image/compressed", qos)
                                   if cfg.compressed_format else None)
            self.info_pub = (self.create_publisher(CameraInfo, "camera_info", qos)
                             if self.calibration is not None or synthetic else None)
            self.truth_pub = (self.create_publisher(HandPoseArray, "hand_poses_gt",
                                                    QoSProfile(depth=10))
                              if synthetic and cfg.publish_ground_truth else None)
            self.finished = False
            self.counts = {"published": 0, "read_errors": 0}
            self.create_timer(1.0 / cfg.rate, self._on_timer)
            width, height = self.pending.size
            self.get_logger().info(
                f"publishing {cfg.source}{' ' + cfg.location if cfg.location else ''} "
                f"({width}x{height}, {cfg.encoding}) at {cfg.rate:g} Hz on "
                f"{self.image_pub.topic_name}, QoS {cfg.reliability}"
                f"{', camera_info' if self.info_pub else ', no camera_info'}"
                f"{', ground truth on hand_poses_gt' if self.truth_pub else ''}")

        def _next_frame(self):
            if self.pending is not None:
                frame, self.pending = self.pending, None
                return frame
            return self.source.read()

        def _on_timer(self) -> None:
            if self.finished:
                return
            try:
                frame = self._next_frame()
            except SourceError as exc:
                self.counts["read_errors"] += 1
                self.get_logger().warning(f"frame skipped: {exc}", throttle_duration_sec=2.0)
                return
            if frame is None:
                self.get_logger().info(f"end of {self.cfg.source} after "
                                       f"{self.counts['published']} frames")
                self.finished = True
                return
            self.publish(frame)

        def publish(self, frame) -> None:
            """Publish one frame's messages, all with the same header."""
            header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.cfg.frame_id)
            width, height = frame.size
            self.image_pub.publish(rgb_to_image_msg(frame.image, header, self.cfg.encoding))
            if self.compressed_pub is not None:
                self.compressed_pub.publish(rgb_to_compressed_msg(
                    frame.image, header, self.cfg.compressed_format, self.cfg.jpeg_quality))
            if self.info_pub is not None:
                calibration = self.calibration or CameraCalibration.from_K(frame.K, width, height)
                self.info_pub.publish(camera_info_msg(calibration, header))
            if self.truth_pub is not None and frame.ground_truth is not None:
                self.truth_pub.publish(predictions_to_array(frame.ground_truth, header,
                                                            width, height))
            self.counts["published"] += 1

        def destroy_node(self) -> None:
            self.source.close()
            super().destroy_node()

    return ImageSourceNode


def make_node():
    """Create the node (rclpy must be initialised)."""
    return _make_node_class()()


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
