"""Draw hands on an image: 2D skeleton coloured per finger, crop boxes, track labels.

ROS-free (numpy + OpenCV): used by the node's ``debug_image``, ``rejshand-predict`` and
the demo. Works on RGB arrays and returns a new array; the input is never modified.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from rejshand_ros.geometry.keypoints import FINGER_COLORS_RGB, JOINT_FINGER, SKELETON_EDGES
from rejshand_ros.perception.hand_prediction import Handedness, HandPrediction

#: box and label colour per handedness (RGB)
HANDEDNESS_COLORS_RGB: dict[Handedness, tuple[int, int, int]] = {
    Handedness.LEFT: (255, 140, 0),
    Handedness.RIGHT: (0, 200, 255),
    Handedness.UNKNOWN: (200, 200, 200),
}
_SHIFT = 4  # sub-pixel bits for cv2 drawing
_SCALE = 1 << _SHIFT


def hand_label(hand: HandPrediction) -> str:
    """Short label, e.g. ``"#3 R 0.92"``: track id, handedness initial, presence score."""
    side = {Handedness.LEFT: "L", Handedness.RIGHT: "R"}.get(hand.handedness, "?")
    return f"#{hand.track_id} {side} {hand.presence:.2f}"


def _fixed(point: np.ndarray) -> tuple[int, int]:
    return int(round(float(point[0]) * _SCALE)), int(round(float(point[1]) * _SCALE))


def _drawable(points: np.ndarray, limit: float) -> np.ndarray:
    """Mask of finite points not absurdly far outside the image (cv2 needs ints)."""
    return np.isfinite(points).all(axis=1) & (np.abs(points) < limit).all(axis=1)


def draw_hands(image: np.ndarray, hands: Sequence[HandPrediction], *, boxes: bool = True,
               labels: bool = True, thickness: int | None = None) -> np.ndarray:
    """A copy of ``image`` ((H, W, 3) uint8 RGB) with every hand drawn.

    Bones take their finger's colour (``keypoints.FINGER_COLORS_RGB``), joints are dots,
    the crop (``roi``) is a square in the handedness colour with the ``hand_label`` above
    it. Non-finite or far-off keypoints are skipped, never raised on.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} "
                         f"{image.dtype}")
    out = np.ascontiguousarray(image).copy()
    height, width = out.shape[:2]
    line = thickness or max(1, int(round(min(height, width) / 240)))
    limit = 8.0 * max(height, width) + 1e4
    for hand in hands:
        uv = np.asarray(hand.uv, dtype=np.float64)
        ok = _drawable(uv, limit)
        for parent, child in SKELETON_EDGES:
            if ok[parent] and ok[child]:
                cv2.line(out, _fixed(uv[parent]), _fixed(uv[child]),
                         FINGER_COLORS_RGB[JOINT_FINGER[child]], line, cv2.LINE_AA, _SHIFT)
        for joint in np.flatnonzero(ok):
            cv2.circle(out, _fixed(uv[joint]), (line + 1) * _SCALE,
                       FINGER_COLORS_RGB[JOINT_FINGER[joint]], -1, cv2.LINE_AA, _SHIFT)
        color = HANDEDNESS_COLORS_RGB.get(hand.handedness, (200, 200, 200))
        x, y, w, h = (float(v) for v in hand.roi)
        corners = np.array([[x, y], [x + w, y + h]])
        if not _drawable(corners, limit).all():
            continue
        if boxes and w > 0 and h > 0:
            cv2.rectangle(out, _fixed(corners[0]), _fixed(corners[1]), color, line,
                          cv2.LINE_AA, _SHIFT)
        if labels:
            scale = 0.4 * line
            origin = (int(np.clip(x, 0, max(width - 1, 0))),
                      int(np.clip(y - 4, 10 * line, max(height - 1, 0))))
            cv2.putText(out, hand_label(hand), origin, cv2.FONT_HERSHEY_SIMPLEX, scale,
                        color, line, cv2.LINE_AA)
    return out
