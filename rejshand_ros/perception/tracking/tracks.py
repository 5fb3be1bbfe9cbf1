"""Hand tracks between frames: ROI from the previous keypoints, identities, loss.

As in MediaPipe Hands, a tracked hand's next crop comes from its previous 2D keypoints
(no detector run). With ``upright_crops`` (for pose models trained on upright-aligned
crops) it is rolled so the wrist -> middle-MCP line points up
(``geometry.crop.upright_rotation_rad``) and sized on the keypoints' bounding box in that
rolled frame, so an upright crop of a tilted hand stays tight; without, it is the
unrolled square around the keypoints (what the shipped pose model was trained on). The detector is only asked
when fewer hands are tracked than wanted. A track ends when the network's presence score falls below a threshold or it
duplicates an older track. Everything here is plain geometry on HandPredictions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rejshand_ros.geometry.crop import upright_box  # re-exported: the tracker's crop
from rejshand_ros.perception.hand_prediction import Handedness, HandPrediction
from rejshand_ros.perception.tracking.one_euro import OneEuroFilter, OneEuroParams


def square_box(points: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """Centre (2,) and side of the square around (K, 2) points' bbox, side x ``scale``."""
    finite = points[np.isfinite(points).all(axis=1)]
    if finite.size == 0:
        raise ValueError("no finite keypoints")
    lo, hi = finite.min(axis=0), finite.max(axis=0)
    return (lo + hi) / 2.0, float(max((hi - lo).max(), 1.0) * scale)


def box_iou(center_a, size_a: float, center_b, size_b: float) -> float:
    """IoU of two axis-aligned squares given by centre and side."""
    ax0, ay0 = np.asarray(center_a) - size_a / 2
    bx0, by0 = np.asarray(center_b) - size_b / 2
    ix = max(0.0, min(ax0 + size_a, bx0 + size_b) - max(ax0, bx0))
    iy = max(0.0, min(ay0 + size_a, by0 + size_b) - max(ay0, by0))
    inter = ix * iy
    union = size_a ** 2 + size_b ** 2 - inter
    return float(inter / union) if union > 0 else 0.0


@dataclass
class SmoothingConfig:
    """One-Euro smoothing of each tracked hand (uv pixels, joints and vertices metres)."""

    enabled: bool = True
    min_cutoff: float = 1.0
    beta: float = 0.05
    d_cutoff: float = 1.0

    def params(self) -> OneEuroParams:
        return OneEuroParams(self.min_cutoff, self.beta, self.d_cutoff)


@dataclass
class Track:
    """One hand followed over frames: its next crop (centre, side px, roll rotation_rad in
    the crop convention) and handedness (UNKNOWN until the pose network says)."""

    track_id: int
    center: np.ndarray
    size: float
    handedness: Handedness
    rotation: float = 0.0
    age: int = 0
    disagreements: int = 0
    filters: dict[str, OneEuroFilter] = field(default_factory=dict)

    def smooth(self, prediction: HandPrediction, time_s: float,
               config: SmoothingConfig) -> HandPrediction:
        """Filter uv, joints (and vertices, same offset field) in place; returns it."""
        if not config.enabled:
            self.filters.clear()  # smoothing turned back on later starts afresh
            return prediction
        params = config.params()
        for filt in self.filters.values():  # settings changed while tracking
            filt.params = params
        for name in ("uv", "joints"):
            filt = self.filters.setdefault(name, OneEuroFilter(params))
            setattr(prediction, name, filt(getattr(prediction, name), time_s).astype(np.float32))
        if prediction.vertices is not None:
            # vertices follow the smoothed joints' root so the mesh and skeleton agree
            filt = self.filters.setdefault("vertices", OneEuroFilter(params))
            prediction.vertices = filt(prediction.vertices, time_s).astype(np.float32)
        return prediction


