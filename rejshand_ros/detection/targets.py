"""CenterNet-style encoding of hand boxes into training targets, and decoding of outputs.

A hand is a square box ``(cx, cy, side)`` in input pixels (pixel centres at integers).
On the output grid of stride ``r`` its centre has grid coordinate ``g = (c + 0.5) / r``:
cell ``floor(g)`` holds the peak, ``g - floor(g)`` in [0, 1) is the sub-cell offset, and
the size target is ``log(side / input_size)``. Decoding inverts exactly:
``c = (cell + offset) * r - 0.5``, ``side = input_size * exp(log_size)``.

Network outputs (all per cell, shape (B, C, G, G), G = input_size / r):
``heatmap`` (C=1) centre logit, ``log_size`` (1), ``offset`` (2: x, y), ``handedness``
(1) right-hand logit.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F

from rejshand_ros.detection.evaluation import square_iou
from rejshand_ros.geometry.crop import box_from_keypoints

log = logging.getLogger(__name__)

#: columns of a decoded detection row
DETECTION_COLUMNS = ("cx", "cy", "side", "score", "right_prob")


def box_from_uv(uv: np.ndarray, box_scale: float = 1.25) -> np.ndarray:
    """(21, 2) keypoints px -> square box (3,) = (cx, cy, side): the keypoint bounding
    box's centre, side = max(w, h) * box_scale (1.25: the FreiHAND crop)."""
    box = box_from_keypoints(uv, scale=box_scale)
    return np.array([box.center[0], box.center[1], box.size], dtype=np.float64)


#: peak height of an ignored hand: below 1 (not a positive), high enough that the focal
#: loss's (1 - y)^4 factor all but removes the negative penalty around it
IGNORE_PEAK = 0.99


