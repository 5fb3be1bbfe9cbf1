"""The boundary type between the ROS-free core and everything that consumes it.

A :class:`HandPrediction` is all that passes from the predictor (network + geometry) to
the node, the CLIs, the evaluator and retargeting. Conversions to ROS messages are pure
functions in ``rejshand_ros.ros.conversions``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from rejshand_ros.geometry.keypoints import NUM_JOINTS, ROOT_JOINT


class Handedness(str, Enum):
    LEFT = "left"
    RIGHT = "right"
    UNKNOWN = "unknown"


@dataclass
class HandPrediction:
    """One hand in one image.

    Attributes:
        uv: (21, 2) float32, pixel coordinates (u right, v down) in the full source image,
            FreiHAND / MediaPipe keypoint order.
        joints: (21, 3) float32, metres, camera optical frame (REP-103: x right, y down,
            z forward). Absolute camera-frame positions when ``absolute`` is true,
            otherwise root-relative (joint 9, the middle-finger MCP, at the origin).
        vertices: (V, 3) float32 mesh vertices in the same frame and root convention as
            ``joints``, or None when the estimator has no mesh.
        absolute: see ``joints``.
        presence: hand presence probability of the crop, in [0, 1].
        handedness: which hand, and ``handedness_score`` its probability in [0, 1].
        roi: (x, y, width, height) of the square crop, full-image pixels (may extend past
            the image border).
        mesh_id: the topology ``vertices`` follow ("" when there is no mesh).
        model_id: which model produced this hand.
        track_id: stable id given by the tracker (0 until a tracker assigns one).
    """

    uv: np.ndarray
    joints: np.ndarray
    vertices: np.ndarray | None = None
    absolute: bool = False
    presence: float = 1.0
    handedness: Handedness = Handedness.UNKNOWN
    handedness_score: float = 0.0
    roi: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    mesh_id: str = ""
    model_id: str = ""
    track_id: int = 0
    extras: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.uv = np.asarray(self.uv, dtype=np.float32).reshape(NUM_JOINTS, 2)
        self.joints = np.asarray(self.joints, dtype=np.float32).reshape(NUM_JOINTS, 3)
        if self.vertices is not None:
            self.vertices = np.asarray(self.vertices, dtype=np.float32).reshape(-1, 3)
        self.handedness = Handedness(self.handedness)

    @property
    def root(self) -> np.ndarray:
        """(3,) position of the root joint (9) in this prediction's frame."""
        return self.joints[ROOT_JOINT]

    def is_finite(self) -> bool:
        """True when every keypoint (and vertex) is a finite number."""
        finite = bool(np.isfinite(self.uv).all() and np.isfinite(self.joints).all())
        if self.vertices is not None:
            finite = finite and bool(np.isfinite(self.vertices).all())
        return finite

    def root_relative(self) -> "HandPrediction":
        """A copy with joints and vertices relative to joint 9 (``absolute`` false)."""
        if not self.absolute:
            return self
        root = self.root.copy()
        vertices = None if self.vertices is None else self.vertices - root
        return replace(self, joints=self.joints - root, vertices=vertices, absolute=False)
