"""What ``rejshand-predict`` reads and writes: input discovery, per-frame JSON (overlay
images and videos: ``rejshand_ros.imaging.files``).

ROS-free. JSON layout of one frame (units: pixels for 2D, metres for 3D, camera optical
frame x right / y down / z forward)::

    {"source": "clip.mp4", "frame": 12, "time_s": 0.4, "image_size": [640, 480],
     "absolute": false, "model_id": "...", "detector_model_id": "...",
     "hands": [{"track_id": 1, "handedness": "right", "handedness_score": 0.97,
                "score": 0.99, "box": [x, y, w, h], "keypoints_2d": [[u, v], ...21],
                "joints_3d": [[x, y, z], ...21], "absolute": false,
                "vertices": [[x, y, z], ...778], "mesh_id": "..."}],
     "timings_ms": {"detect": 12.1, "predict": 35.0, "track_smooth": 0.2}}

``joints_3d`` / ``vertices`` are root-relative (joint 9 at the origin) unless
``absolute`` (camera intrinsics given with ``--camera-info``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rejshand_ros.perception.hand_prediction import HandPrediction
from rejshand_ros.sources.base import is_image_file, is_video_file


class InputError(ValueError):
    """An input path is missing, of an unknown kind, or an empty folder (names it)."""


@dataclass(frozen=True)
class InputItem:
    """One thing to process: an image file or a video file, and its output stem."""

    path: Path
    kind: str  # "image" | "video"
    stem: str


def collect_inputs(paths: list[str]) -> list[InputItem]:
    """Image files, video files and folders (their images and videos, name order) ->
    items with unique output stems.

    Raises:
        InputError: a path does not exist, is not an image/video, or a folder holds none.
    """
    found: list[tuple[Path, str]] = []
    for text in paths:
        path = Path(text).expanduser()
        if not path.exists():
            raise InputError(f"input not found: {path}")
        if path.is_dir():
            inside = [(p, "image" if is_image_file(p) else "video") for p in sorted(path.iterdir())
                      if p.is_file() and (is_image_file(p) or is_video_file(p))]
            if not inside:
                raise InputError(f"no images or videos in folder: {path}")
            found += inside
        elif is_image_file(path):
            found.append((path, "image"))
        elif is_video_file(path):
            found.append((path, "video"))
        else:
            raise InputError(f"not an image or video file (by its extension): {path}")
    used: set[str] = set()
    items = []
    for path, kind in found:
        stem, number = path.stem, 2
        while stem in used:
            stem, number = f"{path.stem}_{number}", number + 1
        used.add(stem)
        items.append(InputItem(path, kind, stem))
    return items


def _rounded(array: np.ndarray | None, decimals: int) -> list | None:
    return None if array is None else np.round(np.asarray(array, dtype=np.float64),
                                               decimals).tolist()


def hand_to_json(hand: HandPrediction, vertices: bool = True) -> dict:
    """One hand as a JSON-serialisable dict (see the module docstring)."""
    return {
        "track_id": int(hand.track_id),
        "handedness": hand.handedness.value,
        "handedness_score": round(float(hand.handedness_score), 4),
        "score": round(float(hand.presence), 4),
        "box": [round(float(v), 2) for v in hand.roi],
        "keypoints_2d": _rounded(hand.uv, 2),
        "joints_3d": _rounded(hand.joints, 5),
        "absolute": bool(hand.absolute),
        "vertices": _rounded(hand.vertices, 5) if vertices else None,
        "mesh_id": hand.mesh_id,
    }


def frame_to_json(source: Path, frame: int, time_s: float, image_size: tuple[int, int],
                  hands: list[HandPrediction], timings_ms: dict[str, float], absolute: bool,
                  model_id: str, detector_model_id: str, vertices: bool = True) -> dict:
    return {
        "source": str(source), "frame": int(frame), "time_s": round(float(time_s), 6),
        "image_size": [int(image_size[0]), int(image_size[1])], "absolute": bool(absolute),
        "model_id": model_id, "detector_model_id": detector_model_id,
        "hands": [hand_to_json(hand, vertices) for hand in hands],
        "timings_ms": {k: round(float(v), 3) for k, v in timings_ms.items()},
    }


def write_json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(document, separators=(",", ":")))
    tmp.replace(path)