@dataclass
class TrackerConfig:
    """max_hands: hands followed at once. presence_threshold: below it a track ends.
    track_box_scale: crop side / keypoint-bbox side when tracking (margin for motion).
    duplicate_iou: tracks overlapping more than this are merged (the older one stays).
    handedness_switch_frames: consecutive confident disagreements before a track's
    handedness (and hence crop mirroring) flips. upright_crops: roll crops upright (the
    detector's roll for a new track, the keypoints' for a tracked one); False: crops are
    never rolled (detector rolls ignored); None: as the pose model was trained (its model
    file's ``crop_roll``, resolved by ``HandPipeline``)."""

    max_hands: int = 2
    presence_threshold: float = 0.5
    track_box_scale: float = 1.5
    duplicate_iou: float = 0.5
    new_track_iou: float = 0.3
    handedness_switch_frames: int = 3
    handedness_confidence: float = 0.8
    upright_crops: bool | None = None


class HandTracker:
    """Keeps the list of tracks; the pipeline asks it for boxes and feeds it results."""

    def __init__(self, config: TrackerConfig = TrackerConfig()) -> None:
        self.config = config
        self.tracks: list[Track] = []
        self._next_id = 1

    def reset(self) -> None:
        self.tracks.clear()

    @property
    def wants_detection(self) -> bool:
        return len(self.tracks) < self.config.max_hands

    def add_detections(self, detections: list) -> list[Track]:
        """Start tracks for detections (best first) that no current track covers."""
        started = []
        for det in sorted(detections, key=lambda d: -d.score):
            if len(self.tracks) >= self.config.max_hands:
                break
            center = np.asarray(det.center, dtype=np.float64)
            if any(box_iou(center, det.size, t.center, t.size) > self.config.new_track_iou
                   for t in self.tracks):
                continue
            track = Track(self._next_id, center, float(det.size), Handedness(det.handedness),
                          rotation=float(getattr(det, "rotation_rad", 0.0))
                          if self.config.upright_crops else 0.0)
            self._next_id += 1
            self.tracks.append(track)
            started.append(track)
        return started

    def update(self, predictions: list[HandPrediction], time_s: float,
               smoothing: SmoothingConfig) -> list[HandPrediction]:
        """Results for ``self.tracks`` (same order) -> the hands to publish.

        Drops lost tracks (low presence, non-finite output) and duplicates, moves each
        kept track's box to its new keypoints (:func:`upright_box` with upright_crops,
        else the unrolled square),
        updates handedness, smooths. Duplicates are judged on the keypoints' axis-aligned
        squares (x ``track_box_scale``), which do not depend on the crops' roll.
        """
        if len(predictions) != len(self.tracks):
            raise ValueError(f"{len(predictions)} predictions for {len(self.tracks)} tracks")
        kept: list[tuple[Track, HandPrediction]] = []
        squares: list[tuple[np.ndarray, float]] = []
        scale = self.config.track_box_scale
        for track, prediction in sorted(zip(self.tracks, predictions), key=lambda tp: tp[0].track_id):
            if prediction.presence < self.config.presence_threshold or not prediction.is_finite():
                continue
            square = square_box(prediction.uv, scale)
            if any(box_iou(*square, *other) > self.config.duplicate_iou for other in squares):
                continue  # an older track already follows this hand
            squares.append(square)
            center, size, rotation = (upright_box(prediction.uv, scale)
                                      if self.config.upright_crops else (*square, 0.0))
            track.center, track.size, track.rotation = center, size, rotation
            track.age += 1
            self._update_handedness(track, prediction)
            prediction.track_id = track.track_id
            kept.append((track, track.smooth(prediction, time_s, smoothing)))
        self.tracks = [track for track, _ in kept]
        return [prediction for _, prediction in kept]

    def _update_handedness(self, track: Track, prediction: HandPrediction) -> None:
        """A track's handedness (the detector's, if it gave one) flips only after
        ``handedness_switch_frames`` confident disagreements of the pose network, so the
        detector's call stands where the network is unsure; a track without one (palm
        detector) takes the network's at once."""
        config = self.config
        if track.handedness == Handedness.UNKNOWN:
            track.handedness = prediction.handedness
        confident = prediction.handedness_score >= config.handedness_confidence
        if confident and prediction.handedness != track.handedness:
            track.disagreements += 1
            if track.disagreements >= config.handedness_switch_frames:
                track.handedness, track.disagreements = prediction.handedness, 0
        else:
            track.disagreements = 0
        if prediction.handedness != track.handedness:  # report the track's label, with
            prediction.handedness_score = 1.0 - prediction.handedness_score  # its probability
            prediction.handedness = track.handedness
