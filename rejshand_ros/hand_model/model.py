"""HandModel: one object bundling shape, kinematics, skinned mesh and joint regressor."""

from __future__ import annotations

from collections import OrderedDict
from typing import Tuple

import numpy as np

from rejshand_ros.hand_model.kinematics import PoseLike, as_pose, forward_kinematics
from rejshand_ros.hand_model.mesh import (
    MESH_ID,
    NUM_FACES,
    NUM_VERTICES,
    faces_for_side,
    mesh_template,
    pose_mesh,
    rest_vertices,
)
from rejshand_ros.hand_model.shape import HandShape


class HandModel:
    """The open procedural hand model (778 vertices, 21 FreiHAND-order joints).

    Usage::

        hand = HandModel()
        verts, joints = hand(pose, shape, side="right")  # (778, 3), (21, 3) metres

    Both outputs are in the canonical hand frame of ``kinematics.py`` rotated by the
    pose's global rotation (wrist at the origin); add a translation to place the
    hand in a camera frame. ``joints`` are the exact forward-kinematics joints;
    ``joint_regressor @ verts`` reproduces them (to ~1 mm for non-default shapes).
    Rest meshes are cached per shape (HandShape is hashable).
    """

    def __init__(self, shape: HandShape | None = None, cache_size: int = 64) -> None:
        self.default_shape = shape or HandShape()
        self._cache_size = int(cache_size)
        self._rest: "OrderedDict[HandShape, np.ndarray]" = OrderedDict()

    mesh_id: str = MESH_ID
    num_vertices: int = NUM_VERTICES
    num_faces: int = NUM_FACES

    @property
    def faces(self) -> np.ndarray:
        """Right-hand faces (1552, 3) int32, wound outwards."""
        return faces_for_side("right")

    @property
    def joint_regressor(self) -> np.ndarray:
        """(21, 778) non-negative rows summing to 1: joints = regressor @ vertices."""
        return mesh_template().joint_regressor

    @property
    def skin_weights(self) -> np.ndarray:
        """(778, 16) linear-blend-skinning weights (columns: BONE_JOINTS)."""
        return mesh_template().skin_weights

    def rest_vertices(self, shape: HandShape | None = None) -> np.ndarray:
        """Flat-hand rest vertices (778, 3) of ``shape`` (cached), right-hand frame."""
        shape = shape or self.default_shape
        cached = self._rest.get(shape)
        if cached is None:
            cached = rest_vertices(shape)
            cached.setflags(write=False)
            self._rest[shape] = cached
            if len(self._rest) > self._cache_size:
                self._rest.popitem(last=False)
        else:
            self._rest.move_to_end(shape)
        return cached

    def forward_kinematics(
        self, pose: PoseLike, shape: HandShape | None = None, side: str = "right"
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Joints (21, 3) and bone frames (21, 4, 4); see kinematics.forward_kinematics."""
        return forward_kinematics(pose, shape or self.default_shape, side)

    def __call__(
        self, pose: PoseLike, shape: HandShape | None = None, side: str = "right"
    ) -> Tuple[np.ndarray, np.ndarray]:
        """Posed vertices (778, 3) and joints (21, 3), metres."""
        shape = shape or self.default_shape
        p = as_pose(pose)
        verts = pose_mesh(p, shape, side, rest=self.rest_vertices(shape))
        joints, _ = forward_kinematics(p, shape, side)
        return verts, joints
