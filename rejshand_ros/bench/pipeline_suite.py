"""``pipeline`` suite: one camera frame, stage by stage, with the shipped models.

Synthetic 640x480 frames (``rejshand_ros.synth``) go through what the node does per
frame: decode (raw bgr8 Image buffer -> RGB, the node's default transport; JPEG ->
RGB for the compressed transport, reported alongside), detect, crop (one warp per hand
into a preallocated batch), normalise, network, uncrop, track + smooth, and the message
conversion (``predictions_to_array``; without ROS a numpy pack of the same fields).
Rounds walk over all frames; each frame starts with no tracks, so the detector runs on
every frame as in the node with fewer hands than ``max_hands``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

import cv2
import numpy as np

from rejshand_ros.bench.common import (SuiteSkipped, goal, goals_markdown, markdown_table,
                                       progress_bar, ratio, round_counts, summarize)
from rejshand_ros.imaging.codecs import compressed_to_rgb, raw_to_rgb, rgb_to_compressed, rgb_to_raw
from rejshand_ros.perception.hand_prediction import HandPrediction

PREPROCESS_SHARE_TARGET = 0.10
GPU_FRAME_MS_TARGET = 5.0
STAGES = ("decode", "decode_jpeg", "detect", "crop", "normalise", "network", "uncrop",
          "track_smooth", "convert")
PREPROCESS_STAGES = ("decode", "crop", "normalise")
FRAME_STAGES = ("decode", "detect", "crop", "normalise", "network", "uncrop", "track_smooth",
                "convert")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pipeline suite")
    group.add_argument("--pipeline-frames", type=int, default=None,
                       help="distinct synthetic frames (default 12; --quick 3)")
    group.add_argument("--pipeline-backend", default="auto",
                       choices=("auto", "eager", "onnxruntime", "compile"),
                       help="pose network backend (default auto, as the node)")
    group.add_argument("--pipeline-precision", default="auto",
                       choices=("auto", "fp32", "fp16", "bf16"),
                       help="pose network precision (default auto, as the node)")


def _frames(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Encoded frames with one or two hands: raw bgr8 buffer and JPEG bytes."""
    from rejshand_ros.synth.generate import render_frame

    rng = np.random.default_rng(seed)
    frames = []
    for index in range(count):
        sample = render_frame(rng, 640, 480, num_hands=1 + index % 2)
        height, width, encoding, step, data = rgb_to_raw(sample.image, "bgr8")
        frames.append({"raw": (height, width, encoding, step, data),
                       "jpeg": rgb_to_compressed(sample.image, "jpeg", 90),
                       "K": sample.K, "hands": len(sample.hands)})
    return frames


def _converter() -> tuple[str, Callable[[list[HandPrediction], int, int], Any]]:
    """The node's message conversion when ROS is importable, else a numpy pack."""
    try:
        from std_msgs.msg import Header

        from rejshand_ros.ros.conversions import predictions_to_array
    except ImportError:
        def pack(hands: list[HandPrediction], width: int, height: int) -> dict:
            return {"uv": np.stack([h.uv for h in hands]) if hands else np.zeros((0, 21, 2)),
                    "joints": np.stack([h.joints for h in hands]) if hands
                    else np.zeros((0, 21, 3)),
                    "vertices": [h.vertices.astype(np.float32) for h in hands],
                    "track_ids": [h.track_id for h in hands]}
        return "numpy pack (no ROS here)", pack
    header = Header()
    return "predictions_to_array (ROS message)", \
        lambda hands, width, height: predictions_to_array(hands, header, width, height)


def _build(opts: argparse.Namespace):
    from rejshand_ros.detection.factory import DetectorSettings, build_detector
    from rejshand_ros.geometry.camera import CameraModel
    from rejshand_ros.perception.pipeline import HandPipeline, PipelineConfig
    from rejshand_ros.perception.predictor import Predictor, PredictorConfig

    config = PredictorConfig(device=opts.device, backend=opts.pipeline_backend,
                             precision=opts.pipeline_precision, num_threads=opts.threads,
                             cuda_fallback="refuse")
    predictor = Predictor(config)
    detector = build_detector(DetectorSettings(device=opts.device, num_threads=opts.threads,
                                               backend=opts.pipeline_backend))
    return HandPipeline(predictor, detector, PipelineConfig()), CameraModel


