"""Splits of pseudo-labelled real photos: 2D keypoints, teacher 3D, no camera intrinsics.

Layout (written by ``rejshand-label``; the files say what they hold, nothing is faked)::

    DIR/NAME/rgb/%08d.jpg        one image per hand: a square context crop around it
                                 (.webp instead is read too: compact copies for transfer)
    DIR/NAME_uv.json             N x 21x2 keypoints, pixels of the stored image
                                 (pixel centres at integers)
    DIR/NAME_xyz_rel.json        N x 21x3 teacher 3D joints, metres, root-relative (joint 9),
                                 camera optical axes
    DIR/NAME_confidence.json     N teacher confidences (its handedness probability)
    DIR/NAME_handedness.json     N x "right"/"left"
    DIR/NAME_boxes.json          N x [x0, y0, x1, y1] keypoint bounding box, stored pixels
    DIR/NAME_sources.json        N x {"file", "frame", "crop": [x0, y0, scale],
                                 "disagreement"}: the source image (relative to the
                                 labelling root) and how stored pixels map onto it:
                                 source = stored / scale + (x0, y0)
    DIR/NAME_labels.json         how the split was made (teacher, policy, counts)

There is no ``NAME_K.json``: the photos' intrinsics are unknown, so training crops come from
the 2D keypoints (an in-plane crop) and 3D targets are never obtained by projecting with
an invented camera.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rejshand_ros.data.freihand import DatasetError
from rejshand_ros.geometry.keypoints import NUM_JOINTS

CONTEXT = 3.0          # stored crop side / keypoint box side: room for scale, roll, jitter
MAX_HAND_PX = 128      # keypoint box side in stored pixels at most (larger hands shrink)
JPEG_QUALITY = 92


def is_labelled_split(root: str | Path, split: str) -> bool:
    """True when DIR/NAME_uv.json exists (a 2D-labelled split, not the FreiHAND layout)."""
    return (Path(root) / f"{split}_uv.json").is_file()


def context_crop(image: np.ndarray, uv: np.ndarray, context: float = CONTEXT,
                 max_hand_px: float = MAX_HAND_PX) -> tuple[np.ndarray, np.ndarray, list]:
    """Square crop around the hand (side ``context`` x its keypoint box), shrunk so the
    box is at most ``max_hand_px``; outside the image is black.

    Returns (crop (S, S, 3) uint8, uv in crop pixels (21, 2), [x0, y0, scale]) with
    source = crop / scale + (x0, y0) (pixel centres at integers in both).
    """
    uv = np.asarray(uv, dtype=np.float64)
    lo, hi = uv.min(axis=0), uv.max(axis=0)
    side = max(float((hi - lo).max()), 1.0)
    scale = min(1.0, max_hand_px / side)
    out = int(round(side * context * scale))
    center = (lo + hi) / 2.0
    # crop pixel c <-> source pixel c / scale + x0, with the crop centre on the box centre
    x0 = center - ((out - 1) / 2.0) / scale
    matrix = np.array([[scale, 0.0, -x0[0] * scale], [0.0, scale, -x0[1] * scale]])
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    crop = cv2.warpAffine(image, matrix, (out, out), flags=interp,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return crop, (uv - x0) * scale, [float(x0[0]), float(x0[1]), float(scale)]


def _dump_atomic(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, separators=(",", ":"))
    os.replace(tmp, path)


class LabelledSplitWriter:
    """Collects labelled hands and writes the split's files on ``close``.

    Refuses an existing split unless ``overwrite`` (then the old one is removed first).
    """

    def __init__(self, root: str | Path, split: str, overwrite: bool = False) -> None:
        self.root, self.split = Path(root), split
        self.rgb = self.root / split / "rgb"
        existing = [p for p in (self.root / split, self.root / f"{split}_uv.json") if p.exists()]
        if existing and not overwrite:
            raise FileExistsError(f"split {split!r} already exists in {self.root} "
                                  f"({existing[0]}); pass overwrite to replace it")
        if existing:
            shutil.rmtree(self.root / split, ignore_errors=True)
            for path in self.root.glob(f"{split}_*.json"):
                path.unlink()
        self.rgb.mkdir(parents=True, exist_ok=True)
        self.entries: dict[str, list] = {k: [] for k in
                                         ("uv", "xyz_rel", "confidence", "handedness", "boxes",
                                          "sources")}

    def __len__(self) -> int:
        return len(self.entries["uv"])

    def add(self, crop: np.ndarray, uv: np.ndarray, xyz_rel: np.ndarray | None, right: bool,
            confidence: float, source: dict) -> int:
        """Store one hand (crop RGB uint8, uv in crop px); returns its sample index."""
        index = len(self)
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise OSError(f"could not encode sample {index} as JPEG")
        (self.rgb / f"{index:08d}.jpg").write_bytes(data.tobytes())
        uv = np.asarray(uv, dtype=np.float64)
        self.entries["uv"].append(np.round(uv, 3).tolist())
        self.entries["xyz_rel"].append(None if xyz_rel is None
                                       else np.round(np.asarray(xyz_rel), 6).tolist())
        self.entries["confidence"].append(round(float(confidence), 4))
        self.entries["handedness"].append("right" if right else "left")
        self.entries["boxes"].append(np.round([*uv.min(axis=0), *uv.max(axis=0)], 2).tolist())
        self.entries["sources"].append(source)
        return index

    def close(self, info: dict) -> None:
        for name, values in self.entries.items():
            if name == "xyz_rel" and all(v is None for v in values):
                continue
            _dump_atomic(self.root / f"{self.split}_{name}.json", values)
        _dump_atomic(self.root / f"{self.split}_labels.json", info)


@dataclass
class LabelledAnnotations:
    """A 2D-labelled split (arrays indexed by sample id)."""

    root: Path
    split: str
    uv: np.ndarray                 # (N, 21, 2) stored-image pixels
    xyz_rel: np.ndarray | None     # (N, 21, 3) metres, root-relative; NaN rows = none
    handedness: np.ndarray         # (N,) bool, True = right
    confidence: np.ndarray         # (N,)
    image_suffix: str = ".jpg"

    @property
    def num_samples(self) -> int:
        return int(self.uv.shape[0])

    def image_path(self, index: int) -> Path:
        return self.root / self.split / "rgb" / f"{index:08d}{self.image_suffix}"


def _read(path: Path, required: bool = True) -> list | None:
    if not path.is_file():
        if required:
            raise DatasetError(f"missing dataset file: {path}")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, list):
        raise DatasetError(f"{path}: expected a JSON list")
    return data


def _array(entries: list, shape: tuple[int, ...], path: Path, allow_none: bool = False
           ) -> np.ndarray:
    out = np.full((len(entries),) + shape, np.nan)
    for index, entry in enumerate(entries):
        if entry is None and allow_none:
            continue
        try:
            value = np.asarray(entry, dtype=np.float64)
        except (TypeError, ValueError):
            value = None
        if value is None or value.shape != shape or not np.isfinite(value).all():
            raise DatasetError(f"{path}: malformed entry at index {index} "
                               f"(expected shape {shape} of finite numbers)")
        out[index] = value
    return out


def load_labelled_split(root: str | Path, split: str) -> LabelledAnnotations:
    """Read and validate a 2D-labelled split; raises DatasetError naming file and index."""
    root = Path(root)
    uv_path = root / f"{split}_uv.json"
    uv_entries = _read(uv_path)
    num = len(uv_entries)
    if num == 0:
        raise DatasetError(f"{uv_path}: no samples")
    uv = _array(uv_entries, (NUM_JOINTS, 2), uv_path)

    def same_length(name: str, required: bool) -> list | None:
        path = root / f"{split}_{name}.json"
        entries = _read(path, required)
        if entries is not None and len(entries) != num:
            raise DatasetError(f"{path}: {len(entries)} entries, but {uv_path.name} has {num}")
        return entries

    xyz_entries = same_length("xyz_rel", required=False)
    xyz = None if xyz_entries is None else _array(xyz_entries, (NUM_JOINTS, 3),
                                                  root / f"{split}_xyz_rel.json", allow_none=True)
    hand_entries = same_length("handedness", required=False) or ["right"] * num
    bad = [i for i, h in enumerate(hand_entries) if h not in ("left", "right")]
    if bad:
        raise DatasetError(f"{root / f'{split}_handedness.json'}: entry {bad[0]} is "
                           f"{hand_entries[bad[0]]!r}, expected 'left' or 'right'")
    confidence = same_length("confidence", required=False) or [1.0] * num
    rgb = root / split / "rgb"
    if not rgb.is_dir():
        raise DatasetError(f"missing image directory: {rgb}")
    suffix = ".webp" if not (rgb / "00000000.jpg").exists() and \
        (rgb / "00000000.webp").exists() else ".jpg"
    return LabelledAnnotations(root=root, split=split, uv=uv, xyz_rel=xyz,
                               handedness=np.array([h == "right" for h in hand_entries]),
                               confidence=np.asarray(confidence, dtype=np.float64),
                               image_suffix=suffix)
