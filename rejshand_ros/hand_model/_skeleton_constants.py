"""The 21-keypoint skeleton (FreiHAND / MediaPipe order) as the hand model needs it:
``rejshand_ros.geometry.keypoints`` plus the bones used for skinning."""

from __future__ import annotations

from typing import Tuple

from rejshand_ros.geometry.keypoints import FINGER_NAMES, FINGERS, FINGERTIP_JOINTS, NUM_JOINTS

#: joints of each finger (thumb..pinky), from the one nearest the wrist to the tip
FINGER_JOINTS: Tuple[Tuple[int, int, int, int], ...] = tuple(FINGERS[n] for n in FINGER_NAMES)

#: joints that start a rigid bone used for skinning (every joint except the tips);
#: skinning weight column b belongs to the bone that starts at BONE_JOINTS[b]
BONE_JOINTS: Tuple[int, ...] = tuple(j for j in range(NUM_JOINTS) if j not in FINGERTIP_JOINTS)
NUM_BONES: int = len(BONE_JOINTS)  # 16

__all__ = ["BONE_JOINTS", "FINGER_JOINTS", "NUM_BONES", "NUM_JOINTS"]
