"""Joint-angle parameterisation, anatomical limits and forward kinematics of the hand.

Canonical hand frame (right hand; metres):
    origin  the wrist joint (keypoint 0);
    +y      from the wrist towards the middle-finger MCP (keypoint 9 lies on +y);
    +x      radial, towards the thumb;
    +z      palmar, out of the palm (x, y, z is right-handed).
At zero angles the hand is flat: fingers point along +y (with a slight natural fan),
the palm faces +z, the thumb points radially-distally (40 deg from +y, 10 deg
palmar) with its pad turned 40 deg from ulnar towards palmar.

A left hand is the mirror image of the right one: x -> -x (thumb towards -x), same
angles. ``global_rot`` (axis-angle, radians) then rotates that canonical hand about
the wrist into the output frame, for either side:  p_out = R(global_rot) @ p_canonical.
Consequently the left-hand image of a right-hand pose (angles, R) is (angles, M R M)
with M = diag(-1, 1, 1); see ``mirror_pose``.

Joint angles (radians, 21 values, ANGLE_NAMES):
    thumb: CMC flexion (rotation about the palm normal +z: the thumb sweeps
           ulnarly across the palm), CMC abduction (rotation about -y: the thumb
           lifts out of the palm plane, palmar), CMC rotation (about the metacarpal's
           own axis; positive = pronation, the pad turns towards the fingers), MCP and
           IP flexion (about the thumb's flexion axis, towards its pad);
    each long finger (index..pinky): MCP flexion (towards the palm, +z), MCP
           abduction (positive = radial, towards the thumb), PIP and DIP flexion.
Long-finger angles sit at the same indices as their joints (index MCP flexion is
angle 5, pinky DIP is angle 20); thumb angles are 0-4.
Each bone's local frame: x = flexion axis, y = along the bone (towards the tip),
z = the side the bone flexes towards (palmar for the long fingers, the pad for the
thumb). Long-finger MCPs compose R_rest @ R_z(-abduction) @ R_x(flexion); the thumb
CMC is R_z(flexion) @ R_y(-abduction) @ R_rest @ R_y(-rotation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Tuple, Union

import numpy as np

from rejshand_ros.hand_model._rotations import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    random_rotation,
    rigid,
    rot_x,
    rot_y,
    rot_z,
)
from rejshand_ros.hand_model._skeleton_constants import FINGER_JOINTS, NUM_JOINTS
from rejshand_ros.hand_model.shape import HandShape

ANGLE_NAMES: Tuple[str, ...] = (
    "thumb_cmc_flex", "thumb_cmc_abd", "thumb_cmc_rot", "thumb_mcp_flex", "thumb_ip_flex",
) + tuple(
    f"{finger}_{dof}"
    for finger in ("index", "middle", "ring", "pinky")
    for dof in ("mcp_flex", "mcp_abd", "pip_flex", "dip_flex")
)
NUM_ANGLES: int = len(ANGLE_NAMES)  # 21

_LIMITS_DEG = {
    "thumb_cmc_flex": (-15.0, 50.0),
    "thumb_cmc_abd": (0.0, 70.0),
    "thumb_cmc_rot": (-10.0, 45.0),
    "thumb_mcp_flex": (0.0, 55.0),
    "thumb_ip_flex": (-20.0, 80.0),
}
for _finger, _abd in (("index", 20.0), ("middle", 15.0), ("ring", 20.0), ("pinky", 20.0)):
    _LIMITS_DEG[f"{_finger}_mcp_flex"] = (-25.0, 90.0)
    _LIMITS_DEG[f"{_finger}_mcp_abd"] = (-_abd, _abd)
    _LIMITS_DEG[f"{_finger}_pip_flex"] = (0.0, 110.0)
    _LIMITS_DEG[f"{_finger}_dip_flex"] = (0.0, 80.0)

#: lower / upper joint limits (21,), radians, from textbook active range of motion
LOWER: np.ndarray = np.deg2rad([_LIMITS_DEG[n][0] for n in ANGLE_NAMES])
UPPER: np.ndarray = np.deg2rad([_LIMITS_DEG[n][1] for n in ANGLE_NAMES])
LOWER.setflags(write=False)
UPPER.setflags(write=False)

#: rest fan of the long fingers (radial positive), radians: index, middle, ring, pinky
FINGER_REST_SPLAY: np.ndarray = np.deg2rad([4.0, 0.0, -5.0, -11.0])
#: thumb metacarpal rest direction: radial angle from +y, palmar elevation (radians)
THUMB_REST_RADIAL: float = np.deg2rad(40.0)
THUMB_REST_PALMAR: float = np.deg2rad(10.0)
#: rest pronation of the thumb pad: 0 faces ulnar in the palm plane, 90 faces palmar
THUMB_REST_PRONATION: float = np.deg2rad(40.0)
#: fixed rest flexion of the thumb phalanges relative to the metacarpal
THUMB_MCP_REST: float = np.deg2rad(8.0)
#: positive thumb CMC rotation is a pronation (towards opposition): about -y
_THUMB_ROT_SIGN: float = -1.0


@dataclass
class HandPose:
    """Articulation plus global rotation of one hand.

    Attributes:
        angles: (21,) joint angles, radians, in ANGLE_NAMES order.
        global_rot: (3,) axis-angle, radians: rotation of the canonical hand about
            the wrist into the output frame.
    """

    angles: np.ndarray = field(default_factory=lambda: np.zeros(NUM_ANGLES))
    global_rot: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def __post_init__(self) -> None:
        self.angles = np.asarray(self.angles, dtype=np.float64).reshape(NUM_ANGLES).copy()
        self.global_rot = np.asarray(self.global_rot, dtype=np.float64).reshape(3).copy()

    def as_vector(self) -> np.ndarray:
        """(24,) = [global_rot (3), angles (21)], radians."""
        return np.concatenate([self.global_rot, self.angles])

    @classmethod
    def from_vector(cls, vec: np.ndarray) -> "HandPose":
        """Inverse of ``as_vector``; a (21,) vector means zero global rotation."""
        v = np.asarray(vec, dtype=np.float64).ravel()
        if v.size == NUM_ANGLES:
            return cls(angles=v)
        if v.size == NUM_ANGLES + 3:
            return cls(angles=v[3:], global_rot=v[:3])
        raise ValueError(f"pose vector must have 21 or 24 values, got {v.size}")

    def copy(self) -> "HandPose":
        return HandPose(self.angles.copy(), self.global_rot.copy())


PoseLike = Union[HandPose, np.ndarray]


def as_pose(pose: PoseLike) -> HandPose:
    """Accept a HandPose or a (21,) / (24,) vector."""
    return pose if isinstance(pose, HandPose) else HandPose.from_vector(pose)


def clip_to_limits(pose: PoseLike) -> HandPose:
    """Copy of ``pose`` with every joint angle clipped to [LOWER, UPPER]."""
    p = as_pose(pose)
    return HandPose(np.clip(p.angles, LOWER, UPPER), p.global_rot)


def within_limits(pose: PoseLike, tol: float = 1e-9) -> bool:
    """True when all joint angles lie inside the anatomical limits."""
    a = as_pose(pose).angles
    return bool(np.all(a >= LOWER - tol) and np.all(a <= UPPER + tol))


MIRROR: np.ndarray = np.diag([-1.0, 1.0, 1.0])


def mirror_pose(pose: PoseLike) -> HandPose:
    """The pose whose hand of the other side is the x-mirror image of this one."""
    p = as_pose(pose)
    rot = MIRROR @ axis_angle_to_matrix(p.global_rot) @ MIRROR
    return HandPose(p.angles, matrix_to_axis_angle(rot))


def _thumb_rest_rotation() -> np.ndarray:
    """Columns (e1 flexion axis, e2 metacarpal direction, e3 pad normal) of the thumb."""
    b, z = THUMB_REST_RADIAL, THUMB_REST_PALMAR
    e2 = np.array([np.sin(b) * np.cos(z), np.cos(b) * np.cos(z), np.sin(z)])
    ulnar = np.array([-np.cos(b), np.sin(b), 0.0])
    g = THUMB_REST_PRONATION
    e3 = np.cos(g) * ulnar + np.sin(g) * np.array([0.0, 0.0, 1.0])
    e3 -= e2 * (e3 @ e2)
    e3 /= np.linalg.norm(e3)
    e1 = np.cross(e2, e3)
    return np.stack([e1, e2, e3], axis=1)


def chain_rest_rotations() -> np.ndarray:
    """Rest orientation (5, 3, 3) of each chain's base frame (thumb..pinky)."""
    out = np.zeros((5, 3, 3))
    out[0] = _thumb_rest_rotation()
    for f in range(4):
        out[f + 1] = rot_z(-FINGER_REST_SPLAY[f])
    return out


