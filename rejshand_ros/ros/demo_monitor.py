"""The demo's observer: scores hand_poses against hand_poses_gt live and films the overlay.

Subscribes ``image``, ``hand_poses``, ``hand_poses_gt`` and ``joint_commands``; for every
HandPoseArray it finds the image and the ground truth with the same stamp, scores the
hands (``live_scoring``), and appends the image with the predicted skeleton (finger
colours, ``overlay.draw_hands``) and the true one (thin white) to an MP4, repeating
frames so that the video runs in real time at the source rate. ``status_line()`` is the
demo's live line.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image, JointState

from rejshand_ros.imaging.files import VideoOverlayWriter, write_png
from rejshand_ros.imaging.codecs import ImageConversionError, raw_to_rgb
from rejshand_ros.geometry.keypoints import SKELETON_EDGES
from rejshand_ros.evaluation.live_scoring import WindowStats, score_frame
from rejshand_ros.msg import HandPoseArray
from rejshand_ros.imaging.overlay import draw_hands
from rejshand_ros.ros.conversions import hand_pose_to_prediction

KEEP_FRAMES = 60


def stamp_key(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


def draw_truth(image: np.ndarray, truth: list) -> np.ndarray:
    """Thin white skeletons of the true hands on ``image`` (in place; returns it)."""
    for hand in truth:
        uv = np.asarray(hand.uv, dtype=np.float64)
        if not np.isfinite(uv).all() or np.abs(uv).max() > 1e5:
            continue
        for parent, child in SKELETON_EDGES:
            cv2.line(image, tuple(int(round(v)) for v in uv[parent]),
                     tuple(int(round(v)) for v in uv[child]), (255, 255, 255), 1, cv2.LINE_AA)
    return image


class DemoMonitor(Node):
    """See the module docstring. ``video_path`` None: no video."""

    def __init__(self, video_path: Path | None, snapshot_path: Path | None, fps: float,
                 hand_poses_topic: str = "hand_poses") -> None:
        super().__init__("demo_monitor")
        self.video_path, self.snapshot_path, self.fps = video_path, snapshot_path, fps
        self.images: OrderedDict[int, Image] = OrderedDict()
        self.truth: OrderedDict[int, list] = OrderedDict()
        self.poses = WindowStats()
        self.latency_ms = WindowStats()
        self.err_2d = WindowStats()
        self.err_3d = WindowStats()
        self.commands = WindowStats()
        self.frames_scored = self.true_hands = self.found_hands = self.predicted_hands = 0
        self.last_hands = 0
        self.writer: VideoOverlayWriter | None = None
        self.first_stamp: int | None = None
        self.video_frames = 0
        self.last_overlay: np.ndarray | None = None  # the last frame with hands if any
        self.snapshot_has_hands = False
        self.create_subscription(Image, "image", self._on_image, qos_profile_sensor_data)
        self.create_subscription(HandPoseArray, "hand_poses_gt", self._on_truth, QoSProfile(
            depth=50, reliability=ReliabilityPolicy.RELIABLE))
        self.create_subscription(HandPoseArray, hand_poses_topic, self._on_poses,
                                 QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT))
        self.create_subscription(JointState, "joint_commands", self._on_joints, 10)

    @staticmethod
    def _keep(store: OrderedDict, key: int, value) -> None:
        store[key] = value
        while len(store) > KEEP_FRAMES:
            store.popitem(last=False)

    def _on_image(self, msg: Image) -> None:
        self._keep(self.images, stamp_key(msg.header.stamp), msg)

    def _on_truth(self, msg: HandPoseArray) -> None:
        self._keep(self.truth, stamp_key(msg.header.stamp),
                   [hand_pose_to_prediction(hand) for hand in msg.hands])

    def _on_joints(self, msg: JointState) -> None:
        self.commands.add()

    def _on_poses(self, msg: HandPoseArray) -> None:
        now_ns = self.get_clock().now().nanoseconds
        key = stamp_key(msg.header.stamp)
        self.poses.add()
        self.latency_ms.add((now_ns - key) * 1e-6)
        hands = [hand_pose_to_prediction(hand) for hand in msg.hands]
        self.last_hands = len(hands)
        truth = self.truth.get(key)
        if truth is not None:
            score = score_frame(hands, truth)
            self.frames_scored += 1
            self.true_hands += score.true_hands
            self.found_hands += score.matched
            self.predicted_hands += score.predicted_hands
            for value in score.errors_2d_px:
                self.err_2d.add(value)
            for value in score.errors_3d_mm:
                self.err_3d.add(value)
        image = self.images.get(key)
        if image is not None:
            self._film(key, image, hands, truth or [])

    def _film(self, key: int, msg: Image, hands: list, truth: list) -> None:
        try:
            rgb = raw_to_rgb(msg.height, msg.width, msg.encoding, msg.step, msg.data)
        except ImageConversionError as exc:
            self.get_logger().warning(f"cannot draw frame: {exc}", throttle_duration_sec=5.0)
            return
        overlay = draw_truth(draw_hands(rgb, hands), truth)
        if hands or self.last_overlay is None or not self.snapshot_has_hands:
            self.last_overlay, self.snapshot_has_hands = overlay, bool(hands)
        if self.video_path is None:
            return
        if self.writer is None:
            self.writer = VideoOverlayWriter(self.video_path, self.fps, (msg.width, msg.height))
            self.first_stamp = key
        due = int(round((key - self.first_stamp) * 1e-9 * self.fps)) + 1
        for _ in range(max(1, min(due - self.video_frames, int(self.fps * 2)))):
            self.writer.write(overlay)
            self.video_frames += 1

    def status_line(self, elapsed_s: float) -> str:
        """One line: rates, latency, hands and errors of the last seconds."""
        def fmt(value: float, unit: str, digits: int = 1) -> str:
            return "-" if not np.isfinite(value) else f"{value:.{digits}f} {unit}"

        found = (f"{self.found_hands}/{self.true_hands}" if self.true_hands else "-")
        return (f"t={elapsed_s:5.1f}s | {self.poses.rate():4.1f} fps | latency "
                f"{fmt(self.latency_ms.median(), 'ms', 0)} | hands {self.last_hands} "
                f"(found {found}) | 2D err {fmt(self.err_2d.median(), 'px')} | 3D err "
                f"{fmt(self.err_3d.median(), 'mm')} | robot {self.commands.rate():4.1f} cmd/s")

    def summary(self) -> dict:
        """Totals over the whole run."""
        return {
            "frames_processed": self.poses.total, "frames_scored": self.frames_scored,
            "true_hands": self.true_hands, "found_hands": self.found_hands,
            "predicted_hands": self.predicted_hands,
            "detection_rate": (self.found_hands / self.true_hands) if self.true_hands else None,
            "latency_ms_p50": self.latency_ms.overall(50), "latency_ms_p90":
            self.latency_ms.overall(90), "error_2d_px_median": self.err_2d.overall(50),
            "error_3d_mm_median": self.err_3d.overall(50), "robot_commands":
            self.commands.total, "video_frames": self.video_frames}

    def close(self) -> None:
        """Finish the video; write the last overlay (with hands, if any had some) as PNG."""
        if self.writer is not None:
            self.writer.close()
        if self.snapshot_path is not None and self.last_overlay is not None:
            write_png(self.snapshot_path, self.last_overlay)
        self.images.clear()
