"""A contact sheet of synthetic samples (docs/synth_samples.png): crops and full frames.

Crops are shown as rendered; full frames get their ground-truth boxes (green: right
hand, orange: left) and 2-D keypoints drawn on top.
"""

from __future__ import annotations


import cv2
import numpy as np

from rejshand_ros.geometry.keypoints import SKELETON_EDGES
from rejshand_ros.synth.generate import SynthSample, render_crop, render_frame

_SIDE_COLOR = {"right": (40, 200, 60), "left": (255, 150, 20)}


def draw_annotations(sample: SynthSample) -> np.ndarray:
    """Copy of the sample's image with boxes, skeletons and handedness drawn (RGB)."""
    image = sample.image.copy()
    for hand in sample.hands:
        color = _SIDE_COLOR[hand.handedness]
        x, y, w, h = (int(v) for v in hand.box)
        if w > 0:
            cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), color, 2)
            cv2.putText(image, f"{hand.handedness} {hand.visible_fraction:.2f}", (x, max(y - 4, 12)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1, cv2.LINE_AA)
        uv = np.round(hand.uv * 16).astype(np.int64)
        for a, b in SKELETON_EDGES:
            cv2.line(image, tuple(uv[a]), tuple(uv[b]), (255, 255, 255), 1, cv2.LINE_AA, 4)
    return image


def contact_sheet(seed: int = 0, crops: int = 8, frames: int = 2, size: int = 224,
                  width: int = 640, height: int = 480) -> np.ndarray:
    """RGB sheet: ``crops`` crops in rows of 4 above ``frames`` annotated frames."""
    tiles = [render_crop((seed, i), size).image for i in range(crops)]
    rows = [np.concatenate(tiles[i:i + 4], axis=1) for i in range(0, crops, 4)]
    sheet_width = rows[0].shape[1]
    scale = sheet_width / (frames * width)
    shown = [cv2.resize(draw_annotations(render_frame((seed, 1000 + i), width, height)),
                     (int(width * scale), int(height * scale)), interpolation=cv2.INTER_AREA)
             for i in range(frames)]
    bottom = np.concatenate(shown, axis=1)
    pad = np.zeros((bottom.shape[0], sheet_width - bottom.shape[1], 3), np.uint8)
    return np.concatenate(rows + [np.concatenate([bottom, pad], axis=1)], axis=0)


