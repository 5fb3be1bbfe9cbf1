"""Peers benchmark: MediaPipe Hands 0.10.14 and our default CPU pipeline on the same
frames and cores, interleaved frame by frame.

Frames: synthetic 640x480 sequences rendered by our code (one hand moving, then two,
alternating; ground-truth 2D keypoints), saved to a temporary .npz. MediaPipe runs in
.venv-peers (``scripts/setup_peers.sh``) in a worker process that this process drives one
frame at a time (``peers.worker_client``), so both pipelines see frame i in turn (who goes
first alternates), each with the machine to itself; both processes share this
process's CPU affinity. Per frame:

- MediaPipe full pipeline, tracking (video) mode, max 2 hands: ``Hands.process`` time;
  its hand landmark TFLite model alone (XNNPACK, ``--threads``) on the crop MediaPipe
  would use for that hand;
- ours: ``HandPipeline.process`` built from hand_pose_node's defaults (shipped models,
  CPU, ``--threads``); our pose model alone (``Predictor.run_crops``) on the crop of
  our first hand.

Per-frame cost is compared only on frames both pipelines track (``peers.compare``);
detection rates count every frame. MediaPipe's graph picks its own TFLite thread count
(the Python solution API does not expose it).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from rejshand_ros.bench.common import (SuiteSkipped, goal, goals_markdown, markdown_table,
                                       progress_bar, round_counts, summarize)
from rejshand_ros.bench.peers.compare import FrameRun, compare, paired_ratio
from rejshand_ros.bench.peers.worker_client import (SETUP_COMMAND, MediaPipeWorker,
                                                    default_peers_python)

WIDTH, HEIGHT = 640, 480
MEDIAPIPE, OURS = "mediapipe", "ours"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--peers-python", type=Path, default=None,
                        help="python of the peers' venv (default: .venv-peers/bin/python "
                        f"beside this install's venv; made by `{SETUP_COMMAND}`)")
    parser.add_argument("--peers-frames", type=int, default=None,
                        help="frames per synthetic sequence (default 24, --quick 6)")


# ----------------------------------------------------------------------------- frames
def render_sequences(count: int, frames: int) -> tuple[list[np.ndarray], list[list[np.ndarray]],
                                                       list[int]]:
    """``count`` sequences of ``frames`` frames (1 hand, 2 hands, 1, ...): images (RGB),
    ground-truth uv per visible hand ((21, 2) px) and each frame's sequence number."""
    from rejshand_ros.sources.synthetic import SyntheticSource

    images, truths, sequence_of = [], [], []
    for sequence in range(count):
        source = SyntheticSource(seed=100 + sequence, width=WIDTH, height=HEIGHT,
                                 num_frames=frames, num_hands=1 + sequence % 2)
        for index in range(frames):
            image, _, hands = source.render(index)
            images.append(image)
            truths.append([hand.uv for hand in hands if hand.presence > 0])
            sequence_of.append(sequence)
    return images, truths, sequence_of


# ------------------------------------------------------------------------------- ours
class OurPipeline:
    """hand_pose_node's default pipeline on the CPU, and its pose model alone."""

    def __init__(self, threads: int) -> None:
        from rejshand_ros.bench.node_suite import default_pipeline

        self.pipeline = default_pipeline(threads)
        self.predictor = self.pipeline.predictor

    def frame(self, image: np.ndarray, time_s: float) -> tuple[FrameRun, float | None]:
        """(full pipeline run, pose model alone ms on the first hand's crop or None)."""
        start = time.perf_counter()
        hands = self.pipeline.process(image, time_s, None).hands
        elapsed = (time.perf_counter() - start) * 1e3
        run = FrameRun(elapsed, [np.asarray(hand.uv, np.float64) for hand in hands])
        return run, (self._model_alone(image, hands[0]) if hands else None)

    def _model_alone(self, image: np.ndarray, hand) -> float:
        from rejshand_ros.geometry.camera import CameraModel
        from rejshand_ros.perception.predictor import HandBox

        x0, y0, width, _ = hand.roi
        box = HandBox((x0 + width / 2, y0 + width / 2), width, hand.handedness)
        camera = CameraModel.default_for(image.shape[1], image.shape[0])
        size = self.predictor.input_size
        crops = np.empty((1, size, size, 3), np.uint8)
        self.predictor.warp(image, self.predictor.crop_transform(box, camera), camera,
                            out=crops[0])
        start = time.perf_counter()
        self.predictor.run_crops(crops)
        return (time.perf_counter() - start) * 1e3

    def reset(self) -> None:
        self.pipeline.reset()


