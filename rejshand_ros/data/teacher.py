"""Pseudo-labels for real photos from a teacher (MediaPipe Hands), checked by a flip test.

The teacher runs twice per image, on the image and on its mirror image (MediaPipe in
static-image mode, in its own venv: ``rejshand_ros.mediapipe_hands.client``). A hand is
kept only when both runs find it, agree on where its keypoints are (the mirror run's
keypoints mirrored back), and agree on its handedness (the mirror image shows the other
hand); its label is the mean of the two runs, which also halves the teacher's own
left/right bias. What is left out is counted by reason, never silently dropped.

Conventions of the labels (``TeacherHand``):

- ``uv`` (21, 2): pixels of the labelled image, pixel centres at integers (MediaPipe's
  normalised coordinates times the image size, minus half a pixel);
- ``xyz_rel`` (21, 3): metres, root-relative (joint 9), axes of the camera's optical
  frame (x right, y down, z away) as MediaPipe's world landmarks are;
- ``right``: handedness in the image as it is (camera images are not mirrored, so
  MediaPipe's label, given for a mirrored selfie view, is swapped);
- ``score``: the teacher's handedness probability (mean of both runs); ``disagreement``:
  mean 2D distance between the two runs' keypoints as a fraction of the hand's box side.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

import cv2
import numpy as np

from rejshand_ros.geometry.keypoints import NUM_JOINTS, ROOT_JOINT

#: teacher(image) -> MediaPipe worker hands (``uv`` px as x*W, ``world``, ``label``, ``score``)
TeacherFn = Callable[[np.ndarray], Sequence[dict]]


@dataclass(frozen=True)
class LabelPolicy:
    """When a teacher hand becomes a label.

    min_score: the teacher's handedness probability (mean of both runs).
    max_disagreement: image vs mirror run, mean keypoint distance / hand box side.
    min_hand_px: smallest keypoint box side (pixels of the original image).
    teacher_min_side: images whose shorter side is below this are upscaled for the
        teacher (MediaPipe misses small hands in small images); labels are scaled back.
    """

    min_score: float = 0.8
    max_disagreement: float = 0.06
    min_hand_px: float = 24.0
    teacher_min_side: int = 256

    def __post_init__(self) -> None:
        if not (0.0 <= self.min_score <= 1.0) or self.max_disagreement <= 0 \
                or self.min_hand_px < 0 or self.teacher_min_side < 0:
            raise ValueError(f"label policy out of range: {self}")


@dataclass
class TeacherHand:
    """One pseudo-labelled hand (see the module docstring for conventions)."""

    uv: np.ndarray
    xyz_rel: np.ndarray
    right: bool
    score: float
    disagreement: float

@dataclass
class LabelCounts:
    """Images seen and hands kept or left out, by reason."""

    images: int = 0
    kept: int = 0
    left_out: Counter = field(default_factory=Counter)

    def add(self, other: "LabelCounts") -> None:
        self.images += other.images
        self.kept += other.kept
        self.left_out.update(other.left_out)

    def summary(self) -> dict:
        return {"images": self.images, "hands_kept": self.kept,
                "hands_left_out": dict(sorted(self.left_out.items()))}


def hand_box_side(uv: np.ndarray) -> float:
    """Side of the square around the keypoints' bounding box, pixels."""
    span = np.ptp(np.asarray(uv, dtype=np.float64).reshape(-1, 2), axis=0)
    return float(span.max())


def _parse(hand: dict, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray, str, float]:
    """Worker hand -> (uv px with centres at integers, root-relative world, label, score);
    ``scale`` (2,): teacher image size / labelled image size per axis."""
    uv = np.asarray(hand["uv"], dtype=np.float64).reshape(NUM_JOINTS, 2) / scale - 0.5
    world = np.asarray(hand["world"], dtype=np.float64).reshape(NUM_JOINTS, 3)
    return uv, world - world[ROOT_JOINT], str(hand["label"]), float(hand["score"])


def _mirror_back(uv: np.ndarray, world: np.ndarray, width: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints found in the mirror image -> the original image (x -> W - 1 - x; 3D x -> -x)."""
    uv, world = uv.copy(), world.copy()
    uv[:, 0] = (width - 1) - uv[:, 0]
    world[:, 0] = -world[:, 0]
    return uv, world


def _teacher_input(image: np.ndarray, policy: LabelPolicy) -> tuple[np.ndarray, np.ndarray]:
    """The image the teacher sees (small images upscaled) and its per-axis scale (2,)."""
    height, width = image.shape[:2]
    short = min(height, width)
    if policy.teacher_min_side and short < policy.teacher_min_side:
        factor = policy.teacher_min_side / short
        size = (round(width * factor), round(height * factor))
        big = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
        return big, np.array([size[0] / width, size[1] / height])
    return image, np.ones(2)


def label_image(image: np.ndarray, teacher: TeacherFn, policy: LabelPolicy = LabelPolicy()
                ) -> tuple[list[TeacherHand], LabelCounts]:
    """Pseudo-label the hands of one RGB image (H, W, 3) uint8 with the flip test."""
    counts = LabelCounts(images=1)
    big, scale = _teacher_input(image, policy)
    width = image.shape[1]
    direct = [_parse(h, scale) for h in teacher(big)]
    mirrored = []
    for hand in teacher(np.ascontiguousarray(big[:, ::-1])):
        uv, world, label, score = _parse(hand, scale)
        uv, world = _mirror_back(uv, world, width)
        mirrored.append((uv, world, label, score))
    used: set[int] = set()
    hands: list[TeacherHand] = []
    for uv, world, label, score in direct:
        side = max(hand_box_side(uv), 1e-6)
        best, best_d = None, np.inf
        for index, other in enumerate(mirrored):
            if index in used:
                continue
            d = float(np.linalg.norm(other[0] - uv, axis=1).mean()) / side
            if d < best_d:
                best, best_d = index, d
        if best is None or best_d > 0.5:
            counts.left_out["not_found_in_mirror"] += 1
            continue
        used.add(best)
        m_uv, m_world, m_label, m_score = mirrored[best]
        if m_label == label:  # the mirror image shows the other hand: labels must differ
            counts.left_out["handedness_disagrees"] += 1
            continue
        mean_score = (score + m_score) / 2.0
        if mean_score < policy.min_score:
            counts.left_out["low_score"] += 1
            continue
        if best_d > policy.max_disagreement:
            counts.left_out["keypoints_disagree"] += 1
            continue
        if side < policy.min_hand_px:
            counts.left_out["too_small"] += 1
            continue
        # MediaPipe names hands as seen in a selfie (mirrored) view: swap for camera images
        hands.append(TeacherHand(uv=(uv + m_uv) / 2.0, xyz_rel=(world + m_world) / 2.0,
                                 right=label == "Left", score=mean_score,
                                 disagreement=best_d))
        counts.kept += 1
    if len(mirrored) > len(used):
        counts.left_out["only_in_mirror"] += len(mirrored) - len(used)
    return hands, counts
