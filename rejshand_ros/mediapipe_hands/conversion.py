"""MediaPipe Hands' answer for one hand -> our HandPrediction (pure, no mediapipe import).

Conventions, checked on synthetic frames with known ground truth (docs/models.md
"MediaPipe estimator"):

- keypoints: MediaPipe's 21 landmarks are in our order (FreiHAND / MediaPipe), no permutation;
- ``uv``: MediaPipe's normalised image landmarks times the image size, pixels;
- ``world``: MediaPipe's world landmarks, metres, origin near the hand's centre, axes of
  the camera's optical frame (x right, y down, z away from the camera: the per-axis
  correlation with the truth is positive and flipping z doubles the error). We make them
  root-relative to joint 9, and absolute in the camera frame when intrinsics are known
  (root translation from the 2D/3D correspondence, as for our own network);
- handedness: MediaPipe assumes a mirrored (selfie) image, so on an ordinary camera image
  its "Left" is a right hand; ``mirrored=False`` (ROS camera images) swaps the label.
"""

from __future__ import annotations

import numpy as np

from rejshand_ros.geometry.camera import CameraModel, root_translation
from rejshand_ros.geometry.keypoints import NUM_JOINTS, ROOT_JOINT, WRIST_JOINT
from rejshand_ros.perception.hand_prediction import Handedness, HandPrediction
from rejshand_ros.perception.tracking.tracks import square_box

MODEL_ID = "mediapipe_hands_0.10.14"
ROI_SCALE = 1.5  # reported roi: the keypoints' square box, this much larger
_LABELS = {"Left": Handedness.LEFT, "Right": Handedness.RIGHT}
_SWAPPED = {Handedness.LEFT: Handedness.RIGHT, Handedness.RIGHT: Handedness.LEFT}


def handedness_from_label(label: str, mirrored: bool) -> Handedness:
    """MediaPipe's "Left"/"Right" (for a mirrored image) -> the hand in *this* image."""
    if label not in _LABELS:
        raise ValueError(f"unknown MediaPipe handedness label {label!r}")
    handedness = _LABELS[label]
    return handedness if mirrored else _SWAPPED[handedness]


def scale_to_hand_size(joints: np.ndarray, hand_size: float | None) -> np.ndarray:
    """Root-relative (21, 3) joints scaled so that wrist to joint 9 is ``hand_size`` m
    (unchanged when None or degenerate)."""
    palm = float(np.linalg.norm(joints[ROOT_JOINT] - joints[WRIST_JOINT]))
    if not hand_size or palm <= 1e-6:
        return joints
    return joints * (hand_size / palm)


def hand_to_prediction(hand: dict, camera: CameraModel | None = None, mirrored: bool = False,
                       hand_size: float | None = None) -> HandPrediction:
    """One entry of the worker's ``hands`` -> HandPrediction.

    Args:
        hand: ``uv`` (21, 2) px, ``world`` (21, 3) m, ``label`` "Left"/"Right", ``score``.
        camera: intrinsics of the image: absolute 3D in the camera frame (else
            root-relative, ``absolute`` false).
        mirrored: the image is mirrored (selfie view), as MediaPipe assumes.
        hand_size: wrist to middle-MCP length, m, to rescale the skeleton (None: keep
            MediaPipe's metric scale).
    """
    uv = np.asarray(hand["uv"], dtype=np.float64).reshape(NUM_JOINTS, 2)
    world = np.asarray(hand["world"], dtype=np.float64).reshape(NUM_JOINTS, 3)
    joints = scale_to_hand_size(world - world[ROOT_JOINT], hand_size)
    absolute = False
    if camera is not None:
        t = root_translation(joints, uv, camera)
        if t is not None:
            joints, absolute = joints + t, True
    center, side = square_box(uv, ROI_SCALE)
    return HandPrediction(
        uv=uv, joints=joints, vertices=None, absolute=absolute, presence=1.0,
        handedness=handedness_from_label(hand["label"], mirrored),
        handedness_score=float(hand["score"]),
        roi=(float(center[0] - side / 2), float(center[1] - side / 2), side, side),
        mesh_id="", model_id=MODEL_ID, extras={"mediapipe_label": hand["label"]})
