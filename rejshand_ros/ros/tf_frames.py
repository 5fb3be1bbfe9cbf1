"""Tracked wrists as TF frames (tf2_msgs/TFMessage on /tf), as pure functions.

Child frame ``<prefix>_left_wrist`` / ``<prefix>_right_wrist``, stamped with the image
time; axes: the MANO wrist frame of ``rejshand_ros.retarget.wrist_frame`` (z towards the middle
MCP, x out of the palm), so TF and retargeting agree. Orientation needs no intrinsics, so
every hand is published:
- absolute 3D (camera_info): parent the image's frame (the camera optical frame), origin
  keypoint 0 (the wrist) in metres;
- root-relative 3D (no camera_info): origin the wrist relative to the middle knuckle
  (joint 9), under ``relative_frame`` when one is given (a frame whose axes are the
  camera's, placed where the user wants the hand); otherwise under the image's frame,
  shifted by the hand's display offset (where the markers draw it).
Of several hands with the same handedness the one with the highest presence score wins;
a hand whose palm is degenerate is left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from geometry_msgs.msg import TransformStamped
from std_msgs.msg import Header
from tf2_msgs.msg import TFMessage

from rejshand_ros.geometry.keypoints import ROOT_JOINT, WRIST_JOINT
from rejshand_ros.perception.hand_prediction import Handedness, HandPrediction
from rejshand_ros.retarget.wrist_frame import DegenerateHandError, wrist_rotation


def rotation_to_quaternion(rotation: np.ndarray) -> np.ndarray:
    """(3, 3) rotation matrix -> unit quaternion (x, y, z, w), w >= 0."""
    m = np.asarray(rotation, dtype=np.float64)
    trace = np.trace(m)
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = np.array([(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s,
                      (m[1, 0] - m[0, 1]) / s, 0.25 * s])
    else:
        i = int(np.argmax(np.diag(m)))
        j, k = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(max(1.0 + m[i, i] - m[j, j] - m[k, k], 1e-12))
        q = np.empty(4)
        q[i] = 0.25 * s
        q[j] = (m[j, i] + m[i, j]) / s
        q[k] = (m[k, i] + m[i, k]) / s
        q[3] = (m[k, j] - m[j, k]) / s
    q /= np.linalg.norm(q)
    return -q if q[3] < 0 else q


def wrist_frame_name(prefix: str, handedness: Handedness) -> str:
    """``<prefix>_<left|right>_wrist`` (no leading underscore for an empty prefix)."""
    name = f"{Handedness(handedness).value}_wrist"
    return f"{prefix}_{name}" if prefix else name


def wrist_transforms(hands: Sequence[HandPrediction], header: Header, prefix: str,
                     relative_frame: str = "",
                     offsets: Sequence[np.ndarray] | None = None) -> list[TransformStamped]:
    """One TransformStamped per handedness (see the module docstring for the rules).

    ``offsets``: (3,) metres per hand of ``hands``, added to root-relative hands published
    under the image frame (the markers' display offset); zero when None.
    """
    best: dict[Handedness, HandPrediction] = {}
    shift: dict[int, np.ndarray] = {}
    for index, hand in enumerate(hands):
        shift[id(hand)] = (np.zeros(3) if offsets is None
                           else np.asarray(offsets[index], dtype=np.float64))
        if hand.handedness is Handedness.UNKNOWN:
            continue
        if hand.handedness not in best or hand.presence > best[hand.handedness].presence:
            best[hand.handedness] = hand
    out = []
    for side in (Handedness.LEFT, Handedness.RIGHT):
        hand = best.get(side)
        if hand is None:
            continue
        try:
            rotation = wrist_rotation(hand.joints, side)
        except DegenerateHandError:
            continue
        origin = np.asarray(hand.joints[WRIST_JOINT], dtype=np.float64)
        parent = header.frame_id
        if not hand.absolute:
            origin = origin - np.asarray(hand.joints[ROOT_JOINT], dtype=np.float64)
            if relative_frame:
                parent = relative_frame
            else:
                origin = origin + shift[id(hand)]
        if not np.isfinite(origin).all():
            continue
        msg = TransformStamped()
        msg.header = Header(stamp=header.stamp, frame_id=parent)
        msg.child_frame_id = wrist_frame_name(prefix, side)
        msg.transform.translation.x, msg.transform.translation.y, \
            msg.transform.translation.z = (float(v) for v in origin)
        q = rotation_to_quaternion(rotation)
        msg.transform.rotation.x, msg.transform.rotation.y, msg.transform.rotation.z, \
            msg.transform.rotation.w = (float(v) for v in q)
        out.append(msg)
    return out


def rpy_to_matrix(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """(3, 3) rotation of fixed-axis roll, pitch, yaw (rad), as a URDF origin's rpy:
    Rz(yaw) @ Ry(pitch) @ Rx(roll)."""
    cr, sr, cp, sp, cy, sy = (np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch),
                              np.cos(yaw), np.sin(yaw))
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cr, -sr], [0.0, sr, cr]])
    ry = np.array([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])
    rz = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
    return rz @ ry @ rx


def static_transform(parent: str, child: str, pose: Sequence[float],
                     stamp) -> TransformStamped:
    """``parent`` -> ``child`` from ``pose`` (x, y, z m, roll, pitch, yaw rad)."""
    x, y, z, roll, pitch, yaw = (float(v) for v in pose)
    msg = TransformStamped()
    msg.header.stamp = stamp
    msg.header.frame_id = parent
    msg.child_frame_id = child
    msg.transform.translation.x, msg.transform.translation.y, \
        msg.transform.translation.z = x, y, z
    q = rotation_to_quaternion(rpy_to_matrix(roll, pitch, yaw))
    msg.transform.rotation.x, msg.transform.rotation.y, msg.transform.rotation.z, \
        msg.transform.rotation.w = (float(v) for v in q)
    return msg


def tf_message(transforms: Sequence[TransformStamped]) -> TFMessage:
    """Wrap transforms for /tf."""
    return TFMessage(transforms=list(transforms))
