"""SSD-style box decoding for anchor-based detectors (MediaPipe's palm detector).

Pure numpy, no model: anchor centres, box/keypoint decoding of the raw regressors and
the weighted non-maximum suppression that blends overlapping boxes instead of dropping
them. The settings are those MediaPipe publishes for its palm detection graph
(``palm_detection_cpu.pbtxt``: SsdAnchorsCalculator, TensorsToDetectionsCalculator and
NonMaxSuppressionCalculator options); the code is ours.

Coordinates: normalised to the square network input, x right and y down in [0, 1]; a
box is (x_center, y_center, width, height) or (xmin, ymin, xmax, ymax) where named.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SsdAnchorConfig:
    """Anchor grid of a single-shot detector with fixed-size anchors.

    input_size: side of the square network input, px. strides: one per output layer;
    consecutive layers with the same stride share one feature map. anchors_per_layer:
    anchors each layer adds per feature-map cell (MediaPipe's palm graph: aspect ratio
    1.0 plus the interpolated scale = 2). offset: anchor centre within its cell (0.5 =
    the cell centre). With fixed-size anchors every anchor is 1 x 1 (normalised), so
    only the centres matter for decoding.
    """

    input_size: int = 192
    strides: tuple[int, ...] = (8, 16, 16, 16)
    anchors_per_layer: int = 2
    offset: float = 0.5

    def __post_init__(self) -> None:
        if self.input_size < 1 or not self.strides or min(self.strides) < 1:
            raise ValueError(f"invalid anchor config: {self}")
        if self.anchors_per_layer < 1 or not 0.0 <= self.offset <= 1.0:
            raise ValueError(f"invalid anchor config: {self}")


def ssd_anchors(config: SsdAnchorConfig = SsdAnchorConfig()) -> np.ndarray:
    """(N, 2) anchor centres (x, y), normalised, in the network's output order.

    Layers are grouped by equal consecutive strides; per group, row-major over the
    ceil(input / stride) square feature map, each cell repeats its centre
    ``anchors_per_layer x layers in the group`` times. The palm detector's defaults give
    24 x 24 x 2 + 12 x 12 x 6 = 2016 anchors.
    """
    centres = []
    layer = 0
    strides = config.strides
    while layer < len(strides):
        group_end = layer
        while group_end < len(strides) and strides[group_end] == strides[layer]:
            group_end += 1
        repeat = config.anchors_per_layer * (group_end - layer)
        cells = int(math.ceil(config.input_size / strides[layer]))
        axis = (np.arange(cells, dtype=np.float64) + config.offset) / cells
        ys, xs = np.meshgrid(axis, axis, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, repeat, axis=0))
        layer = group_end
    return np.concatenate(centres, axis=0)


@dataclass
class RawDetections:
    """Decoded, score-filtered candidates: boxes (M, 4) (x_center, y_center, w, h),
    keypoints (M, K, 2) (x, y), scores (M,) in [0, 1]; normalised coordinates."""

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def corners(self) -> np.ndarray:
        """(M, 4) boxes as (xmin, ymin, xmax, ymax)."""
        half = self.boxes[:, 2:4] / 2.0
        return np.concatenate([self.boxes[:, :2] - half, self.boxes[:, :2] + half], axis=1)


def sigmoid_scores(logits: np.ndarray, clip: float = 100.0) -> np.ndarray:
    """Scores from raw logits, clipped to [-clip, clip] first (MediaPipe's
    score_clipping_thresh) so exp() never overflows."""
    z = np.clip(np.asarray(logits, dtype=np.float64), -clip, clip)
    return 1.0 / (1.0 + np.exp(-z))


def decode_ssd(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
               input_size: int, score_threshold: float,
               num_keypoints: int = 7) -> RawDetections:
    """Raw regressor outputs -> candidates with score >= ``score_threshold``.

    Args:
        raw_boxes: (N, 4 + 2K) per anchor: x, y offsets of the box centre, w, h, then K
            keypoint (x, y) offsets, all in input pixels ("reverse output order": x
            before y). Fixed 1 x 1 anchors: centre = offset / input_size + anchor,
            size = value / input_size.
        raw_scores: (N,) or (N, 1) logits.
        anchors: (N, 2) centres from :func:`ssd_anchors`.
        input_size: the network input side, px (the x/y/w/h scales).
    """
    raw_boxes = np.asarray(raw_boxes, dtype=np.float64)
    anchors = np.asarray(anchors, dtype=np.float64)
    num = anchors.shape[0]
    width = 4 + 2 * num_keypoints
    if raw_boxes.shape != (num, width):
        raise ValueError(f"raw boxes must be ({num}, {width}), got {raw_boxes.shape}")
    scores = sigmoid_scores(np.asarray(raw_scores).reshape(-1))
    if scores.shape[0] != num:
        raise ValueError(f"{scores.shape[0]} scores for {num} anchors")
    keep = np.flatnonzero(scores >= score_threshold)
    raw = raw_boxes[keep] / float(input_size)
    centre = raw[:, 0:2] + anchors[keep]
    boxes = np.concatenate([centre, raw[:, 2:4]], axis=1)
    keypoints = raw[:, 4:].reshape(-1, num_keypoints, 2) + anchors[keep][:, None, :]
    return RawDetections(boxes=boxes, keypoints=keypoints, scores=scores[keep])


def iou_corners(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one (4,) box with (M, 4) boxes, all (xmin, ymin, xmax, ymax); 0 where the
    union is empty."""
    lo = np.maximum(box[:2], others[:, :2])
    hi = np.minimum(box[2:], others[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=1)
    area = np.prod(np.clip(box[2:] - box[:2], 0.0, None))
    areas = np.prod(np.clip(others[:, 2:] - others[:, :2], 0.0, None), axis=1)
    union = area + areas - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0.0, inter / union, 0.0)


def weighted_nms(candidates: RawDetections, iou_threshold: float = 0.3,
                 max_detections: int | None = None) -> RawDetections:
    """Weighted non-maximum suppression (MediaPipe's WEIGHTED algorithm).

    Repeatedly take the best remaining candidate; every remaining candidate overlapping
    it by IoU > ``iou_threshold`` (itself included) joins its cluster and leaves the
    pool. The cluster's box corners and keypoints are the score-weighted means of its
    members; its score is the best member's. Output best first, at most
    ``max_detections`` (None: all).
    """
    order = np.argsort(-candidates.scores, kind="stable")
    corners = candidates.corners()
    boxes, keypoints, scores = [], [], []
    while order.size and (max_detections is None or len(scores) < max_detections):
        top = order[0]
        overlap = iou_corners(corners[top], corners[order]) > iou_threshold
        overlap[0] = True  # a degenerate (zero-area) top box still forms its own cluster
        members = order[overlap]
        weights = candidates.scores[members]
        mean_corners = weights @ corners[members] / weights.sum()
        mean_kps = np.tensordot(weights, candidates.keypoints[members], axes=1) / weights.sum()
        boxes.append(np.concatenate([(mean_corners[:2] + mean_corners[2:]) / 2.0,
                                     mean_corners[2:] - mean_corners[:2]]))
        keypoints.append(mean_kps)
        scores.append(candidates.scores[top])
        order = order[~overlap]
    num_kps = candidates.keypoints.shape[1]
    return RawDetections(
        boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4),
        keypoints=np.array(keypoints, dtype=np.float64).reshape(-1, num_kps, 2),
        scores=np.array(scores, dtype=np.float64))