# ---------------------------------------------------------------------------- measure
def _mediapipe_run(reply: dict) -> FrameRun:
    return FrameRun(float(reply["full_ms"]), [np.asarray(uv, np.float64)
                                              for uv in reply["hands"]])


def measure(worker, ours: OurPipeline, images: list[np.ndarray], sequence_of: list[int],
            warmup: int, progress: bool = False) -> dict[str, Any]:
    """Warm both up on the first ``warmup`` frames, then every frame through both,
    alternating which goes first; each sequence starts from a reset."""
    for index in range(min(warmup, len(images))):
        worker.frame(index)
        ours.frame(images[index], index / 30.0)
    runs: dict[str, list[FrameRun]] = {MEDIAPIPE: [], OURS: []}
    alone: dict[str, list[float]] = {MEDIAPIPE: [], OURS: []}
    agreement: list[float] = []
    bar = progress_bar(len(images), "peers", progress)
    try:
        for index, image in enumerate(images):
            if index == 0 or sequence_of[index] != sequence_of[index - 1]:
                worker.reset()
                ours.reset()
            time_s = sequence_of[index] * 1000.0 + index / 30.0
            steps = [MEDIAPIPE, OURS] if index % 2 == 0 else [OURS, MEDIAPIPE]
            for step in steps:
                if step == MEDIAPIPE:
                    reply = worker.frame(index)
                    runs[MEDIAPIPE].append(_mediapipe_run(reply))
                    if reply["landmark_ms"] is not None:
                        alone[MEDIAPIPE].append(float(reply["landmark_ms"]))
                        agreement.append(float(reply["landmark_agreement_px"]))
                else:
                    run, model_ms = ours.frame(image, time_s)
                    runs[OURS].append(run)
                    if model_ms is not None:
                        alone[OURS].append(model_ms)
            bar.update(1)
    finally:
        bar.close()
    return {"runs": runs, "alone": alone, "agreement": agreement}


# ---------------------------------------------------------------------------- summary
TITLES = {MEDIAPIPE: "MediaPipe Hands 0.10.14, full pipeline (tracking mode)",
          OURS: "ReJSHand default CPU pipeline (detect, track, predict, smooth)"}
ALONE_TITLES = {MEDIAPIPE: "MediaPipe hand landmark model alone (TFLite XNNPACK, 224 px)",
                OURS: "ReJSHand pose model alone (Predictor.run_crops, its input size)"}


def summary_rows(measured: dict[str, Any], truths: list[list[np.ndarray]],
                 threads: int) -> tuple[list[dict[str, Any]], dict]:
    runs = measured["runs"]
    result = compare(runs, truths)
    common = result["common_frames"]
    rows = []
    for name in (MEDIAPIPE, OURS):
        stats = result["pipelines"][name]
        rows.append({
            "case": name, "pipeline": TITLES[name],
            "median_ms": stats["time_common"]["median"], "p10_ms": stats["time_common"]["p10"],
            "p90_ms": stats["time_common"]["p90"], "n": stats["time_common"]["n"],
            "median_ms_all_frames": stats["time_all"]["median"],
            "detection_rate": stats["detection_rate"], "tracked_frames": stats["tracked_frames"],
            "frames": result["frames"], "error_px_median": stats["error_common_px"]["median"],
            "error_px_mean": stats["error_common_mean_px"],
            "hands_per_frame": stats["hands_per_frame"],
            "unmatched_hands": stats["unmatched_hands"], "threads": threads})
    for name in (MEDIAPIPE, OURS):
        values = measured["alone"][name]
        stats = summarize(values, scale=1.0) if values else {"median": float("nan"),
                                                             "p10": float("nan"),
                                                             "p90": float("nan"), "n": 0}
        row = {"case": f"{name}_model_alone", "pipeline": ALONE_TITLES[name],
               "median_ms": stats["median"], "p10_ms": stats["p10"], "p90_ms": stats["p90"],
               "n": stats["n"], "threads": threads}
        if name == MEDIAPIPE and measured["agreement"]:
            row["landmark_agreement_px_median"] = float(np.median(measured["agreement"]))
        rows.append(row)
    result["paired_ratio"] = paired_ratio(runs, OURS, MEDIAPIPE, common)
    return rows, result


