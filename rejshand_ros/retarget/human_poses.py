"""Human hand keypoints for retargeting tests and the benchmark, from the open hand model.

Thin helpers around :class:`rejshand_ros.hand_model.HandModel`: a named pose ("rest" =
open flat hand, "fist", "pinch", "point") or a ``HandPose``, for either side, placed in
front of a camera, and smooth teleoperation-like sequences.

Frames: the hand model's canonical frame (x radial, y towards the middle MCP, z palmar,
for a right hand; a left hand mirrors x) relates to the MANO wrist frame of
:mod:`rejshand_ros.retarget.wrist_frame` (x palmar, z distal, y = z x x) by a fixed axis
permutation, the same for both sides: (x, y, z)_mano = (z, x, y)_model.
``rotation``/``translation`` place the MANO wrist frame in the camera frame:
p_cam = rotation @ p_mano + translation.
"""

from __future__ import annotations

import numpy as np

from rejshand_ros.hand_model import HandModel, HandPose, named_pose
from rejshand_ros.perception.hand_prediction import Handedness

#: rows: MANO axes in hand-model coordinates (p_mano = MODEL_TO_MANO @ p_model)
MODEL_TO_MANO = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
_MODEL = HandModel()


def _pose(pose: HandPose | str) -> HandPose:
    pose = named_pose(pose) if isinstance(pose, str) else pose.copy()
    pose.global_rot = np.zeros(3)  # placement is done by `rotation` below
    return pose


def wrist_frame_keypoints(pose: HandPose | str,
                          handedness: Handedness | str = Handedness.RIGHT) -> np.ndarray:
    """(21, 3) keypoints of ``pose`` in the hand's MANO wrist frame, metres."""
    side = Handedness(handedness).value
    joints, _ = _MODEL.forward_kinematics(_pose(pose), side=side)
    return joints @ MODEL_TO_MANO.T


def palm_facing_camera() -> np.ndarray:
    """(3, 3) rotation: palm towards the camera, fingers up (optical frame, y down)."""
    # columns: MANO x (palmar) -> -z_cam, y -> +x_cam, z (distal) -> -y_cam
    return np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [-1.0, 0.0, 0.0]])


def camera_keypoints(pose: HandPose | str, handedness: Handedness | str = Handedness.RIGHT,
                     rotation: np.ndarray | None = None,
                     translation=(0.0, 0.0, 0.5)) -> np.ndarray:
    """(21, 3) camera-frame keypoints (metres) of ``pose`` for a left or right hand."""
    rotation = palm_facing_camera() if rotation is None else np.asarray(rotation, float)
    points = wrist_frame_keypoints(pose, handedness)
    return points @ rotation.T + np.asarray(translation, dtype=np.float64)


def blend(a: HandPose | str, b: HandPose | str, t: float) -> HandPose:
    """Joint-angle interpolation: t=0 gives a, t=1 gives b."""
    a, b = _pose(a), _pose(b)
    return HandPose(a.angles + t * (b.angles - a.angles))


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random (3, 3) rotation."""
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def _axis_rotation(axis: int, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    rot = np.eye(3)
    rot[i, i], rot[i, j], rot[j, i], rot[j, j] = c, -s, s, c
    return rot


def pose_sequence(num_frames: int, fps: float = 30.0, seed: int = 0,
                  handedness: Handedness | str = Handedness.RIGHT) -> list[np.ndarray]:
    """A teleoperation-like sequence of camera-frame keypoints (list of (21, 3)).

    Cycles rest (open) -> fist -> rest -> pinch -> point (~2 s per transition) with a
    little per-frame joint noise, while the wrist turns up to ~30-40 degrees.
    """
    rng = np.random.default_rng(seed)
    keys = ["rest", "fist", "rest", "pinch", "point"]
    frames = []
    for i in range(num_frames):
        t = i / fps
        u = (t / 2.0) % len(keys)
        k = int(u)
        w = 0.5 - 0.5 * np.cos(np.pi * (u - k))
        pose = blend(keys[k], keys[(k + 1) % len(keys)], w)
        pose.angles += rng.normal(0.0, 0.01, pose.angles.shape)
        turn = (_axis_rotation(0, 0.4 * np.sin(0.9 * t))
                @ _axis_rotation(1, 0.5 * np.sin(0.6 * t + 1)))
        frames.append(camera_keypoints(pose, handedness, turn @ palm_facing_camera(),
                                       (0.05, 0.0, 0.45)))
    return frames