def encode_targets(boxes: np.ndarray, right: np.ndarray, input_size: int, stride: int,
                   max_objects: int, sigma_scale: float = 0.08, min_sigma: float = 0.5,
                   ignore: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Boxes of one frame -> training targets.

    Args:
        boxes: (N, 3) (cx, cy, side) in input px; boxes whose centre lies outside the
            input are dropped (a centre-based detector cannot see them).
        right: (N,) 1 for right hands, 0 for left.
        input_size, stride: input side and output stride, px.
        max_objects: M, slots per frame (extra boxes are dropped with a warning).
        sigma_scale, min_sigma: Gaussian spread = max(sigma_scale * side / stride,
            min_sigma) cells.
        ignore: (N,) bool, hands neither to be found nor to be punished for (e.g. mostly
            occluded): their blob peaks at IGNORE_PEAK, they get no target slot.
    Returns:
        heatmap (1, G, G) float32 in [0, 1] with exactly 1 at every centre cell;
        index (M,) int64 flat cell index; mask (M,) float32 1 where a slot holds a
        target; log_size (M,); offset (M, 2); right (M,); boxes (M, 3) and box_mask (M,):
        the kept ground-truth boxes (for evaluation; a box sharing its centre cell with an
        earlier one keeps box_mask 1 but mask 0); ignore_boxes (M, 3), ignore_mask (M,).
    """
    grid = input_size // stride
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 3)
    right = np.asarray(right, dtype=np.float64).reshape(-1)
    ignore = np.zeros(len(boxes), bool) if ignore is None else np.asarray(ignore, bool)
    inside = np.all((boxes[:, :2] >= -0.5) & (boxes[:, :2] < input_size - 0.5), axis=1)
    inside &= boxes[:, 2] > 0
    ignored = boxes[inside & ignore][:max_objects]
    keep = inside & ~ignore
    boxes, right = boxes[keep], right[keep]
    if len(boxes) > max_objects:
        log.warning("frame has %d hands, encoding the first %d", len(boxes), max_objects)
        boxes, right = boxes[:max_objects], right[:max_objects]
    out = {
        "heatmap": np.zeros((1, grid, grid), np.float32),
        "index": np.zeros(max_objects, np.int64),
        "mask": np.zeros(max_objects, np.float32),
        "log_size": np.zeros(max_objects, np.float32),
        "offset": np.zeros((max_objects, 2), np.float32),
        "right": np.zeros(max_objects, np.float32),
        "boxes": np.zeros((max_objects, 3), np.float32),
        "box_mask": np.zeros(max_objects, np.float32),
        "ignore_boxes": np.zeros((max_objects, 3), np.float32),
        "ignore_mask": np.zeros(max_objects, np.float32),
    }
    ys, xs = np.mgrid[0:grid, 0:grid]

    def add_blob(box: np.ndarray, peak: float) -> tuple[np.ndarray, np.ndarray]:
        g = (box[:2] + 0.5) / stride
        cell = np.clip(np.floor(g), 0, grid - 1).astype(np.int64)
        sigma = max(sigma_scale * box[2] / stride, min_sigma)
        blob = np.exp(-((xs - cell[0]) ** 2 + (ys - cell[1]) ** 2) / (2.0 * sigma ** 2))
        np.maximum(out["heatmap"][0], (peak * blob).astype(np.float32), out=out["heatmap"][0])
        return g, cell

    for k, box in enumerate(ignored):
        add_blob(box, IGNORE_PEAK)
        out["ignore_boxes"][k] = box
        out["ignore_mask"][k] = 1.0
    used: set[int] = set()
    for k, (box, is_right) in enumerate(zip(boxes, right)):
        g, cell = add_blob(box, 1.0)
        out["boxes"][k] = box
        out["box_mask"][k] = 1.0
        out["right"][k] = is_right
        flat = int(cell[1] * grid + cell[0])
        if flat in used:
            continue
        used.add(flat)
        out["index"][k] = flat
        out["mask"][k] = 1.0
        out["log_size"][k] = np.log(box[2] / input_size)
        out["offset"][k] = g - cell
    return out


def decode_peaks(outputs: dict[str, torch.Tensor], stride: int, input_size: int,
                 top_k: int) -> torch.Tensor:
    """Network outputs -> the ``top_k`` heatmap peaks of each image.

    Peaks are cells that equal the maximum of their 3x3 neighbourhood (max-pool NMS).
    Returns (B, top_k, 5) float32: cx, cy, side (input px), score (centre probability),
    right-hand probability; rows sorted by score.
    """
    heat = torch.sigmoid(outputs["heatmap"].float())
    batch, _, grid_h, grid_w = heat.shape
    peaks = heat * (F.max_pool2d(heat, 3, stride=1, padding=1) == heat)
    k = min(top_k, grid_h * grid_w)
    scores, index = peaks.view(batch, -1).topk(k, dim=1)

    def gather(name: str) -> torch.Tensor:
        value = outputs[name].float().flatten(2)  # (B, C, G*G)
        return value.gather(2, index[:, None, :].expand(-1, value.shape[1], -1))

    offset = gather("offset")
    cx = ((index % grid_w).float() + offset[:, 0]) * stride - 0.5
    cy = ((index // grid_w).float() + offset[:, 1]) * stride - 0.5
    side = input_size * torch.exp(gather("log_size")[:, 0])
    right = torch.sigmoid(gather("handedness")[:, 0])
    return torch.stack([cx, cy, side, scores, right], dim=2)


def select_detections(peaks: np.ndarray, score_threshold: float, max_count: int,
                      nms_iou: float = 0.5) -> np.ndarray:
    """One image's peaks (K, 5) -> detections (N <= max_count, 5): score >= threshold,
    then greedy box NMS (a box overlapping a kept higher-scoring one by IoU > nms_iou
    is dropped)."""
    peaks = np.asarray(peaks, dtype=np.float64).reshape(-1, 5)
    peaks = peaks[peaks[:, 3] >= score_threshold]
    peaks = peaks[np.argsort(-peaks[:, 3], kind="stable")]
    kept: list[np.ndarray] = []
    for row in peaks:
        if len(kept) >= max_count:
            break
        if kept and square_iou(row[None, :3], np.stack(kept)[:, :3]).max() > nms_iou:
            continue
        kept.append(row)
    return np.stack(kept) if kept else np.zeros((0, 5))
