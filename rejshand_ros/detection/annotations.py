"""Full-frame annotations: ``DIR/NAME_frames.json`` + ``DIR/NAME/rgb/%08d.jpg``.

The layout ``rejshand-synth --full-frame`` writes. ``NAME_frames.json`` is a list of frames
(or ``{"frames": [...]}``); frame i is::

    {"K": 3x3,                         # intrinsics, px
     "image": "00000007.jpg",          # optional, in DIR/NAME/rgb/ (default %08d.jpg of i)
     "width": 640, "height": 480,      # optional (not read: the image says)
     "hands": [{"handedness": "right",            # or "left" (also 1/0, true/false)
                "uv": 21x2,                       # 2D keypoints, px, FreiHAND order
                "box": [x, y, w, h],              # visible pixels' box, px (used only
                                                  # when uv is absent)
                "visible_pixels": 2952,           # optional: pixels where the hand is
                "visible_fraction": 0.81,         # nearest; fraction of its silhouette
                "xyz": 21x3, "verts": 778x3}]}    # metres (not read by the detector)

Only what detection needs is kept in memory (per hand: handedness, 21 uv, box).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rejshand_ros.data.freihand import DatasetError
from rejshand_ros.model.model_file import atomic_write


@dataclass
class HandLabel:
    """One annotated hand: right (bool), uv (21, 2) px or None, box (4,) [x, y, w, h] px
    or None, visible_fraction in [0, 1] (1 when the file does not say; 0 when no pixel
    of the hand is visible)."""

    right: bool
    uv: np.ndarray | None = None
    box: np.ndarray | None = None
    visible_fraction: float = 1.0


@dataclass
class FrameRecord:
    """One full frame: its image file, intrinsics (3, 3) and hands (possibly none)."""

    image_path: Path
    K: np.ndarray | None = None
    hands: list[HandLabel] = field(default_factory=list)


def frames_json_path(root: str | os.PathLike, name: str) -> Path:
    return Path(root) / f"{name}_frames.json"


def _parse_handedness(value: Any, where: str) -> bool:
    if isinstance(value, str) and value.lower() in ("right", "left"):
        return value.lower() == "right"
    if isinstance(value, (bool, int)) and int(value) in (0, 1):
        return bool(value)
    raise DatasetError(f"{where}: handedness must be 'left'/'right' (or 0/1), got {value!r}")


def _parse_hand(raw: Any, where: str) -> HandLabel:
    if not isinstance(raw, dict):
        raise DatasetError(f"{where}: expected an object")
    right = _parse_handedness(raw.get("handedness"), where)
    uv = box = None
    if raw.get("uv") is not None:
        uv = np.asarray(raw["uv"], dtype=np.float32)
        if uv.shape != (21, 2) or not np.all(np.isfinite(uv)):
            raise DatasetError(f"{where}: uv must be 21x2 finite numbers, got shape {uv.shape}")
    if raw.get("box") is not None:
        box = np.asarray(raw["box"], dtype=np.float32)
        if box.shape != (4,) or not (box[2] >= 0 and box[3] >= 0):
            raise DatasetError(f"{where}: box must be [x, y, w, h] with w, h >= 0")
        if uv is None and not (box[2] > 0 and box[3] > 0):
            raise DatasetError(f"{where}: a hand without uv needs a non-empty box")
    if uv is None and box is None:
        raise DatasetError(f"{where}: a hand needs uv or box")
    visible = float(raw.get("visible_fraction", 1.0))
    if raw.get("visible_pixels") is not None and int(raw["visible_pixels"]) <= 0:
        visible = 0.0
    return HandLabel(right=right, uv=uv, box=box, visible_fraction=visible)


_UNUSED_KEYS = ("verts", "xyz")


def _drop_unused(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in _UNUSED_KEYS} \
        if any(k in obj for k in _UNUSED_KEYS) else obj


def load_frames(root: str | os.PathLike, name: str) -> list[FrameRecord]:
    """Read ``root/name_frames.json``; raises DatasetError naming the file and frame."""
    path = frames_json_path(root, name)
    if not path.is_file():
        raise DatasetError(f"{path}: full-frame annotations not found "
                           "(write them with rejshand-synth --full-frame)")
    try:  # drop the per-hand meshes while parsing: memory stays ~ the file size
        raw = json.loads(path.read_text(), object_hook=_drop_unused)
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: unreadable JSON: {exc}") from exc
    if isinstance(raw, dict):
        raw = raw.get("frames")
    if not isinstance(raw, list):
        raise DatasetError(f"{path}: expected a list of frames (or {{'frames': [...]}})")
    image_dir = Path(root) / name / "rgb"
    records = []
    for i, frame in enumerate(raw):
        where = f"{path} frame {i}"
        if not isinstance(frame, dict):
            raise DatasetError(f"{where}: expected an object")
        hands = frame.get("hands") or []
        if not isinstance(hands, list):
            raise DatasetError(f"{where}: hands must be a list")
        K = np.asarray(frame["K"], dtype=np.float64) if frame.get("K") is not None else None
        records.append(FrameRecord(
            image_path=image_dir / frame.get("image", f"{i:08d}.jpg"), K=K,
            hands=[_parse_hand(h, f"{where} hand {j}") for j, h in enumerate(hands)]))
    return records


def save_frames(root: str | os.PathLike, name: str, frames: list[dict[str, Any]]) -> Path:
    """Write ``root/name_frames.json`` atomically (frames as in the module docstring;
    numpy arrays are converted to lists). Images are the caller's job."""
    def plain(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            return value.tolist()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, np.generic):
            return value.item()
        return value

    path = frames_json_path(root, name)
    data = json.dumps(plain(frames)).encode()
    atomic_write(path, lambda f: f.write(data))
    return path
