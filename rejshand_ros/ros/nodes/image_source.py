"""The image_source_node's node class (imports rclpy and the message packages; the
executable ``rejshand_ros.ros.image_source_node`` answers ``--help`` without them)."""

from __future__ import annotations

import time

from rclpy.node import Node
from rclpy.qos import QoSDurabilityPolicy, QoSHistoryPolicy, QoSProfile, QoSReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from rejshand_ros.msg import HandPoseArray
from rejshand_ros.ros.camera_input import (camera_info_msg, rgb_to_compressed_msg,
                                           rgb_to_image_msg)
from rejshand_ros.ros.conversions import predictions_to_array
from rejshand_ros.ros.image_source_params import declare_parameters
from rejshand_ros.sources import CameraCalibration, SourceError, open_source


class ImageSourceNode(Node):
    """Frames from a camera, video, folder or the renderer, published at ``rate`` Hz
    (topics and parameters: ``rejshand_ros.ros.image_source_node``)."""

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
