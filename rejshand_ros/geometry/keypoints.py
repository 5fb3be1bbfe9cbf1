"""The 21-keypoint hand layout shared by FreiHAND and MediaPipe, and its link to MANO.

Order: 0 wrist; 1-4 thumb (CMC, MCP, IP, tip); 5-8 index (MCP, PIP, DIP, tip);
9-12 middle; 13-16 ring; 17-20 pinky. The root for root-relative 3D is joint 9 (middle
MCP). Everything here is a constant or a pure function; no ROS, no torch.
"""

from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

NUM_JOINTS: int = 21
ROOT_JOINT: int = 9  # middle-finger MCP: root of root-relative 3D outputs
WRIST_JOINT: int = 0

JOINT_NAMES: Tuple[str, ...] = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)

FINGER_NAMES: Tuple[str, ...] = ("thumb", "index", "middle", "ring", "pinky")

#: finger name -> its four joint indices, from the knuckle nearest the wrist to the tip
FINGERS: Dict[str, Tuple[int, int, int, int]] = {
    name: tuple(range(1 + 4 * i, 5 + 4 * i)) for i, name in enumerate(FINGER_NAMES)
}

#: parent joint of each joint (-1 for the wrist); every finger's first joint hangs off the wrist
PARENTS: np.ndarray = np.array(
    [-1] + [0 if j % 4 == 1 else j - 1 for j in range(1, NUM_JOINTS)], dtype=np.int64
)
PARENTS.setflags(write=False)

#: the 20 bones as (parent, child) pairs, ordered by child index
SKELETON_EDGES: Tuple[Tuple[int, int], ...] = tuple(
    (int(PARENTS[c]), c) for c in range(1, NUM_JOINTS)
)

FINGERTIP_JOINTS: Tuple[int, ...] = (4, 8, 12, 16, 20)

#: finger (or "palm" for the wrist) that each joint belongs to
JOINT_FINGER: Tuple[str, ...] = ("palm",) + tuple(
    FINGER_NAMES[(j - 1) // 4] for j in range(1, NUM_JOINTS)
)

#: RGB colours (0-255) for drawing; bones take the colour of their child's finger
FINGER_COLORS_RGB: Dict[str, Tuple[int, int, int]] = {
    "palm": (200, 200, 200),
    "thumb": (230, 25, 75),
    "index": (60, 180, 75),
    "middle": (0, 130, 200),
    "ring": (255, 200, 25),
    "pinky": (145, 30, 180),
}

#: left/right mirroring does not permute joints (each hand keeps the same order)
FLIP_PERMUTATION: np.ndarray = np.arange(NUM_JOINTS, dtype=np.int64)
FLIP_PERMUTATION.setflags(write=False)

# --- MANO -------------------------------------------------------------------------

MANO_NUM_VERTICES: int = 778
MANO_NUM_FACES: int = 1538
MANO_NUM_JOINTS: int = 16
MANO_MESH_ID: str = "mano_778"

#: MANO's 16 regressor joints, in MANO's own order
MANO_JOINT_NAMES: Tuple[str, ...] = (
    "wrist",
    "index1", "index2", "index3",
    "middle1", "middle2", "middle3",
    "pinky1", "pinky2", "pinky3",
    "ring1", "ring2", "ring3",
    "thumb1", "thumb2", "thumb3",
)

#: MANO vertex used as each fingertip: thumb, index, middle, ring, pinky (FreiHAND
#: toolbox / SimpleHand; smplx uses 554 and 671 for ring and pinky)
MANO_FINGERTIP_VERTICES: Tuple[int, ...] = (744, 320, 443, 555, 672)

#: reorders [16 MANO joints + 5 tips (thumb..pinky)] into FreiHAND order:
#: freihand[..., i, :] = mano21[..., MANO_TO_FREIHAND[i], :]
MANO_TO_FREIHAND: Tuple[int, ...] = (
    0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20
)


def mano_to_freihand(mano21: np.ndarray) -> np.ndarray:
    """Reorder (..., 21, D) points given as [16 MANO joints + 5 tips] into FreiHAND order."""
    mano21 = np.asarray(mano21)
    if mano21.ndim < 2 or mano21.shape[-2] != NUM_JOINTS:
        raise ValueError(f"expected (..., 21, D) points, got shape {mano21.shape}")
    return mano21[..., list(MANO_TO_FREIHAND), :]


