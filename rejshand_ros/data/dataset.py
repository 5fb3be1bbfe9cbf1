"""torch Dataset over a FreiHAND-layout split: images -> augmented crops + labels."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from rejshand_ros.data.freihand import DatasetError, SplitAnnotations
from rejshand_ros.data.labelled import LabelledAnnotations
from rejshand_ros.data.sample import (NO_AUGMENT, AugmentConfig, Sample, make_negative_sample,
                                      make_sample, make_sample_2d)

log = logging.getLogger(__name__)


def quiet_worker(_: int) -> None:
    """DataLoader ``worker_init_fn``: one thread per worker, so workers never oversubscribe
    the cores the main process uses (OpenMP/OpenCV pools fighting cost ~10x on 2 cores)."""
    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def read_rgb(path) -> np.ndarray | None:
    """Read an image file as (H, W, 3) uint8 RGB, or None when missing/undecodable."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def load_readable(index: int, count: int, image_id: Callable[[int], int],
                  image_path: Callable[[int], Path], skip_bad: bool, where: Path
                  ) -> tuple[int, np.ndarray]:
    """(image id, RGB image) of dataset item ``index`` (of ``count``); a missing or
    unreadable image raises DatasetError naming it, or with ``skip_bad`` is logged and the
    next item taken."""
    for attempt in range(count):
        item = image_id((index + attempt) % count)
        path = image_path(item)
        image = read_rgb(path)
        if image is not None:
            return item, image
        message = f"missing or unreadable image {path} (dataset index {index + attempt})"
        if not skip_bad:
            raise DatasetError(message)
        log.warning("skipping: %s", message)
    raise DatasetError(f"no readable image in {where}")


class HandCropDataset(Dataset):
    """Crops of one split, augmented reproducibly: the random state of item i in epoch e
    depends only on (seed, e, i), so a resumed run sees the same samples.

    Items are dicts of tensors: image (3, S, S) float32 in [0, 1] (RGB, not normalised:
    the model normalises), uv (21, 2), joints (21, 3), vertices (V, 3), presence (),
    right (), has_vertices (), and the per-sample loss weights w2d, w3d, wv () (which
    targets exist: here 2D and 3D for every hand, vertices where the split has them).
    """

    def __init__(self, annotations: SplitAnnotations, size: int,
                 augment: AugmentConfig = NO_AUGMENT, seed: int = 0, skip_bad: bool = False,
                 num_vertices: int = 778) -> None:
        if annotations.xyz is None:
            raise DatasetError(f"{annotations.root}/{annotations.split}_xyz.json is needed "
                               "to build training/evaluation crops")
        self.annotations = annotations
        self.size = int(size)
        self.augment = augment
        self.seed = int(seed)
        self.skip_bad = skip_bad
        self.num_vertices = num_vertices
        self.epoch = 0
        valid_ids = np.flatnonzero(annotations.valid)
        self.image_ids = np.concatenate(
            [valid_ids + version * annotations.num_samples
             for version in range(annotations.versions)])

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return int(self.image_ids.size)

    def _load(self, index: int) -> tuple[int, np.ndarray]:
        """Image of item ``index``; a missing one raises, or with skip_bad the next item."""
        return load_readable(index, len(self), lambda i: int(self.image_ids[i]),
                             self.annotations.image_path, self.skip_bad,
                             self.annotations.root / self.annotations.split)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, int(index)))
        image_id, image = self._load(int(index))
        ann = self.annotations
        sid = ann.sample_id(image_id)
        if not ann.presence[sid]:
            sample = make_negative_sample(image, ann.K[sid], self.size, rng,
                                          num_vertices=self.num_vertices)
        else:
            verts = ann.verts[sid] if ann.verts is not None else None
            sample = make_sample(image, ann.K[sid], ann.xyz[sid], verts, bool(ann.handedness[sid]),
                                 self.size, self.augment, rng)
        return sample_to_item(sample, index, self.num_vertices)


def sample_to_item(sample: Sample, index: int, num_vertices: int) -> dict[str, torch.Tensor]:
    """A Sample -> the tensors a batch holds, with loss weights saying which targets exist."""
    has_vertices = sample.vertices is not None and sample.presence > 0
    has_joints = sample.joints is not None and sample.presence > 0
    vertices = sample.vertices if sample.vertices is not None \
        else np.zeros((num_vertices, 3), np.float32)
    joints = sample.joints if sample.joints is not None else np.zeros((21, 3), np.float32)

    def scalar(value: float) -> torch.Tensor:
        return torch.tensor(float(value), dtype=torch.float32)

    return {
        "image": torch.from_numpy(sample.image).permute(2, 0, 1).float().div_(255.0),
        "uv": torch.from_numpy(sample.uv),
        "joints": torch.from_numpy(np.ascontiguousarray(joints, dtype=np.float32)),
        "vertices": torch.from_numpy(np.ascontiguousarray(vertices, dtype=np.float32)),
        "presence": scalar(sample.presence),
        "right": scalar(sample.right),
        "has_vertices": scalar(has_vertices),
        "w2d": scalar(sample.presence),
        "w3d": scalar(has_joints),
        "wv": scalar(has_vertices),
        "index": torch.tensor(int(index)),
    }


class LabelledCropDataset(Dataset):
    """Crops of a 2D-labelled split (``rejshand_ros.data.labelled``: real photos with
    teacher labels), cropped from the 2D keypoints, never from an invented camera.

    Items as HandCropDataset's; w3d is 1 where the split has 3D joints (teacher), wv 0.
    Reproducible per (seed, epoch, index) like HandCropDataset.
    """

    def __init__(self, annotations: LabelledAnnotations, size: int,
                 augment: AugmentConfig = NO_AUGMENT, seed: int = 0, skip_bad: bool = False,
                 num_vertices: int = 778) -> None:
        self.annotations = annotations
        self.size, self.augment, self.seed = int(size), augment, int(seed)
        self.skip_bad, self.num_vertices, self.epoch = skip_bad, num_vertices, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.annotations.num_samples

    def _load(self, index: int) -> tuple[int, np.ndarray]:
        return load_readable(index, len(self), int, self.annotations.image_path,
                             self.skip_bad, self.annotations.root / self.annotations.split)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, int(index)))
        sample_id, image = self._load(int(index))
        ann = self.annotations
        xyz = None
        if ann.xyz_rel is not None and np.isfinite(ann.xyz_rel[sample_id]).all():
            xyz = ann.xyz_rel[sample_id]
        sample = make_sample_2d(image, ann.uv[sample_id], xyz, bool(ann.handedness[sample_id]),
                                self.size, self.augment, rng)
        return sample_to_item(sample, index, self.num_vertices)