def _one_frame(pipeline, camera_model, frame: dict[str, Any], convert,
               time_s: float) -> tuple[dict[str, float], int]:
    """Stage times (ms) of one frame and the number of hands found."""
    stages: dict[str, float] = {}
    start = time.perf_counter()
    image = raw_to_rgb(*frame["raw"])
    stages["decode"] = (time.perf_counter() - start) * 1e3
    start = time.perf_counter()
    compressed_to_rgb(frame["jpeg"], "jpeg")
    stages["decode_jpeg"] = (time.perf_counter() - start) * 1e3
    pipeline.reset()
    pipeline.predictor.last_timings_ms = {}
    result = pipeline.process(image, time_s, camera_model(frame["K"]))
    stages["detect"] = result.timings_ms["detect"]
    stages["track_smooth"] = result.timings_ms["track_smooth"]
    stages.update(pipeline.predictor.last_timings_ms)
    start = time.perf_counter()
    convert(result.hands, image.shape[1], image.shape[0])
    stages["convert"] = (time.perf_counter() - start) * 1e3
    return stages, len(result.hands)


def _collect(pipeline, camera_model, frames, convert, rounds: int, warmup: int,
             bar) -> tuple[dict[str, list[float]], list[float], int, int]:
    """Stage samples over frames with hands, frame totals, frames with hands, frames."""
    samples: dict[str, list[float]] = {stage: [] for stage in STAGES}
    totals: list[float] = []
    with_hands = seen = 0
    clock = 0.0
    for index in range(warmup + rounds):
        for frame in frames:
            clock += 1 / 30
            stages, found = _one_frame(pipeline, camera_model, frame, convert, clock)
            if index < warmup:
                continue
            seen += 1
            if found == 0:
                continue
            with_hands += 1
            totals.append(sum(stages[s] for s in FRAME_STAGES) / 1e3)
            for stage, value in stages.items():
                samples[stage].append(value / 1e3)
        bar.update()
    return samples, totals, with_hands, seen


def run(opts: argparse.Namespace) -> dict[str, Any]:
    try:
        pipeline, camera_model = _build(opts)
    except RuntimeError as exc:
        if "CUDA" in str(exc):
            raise SuiteSkipped(str(exc)) from exc
        raise
    cv2.setNumThreads(opts.threads)
    rounds, warmup = round_counts(opts, quick=(2, 1), full=(10, 2))
    count = opts.pipeline_frames or (3 if opts.quick else 12)
    frames = _frames(count)
    convert_name, convert = _converter()
    bar = progress_bar(warmup + rounds, "pipeline", opts.progress)
    samples, totals, with_hands, seen = _collect(pipeline, camera_model, frames, convert,
                                                 rounds, warmup, bar)
    bar.close()
    if not totals:
        raise RuntimeError(f"the detector found no hand in any of the {count} frames")
    stats = {stage: summarize(values) for stage, values in samples.items() if values}
    total = summarize(totals)
    network_ms = stats["network"]["median"]
    rows = [{"stage": stage, "median_ms": s["median"], "p10_ms": s["p10"], "p90_ms": s["p90"],
             "n": s["n"], "share_of_network": ratio(s["median"], network_ms)}
            for stage, s in stats.items()]
    rows.append({"stage": "frame total (decode raw ... convert)", "median_ms": total["median"],
                 "p10_ms": total["p10"], "p90_ms": total["p90"], "n": total["n"],
                 "share_of_network": ratio(total["median"], network_ms)})
    preprocess = sum(stats[s]["median"] for s in PREPROCESS_STAGES)
    engine = pipeline.predictor.engine
    goals = [goal("preprocessing (decode + crop + normalise) / network", preprocess / network_ms,
                  f"<= {PREPROCESS_SHARE_TARGET:.2f}",
                  preprocess / network_ms <= PREPROCESS_SHARE_TARGET)]
    if engine.device.type == "cuda":
        goals.append(goal("per-frame pipeline ms (median)", total["median"],
                          f"<= {GPU_FRAME_MS_TARGET}", total["median"] <= GPU_FRAME_MS_TARGET))
    markdown = "\n\n".join([
        f"Per-frame pipeline, 640x480 synthetic frames ({count} frames x {rounds} rounds; "
        f"hands found in {with_hands}/{seen} frames, stages over those), pose network "
        f"{engine.backend} {engine.precision} on {engine.device.type}, {opts.threads} threads; "
        f"decode = raw bgr8 buffer -> RGB (decode_jpeg: compressed transport); "
        f"convert = {convert_name}; share = stage median / network median",
        markdown_table(rows, [("stage", "stage"), ("median_ms", "median ms"), ("p10_ms", "p10"),
                              ("p90_ms", "p90"), ("n", "n"),
                              ("share_of_network", "share of network")]),
        goals_markdown(goals)])
    for row in rows:
        row.update(backend=engine.backend, precision=engine.precision,
                   device=engine.device.type)
    return {"suite": "pipeline", "rows": rows, "markdown": markdown, "goals": goals,
            "frames": count, "frames_with_hands": with_hands, "frames_timed": seen}