def _chain_rotations(angles: np.ndarray, finger: int, rest: np.ndarray) -> Tuple[np.ndarray, ...]:
    """Base orientation (world) and the two local joint rotations of one chain."""
    if finger == 0:
        cf, ca, cr, mf, ipf = angles[0:5]
        base = rot_z(cf) @ rot_y(-ca) @ rest @ rot_y(_THUMB_ROT_SIGN * cr)
        return base, rot_x(THUMB_MCP_REST + mf), rot_x(ipf)
    mf, ab, pf, df = angles[4 * finger + 1: 4 * finger + 5]
    return rest @ rot_z(-ab) @ rot_x(mf), rot_x(pf), rot_x(df)


def articulate(angles: np.ndarray, shape: HandShape) -> Tuple[np.ndarray, np.ndarray]:
    """Right-hand FK in the canonical frame without global rotation.

    Args:
        angles: (21,) joint angles, radians.
        shape: hand shape.
    Returns:
        joints (21, 3) metres and frames (21, 4, 4): frame j is the world pose of the
        bone that starts at joint j (tips: the distal bone's frame moved to the tip).
    """
    lengths = shape.segment_lengths()
    bases = shape.chain_bases()
    rest = chain_rest_rotations()
    frames = np.zeros((NUM_JOINTS, 4, 4))
    frames[0] = np.eye(4)
    for f in range(5):
        locs = _chain_rotations(angles, f, rest[f])
        rot = locs[0]
        pos = bases[f].astype(np.float64)
        chain = FINGER_JOINTS[f]
        frames[chain[0]] = rigid(rot, pos)
        for k in range(3):
            pos = pos + rot[:, 1] * lengths[f, k]
            if k < 2:
                rot = rot @ locs[k + 1]
            frames[chain[k + 1]] = rigid(rot, pos)
    return frames[:, :3, 3].copy(), frames


