"""Score a HandDetector on annotated full frames, in image pixels (the way the node uses it).

Ground truth per hand: the FreiHAND box of its 21 keypoints (``box_from_uv``). A hand is
*ignored* (need not be found; a detection on it is no false positive) when its box
centre lies outside the image or its ``visible_fraction`` is below
``min_visible_fraction``.
"""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np

from rejshand_ros.data.dataset import read_rgb
from rejshand_ros.data.freihand import DatasetError
from rejshand_ros.detection.evaluation import DetectionStats
from rejshand_ros.detection.annotations import FrameRecord
from rejshand_ros.detection.targets import box_from_uv
from rejshand_ros.perception.hand_prediction import Handedness


class _Detector(Protocol):
    def detect(self, image: np.ndarray) -> list: ...


def frame_ground_truth(record: FrameRecord, width: int, height: int, box_scale: float = 1.25,
                       min_visible_fraction: float = 0.25
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(boxes (N, 3) cx, cy, side px, right (N,), ignored boxes (K, 3)) of one frame."""
    boxes, right, ignored = [], [], []
    for hand in record.hands:
        if hand.uv is not None:
            box = box_from_uv(hand.uv, box_scale)
        else:
            x, y, w, h = hand.box
            box = np.array([x + w / 2.0, y + h / 2.0, max(w, h) * box_scale])
        inside = -0.5 <= box[0] < width - 0.5 and -0.5 <= box[1] < height - 0.5
        if inside and hand.visible_fraction >= min_visible_fraction:
            boxes.append(box)
            right.append(float(hand.right))
        else:
            ignored.append(box)
    return (np.asarray(boxes, np.float64).reshape(-1, 3), np.asarray(right, np.float64),
            np.asarray(ignored, np.float64).reshape(-1, 3))


def evaluate_on_frames(detector: _Detector, frames: list[FrameRecord],
                       box_scale: float = 1.25, min_visible_fraction: float = 0.25,
                       iou_threshold: float = 0.5) -> dict[str, float]:
    """Run ``detector.detect`` on every frame; DetectionStats metrics plus
    ``frames_all_found`` (fraction of frames with hands where every hand was found) and
    ``latency_ms`` (mean detect() time per frame)."""
    stats = DetectionStats(iou_threshold=iou_threshold)
    frames_with_hands = frames_all_found = 0
    seconds = 0.0
    for record in frames:
        image = read_rgb(record.image_path)
        if image is None:
            raise DatasetError(f"missing or unreadable image {record.image_path}")
        start = time.perf_counter()
        found = detector.detect(image)
        seconds += time.perf_counter() - start
        pred = np.array([[d.center[0], d.center[1], d.size, d.score,
                          float(d.handedness == Handedness.RIGHT)] for d in found])
        gt, right, ignored = frame_ground_truth(record, image.shape[1], image.shape[0],
                                                box_scale, min_visible_fraction)
        matched_before = stats.num_matched
        stats.add(pred.reshape(-1, 5), gt, right, ignore=ignored)
        if len(gt):
            frames_with_hands += 1
            frames_all_found += int(stats.num_matched - matched_before == len(gt))
    metrics = stats.metrics()
    metrics["frames_all_found"] = frames_all_found / frames_with_hands if frames_with_hands \
        else 1.0
    metrics["latency_ms"] = 1e3 * seconds / max(len(frames), 1)
    metrics["frames"] = float(len(frames))
    metrics["hands"] = float(stats.num_gt)
    return metrics
