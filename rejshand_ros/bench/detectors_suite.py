"""Detectors benchmark: hands found in annotated real frames, false hands, time per frame.

    rejshand-bench --suite detectors --detect-frames DIR[,DIR...] [--detect-limit N]

Each DIR is a folder of real photos with hand boxes (``bench.real_frames``: labels.csv
or YOLO layout). Every frame is a cold start and goes, interleaved (the order rotates
frame by frame), through:

- ``palm``: the default detector (MediaPipe's palm model in-process, threshold 0.5);
- ``rejshand``: our synthetic-trained detector (threshold 0.3, its calibrated setting);
- ``ours_pipeline``: hand_pose_node's default pipeline (palm detector -> pose network,
  presence >= 0.5), reset before the frame; hands at their keypoints' box centre;
- ``mediapipe``: MediaPipe Hands 0.10.14's own pipeline (palm detector -> landmark
  model, its presence test) in .venv-peers, reset before the frame.

Scoring (``real_frames.match_centres``): a hand is found when a detection's centre is
inside its box; unmatched detections are false hands. ``found where MediaPipe finds``
counts only the hands MediaPipe's pipeline found. Times are wall clock per frame.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from rejshand_ros.bench.common import (SuiteSkipped, goal, goals_markdown, markdown_table,
                                       progress_bar, summarize)
from rejshand_ros.bench.real_frames import load_annotated_frames, match_centres

CASES = ("palm", "rejshand", "ours_pipeline", "mediapipe")
TITLES = {"palm": "palm detector (default; MediaPipe's palm model in-process)",
          "rejshand": "rejshand detector (synthetic-trained)",
          "ours_pipeline": "our default pipeline, cold start (palm -> pose network)",
          "mediapipe": "MediaPipe Hands 0.10.14 pipeline, cold start"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--detect-frames", default=None,
                        help="detectors suite: comma-separated folders of annotated real "
                        "frames (labels.csv or YOLO images/ + labels/)")
    parser.add_argument("--detect-limit", type=int, default=None,
                        help="detectors suite: at most N frames per folder (default all; "
                        "--quick 20)")


def _load_rgb(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path))
    if image is None:
        raise ValueError(f"{path}: not a readable image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _uv_centres(hands: list) -> np.ndarray:
    """Centres of the keypoints' bounding boxes, (M, 2)."""
    boxes = [(np.nanmin(np.asarray(uv, float), 0) + np.nanmax(np.asarray(uv, float), 0)) / 2
             for uv in hands]
    return np.array(boxes, dtype=np.float64).reshape(-1, 2)


class Runners:
    """The four cases, each ``run(index, image) -> (centres (M, 2), ms)``."""

    def __init__(self, threads: int, python: Path, images: list[np.ndarray], work: Path) -> None:
        from rejshand_ros.bench.node_suite import default_pipeline
        from rejshand_ros.bench.peers.worker_client import MediaPipeWorker
        from rejshand_ros.detection.factory import DetectorSettings, build_detector

        self.detectors = {
            "palm": build_detector(DetectorSettings(kind="palm", num_threads=threads)),
            "rejshand": build_detector(DetectorSettings(kind="rejshand", score_threshold=0.3,
                                                        num_threads=threads))}
        self.pipeline = default_pipeline(threads)
        self.workers: dict[tuple[int, ...], tuple[Any, dict[int, int]]] = {}
        for shape in sorted({image.shape for image in images}):
            members = [i for i, image in enumerate(images) if image.shape == shape]
            frames = work / f"frames_{len(self.workers)}.npz"
            np.savez(frames, images=np.stack([images[i] for i in members]))
            worker = MediaPipeWorker(python, frames, threads, work / "mediapipe.log")
            frames.unlink()
            self.workers[shape] = (worker, {i: k for k, i in enumerate(members)})

    def run(self, case: str, index: int, image: np.ndarray) -> tuple[np.ndarray, float]:
        if case == "mediapipe":
            worker, local = self.workers[image.shape]
            worker.reset()
            reply = worker.frame(local[index])
            return _uv_centres(reply["hands"]), float(reply["full_ms"])
        start = time.perf_counter()
        if case == "ours_pipeline":
            self.pipeline.reset()
            hands = self.pipeline.process(image, float(index), None).hands
            elapsed = (time.perf_counter() - start) * 1e3
            return _uv_centres([hand.uv for hand in hands]), elapsed
        found = self.detectors[case].detect(image)
        elapsed = (time.perf_counter() - start) * 1e3
        return np.array([d.center for d in found], dtype=np.float64).reshape(-1, 2), elapsed

    def close(self) -> None:
        for worker, _ in self.workers.values():
            worker.close()


