"""The procedural hand mesh: 778 vertices, 1552 faces, skinning and joint regressor.

An open, redistributable stand-in for MANO's vertex count (NOT its topology): a
closed, outward-oriented genus-0 triangle mesh (Euler characteristic 2) built around
the skeleton of a HandShape (see ``_mesh_layout.py``), posed with linear blend
skinning over 16 bones (the bones starting at every non-tip joint, BONE_JOINTS).

Joint regressor (21, 778), FreiHAND order: the five fingertip rows are one-hot on the
dome apex of each finger (which sits exactly at the FK tip); PIP, DIP and the thumb's
MCP and IP rows average the ring of vertices built around that joint; the wrist, thumb
CMC and finger MCP rows are non-negative convex combinations (fitted once on the
default shape) of palm vertices that move rigidly with the wrist. On the default shape
regressor @ posed vertices reproduces the FK joints to ~0.01 mm; on other
shapes to well under a millimetre.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import nnls

from rejshand_ros.hand_model._mesh_layout import NUM_VERTICES, build_hand
from rejshand_ros.hand_model._rotations import axis_angle_to_matrix
from rejshand_ros.hand_model._skeleton_constants import BONE_JOINTS, NUM_JOINTS
from rejshand_ros.hand_model.kinematics import PoseLike, articulate, as_pose
from rejshand_ros.hand_model.shape import HandShape

MESH_ID: str = "rejshand_open_hand_v1"
NUM_FACES: int = 2 * NUM_VERTICES - 4  # closed genus-0 triangle mesh: F = 2V - 4


@dataclass(frozen=True)
class HandMeshTemplate:
    """Shape-independent parts of the mesh.

    Attributes:
        faces: (1552, 3) int32, counter-clockwise seen from outside (right hand).
        skin_weights: (778, 16) float64, rows sum to 1; column b is BONE_JOINTS[b].
        joint_regressor: (21, 778) float64, rows sum to 1, non-negative.
        choices: internal topology choices used to rebuild the rest mesh of any shape.
        mesh_id: identifier of this topology.
    """

    faces: np.ndarray
    skin_weights: np.ndarray
    joint_regressor: np.ndarray
    choices: tuple
    mesh_id: str = MESH_ID


def _fit_convex(points: np.ndarray, target: np.ndarray, ridge: float = 1e-9) -> np.ndarray:
    """Non-negative weights (n,) summing to 1 with weights @ points ~= target."""
    n = len(points)
    rho = 10.0
    a = np.vstack([points.T, rho * np.ones((1, n)), np.sqrt(ridge) * np.eye(n)])
    b = np.concatenate([target, [rho], np.zeros(n)])
    w, _ = nnls(a, b, maxiter=50 * n)
    return w / w.sum()


def _build_regressor(build, joints: np.ndarray) -> np.ndarray:
    """Joint regressor (21, 778) from the template build and its rest joints."""
    reg = np.zeros((NUM_JOINTS, NUM_VERTICES))
    verts = build.vertices
    rigid_root = np.flatnonzero(build.weights[:, 0] > 1.0 - 1e-12)
    for j in range(NUM_JOINTS):
        key = f"joint{j}"
        if j == 0:
            cand = build.groups["wrist"]
        elif j == 1:
            near = np.linalg.norm(verts[rigid_root] - joints[1], axis=1) < 0.035
            cand = rigid_root[near]
        elif j in (5, 9, 13, 17):  # knuckle slots plus the nearby pre-knuckle loop
            pre = build.groups["pre_knuckle"]
            near = np.linalg.norm(verts[pre] - joints[j], axis=1) < 0.025
            cand = np.concatenate([build.groups[key], pre[near]])
        else:
            cand = build.groups[key]
            reg[j, cand] = 1.0 / len(cand)  # fingertip apex or a ring centred on the joint
            continue
        reg[j, cand] = _fit_convex(verts[cand], joints[j])
    return reg


@lru_cache(maxsize=1)
def mesh_template() -> HandMeshTemplate:
    """The (cached) template: faces, skinning weights and joint regressor."""
    shape = HandShape()
    build = build_hand(shape)
    joints, _ = articulate(np.zeros(21), shape)
    reg = _build_regressor(build, joints)
    for arr in (build.faces, build.weights, reg):
        arr.setflags(write=False)
    return HandMeshTemplate(build.faces, build.weights, reg, build.choices)


def faces_for_side(side: str = "right") -> np.ndarray:
    """Faces (1552, 3) int32 wound outwards for that side (left = re-wound mirror)."""
    faces = mesh_template().faces
    if side == "right":
        return faces
    if side == "left":
        return np.ascontiguousarray(faces[:, [0, 2, 1]])
    raise ValueError(f"side must be 'right' or 'left', got {side!r}")


def rest_vertices(shape: HandShape | None = None) -> np.ndarray:
    """Rest-pose (flat hand) vertices (778, 3), metres, canonical right-hand frame."""
    return build_hand(shape or HandShape(), mesh_template().choices).vertices


def skinning_transforms(angles: np.ndarray, shape: HandShape) -> np.ndarray:
    """Per-bone transforms (16, 4, 4) mapping rest-pose points to posed points."""
    _, rest = articulate(np.zeros(21), shape)
    _, posed = articulate(np.asarray(angles, dtype=np.float64), shape)
    bones = list(BONE_JOINTS)
    return posed[bones] @ np.linalg.inv(rest[bones])


def pose_mesh(
    pose: PoseLike,
    shape: HandShape | None = None,
    side: str = "right",
    rest: np.ndarray | None = None,
) -> np.ndarray:
    """Posed vertices (778, 3), metres, by linear blend skinning.

    Args:
        pose: HandPose or (21,) / (24,) vector, radians.
        shape: hand shape (default HandShape()).
        side: "right" or "left" (left = x-mirror of the right hand before the
            global rotation; pair it with ``faces_for_side('left')``).
        rest: precomputed ``rest_vertices(shape)`` to skip rebuilding it.
    """
    p = as_pose(pose)
    shape = shape or HandShape()
    if rest is None:
        rest = rest_vertices(shape)
    mats = skinning_transforms(p.angles, shape)  # (16, 4, 4)
    blend = np.einsum("vb,bij->vij", mesh_template().skin_weights, mats)
    verts = np.einsum("vij,vj->vi", blend[:, :3, :3], rest) + blend[:, :3, 3]
    if side == "left":
        verts = verts * np.array([-1.0, 1.0, 1.0])
    elif side != "right":
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    return verts @ axis_angle_to_matrix(p.global_rot).T


def joint_regressor() -> np.ndarray:
    """Joint regressor (21, 778): joints = regressor @ vertices (FreiHAND order)."""
    return mesh_template().joint_regressor
