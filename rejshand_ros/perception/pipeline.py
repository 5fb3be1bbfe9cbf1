"""Per-frame hand pipeline: detect (when needed) -> track -> crop + infer -> smooth.

One object used by the ROS node, ``rejshand-predict`` and the benchmarks, so all of
them run exactly the same logic. It never touches ROS: in go an RGB image, its time in
seconds and optionally the camera model; out come HandPredictions with track ids and
per-stage timings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from rejshand_ros.geometry.camera import CameraModel
from rejshand_ros.perception.hand_prediction import Handedness, HandPrediction
from rejshand_ros.perception.predictor import HandBox, Predictor
from rejshand_ros.perception.tracking.tracks import (HandTracker, SmoothingConfig, TrackerConfig,
                                                     square_box, upright_box)


class Detection(Protocol):
    """What a detector returns per hand (full-image pixels; ``detection.result``)."""

    center: tuple[float, float]
    size: float
    score: float
    handedness: Handedness
    rotation_rad: float


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
    #: a hand just found by the detector is predicted twice: on the detector's box, then
    #: on the box of those keypoints (the crop the tracker gives it on the next frame); on
    #: 277 real photos the mean 2D error fell from 11.8 to 10.7 px (one pose run more on
    #: detection frames only)
    refine_new_tracks: bool = True


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
        config = self._resolved(config)
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
        config = self._resolved(config)
        self.config = config
        self.tracker.config = config.tracker

    def _resolved(self, config: PipelineConfig) -> PipelineConfig:
        """``upright_crops`` None: crops as the pose model was trained on (its model file's
        ``crop_roll``)."""
        if config.tracker.upright_crops is not None:
            return config
        metadata = getattr(self.predictor, "metadata", None)
        upright = getattr(metadata, "crop_roll", "image") == "upright"
        return replace(config, tracker=replace(config.tracker, upright_crops=upright))

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
                         rotation_rad=track.rotation, track_id=track.track_id)
                 for track in self.tracker.tracks]
        start = time.perf_counter()
        predictions = self.predictor.predict(image, boxes, camera) if boxes else []
        if self.config.refine_new_tracks and predictions:
            predictions = self._refine_new(image, camera, boxes, predictions)
        timings["predict"] = (time.perf_counter() - start) * 1e3
        start = time.perf_counter()
        hands = self.tracker.update(predictions, time_s, self.config.smoothing)
        timings["track_smooth"] = (time.perf_counter() - start) * 1e3
        return FrameResult(hands=hands, timings_ms=timings, detected=detected)

    def _refine_new(self, image: np.ndarray, camera: CameraModel | None, boxes: list[HandBox],
                    predictions: list[HandPrediction]) -> list[HandPrediction]:
        """Predict the hands of new tracks again on the crop their keypoints give."""
        tracker = self.config.tracker
        redo = [i for i, (track, hand) in enumerate(zip(self.tracker.tracks, predictions))
                if track.age == 0 and hand.presence >= tracker.presence_threshold
                and hand.is_finite()]
        if not redo:
            return predictions
        again = []
        for i in redo:
            hand, box = predictions[i], boxes[i]
            if tracker.upright_crops:
                center, size, rotation = upright_box(hand.uv, tracker.track_box_scale)
            else:
                (center, size), rotation = square_box(hand.uv, tracker.track_box_scale), 0.0
            side = box.handedness if box.handedness != Handedness.UNKNOWN else hand.handedness
            again.append(HandBox((float(center[0]), float(center[1])), float(size), side,
                                 rotation_rad=float(rotation), track_id=box.track_id))
        refined = self.predictor.predict(image, again, camera)
        out = list(predictions)
        for i, hand in zip(redo, refined):
            if hand.presence >= tracker.presence_threshold and hand.is_finite():
                out[i] = hand
        return out
