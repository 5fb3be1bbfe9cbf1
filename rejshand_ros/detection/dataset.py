"""torch Dataset of full frames for the hand detector: letterbox, augment, encode targets.

Each frame is letterboxed exactly as at inference (``letterbox.py``), then, in training,
warped by one random affine in input pixels (zoom, roll, shift, mirror) and colour-jittered.
Keypoints go through the same affine and the box is rebuilt from them, so boxes stay the
FreiHAND crop of the transformed hand; mirroring swaps left and right. Frames without
hands are kept (all-zero heatmap: they teach the detector what is not a hand).

The ``AugmentConfig`` fields mean, for full frames: ``scale_range`` zoom factor of the
frame (< 1 shrinks hands), ``center_jitter`` shift as a fraction of the input side,
``rotation_deg`` roll, ``flip_prob`` mirror probability, ``colour`` / ``blur_prob`` as for
crops.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from rejshand_ros.data.dataset import read_rgb
from rejshand_ros.data.freihand import DatasetError
from rejshand_ros.data.sample import NO_AUGMENT, AugmentConfig, jitter_colour
from rejshand_ros.detection.config import DetectorTrainSettings
from rejshand_ros.detection.annotations import FrameRecord
from rejshand_ros.detection.letterbox import Letterbox, letterbox_image
from rejshand_ros.detection.targets import box_from_uv, encode_targets

log = logging.getLogger(__name__)


def _random_affine(rng: np.random.Generator, augment: AugmentConfig,
                   size: int) -> tuple[np.ndarray, bool]:
    """A (2, 3) affine on input pixels (zoom + roll about the centre, shift, mirror)
    and whether it mirrors."""
    zoom = rng.uniform(*augment.scale_range)
    angle = np.deg2rad(rng.uniform(-augment.rotation_deg, augment.rotation_deg))
    shift = rng.uniform(-augment.center_jitter, augment.center_jitter, 2) * size
    flip = bool(rng.uniform() < augment.flip_prob)
    c, s = np.cos(angle) * zoom, np.sin(angle) * zoom
    centre = np.full(2, (size - 1) / 2.0)
    linear = np.array([[c, -s], [s, c]])
    affine = np.hstack([linear, (centre + shift - linear @ centre)[:, None]])
    if flip:
        affine = np.array([[-1.0, 0.0, size - 1.0], [0.0, 1.0, 0.0]]) @ np.vstack(
            [affine, [0.0, 0.0, 1.0]])
    return affine, flip


def frame_boxes(record: FrameRecord, letterbox: Letterbox, box_scale: float,
                affine: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Hands of a frame as input-pixel boxes (N, 3) (cx, cy, side) and right flags (N,),
    after the letterbox and the optional (2, 3) affine (mirroring not applied to the flags)."""
    boxes, right = [], []
    for hand in record.hands:
        if hand.uv is not None:
            uv = letterbox.to_input(hand.uv)
            if affine is not None:
                uv = uv @ affine[:, :2].T + affine[:, 2]
            box = box_from_uv(uv, box_scale)
        else:  # keypoint box given as [x, y, w, h] only
            x, y, w, h = hand.box
            centre = letterbox.to_input(np.array([x + w / 2.0, y + h / 2.0]))
            side = max(w, h) * box_scale * letterbox.side_scale
            if affine is not None:
                centre = affine[:, :2] @ centre + affine[:, 2]
                side *= float(np.sqrt(abs(np.linalg.det(affine[:, :2]))))
            box = np.array([centre[0], centre[1], side])
        boxes.append(box)
        right.append(float(hand.right))
    return np.asarray(boxes, np.float64).reshape(-1, 3), np.asarray(right, np.float64)


class FullFrameDataset(Dataset):
    """Frames -> dict of tensors: image (3, S, S) float32 in [0, 1] (RGB, not
    normalised), heatmap (1, G, G), index / mask / log_size / right (M,), offset (M, 2),
    boxes (M, 3) input px and box_mask (M,), ignore_boxes (M, 3) and ignore_mask (M,)
    (see ``targets.encode_targets``). Hands whose ``visible_fraction`` is below the
    settings' ``min_visible_fraction`` are ignored (neither targets nor negatives).

    Reproducible: the random state of item i in epoch e depends only on (seed, e, i).
    """

    def __init__(self, frames: list[FrameRecord], settings: DetectorTrainSettings,
                 augment: AugmentConfig = NO_AUGMENT, seed: int = 0,
                 skip_bad: bool = False) -> None:
        if not frames:
            raise DatasetError("no frames to build a detector dataset from")
        self.frames = frames
        self.settings = settings
        self.augment = augment
        self.seed = int(seed)
        self.skip_bad = skip_bad
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.frames)

    def _load(self, index: int) -> tuple[FrameRecord, np.ndarray]:
        for attempt in range(len(self)):
            record = self.frames[(index + attempt) % len(self)]
            image = read_rgb(record.image_path)
            if image is not None:
                return record, image
            message = f"missing or unreadable image {record.image_path}"
            if not self.skip_bad:
                raise DatasetError(message)
            log.warning("skipping: %s", message)
        raise DatasetError("no readable image among the detector frames")

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, int(index)))
        record, image = self._load(int(index))
        config = self.settings.model
        size = config.input_size
        inp, letterbox = letterbox_image(image, size, config.pad_rgb)
        affine, flip = None, False
        if self.augment != NO_AUGMENT:
            affine, flip = _random_affine(rng, self.augment, size)
            inp = cv2.warpAffine(inp, affine, (size, size), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=config.pad_rgb)
            inp = jitter_colour(inp, rng, self.augment.colour, self.augment.blur_prob)
        boxes, right = frame_boxes(record, letterbox, config.box_scale, affine)
        if flip:
            right = 1.0 - right
        ignore = np.array([h.visible_fraction < self.settings.min_visible_fraction
                           for h in record.hands], bool)
        targets = encode_targets(boxes, right, size, config.stride,
                                 self.settings.max_objects, self.settings.sigma_scale,
                                 self.settings.min_sigma, ignore=ignore)
        item = {k: torch.from_numpy(v) for k, v in targets.items()}
        item["image"] = torch.from_numpy(np.ascontiguousarray(inp)).permute(2, 0, 1).float() \
            .div_(255.0)
        return item