def forward_kinematics(
    pose: PoseLike, shape: HandShape | None = None, side: str = "right"
) -> Tuple[np.ndarray, np.ndarray]:
    """Joint positions and frames of a posed hand.

    Args:
        pose: HandPose or (21,) / (24,) vector (radians).
        shape: hand shape (default HandShape()).
        side: "right" or "left" (left = x-mirror of right, before global_rot).
    Returns:
        joints (21, 3), metres, FreiHAND order; transforms (21, 4, 4): rigid frame
        of the bone starting at each joint (see ``articulate``). For the left hand the
        frames are M T M (M = diag(-1, 1, 1, 1)): proper rotations whose local x axis
        is mirrored along with the geometry.
    """
    p = as_pose(pose)
    joints, frames = articulate(p.angles, shape or HandShape())
    if side == "left":
        m4 = np.diag([-1.0, 1.0, 1.0, 1.0])
        frames = m4 @ frames @ m4
    elif side != "right":
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    g = rigid(axis_angle_to_matrix(p.global_rot), np.zeros(3))
    frames = g @ frames
    return frames[:, :3, 3].copy(), frames


# --- named poses --------------------------------------------------------------------

def _pose_deg(thumb: Tuple[float, ...], fingers: Tuple[Tuple[float, ...], ...]) -> np.ndarray:
    """Angles (21,) in radians from degrees: thumb (5) and index..pinky (4 each)."""
    return np.deg2rad(np.concatenate([thumb] + [f for f in fingers]))


_FIST_FINGERS = ((85.0, -4.0, 100.0, 62.0), (88.0, 0.0, 100.0, 62.0),
                 (88.0, 4.0, 100.0, 62.0), (85.0, 9.0, 100.0, 62.0))
_FIST_THUMB = (12.0, 22.0, 7.0, 28.0, 67.0)  # solved: thumb tip over the middle phalanges
#: named poses, angles (21,) in radians; "rest" is the flat bind pose of the mesh
NAMED_POSES = {
    "rest": np.zeros(NUM_ANGLES),
    "fist": _pose_deg(_FIST_THUMB, _FIST_FINGERS),
    # thumb solved so that the thumb and index pads meet (tips ~1 cm apart)
    "pinch": _pose_deg(
        (-5.0, 44.0, 20.0, 24.0, 14.0),
        ((51.0, 0.0, 46.0, 30.0), (30.0, 0.0, 45.0, 30.0),
         (35.0, 2.0, 50.0, 33.0), (40.0, 5.0, 55.0, 37.0)),
    ),
    "point": _pose_deg(_FIST_THUMB, ((0.0, 0.0, 0.0, 0.0),) + _FIST_FINGERS[1:]),
}


def named_pose(name: str) -> HandPose:
    """One of NAMED_POSES ("rest" = flat bind pose, "fist", "pinch", "point")."""
    if name not in NAMED_POSES:
        raise KeyError(f"unknown pose {name!r}; known: {sorted(NAMED_POSES)}")
    return HandPose(NAMED_POSES[name].copy())


# --- random poses -------------------------------------------------------------------

POSE_MODES: Tuple[str, ...] = ("open", "relaxed", "grasp", "fist", "pinch", "point", "uniform")
POSE_MODE_PROBS: Tuple[float, ...] = (0.15, 0.2, 0.25, 0.12, 0.12, 0.06, 0.10)
_ABD_DIRECTION = (1.0, 0.0, -1.0, -1.0)  # spreading direction of index..pinky


