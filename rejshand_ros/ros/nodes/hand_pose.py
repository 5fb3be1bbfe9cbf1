"""The hand_pose_node's node class (imports rclpy and the message packages; the
executable ``rejshand_ros.ros.hand_pose_node`` answers ``--help`` without them).

Threads: the executor's callback only stores the newest image in a one-slot buffer
(frames it overwrites are counted as dropped); one worker thread converts, runs the
pipeline (detect -> track -> predict -> smooth) and publishes, holding ``pipeline_lock``
per frame so that a parameter change lands between two frames. A frame that fails
(bad buffer, pipeline error) is logged (rate-limited per kind), counted and skipped.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from rejshand_ros.perception.frame_stream import FrameSlot, StreamMonitor
from rejshand_ros.geometry.camera import CameraModel
from rejshand_ros.imaging.codecs import ImageConversionError
from rejshand_ros.msg import HandMesh, HandPoseArray
from rejshand_ros.imaging.overlay import draw_hands
from rejshand_ros.perception.pipeline_setup import build_pipeline
from rejshand_ros.ros import markers as marker_msgs
from rejshand_ros.ros.camera_input import (camera_model_from_info, compressed_msg_to_rgb,
                                           image_msg_to_rgb, rgb_to_image_msg, stamp_seconds)
from rejshand_ros.ros.conversions import mesh_to_msg, predictions_to_array
from rejshand_ros.ros.diagnostics import NodeStats, diagnostic_array, stats_status
from rejshand_ros.ros.node_params import declare_parameters
from rejshand_ros.ros.param_specs import add_tuning_callback
from rejshand_ros.ros.tf_frames import tf_message, wrist_transforms
from rejshand_ros.ros.throttled_log import ThrottledWarnings


@dataclass
class PendingFrame:
    """An image waiting for the worker: the message, its receipt time (s, monotonic) and
    a track reset requested by it or by a frame it replaced."""

    msg: Any
    receipt_s: float
    reset_reason: str | None = None


def _carry_reset(replaced: PendingFrame, new: PendingFrame) -> PendingFrame:
    if replaced.reset_reason and not new.reset_reason:
        return replace(new, reset_reason=replaced.reset_reason)
    return new


class FrameRejected(ValueError):
    """The image message itself is unusable (besides its pixel buffer)."""


class HandPoseNode(Node):
    """Camera images in, 3D hand poses, meshes, markers and TF out (topics and parameters:
    ``rejshand_ros.ros.hand_pose_node``)."""

    def __init__(self, node_name: str = "hand_pose_node") -> None:
        super().__init__(node_name)
        self.cfg = cfg = declare_parameters(self)
        self.parts = build_pipeline(cfg.pipeline_settings())
        self.pipeline = self.parts.pipeline
        self.info = self.parts.info
        self.stats = NodeStats()
        self.warnings = ThrottledWarnings(self.get_logger().warning, period_s=5.0)
        self.slot: FrameSlot[PendingFrame] = FrameSlot()
        self.monitor = StreamMonitor(cfg.camera_timeout)
        self.mesh_limiter = marker_msgs.MeshRateLimiter(cfg.mesh_marker_rate)
        # (model, width, height) of the last valid camera_info, replaced as a whole:
        # written by the executor thread, read by the worker
        self.camera: tuple[CameraModel, int, int] | None = None
        self.shown_tracks: set[int] = set()
        self.last_header = None
        self.image_size: tuple[int, int] | None = None
        self.published_meshes: set[str] = set()
        self.pipeline_lock = threading.Lock()
        add_tuning_callback(self, lambda: self.cfg, self._retune)

        reliability = (ReliabilityPolicy.RELIABLE if cfg.qos_reliability == "reliable"
                       else ReliabilityPolicy.BEST_EFFORT)
        image_qos = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                               reliability=reliability,
                               durability=DurabilityPolicy.VOLATILE)
        if cfg.image_transport == "compressed":
            self.image_topic = "image/compressed"
            self.create_subscription(CompressedImage, self.image_topic, self._on_image,
                                     image_qos)
        else:
            self.image_topic = "image"
            self.create_subscription(Image, self.image_topic, self._on_image, image_qos)
        if cfg.use_camera_info:
            self.create_subscription(CameraInfo, "camera_info", self._on_camera_info,
                                     image_qos)
        self.poses_pub = self.create_publisher(HandPoseArray, "hand_poses", 10)
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.mesh_pub = self.create_publisher(HandMesh, "hand_mesh", latched)
        self.markers_pub = self.create_publisher(MarkerArray, "markers", 10)
        self.debug_pub = self.create_publisher(Image, "debug_image", 1)
        self.tf_pub = self.create_publisher(TFMessage, "/tf", QoSProfile(depth=100))
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._ensure_mesh(self.info.mesh_id)
        self.create_timer(cfg.diagnostics_period, self._on_diagnostics_timer)
        self.worker = threading.Thread(target=self._worker_loop, name="hand_pose_worker",
                                       daemon=True)
        self.worker.start()
        self.get_logger().info(
            f"{self.info.summary}; listening on {self.resolve_topic_name(self.image_topic)} "
            f"({cfg.qos_reliability})")

    # -- executor callbacks (cheap: never run inference here) ---------------------
    def _retune(self, cfg) -> None:
        """A validated run-time parameter change (ValueError refuses it)."""
        changed = {name: value for name, value in vars(cfg).items()
                   if getattr(self.cfg, name) != value}
        with self.pipeline_lock:  # waits for the frame in progress
            self.parts.retune(cfg.pipeline_settings())
            self.cfg = cfg
        self.get_logger().info(f"parameters changed: {changed}")

    def _on_image(self, msg) -> None:
        now = time.monotonic()
        reason = self.monitor.check(stamp_seconds(msg.header.stamp), now)
        overwrote = self.slot.put(PendingFrame(msg, now, reason), merge=_carry_reset)
        self.stats.received(now, overwrote)

    def _on_camera_info(self, msg) -> None:
        try:
            self.camera = (camera_model_from_info(msg), int(msg.width), int(msg.height))
        except ValueError as exc:
            self.stats.count("camera_info_rejected")
            self.warnings.warn(f"camera_info rejected and ignored: {exc}")

    def _on_diagnostics_timer(self) -> None:
        values = self.stats.snapshot(time.monotonic())
        level, message = stats_status(values, self.cfg.camera_timeout)
        values.update(self._static_info())
        self.diag_pub.publish(diagnostic_array(
            f"{self.get_fully_qualified_name()}: hand pose estimation",
            self.info.device, level, message, values,
            self.get_clock().now().to_msg()))

    def _static_info(self) -> dict[str, object]:
        cfg = self.cfg
        return {
            "device": self.info.device, "backend": self.info.backend,
            "precision": self.info.precision, "estimator": cfg.estimator,
            "model_id": self.info.model_id, "model_file": self.info.model_file,
            "detector_model_id": self.parts.detector_model_id,
            "image_topic": self.resolve_topic_name(self.image_topic),
            "qos_reliability": cfg.qos_reliability,
            "camera_info": "valid" if self.camera is not None else "none",
            "tracks": len(self.pipeline.tracker.tracks),
            **({"mediapipe_worker_restarts": self.pipeline.worker.restarts}
               if cfg.estimator == "mediapipe" else {}),
        }

    # -- worker ------------------------------------------------------------------
    def _worker_loop(self) -> None:
        while not self.slot.closed:
            frame = self.slot.take(timeout_s=0.25)
            try:
                with self.pipeline_lock:
                    if frame is None:
                        self._on_idle()
                    else:
                        self._process(frame)
            except (ImageConversionError, FrameRejected) as exc:
                self._fail(f"image dropped: {exc}")
            except Exception as exc:  # noqa: BLE001 - one bad frame must not stop us
                if self.slot.closed or not self.context.ok():
                    break
                self.get_logger().debug(traceback.format_exc())
                self._fail(f"frame dropped, pipeline error ({type(exc).__name__}: "
                           f"{exc}); tracks reset")
                self._reset_after_error()

    def _reset_after_error(self) -> None:
        try:
            self.pipeline.reset()
        except Exception as exc:  # noqa: BLE001 - e.g. the MediaPipe worker won't start
            self.stats.count("track_reset_failures")
            self.warnings.warn(f"tracks reset failed ({type(exc).__name__}: {exc}); "
                               "the next frame tries again")

    def _fail(self, message: str) -> None:
        self.stats.failed(message)
        self.warnings.warn(message)

    def _on_idle(self) -> None:
        """Camera silent for camera_timeout: forget the tracks, delete their markers."""
        if (self.pipeline.tracker.tracks or self.shown_tracks) and \
                self.monitor.silent_for(time.monotonic()) > self.cfg.camera_timeout:
            self.pipeline.reset()
            self.stats.count("track_resets")
            self.get_logger().info("no images for camera_timeout: tracks reset")
            if self.shown_tracks and self.last_header is not None:
                header = replace_stamp(self.last_header, self.get_clock().now().to_msg())
                self.markers_pub.publish(MarkerArray(markers=marker_msgs.deletion_markers(
                    self.shown_tracks, header)))
            self.shown_tracks = set()

    def _reset_tracks(self, reason: str) -> None:
        """Start tracking afresh; counted and logged only when tracks were lost (after
        a silence the idle reset already ended them: a restart is not a second one)."""
        had_tracks = bool(self.pipeline.tracker.tracks)
        self.pipeline.reset()
        if had_tracks:
            self.stats.count("track_resets")
            self.get_logger().info(f"{reason}: tracks reset")

    def _header(self, msg):
        header = msg.header
        if not header.frame_id:
            if not self.cfg.default_frame_id:
                raise FrameRejected(
                    "the image's header.frame_id is empty (set the parameter "
                    "default_frame_id to use one for such images)")
            header = replace_frame(header, self.cfg.default_frame_id)
        return header

    def _process(self, frame: PendingFrame) -> None:
        msg, start = frame.msg, time.perf_counter()
        header = self._header(msg)
        rgb = (compressed_msg_to_rgb(msg) if self.cfg.image_transport == "compressed"
               else image_msg_to_rgb(msg))
        height, width = rgb.shape[:2]
        decode_ms = (time.perf_counter() - start) * 1e3
        reason = frame.reset_reason
        if self.image_size not in (None, (width, height)):
            reason = (f"image size changed from {self.image_size[0]}x"
                      f"{self.image_size[1]} to {width}x{height}")
        self.image_size = (width, height)
        if reason:
            self._reset_tracks(reason)
        stamp_s = stamp_seconds(header.stamp)
        result = self.pipeline.process(rgb, stamp_s if stamp_s > 0 else frame.receipt_s,
                                       self._camera_for(width, height))
        publish_start = time.perf_counter()
        self.poses_pub.publish(predictions_to_array(result.hands, header, width, height))
        self._publish_extras(result.hands, header, rgb)
        done = time.perf_counter()
        age_ms = ((self.get_clock().now().nanoseconds * 1e-9 - stamp_s) * 1e3
                  if stamp_s > 0 else float("nan"))
        latencies = dict(result.timings_ms, decode=decode_ms,
                         publish=(done - publish_start) * 1e3,
                         total=(time.monotonic() - frame.receipt_s) * 1e3,
                         frame_age=age_ms)
        self.stats.processed(latencies, len(result.hands))

    def _camera_for(self, width: int, height: int) -> CameraModel | None:
        """The camera model for an image of this size (None: root-relative 3D)."""
        camera = self.camera
        if camera is None:
            return None
        model, info_width, info_height = camera
        if (info_width, info_height) != (width, height):
            self.warnings.warn(
                f"camera_info is for {info_width}x{info_height} images, this image is "
                f"{width}x{height}: 3D stays root-relative")
            return None
        return model

    def _publish_extras(self, hands, header, rgb) -> None:
        for mesh_id in {hand.mesh_id for hand in hands if hand.mesh_id}:
            self._ensure_mesh(mesh_id)
        self.last_header = header
        height, width = rgb.shape[:2]
        if self.markers_pub.get_subscription_count() > 0:
            track_ids = [hand.track_id for hand in hands if hand.vertices is not None]
            mesh_tracks = (self.mesh_limiter.due(track_ids, time.monotonic())
                           if self.info.faces is not None else set())
            array, self.shown_tracks = marker_msgs.frame_markers(
                hands, header, self.shown_tracks,
                camera=self._camera_for(width, height) or CameraModel.default_for(width,
                                                                                   height),
                display_depth=self.cfg.marker_display_depth, faces=self.info.faces,
                mesh_tracks=mesh_tracks, mesh_lifetime_s=self.mesh_limiter.lifetime_s)
            self.markers_pub.publish(array)
            self.stats.count("mesh_markers", len(mesh_tracks))
        if self.debug_pub.get_subscription_count() > 0:
            self.debug_pub.publish(rgb_to_image_msg(draw_hands(rgb, hands), header))
            self.stats.count("debug_images")
        if self.cfg.publish_tf and hands:
            camera = (self._camera_for(width, height)
                      or CameraModel.default_for(width, height))
            offsets = [marker_msgs.display_offset(hand, camera,
                                                  self.cfg.marker_display_depth)
                       for hand in hands]
            transforms = wrist_transforms(hands, header, self.cfg.tf_prefix,
                                          self.cfg.tf_relative_frame, offsets)
            if transforms:
                self.tf_pub.publish(tf_message(transforms))

    def _ensure_mesh(self, mesh_id: str) -> None:
        """Publish the faces of ``mesh_id`` once (latched)."""
        faces = self.info.faces
        if (mesh_id and mesh_id not in self.published_meshes and faces is not None
                and mesh_id == self.info.mesh_id):
            self.mesh_pub.publish(mesh_to_msg(mesh_id, np.asarray(faces)))
            self.published_meshes.add(mesh_id)

    def destroy_node(self) -> None:
        self.slot.close()
        if self.worker.is_alive():
            self.worker.join(timeout=10.0)
        self.parts.close()
        super().destroy_node()


def replace_stamp(header, stamp):
    """A copy of ``header`` with another stamp."""
    return Header(stamp=stamp, frame_id=header.frame_id)


def replace_frame(header, frame_id: str):
    """A copy of ``header`` with another frame_id."""
    return Header(stamp=header.stamp, frame_id=frame_id)
