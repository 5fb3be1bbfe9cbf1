"""Score predicted hands against ground truth, frame by frame (the demo's live line).

Pure numpy on HandPredictions: match predicted to true hands (greedy on the mean 2D
keypoint distance), then per matched hand the mean 2D keypoint error (pixels) and the
root-relative 3D error (MPJPE after aligning joint 9, millimetres). ``WindowStats``
keeps the values of the last seconds for rates and medians.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from rejshand_ros.geometry.keypoints import ROOT_JOINT
from rejshand_ros.perception.hand_prediction import HandPrediction

MAX_MATCH_PX = 120.0  # a prediction farther than this (mean keypoint distance) is no match


@dataclass
class FrameScore:
    """One frame: how many hands were true / predicted / matched, and the errors of the
    matched ones (pixels, millimetres)."""

    true_hands: int
    predicted_hands: int
    matched: int
    errors_2d_px: list[float] = field(default_factory=list)
    errors_3d_mm: list[float] = field(default_factory=list)


def mean_2d_error(pred: HandPrediction, truth: HandPrediction) -> float:
    """Mean Euclidean distance of the 21 2D keypoints, pixels."""
    return float(np.linalg.norm(pred.uv.astype(np.float64) - truth.uv, axis=1).mean())


def root_relative_3d_error(pred: HandPrediction, truth: HandPrediction) -> float:
    """MPJPE after moving both roots (joint 9) to the origin, millimetres."""
    p = pred.joints.astype(np.float64) - pred.joints[ROOT_JOINT]
    t = truth.joints.astype(np.float64) - truth.joints[ROOT_JOINT]
    return float(np.linalg.norm(p - t, axis=1).mean() * 1000.0)


def match_hands(predicted: list[HandPrediction], truth: list[HandPrediction],
                max_px: float = MAX_MATCH_PX) -> list[tuple[int, int]]:
    """(predicted index, true index) pairs, closest first, each hand used at most once."""
    pairs = sorted((mean_2d_error(p, t), i, j) for i, p in enumerate(predicted)
                   for j, t in enumerate(truth) if p.is_finite())
    used_p, used_t, matches = set(), set(), []
    for distance, i, j in pairs:
        if distance > max_px or i in used_p or j in used_t:
            continue
        used_p.add(i)
        used_t.add(j)
        matches.append((i, j))
    return matches


def score_frame(predicted: list[HandPrediction], truth: list[HandPrediction]) -> FrameScore:
    """Score one frame; true hands without a visible pixel (presence 0) are not counted."""
    visible = [t for t in truth if t.presence > 0]
    matches = match_hands(predicted, visible)
    score = FrameScore(len(visible), len(predicted), len(matches))
    for i, j in matches:
        score.errors_2d_px.append(mean_2d_error(predicted[i], visible[j]))
        score.errors_3d_mm.append(root_relative_3d_error(predicted[i], visible[j]))
    return score


class WindowStats:
    """Timestamped values of the last ``window_s`` seconds (and running totals)."""

    def __init__(self, window_s: float = 2.0) -> None:
        self.window_s = window_s
        self._items: deque[tuple[float, float]] = deque()
        self.total = 0
        self.sum = 0.0
        self.values: list[float] = []

    def add(self, value: float = 1.0, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._items.append((now, float(value)))
        self.total += 1
        self.sum += float(value)
        self.values.append(float(value))
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self._items and self._items[0][0] < now - self.window_s:
            self._items.popleft()

    def rate(self, now: float | None = None) -> float:
        """Values per second over the window."""
        now = time.monotonic() if now is None else now
        self._trim(now)
        return len(self._items) / self.window_s

    def median(self, now: float | None = None) -> float:
        """Median of the window's values (nan when empty)."""
        now = time.monotonic() if now is None else now
        self._trim(now)
        return float(np.median([v for _, v in self._items])) if self._items else float("nan")

    def overall(self, q: float = 50.0) -> float:
        """Percentile ``q`` of every value ever added (nan when none)."""
        return float(np.percentile(self.values, q)) if self.values else float("nan")
