"""An open, redistributable procedural hand model (no MANO data).

778-vertex closed triangle mesh with linear blend skinning, 21 joints in FreiHAND /
MediaPipe order, anatomical joint limits, random and named poses, and a small
numpy z-buffer renderer. numpy / scipy / cv2 only (no torch, no ROS).

Canonical frame (right hand, metres): wrist at the origin, +y towards the middle
MCP, +x towards the thumb, +z out of the palm. The left hand mirrors x.
"""

from rejshand_ros.hand_model.kinematics import (
    ANGLE_NAMES,
    LOWER,
    NAMED_POSES,
    NUM_ANGLES,
    POSE_MODES,
    UPPER,
    HandPose,
    clip_to_limits,
    forward_kinematics,
    mirror_pose,
    named_pose,
    sample_pose,
    within_limits,
)
from rejshand_ros.hand_model.mesh import (
    MESH_ID,
    NUM_FACES,
    NUM_VERTICES,
    faces_for_side,
    joint_regressor,
    pose_mesh,
    rest_vertices,
)
from rejshand_ros.hand_model.mesh_ops import manifold_report, signed_volume
from rejshand_ros.hand_model.model import HandModel
from rejshand_ros.hand_model.rasterizer import Raster, project, rasterize
from rejshand_ros.hand_model.render_preview import render_hand, save_pose_gallery, shade_mesh
from rejshand_ros.hand_model.shape import HandShape, sample_shape

__all__ = [
    "ANGLE_NAMES", "LOWER", "UPPER", "NAMED_POSES", "NUM_ANGLES", "POSE_MODES",
    "HandPose", "clip_to_limits", "forward_kinematics", "mirror_pose", "named_pose",
    "sample_pose", "within_limits",
    "MESH_ID", "NUM_FACES", "NUM_VERTICES", "faces_for_side", "joint_regressor",
    "pose_mesh", "rest_vertices", "manifold_report", "signed_volume",
    "HandModel", "Raster", "project", "rasterize", "render_hand", "save_pose_gallery",
    "shade_mesh", "HandShape", "sample_shape",
]
