"""The 21-keypoint skeleton (FreiHAND / MediaPipe order) as the hand model needs it.

Kept in one place so it can later be replaced by an import from
``rejshand_ros.keypoints``; the values are identical.

Order: 0 wrist; 1-4 thumb (CMC, MCP, IP, tip); 5-8 index (MCP, PIP, DIP, tip);
9-12 middle; 13-16 ring; 17-20 pinky.
"""

from __future__ import annotations

from typing import Tuple

NUM_JOINTS: int = 21
WRIST: int = 0

PARENTS: Tuple[int, ...] = (
    -1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19,
)

JOINT_NAMES: Tuple[str, ...] = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)

FINGER_NAMES: Tuple[str, ...] = ("thumb", "index", "middle", "ring", "pinky")

#: joints of each finger (thumb..pinky), from the one nearest the wrist to the tip
FINGER_JOINTS: Tuple[Tuple[int, int, int, int], ...] = tuple(
    (1 + 4 * f, 2 + 4 * f, 3 + 4 * f, 4 + 4 * f) for f in range(5)
)

TIP_JOINTS: Tuple[int, ...] = (4, 8, 12, 16, 20)

#: joints that start a rigid bone used for skinning (every joint except the tips);
#: skinning weight column b belongs to the bone that starts at BONE_JOINTS[b]
BONE_JOINTS: Tuple[int, ...] = tuple(j for j in range(NUM_JOINTS) if j not in TIP_JOINTS)
NUM_BONES: int = len(BONE_JOINTS)  # 16
