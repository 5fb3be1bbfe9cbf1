"""Pure conversions between the core's HandPrediction and this package's messages.

No node, no spinning: every function takes plain values and returns messages (or the
reverse), so they are tested directly.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import RegionOfInterest
from std_msgs.msg import Header

from rejshand_ros.msg import HandMesh, HandPose, HandPoseArray
from rejshand_ros.perception.hand_prediction import Handedness, HandPrediction

_HANDEDNESS_TO_MSG = {
    Handedness.LEFT: HandPose.LEFT,
    Handedness.RIGHT: HandPose.RIGHT,
    Handedness.UNKNOWN: HandPose.UNKNOWN,
}
_HANDEDNESS_FROM_MSG = {value: key for key, value in _HANDEDNESS_TO_MSG.items()}


def roi_to_msg(roi: tuple[float, float, float, float], image_width: int,
               image_height: int) -> RegionOfInterest:
    """(x, y, w, h) crop in pixels -> RegionOfInterest clipped to the image."""
    x, y, w, h = roi
    x0 = int(np.clip(np.floor(x), 0, image_width))
    y0 = int(np.clip(np.floor(y), 0, image_height))
    x1 = int(np.clip(np.ceil(x + w), 0, image_width))
    y1 = int(np.clip(np.ceil(y + h), 0, image_height))
    return RegionOfInterest(x_offset=x0, y_offset=y0, width=max(x1 - x0, 0),
                            height=max(y1 - y0, 0), do_rectify=False)


def prediction_to_hand_pose(prediction: HandPrediction, header: Header, image_width: int,
                            image_height: int) -> HandPose:
    """One HandPrediction -> HandPose with the source image's header."""
    msg = HandPose()
    msg.header = header
    msg.track_id = int(prediction.track_id)
    msg.handedness = _HANDEDNESS_TO_MSG[prediction.handedness]
    msg.handedness_score = float(prediction.handedness_score)
    msg.score = float(prediction.presence)
    msg.roi = roi_to_msg(prediction.roi, image_width, image_height)
    msg.keypoints_2d = prediction.uv.astype(np.float32).ravel()
    msg.keypoints_3d = prediction.joints.astype(np.float32).ravel()
    msg.absolute = bool(prediction.absolute)
    if prediction.vertices is not None:
        msg.vertices = prediction.vertices.astype(np.float32).ravel()
        msg.mesh_id = prediction.mesh_id
    msg.model_id = prediction.model_id
    return msg


def predictions_to_array(predictions: list[HandPrediction], header: Header,
                         image_width: int, image_height: int) -> HandPoseArray:
    """All hands of one image -> HandPoseArray (zero hands is a valid message)."""
    msg = HandPoseArray()
    msg.header = header
    msg.hands = [prediction_to_hand_pose(p, header, image_width, image_height)
                 for p in predictions]
    return msg


def hand_pose_to_prediction(msg: HandPose) -> HandPrediction:
    """HandPose -> HandPrediction (for consumers such as retargeting and recorders)."""
    vertices = np.asarray(msg.vertices, dtype=np.float32)
    roi = msg.roi
    return HandPrediction(
        uv=np.asarray(msg.keypoints_2d, dtype=np.float32).reshape(21, 2),
        joints=np.asarray(msg.keypoints_3d, dtype=np.float32).reshape(21, 3),
        vertices=vertices.reshape(-1, 3) if vertices.size else None,
        absolute=bool(msg.absolute),
        presence=float(msg.score),
        handedness=_HANDEDNESS_FROM_MSG.get(msg.handedness, Handedness.UNKNOWN),
        handedness_score=float(msg.handedness_score),
        roi=(float(roi.x_offset), float(roi.y_offset), float(roi.width), float(roi.height)),
        mesh_id=msg.mesh_id,
        model_id=msg.model_id,
        track_id=int(msg.track_id),
    )


def mesh_to_msg(mesh_id: str, faces: np.ndarray) -> HandMesh:
    """(F, 3) integer faces -> HandMesh (flat uint32 triples)."""
    faces = np.asarray(faces)
    if faces.ndim != 2 or faces.shape[1] != 3 or (faces.size and faces.min() < 0):
        raise ValueError(f"faces must be (F, 3) non-negative indices, got {faces.shape}")
    msg = HandMesh()
    msg.mesh_id = mesh_id
    msg.faces = faces.astype(np.uint32).ravel()
    return msg
