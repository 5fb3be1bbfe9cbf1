"""Annotations of a split in the FreiHAND layout, read and validated.

Layout (FreiHAND and ``rejshand-synth`` alike)::

    DIR/NAME/rgb/%08d.jpg          images; image id = sample id + N * version
    DIR/NAME_K.json                N x 3x3 camera intrinsics
    DIR/NAME_xyz.json              N x 21x3 keypoints, camera frame, metres (optional for
                                   FreiHAND's evaluation split in its original release)
    DIR/NAME_verts.json            N x 778x3 mesh vertices (optional)
    DIR/NAME_scale.json            N scales (|xyz[9] - xyz[10]|, metres; optional)
    DIR/NAME_handedness.json       N x "right"/"left" (rejshand-synth only; default right)
    DIR/NAME_presence.json         N x 0/1, 0 = no hand in the image (rejshand-synth only)

FreiHAND's training split holds 4 appearance versions of each sample (N = 32,560,
130,240 images); the number of versions is found from the images present.

Scoring predictions needs only the labels: ``load_split(..., labels_only=True)`` reads
NAME_xyz.json (required), NAME_verts.json and the optional per-sample files, and neither
NAME_K.json nor the images (FreiHAND's evaluation labels are released as exactly
``evaluation_xyz.json`` and ``evaluation_verts.json``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


class DatasetError(ValueError):
    """A dataset file or entry is missing or malformed; the message names it."""


@dataclass
class SplitAnnotations:
    """Per-sample annotations of one split (arrays indexed by sample id)."""

    root: Path
    split: str
    K: np.ndarray | None          # (N, 3, 3); None when loaded with labels_only
    xyz: np.ndarray | None        # (N, 21, 3) metres, camera frame
    verts: np.ndarray | None      # (N, V, 3) metres, camera frame
    scale: np.ndarray | None      # (N,)
    handedness: np.ndarray        # (N,) bool, True = right
    presence: np.ndarray          # (N,) bool
    versions: int                 # images per sample (0 when loaded with labels_only)
    valid: np.ndarray             # (N,) bool, False for entries rejected with skip_bad

    @property
    def num_samples(self) -> int:
        return int(self.valid.shape[0])

    @property
    def num_images(self) -> int:
        return self.num_samples * self.versions

    def image_path(self, image_id: int) -> Path:
        return self.root / self.split / "rgb" / f"{image_id:08d}.jpg"

    def sample_id(self, image_id: int) -> int:
        return image_id % self.num_samples


def _read_json(path: Path, required: bool) -> list | None:
    if not path.exists():
        if required:
            raise DatasetError(f"missing dataset file: {path}")
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, list):
        raise DatasetError(f"{path}: expected a JSON list, got {type(data).__name__}")
    return data


def _stack(entries: list, shape: tuple[int, ...], path: Path, valid: np.ndarray,
           skip_bad: bool) -> np.ndarray:
    """Entries -> float64 array of shape (N, *shape); bad entries raise or are marked."""
    out = np.zeros((len(entries),) + shape, dtype=np.float64)
    for index, entry in enumerate(entries):
        try:
            array = np.asarray(entry, dtype=np.float64)
            ok = array.shape == shape and np.isfinite(array).all()
        except (TypeError, ValueError):
            ok = False
        if ok:
            out[index] = array
            continue
        message = f"{path}: malformed entry at index {index} (expected shape {shape} of finite numbers)"
        if not skip_bad:
            raise DatasetError(message)
        log.warning("skipping: %s", message)
        valid[index] = False
    return out


def _count_versions(root: Path, split: str, num_samples: int) -> int:
    rgb = root / split / "rgb"
    if not rgb.is_dir():
        raise DatasetError(f"missing image directory: {rgb}")
    versions = 1
    while (rgb / f"{versions * num_samples:08d}.jpg").exists():
        versions += 1
    return versions


def load_split(root: str | Path, split: str, skip_bad: bool = False,
               require_xyz: bool = True, labels_only: bool = False) -> SplitAnnotations:
    """Read and validate DIR/NAME_*.json; raises DatasetError naming the file and index.

    With ``skip_bad`` a malformed entry is logged and marked invalid instead. With
    ``labels_only`` (scoring) the sample count comes from NAME_xyz.json, which is then
    required, and NAME_K.json and the images are not read (``K`` None, ``versions`` 0).
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset directory not found: {root}")
    anchor = root / f"{split}_{'xyz' if labels_only else 'K'}.json"
    anchor_entries = _read_json(anchor, required=True)
    num = len(anchor_entries)
    if num == 0:
        raise DatasetError(f"{anchor}: no samples")
    valid = np.ones(num, dtype=bool)
    K = None if labels_only else _stack(anchor_entries, (3, 3), anchor, valid, skip_bad)

    def optional(name: str, shape: tuple[int, ...] | None, required: bool = False):
        path = root / f"{split}_{name}.json"
        entries = anchor_entries if path == anchor else _read_json(path, required)
        if entries is None:
            return None
        if len(entries) != num:
            raise DatasetError(f"{path}: {len(entries)} entries, but {anchor.name} has {num}")
        if shape is None:
            return entries
        return _stack(entries, shape, path, valid, skip_bad)

    xyz = optional("xyz", (21, 3), required=require_xyz or labels_only)
    verts_entries = optional("verts", None)
    verts = None
    if verts_entries is not None:
        num_vertices = len(verts_entries[0]) if verts_entries and verts_entries[0] else 778
        verts = _stack(verts_entries, (num_vertices, 3), root / f"{split}_verts.json", valid, skip_bad)
    scale = optional("scale", ())
    handedness_entries = optional("handedness", None)
    handedness = np.ones(num, dtype=bool)
    if handedness_entries is not None:
        for index, entry in enumerate(handedness_entries):
            if entry not in ("left", "right"):
                message = f"{root / f'{split}_handedness.json'}: entry {index} is {entry!r}, expected 'left' or 'right'"
                if not skip_bad:
                    raise DatasetError(message)
                log.warning("skipping: %s", message)
                valid[index] = False
            handedness[index] = entry != "left"
    presence_entries = optional("presence", None)
    presence = np.ones(num, dtype=bool) if presence_entries is None \
        else np.asarray(presence_entries, dtype=bool)
    versions = 0 if labels_only else _count_versions(root, split, num)
    return SplitAnnotations(root=root, split=split, K=K, xyz=xyz, verts=verts, scale=scale,
                            handedness=handedness, presence=presence, versions=versions,
                            valid=valid)
