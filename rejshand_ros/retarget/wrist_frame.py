"""Camera-frame hand keypoints -> wrist-relative keypoints in the MANO wrist frame.

dex-retargeting compares human vectors with robot vectors expressed in the robot hand's
base frame, and its robot configs assume that base frame is the "MANO wrist frame"
below (the frame its own pipeline reaches with a fixed operator-to-MANO rotation that
differs for right and left hands). This module defines that frame from the keypoints
themselves, so the camera's orientation does not matter.

The MANO wrist frame (origin at keypoint 0, the wrist):
    z  distal: unit vector from the wrist (0) to the middle-finger MCP (9);
    x  palmar: out of the palm (the side the fingers flex towards);
    y  = z cross x; for a RIGHT hand y points radially (towards the thumb / index side),
       for a LEFT hand ulnarly (towards the pinky side).
Both are right-handed frames, so a left hand's coordinates are those of its mirror-image
right hand with y negated: left robot hands are mirror images (y -> -y) of right ones.

Estimation (wrist 0, index MCP 5, middle MCP 9, pinky MCP 17):
    z = unit(p9 - p0);
    r = p5 - p17 (across the knuckles, pinky -> index: radial for either hand);
    y = +unit(r - (r.z) z) for a right hand, -unit(...) for a left hand;
    x = y cross z.
For a right hand x = radial x distal, which is palmar; for a left hand the radial
direction is flipped, and x is again palmar. This matches dex-retargeting's
OPERATOR2MANO_RIGHT / OPERATOR2MANO_LEFT conventions (x palmar, z along the middle
finger, y radial for the right hand and ulnar for the left).
"""

from __future__ import annotations

import numpy as np

from rejshand_ros.perception.hand_prediction import Handedness

WRIST, INDEX_MCP, MIDDLE_MCP, PINKY_MCP = 0, 5, 9, 17
#: smallest accepted wrist -> middle-MCP distance and knuckle width, metres
MIN_PALM_LENGTH = 0.01
MIN_KNUCKLE_WIDTH = 0.005
#: smallest accepted sine of the angle between the palm's long axis and the knuckle line
MIN_PALM_SINE = 0.3


class DegenerateHandError(ValueError):
    """The keypoints do not define a wrist frame (NaN, wrong shape, collapsed palm)."""


def _as_keypoints(keypoints: np.ndarray) -> np.ndarray:
    points = np.asarray(keypoints, dtype=np.float64)
    if points.shape != (21, 3):
        raise DegenerateHandError(f"expected (21, 3) keypoints, got shape {points.shape}")
    if not np.isfinite(points).all():
        bad = sorted(set(np.nonzero(~np.isfinite(points))[0].tolist()))
        raise DegenerateHandError(f"non-finite keypoints at indices {bad}")
    return points


def _side(handedness: Handedness | str) -> Handedness:
    side = Handedness(handedness)
    if side is Handedness.UNKNOWN:
        raise ValueError("the wrist frame needs a known handedness (left or right)")
    return side


def wrist_rotation(keypoints: np.ndarray, handedness: Handedness | str) -> np.ndarray:
    """(3, 3) rotation whose columns are the MANO wrist axes x, y, z in the input frame.

    Args:
        keypoints: (21, 3) in any frame (e.g. the camera optical frame), FreiHAND order.
        handedness: LEFT or RIGHT.
    Raises:
        DegenerateHandError: NaN/inf, wrong shape, or a palm too small or collapsed to
            define the axes.
    """
    side = _side(handedness)
    points = _as_keypoints(keypoints)
    long_axis = points[MIDDLE_MCP] - points[WRIST]
    length = np.linalg.norm(long_axis)
    if length < MIN_PALM_LENGTH:
        raise DegenerateHandError(f"wrist to middle MCP is {length * 1000:.1f} mm")
    z = long_axis / length
    across = points[INDEX_MCP] - points[PINKY_MCP]
    width = np.linalg.norm(across)
    if width < MIN_KNUCKLE_WIDTH:
        raise DegenerateHandError(f"index to pinky MCP is {width * 1000:.1f} mm")
    radial = across - (across @ z) * z
    if np.linalg.norm(radial) < MIN_PALM_SINE * width:
        raise DegenerateHandError("the knuckle line is almost parallel to the palm's long axis")
    y = radial / np.linalg.norm(radial)
    if side is Handedness.LEFT:
        y = -y
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=1)


def to_wrist_frame(keypoints: np.ndarray, handedness: Handedness | str) -> np.ndarray:
    """(21, 3) keypoints -> (21, 3) wrist-relative keypoints in the MANO wrist frame, metres.

    Works for absolute and root-relative inputs alike (only differences are used).
    """
    points = _as_keypoints(keypoints)
    rotation = wrist_rotation(points, handedness)
    return (points - points[WRIST]) @ rotation


def mirror(keypoints_wrist: np.ndarray) -> np.ndarray:
    """Mirror wrist-frame keypoints (y -> -y): a left hand as the equivalent right hand."""
    out = np.array(keypoints_wrist, dtype=np.float64, copy=True)
    out[..., 1] *= -1.0
    return out