def peers_goals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Our default CPU pipeline per tracked frame <= MediaPipe's full pipeline (medians
    on the frames both track)."""
    median = {row["case"]: row["median_ms"] for row in rows}
    value = median[OURS] / median[MEDIAPIPE] if median[MEDIAPIPE] > 0 else float("nan")
    return [goal("default CPU pipeline / MediaPipe full pipeline, per tracked frame "
                 "(medians on common frames)", value, "<= 1", bool(value <= 1.0))]


COLUMNS = [("pipeline", "pipeline"), ("median_ms", "median ms (common frames)"),
           ("p10_ms", "p10 ms"), ("p90_ms", "p90 ms"), ("n", "n"),
           ("detection_rate", "detection rate"), ("tracked_frames", "tracked frames"),
           ("error_px_median", "2D error px (median, common)"),
           ("error_px_mean", "2D error px (mean, common)"),
           ("hands_per_frame", "hands out per frame"), ("unmatched_hands", "unmatched hands")]
ALONE_COLUMNS = [("pipeline", "model alone, on frames its pipeline tracks"),
                 ("median_ms", "median ms"), ("p10_ms", "p10 ms"), ("p90_ms", "p90 ms"),
                 ("n", "n"), ("landmark_agreement_px_median", "agrees with full pipeline, px")]


# -------------------------------------------------------------------------------- run
def _peers_python(opts: argparse.Namespace) -> Path:
    python = getattr(opts, "peers_python", None) or default_peers_python()
    if not Path(python).is_file():
        raise SuiteSkipped(f"MediaPipe's venv is missing ({python} not found): run "
                           f"`{SETUP_COMMAND}` (~30 s) to create .venv-peers")
    return Path(python)


def run(opts: argparse.Namespace) -> dict[str, Any]:
    import cv2

    python = _peers_python(opts)
    quick = bool(getattr(opts, "quick", False))
    sequences, warmup = round_counts(opts, quick=(2, 2), full=(4, 3))
    frames = getattr(opts, "peers_frames", None) or (6 if quick else 24)
    threads = int(getattr(opts, "threads", 2) or 2)
    cv2.setNumThreads(threads)
    images, truths, sequence_of = render_sequences(sequences, frames)
    work = Path(tempfile.mkdtemp(prefix="rejshand-bench-peers-"))
    frames_file = work / "frames.npz"
    np.savez(frames_file, images=np.stack(images))
    try:
        ours = OurPipeline(threads)
        worker = MediaPipeWorker(python, frames_file, threads, work / "mediapipe.log")
        try:
            measured = measure(worker, ours, images, sequence_of, warmup,
                               progress=bool(getattr(opts, "progress", False)))
        finally:
            worker.close()
    finally:
        frames_file.unlink(missing_ok=True)
    rows, result = summary_rows(measured, truths, threads)
    for row in rows:
        row["mediapipe_versions"] = worker.hello.get("versions")
    goals = peers_goals(rows)
    notes = (f"{result['frames']} frames ({sequences} sequences of {frames}), "
             f"{len(result['common_frames'])} tracked by both; paired per-frame ratio "
             f"ours / MediaPipe (median) {result['paired_ratio']:.2f}; MediaPipe's landmark "
             f"model alone reproduces its pipeline's landmarks to "
             f"{rows[2].get('landmark_agreement_px_median', float('nan')):.1f} px (median).")
    markdown = "\n\n".join([markdown_table(rows[:2], COLUMNS),
                            markdown_table(rows[2:], ALONE_COLUMNS), notes,
                            goals_markdown(goals)])
    return {"suite": "peers", "rows": rows, "markdown": markdown, "goals": goals,
            "comparison": {k: v for k, v in result.items() if k != "pipelines"}}