def measure(runners: Runners, images: list[np.ndarray], boxes: list[np.ndarray],
            progress: bool) -> dict[str, dict[str, list]]:
    """Per case: found box indices per frame, false hands per frame, ms per frame."""
    out = {case: {"found": [], "false": [], "ms": []} for case in CASES}
    for case in CASES:  # warm-up: first calls allocate
        runners.run(case, 0, images[0])
    bar = progress_bar(len(images), "detectors", progress)
    try:
        for index, (image, truth) in enumerate(zip(images, boxes)):
            shift = index % len(CASES)
            for case in CASES[shift:] + CASES[:shift]:
                centres, elapsed = runners.run(case, index, image)
                found, false = match_centres(centres, truth)
                out[case]["found"].append(found)
                out[case]["false"].append(false)
                out[case]["ms"].append(elapsed)
            bar.update(1)
    finally:
        bar.close()
    return out


def summary_rows(name: str, measured: dict, boxes: list[np.ndarray]) -> list[dict[str, Any]]:
    hands = sum(len(b) for b in boxes)
    reference = [set(f) for f in measured["mediapipe"]["found"]]
    reference_count = sum(len(r) for r in reference)
    rows = []
    for case in CASES:
        found = [set(f) for f in measured[case]["found"]]
        where = sum(len(f & r) for f, r in zip(found, reference))
        times = summarize(measured[case]["ms"], scale=1.0)
        rows.append({"frames_set": name, "case": case, "method": TITLES[case],
                     "frames": len(boxes), "hands": hands,
                     "found_rate": sum(len(f) for f in found) / hands,
                     "found_where_mediapipe": where / reference_count if reference_count
                     else float("nan"),
                     "false_per_frame": float(np.mean(measured[case]["false"])),
                     "median_ms": times["median"], "p90_ms": times["p90"]})
    return rows


COLUMNS = [("frames_set", "frames"), ("method", "method"), ("hands", "hands"),
           ("found_rate", "found"), ("found_where_mediapipe", "found where MediaPipe finds"),
           ("false_per_frame", "false hands / frame"), ("median_ms", "median ms / frame"),
           ("p90_ms", "p90 ms")]


def run(opts: argparse.Namespace) -> dict[str, Any]:
    import cv2

    from rejshand_ros.bench.peers.worker_client import SETUP_COMMAND, default_peers_python

    folders = [f for f in (getattr(opts, "detect_frames", None) or "").split(",") if f]
    if not folders:
        raise SuiteSkipped("needs --detect-frames DIR (annotated real photos; none ship "
                           "with the package)")
    python = getattr(opts, "peers_python", None) or default_peers_python()
    if not Path(python).is_file():
        raise SuiteSkipped(f"MediaPipe's venv is missing ({python}): run `{SETUP_COMMAND}`")
    threads = int(getattr(opts, "threads", 2) or 2)
    limit = getattr(opts, "detect_limit", None) or (20 if opts.quick else None)
    cv2.setNumThreads(threads)
    rows: list[dict[str, Any]] = []
    for folder in folders:
        frames = load_annotated_frames(folder)[:limit]
        images = [_load_rgb(frame.path) for frame in frames]
        boxes = [frame.boxes for frame in frames]
        with tempfile.TemporaryDirectory(prefix="rejshand-bench-detectors-") as work:
            runners = Runners(threads, Path(python), images, Path(work))
            try:
                measured = measure(runners, images, boxes, bool(getattr(opts, "progress", 0)))
            finally:
                runners.close()
        rows.extend(summary_rows(Path(folder).name, measured, boxes))
    goals = []
    for row in rows:
        if row["case"] == "palm":
            goals.append(goal(f"{row['frames_set']}: palm finds where MediaPipe finds",
                              row["found_where_mediapipe"], ">= 0.95",
                              bool(row["found_where_mediapipe"] >= 0.95)))
            goals.append(goal(f"{row['frames_set']}: palm false hands per frame",
                              row["false_per_frame"], "<= 0.05",
                              bool(row["false_per_frame"] <= 0.05)))
    markdown = "\n\n".join([markdown_table(rows, COLUMNS), goals_markdown(goals)])
    return {"suite": "detectors", "rows": rows, "markdown": markdown, "goals": goals}
