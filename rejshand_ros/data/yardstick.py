"""The real-photo yardstick: hand-centred 256 px images with teacher labels.

Made from a 2D-labelled split and the photos it was labelled from (``NAME_sources.json``
says which photo and where): each hand's image is the square around its keypoint box,
1.35 x the box side (the hand ~190 px across), resized to 256 px, black outside the photo.
Layout::

    DIR/images/%05d.jpg     the 256 px images
    DIR/labels.json         {"size": 256, "hand_px": ..., "items": [{"image", "uv" (21x2 px),
                            "xyz_rel" (21x3 m, root-relative, or null), "right", "source"}]}

These are the images ``rejshand-eval-real`` scores a pipeline on: hands found, 2D error
in pixels, PA-MPJPE against the teacher's 3D, beside the mean-pose baseline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from rejshand_ros.data.freihand import DatasetError
from rejshand_ros.data.labelled import load_labelled_split
from rejshand_ros.evaluation.metrics import YARDSTICK_HAND_PX, YARDSTICK_SIZE_PX


@dataclass
class Yardstick:
    """Loaded yardstick: images (paths), uv (N, 21, 2) px, xyz_rel (N, 21, 3) or NaN, right."""

    root: Path
    images: list[Path]
    uv: np.ndarray
    xyz_rel: np.ndarray
    right: np.ndarray
    sources: list[str]

    def __len__(self) -> int:
        return len(self.images)


def hand_centred(image: np.ndarray, uv: np.ndarray, size: int = YARDSTICK_SIZE_PX,
                 hand_px: float = YARDSTICK_HAND_PX) -> tuple[np.ndarray, np.ndarray]:
    """The ``size`` px square around the hand, its keypoint box ``hand_px`` across;
    returns (image, uv in its pixels)."""
    lo, hi = uv.min(axis=0), uv.max(axis=0)
    scale = hand_px / max(float((hi - lo).max()), 1.0)
    center = (lo + hi) / 2.0
    c = (size - 1) / 2.0
    matrix = np.array([[scale, 0.0, c - scale * center[0]], [0.0, scale, c - scale * center[1]]])
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    out = cv2.warpAffine(image, matrix, (size, size), flags=interp,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return out, uv * scale + (matrix[:, 2])


def make_yardstick(labels_root: str | Path, split: str, photos_root: str | Path,
                   out: str | Path, limit: int | None = None) -> int:
    """Write the yardstick of a labelled split; returns the number of images.

    Raises:
        DatasetError: a label file or a source photo is missing or unreadable.
    """
    labels_root, photos_root, out = Path(labels_root), Path(photos_root), Path(out)
    ann = load_labelled_split(labels_root, split)
    sources_path = labels_root / f"{split}_sources.json"
    try:
        sources = json.loads(sources_path.read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read {sources_path}: {exc}") from exc
    (out / "images").mkdir(parents=True, exist_ok=True)
    items = []
    count = ann.num_samples if limit is None else min(limit, ann.num_samples)
    for index in range(count):
        source = sources[index]
        if source.get("frame") is not None:
            raise DatasetError(f"{sources_path}: entry {index} is a video frame; the yardstick "
                               "takes still photos only")
        path = photos_root / source["file"]
        photo = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if photo is None:
            raise DatasetError(f"missing or unreadable photo {path} ({sources_path}, entry "
                               f"{index})")
        x0, y0, scale = source["crop"]
        uv_photo = ann.uv[index] / scale + np.array([x0, y0])
        image, uv = hand_centred(photo, uv_photo)
        name = f"{index:05d}.jpg"
        cv2.imwrite(str(out / "images" / name), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        xyz = None if ann.xyz_rel is None or not np.isfinite(ann.xyz_rel[index]).all() \
            else np.round(ann.xyz_rel[index], 6).tolist()
        items.append({"image": f"images/{name}", "uv": np.round(uv, 3).tolist(),
                      "xyz_rel": xyz, "right": bool(ann.handedness[index]),
                      "source": source["file"]})
    (out / "labels.json").write_text(json.dumps({
        "size": YARDSTICK_SIZE_PX, "hand_px": YARDSTICK_HAND_PX,
        "labels": f"{split} (teacher labels; see {split}_labels.json)", "items": items}))
    return len(items)


def load_yardstick(root: str | Path) -> Yardstick:
    """Read DIR/labels.json (and check the images exist); raises DatasetError naming it."""
    root = Path(root)
    path = root / "labels.json"
    try:
        data = json.loads(path.read_text())
        items = data["items"]
        uv = np.array([item["uv"] for item in items], dtype=np.float64).reshape(-1, 21, 2)
        xyz = np.array([item["xyz_rel"] if item["xyz_rel"] is not None else np.full((21, 3), np.nan)
                        for item in items], dtype=np.float64).reshape(-1, 21, 3)
        right = np.array([bool(item["right"]) for item in items])
        images = [root / item["image"] for item in items]
        sources = [str(item.get("source", "")) for item in items]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"not a yardstick label file: {path}: {exc}") from exc
    missing = [p for p in images if not p.is_file()]
    if missing:
        raise DatasetError(f"{path}: image {missing[0]} is missing")
    if not items:
        raise DatasetError(f"{path}: no items")
    return Yardstick(root, images, uv, xyz, right, sources)