def _coupled_dip(rng: np.random.Generator, pip: np.ndarray, noise: float) -> np.ndarray:
    """DIP flexion ~ 2/3 PIP plus Gaussian noise (radians)."""
    return (2.0 / 3.0) * pip + noise * rng.standard_normal(pip.shape)


def _curl_pose(rng: np.random.Generator, curls: np.ndarray, spread: float,
               opposition: float, thumb_curl: float, noise: float) -> np.ndarray:
    """Angles (21,) from per-finger curl in [0, 1], spread and thumb opposition.

    DIP angles are left for the caller to couple to PIP.
    """
    a = np.zeros(NUM_ANGLES)
    for f in range(4):
        c = float(np.clip(curls[f], 0.0, 1.0))
        i = 4 * f + 5
        a[i] = np.deg2rad(90.0) * c * rng.uniform(0.75, 1.0)
        a[i + 2] = np.deg2rad(105.0) * c * rng.uniform(0.8, 1.05)
        abd_lim = UPPER[i + 1]
        a[i + 1] = spread * _ABD_DIRECTION[f] * abd_lim * (1.0 - 0.8 * c)
        a[i + 1] -= FINGER_REST_SPLAY[f] * c  # fingers close together as they curl
    a[0] = np.deg2rad(15.0) * opposition * rng.uniform(-0.5, 1.0)
    a[1] = np.deg2rad(60.0) * opposition * rng.uniform(0.6, 1.0)
    a[2] = np.deg2rad(30.0) * opposition * rng.uniform(0.3, 1.0)
    a[3] = np.deg2rad(45.0) * thumb_curl
    a[4] = np.deg2rad(60.0) * thumb_curl
    return a + noise * rng.standard_normal(NUM_ANGLES)


def sample_pose(
    rng: np.random.Generator,
    mode: str | None = None,
    global_rotation: bool = False,
    noise_deg: float = 6.0,
) -> HandPose:
    """Random hand pose inside the joint limits.

    Args:
        rng: numpy generator (same seed -> same pose).
        mode: one of POSE_MODES; None draws one with POSE_MODE_PROBS. "open",
            "relaxed", "grasp", "fist" vary the finger curl; "pinch" and "point"
            perturb the named poses; "uniform" draws every angle uniformly.
            DIP follows 2/3 of PIP plus noise in every mode.
        global_rotation: draw a uniformly random global rotation (else zero).
        noise_deg: per-angle Gaussian noise, degrees.
    Returns:
        HandPose with all angles within [LOWER, UPPER].
    """
    if mode is None:
        mode = str(rng.choice(POSE_MODES, p=POSE_MODE_PROBS))
    noise = np.deg2rad(noise_deg)
    if mode == "open":
        a = _curl_pose(rng, rng.uniform(-0.1, 0.15, 4), rng.uniform(-0.3, 1.0),
                       rng.uniform(0.0, 0.3), rng.uniform(0.0, 0.2), noise)
    elif mode == "relaxed":
        base = rng.uniform(0.1, 0.4)
        curls = base + np.array([0.0, 0.05, 0.1, 0.15]) + 0.05 * rng.standard_normal(4)
        a = _curl_pose(rng, curls, rng.uniform(0.0, 0.6), rng.uniform(0.1, 0.5),
                       rng.uniform(0.1, 0.4), noise)
    elif mode == "grasp":
        curls = rng.uniform(0.35, 0.75) + 0.07 * rng.standard_normal(4)
        a = _curl_pose(rng, curls, rng.uniform(-0.3, 0.3), rng.uniform(0.5, 1.0),
                       rng.uniform(0.2, 0.6), noise)
    elif mode == "fist":
        t = rng.uniform(0.7, 1.0)
        a = t * NAMED_POSES["fist"] + noise * rng.standard_normal(NUM_ANGLES)
    elif mode in ("pinch", "point"):
        a = NAMED_POSES[mode] + noise * rng.standard_normal(NUM_ANGLES)
    elif mode == "uniform":
        a = rng.uniform(LOWER, UPPER)
    else:
        raise ValueError(f"unknown mode {mode!r}; known: {POSE_MODES}")
    for f in range(4):
        i = 4 * f + 5
        a[i + 3] = _coupled_dip(rng, np.clip(a[i + 2], LOWER[i + 2], UPPER[i + 2]), noise)
    rot = matrix_to_axis_angle(random_rotation(rng)) if global_rotation else np.zeros(3)
    return clip_to_limits(HandPose(a, rot))
