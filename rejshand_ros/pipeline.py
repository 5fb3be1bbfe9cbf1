"""Per-frame hand pipeline: detect (when needed) -> track -> crop + infer -> smooth.

One object used by the ROS node, ``rejshand-predict`` and the benchmarks, so all of
them run exactly the same logic. It never touches ROS: in go an RGB image, its time in
seconds and optionally the camera model; out come HandPredictions with track ids and
per-stage timings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from rejshand_ros.prediction import Handedness, HandPrediction
from rejshand_ros.predictor import CameraModel, HandBox, Predictor
from rejshand_ros.tracking.tracks import HandTracker, SmoothingConfig, TrackerConfig


class Detection(Protocol):
    """What a detector returns per hand (full-image pixels)."""

    center: tuple[float, float]
    size: float
    score: float
    handedness: Handedness


class Detector(Protocol):
    def detect(self, image: np.ndarray) -> list[Detection]: ...


@dataclass
class PipelineConfig:
    """detect_interval: while some hands are tracked but fewer than max_hands, run the
    detector every N-th frame (1 = every such frame). Without any track it runs on every
    frame, so a hand is found as soon as it appears; with max_hands tracks, never."""

    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    detect_interval: int = 4


@dataclass
class FrameResult:
    hands: list[HandPrediction]
    timings_ms: dict[str, float]
    detected: bool


class HandPipeline:
    """Stateful: keeps the tracks between successive frames of one camera."""

    def __init__(self, predictor: Predictor, detector: Detector | None,
                 config: PipelineConfig = PipelineConfig()) -> None:
        self.predictor = predictor
        self.detector = detector
        self.config = config
        self.tracker = HandTracker(config.tracker)
        self._frames_since_detection = config.detect_interval

    def warm_up(self, width: int = 640, height: int = 480) -> None:
        """Run the detector on a black frame and the pose network on every batch size up
        to ``max_hands`` (first-call allocations, ONNX Runtime plans, autotuning), so the
        first camera frame is not slow. Leaves no tracks behind."""
        if self.detector is not None:
            self.detector.detect(np.zeros((height, width, 3), np.uint8))
        size = self.predictor.input_size
        for batch in range(1, self.config.tracker.max_hands + 1):
            self.predictor.run_crops(np.zeros((batch, size, size, 3), np.uint8))
        self.reset()

    def reset(self) -> None:
        """Forget all tracks (e.g. the camera restarted)."""
        self.tracker.reset()
        self._frames_since_detection = self.config.detect_interval

    def configure(self, config: PipelineConfig) -> None:
        """Take new tracking, smoothing and cadence settings between two frames; the
        tracks are kept (their filters continue with the new smoothing settings)."""
        self.config = config
        self.tracker.config = config.tracker

    def process(self, image: np.ndarray, time_s: float,
                camera: CameraModel | None = None) -> FrameResult:
        timings: dict[str, float] = {}
        detected = False
        start = time.perf_counter()
        self._frames_since_detection += 1
        due = (not self.tracker.tracks
               or self._frames_since_detection >= self.config.detect_interval)
        if self.detector is not None and self.tracker.wants_detection and due:
            self.tracker.add_detections(self.detector.detect(image))
            self._frames_since_detection = 0
            detected = True
        timings["detect"] = (time.perf_counter() - start) * 1e3
        boxes = [HandBox(tuple(track.center), track.size, track.handedness,
                         track_id=track.track_id) for track in self.tracker.tracks]
        start = time.perf_counter()
        predictions = self.predictor.predict(image, boxes, camera) if boxes else []
        timings["predict"] = (time.perf_counter() - start) * 1e3
        start = time.perf_counter()
        hands = self.tracker.update(predictions, time_s, self.config.smoothing)
        timings["track_smooth"] = (time.perf_counter() - start) * 1e3
        return FrameResult(hands=hands, timings_ms=timings, detected=detected)
