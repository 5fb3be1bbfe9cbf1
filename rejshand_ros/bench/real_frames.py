"""Annotated real frames for detector benchmarks: images with hand boxes, and scoring.

A frame folder holds the images and their hand boxes in one of two layouts:

- ``labels.csv`` with columns ``filename, xmin, ymin, xmax, ymax`` (px; more columns are
  ignored; one row per hand, as in SubhiH/HandsDataset's ``data/*_labels.csv``) and the
  images beside it or in ``images/``;
- YOLO: ``images/NAME.jpg`` and ``labels/NAME.txt`` with rows ``class cx cy w h``
  (normalised), as Roboflow exports them.

Scoring is independent of what a box means to each method (tight hand box, palm-derived
square, keypoint bounding box): a hand counts as found when a detection's centre lies
inside its annotated box; each detection finds at most one hand (the nearest box
centre first) and every detection that finds none is a false hand.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass
class AnnotatedFrame:
    """path: the image file; boxes: (K, 4) hand boxes (xmin, ymin, xmax, ymax), px."""

    path: Path
    boxes: np.ndarray


def _from_csv(folder: Path, table: Path) -> list[AnnotatedFrame]:
    rows: dict[str, list[list[float]]] = {}
    with table.open(newline="") as handle:
        reader = csv.DictReader(handle)
        need = {"filename", "xmin", "ymin", "xmax", "ymax"}
        if not need <= set(reader.fieldnames or ()):
            raise ValueError(f"{table}: needs the columns {sorted(need)}, has "
                             f"{reader.fieldnames}")
        for row in reader:
            rows.setdefault(row["filename"], []).append(
                [float(row[key]) for key in ("xmin", "ymin", "xmax", "ymax")])
    frames = []
    for name, boxes in sorted(rows.items()):
        path = next((p for p in (folder / name, folder / "images" / name) if p.is_file()), None)
        if path is None:
            raise ValueError(f"{table}: image {name} not found in {folder} or its images/")
        frames.append(AnnotatedFrame(path, np.array(boxes, dtype=np.float64)))
    return frames


def _from_yolo(folder: Path) -> list[AnnotatedFrame]:
    import cv2

    frames = []
    for path in sorted((folder / "images").iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        label = folder / "labels" / f"{path.stem}.txt"
        if not label.is_file():
            raise ValueError(f"{path}: no label file {label}")
        values = np.loadtxt(label, ndmin=2).reshape(-1, 5)
        image = cv2.imread(str(path))
        if image is None:
            raise ValueError(f"{path}: not a readable image")
        height, width = image.shape[:2]
        centre, size = values[:, 1:3] * (width, height), values[:, 3:5] * (width, height)
        frames.append(AnnotatedFrame(path, np.concatenate([centre - size / 2,
                                                           centre + size / 2], 1)))
    return frames


def load_annotated_frames(folder: str | Path) -> list[AnnotatedFrame]:
    """The annotated frames of ``folder`` (either layout); ValueError naming the problem."""
    folder = Path(folder)
    if (folder / "labels.csv").is_file():
        frames = _from_csv(folder, folder / "labels.csv")
    elif (folder / "images").is_dir() and (folder / "labels").is_dir():
        frames = _from_yolo(folder)
    else:
        raise ValueError(f"{folder}: no labels.csv and no images/ + labels/ (YOLO) folders")
    if not frames:
        raise ValueError(f"{folder}: no annotated images")
    return frames


def match_centres(centres: np.ndarray, boxes: np.ndarray) -> tuple[list[int], int]:
    """(indices of the boxes found, number of false detections) for (M, 2) detection
    centres and (K, 4) boxes: each box takes the unused centre inside it nearest to its
    own centre."""
    centres = np.asarray(centres, dtype=np.float64).reshape(-1, 2)
    used = np.zeros(len(centres), dtype=bool)
    found = []
    for index, box in enumerate(np.asarray(boxes, dtype=np.float64).reshape(-1, 4)):
        inside = ((centres >= box[:2]) & (centres <= box[2:])).all(axis=1) & ~used
        if inside.any():
            distance = np.linalg.norm(centres - (box[:2] + box[2:]) / 2, axis=1)
            best = int(np.argmin(np.where(inside, distance, np.inf)))
            used[best] = True
            found.append(index)
    return found, int((~used).sum())
