"""The MediaPipe estimator behind the same interface as :class:`HandPipeline`.

Per frame: MediaPipe Hands (in its worker: its own palm detection and ROI tracking) ->
HandPredictions -> our :class:`HandTracker` gives each hand a stable track id (matched to
the previous frame's tracks by box overlap), keeps handedness stable and One-Euro smooths.
No mesh: ``vertices`` is None and ``mesh_id`` empty.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from rejshand_ros.mediapipe_hands.client import MediaPipeHandsWorker
from rejshand_ros.mediapipe_hands.conversion import MODEL_ID, hand_to_prediction
from rejshand_ros.perception.pipeline import FrameResult, PipelineConfig
from rejshand_ros.perception.hand_prediction import Handedness, HandPrediction
from rejshand_ros.geometry.camera import CameraModel
from rejshand_ros.perception.tracking.tracks import HandTracker, box_iou, square_box


@dataclass(frozen=True)
class _Seed:
    """A MediaPipe hand no track follows yet, as a detection for HandTracker."""

    center: tuple[float, float]
    size: float
    score: float
    handedness: Handedness


def assign_tracks(tracker: HandTracker, hands: list[HandPrediction]) -> list[HandPrediction]:
    """Line ``hands`` up with ``tracker.tracks`` for :meth:`HandTracker.update`.

    Each track takes the hand whose box (keypoints' square, ``track_box_scale``) overlaps
    its own most (IoU above ``new_track_iou``, best pairs first); tracks without a hand
    end; hands without a track start new ones (best handedness score first, up to
    max_hands; one overlapping a track is a duplicate and dropped). Returns the hands in
    the order of ``tracker.tracks``.
    """
    config = tracker.config
    boxes = [square_box(hand.uv, config.track_box_scale) for hand in hands]
    pairs = sorted(((box_iou(track.center, track.size, *boxes[j]), i, j)
                    for i, track in enumerate(tracker.tracks) for j in range(len(hands))),
                   reverse=True)
    matched: dict[int, int] = {}
    for iou, i, j in pairs:
        if iou <= config.new_track_iou:
            break
        if i not in matched and j not in matched.values():
            matched[i] = j
    kept = sorted(matched)
    tracker.tracks = [tracker.tracks[i] for i in kept]
    ordered = [hands[matched[i]] for i in kept]
    unmatched = [j for j in range(len(hands)) if j not in matched.values()]
    for j in sorted(unmatched, key=lambda j: -hands[j].handedness_score):
        center, size = boxes[j]
        seed = _Seed((float(center[0]), float(center[1])), size, hands[j].handedness_score,
                     hands[j].handedness)
        if tracker.add_detections([seed]):
            ordered.append(hands[j])
    return ordered


class MediaPipePipeline:
    """Stateful like HandPipeline: MediaPipe's tracks live in the worker, ours here.

    Args:
        worker: the running MediaPipe worker (this pipeline closes it in :meth:`close`).
        config: tracker (max_hands, track_box_scale, ...) and smoothing settings.
        mirrored: the images are mirrored (selfie view); ROS camera images are not.
        hand_size: wrist to middle-MCP length in metres for absolute 3D (None: MediaPipe's
            metric scale).
    """

    model_id = MODEL_ID

    def __init__(self, worker: MediaPipeHandsWorker, config: PipelineConfig = PipelineConfig(),
                 mirrored: bool = False, hand_size: float | None = None) -> None:
        self.worker = worker
        self.config = config
        self.mirrored, self.hand_size = mirrored, hand_size
        self.tracker = HandTracker(config.tracker)

    def warm_up(self, width: int = 640, height: int = 480) -> None:
        """One black frame through MediaPipe (graph start-up); leaves no tracks."""
        self.worker.process(np.zeros((height, width, 3), np.uint8))
        self.reset()

    def reset(self) -> None:
        """Forget all tracks, ours and MediaPipe's."""
        self.tracker.reset()
        self.worker.reset()

    def configure(self, config: PipelineConfig) -> None:
        """Take new tracking and smoothing settings between two frames (tracks kept).

        Raises:
            ValueError: ``max_hands`` changed (MediaPipe's worker was started with it).
        """
        if config.tracker.max_hands != self.config.tracker.max_hands:
            raise ValueError("parameter max_hands is fixed at start-up for estimator "
                             "mediapipe (its worker was started with it); restart the node")
        self.config = config
        self.tracker.config = config.tracker

    def process(self, image: np.ndarray, time_s: float,
                camera: CameraModel | None = None) -> FrameResult:
        """Hands in ``image`` (H, W, 3) uint8 RGB at ``time_s`` seconds.

        Raises:
            WorkerError: the MediaPipe worker failed on this frame (it was restarted and
                our tracks were reset).
        """
        start = time.perf_counter()
        try:
            raw, mediapipe_ms = self.worker.process(image)
        except Exception:
            self.tracker.reset()
            raise
        sent = time.perf_counter()
        hands = [hand_to_prediction(hand, camera, self.mirrored, self.hand_size)
                 for hand in raw]
        tracks_before = {track.track_id for track in self.tracker.tracks}
        ordered = assign_tracks(self.tracker, hands)
        started = any(track.track_id not in tracks_before for track in self.tracker.tracks)
        hands = self.tracker.update(ordered, time_s, self.config.smoothing)
        timings = {"mediapipe": mediapipe_ms,
                   "predict": (sent - start) * 1e3,
                   "track_smooth": (time.perf_counter() - sent) * 1e3}
        return FrameResult(hands=hands, timings_ms=timings, detected=started)

    def close(self) -> None:
        self.worker.close()
