"""Detection quality: square-box IoU, greedy matching and the validation metrics.

Boxes are squares ``(cx, cy, side)`` in pixels (any one frame of reference: IoU does not
change under a uniform scale, so input-pixel and image-pixel IoUs agree).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def square_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix (N, M) of square boxes a (N, 3) and b (M, 3), each (cx, cy, side)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 3)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 3)
    lo_a, hi_a = a[:, None, :2] - a[:, None, 2:] / 2, a[:, None, :2] + a[:, None, 2:] / 2
    lo_b, hi_b = b[None, :, :2] - b[None, :, 2:] / 2, b[None, :, :2] + b[None, :, 2:] / 2
    wh = np.clip(np.minimum(hi_a, hi_b) - np.maximum(lo_a, lo_b), 0.0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = a[:, None, 2] ** 2 + b[None, :, 2] ** 2 - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def match_detections(pred: np.ndarray, gt: np.ndarray,
                     iou_threshold: float = 0.5) -> list[tuple[int, int, float]]:
    """Greedy matching, highest score first: each detection takes the unmatched
    ground-truth box it overlaps most, if that IoU >= ``iou_threshold``.

    Args:
        pred: (N, >=4) detections (cx, cy, side, score, ...), any order.
        gt: (M, >=3) ground-truth boxes (cx, cy, side, ...).
    Returns:
        (pred index, gt index, IoU) for every match.
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.size == 0 or gt.size == 0:
        return []
    iou = square_iou(pred[:, :3], gt[:, :3])
    taken = np.zeros(len(gt), dtype=bool)
    matches = []
    for i in np.argsort(-pred[:, 3], kind="stable"):
        candidates = np.where(taken, -1.0, iou[i])
        j = int(np.argmax(candidates))
        if candidates[j] >= iou_threshold:
            taken[j] = True
            matches.append((int(i), j, float(iou[i, j])))
    return matches


@dataclass
class DetectionStats:
    """Accumulates detection results over frames; ``metrics()`` summarises them."""

    iou_threshold: float = 0.5
    frames: int = 0
    num_gt: int = 0
    num_pred: int = 0
    num_matched: int = 0
    iou_sum: float = 0.0
    handedness_correct: int = 0
    empty_frames: int = 0
    empty_frames_with_detections: int = 0

    def add(self, pred: np.ndarray, gt: np.ndarray, gt_right: np.ndarray | None = None,
            ignore: np.ndarray | None = None) -> None:
        """One frame. pred (N, 5): cx, cy, side, score, right probability (already
        thresholded); gt (M, 3) boxes; gt_right (M,) 1 for right hands; ignore (K, 3):
        hands that need not be found (detections matching one are not counted)."""
        pred = np.asarray(pred, dtype=np.float64).reshape(-1, 5)
        gt = np.asarray(gt, dtype=np.float64).reshape(-1, 3)
        matches = match_detections(pred, gt, self.iou_threshold)
        if ignore is not None and len(ignore):
            matched = {i for i, _, _ in matches}
            rest = [i for i in range(len(pred)) if i not in matched]
            dropped = {rest[i] for i, _, _ in
                       match_detections(pred[rest], ignore, self.iou_threshold)}
            keep = [i for i in range(len(pred)) if i not in dropped]
            pred = pred[keep]
            matches = match_detections(pred, gt, self.iou_threshold)
        self.frames += 1
        self.num_gt += len(gt)
        self.num_pred += len(pred)
        if len(gt) == 0 and (ignore is None or len(ignore) == 0):
            self.empty_frames += 1
            self.empty_frames_with_detections += int(len(pred) > 0)
        for i, j, iou in matches:
            self.num_matched += 1
            self.iou_sum += iou
            if gt_right is not None:
                self.handedness_correct += int((pred[i, 4] >= 0.5) == (gt_right[j] >= 0.5))

    def metrics(self) -> dict[str, float]:
        """recall (found GT hands / GT hands, IoU >= threshold), miss_rate = 1 - recall,
        precision, mean_iou and handedness_accuracy over matched pairs, false positives
        per frame, and the fraction of hand-less frames with any detection."""
        recall = self.num_matched / self.num_gt if self.num_gt else 1.0
        matched = max(self.num_matched, 1)
        return {
            "recall": recall,
            "miss_rate": 1.0 - recall,
            "precision": self.num_matched / self.num_pred if self.num_pred else 1.0,
            "mean_iou": self.iou_sum / matched if self.num_matched else 0.0,
            "handedness_accuracy": (self.handedness_correct / matched
                                    if self.num_matched else 0.0),
            "false_positives_per_frame": (self.num_pred - self.num_matched) / max(self.frames, 1),
            "empty_frame_false_alarm": (self.empty_frames_with_detections / self.empty_frames
                                        if self.empty_frames else 0.0),
        }
