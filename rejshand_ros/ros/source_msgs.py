"""Pure conversions for image sources: RGB arrays and calibrations -> sensor_msgs.

No node here; ``image_source_node`` and the tests call these directly.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from rejshand_ros.images import rgb_to_compressed, rgb_to_raw
from rejshand_ros.sources.camera_info import CameraCalibration


def image_msg(image: np.ndarray, header: Header, encoding: str = "rgb8") -> Image:
    """(H, W, 3) uint8 RGB -> sensor_msgs/Image (rgb8, bgr8 or mono8), tightly packed."""
    height, width, encoding, step, data = rgb_to_raw(image, encoding)
    msg = Image(header=header, height=height, width=width, encoding=encoding,
                is_bigendian=0, step=step)
    msg.data = data
    return msg


def compressed_msg(image: np.ndarray, header: Header, fmt: str = "jpeg",
                   quality: int = 95) -> CompressedImage:
    """(H, W, 3) uint8 RGB -> sensor_msgs/CompressedImage ("jpeg" or "png").

    ``format`` follows image_transport's convention: "rgb8; jpeg compressed bgr8".
    """
    msg = CompressedImage(header=header)
    msg.format = f"rgb8; {'png' if fmt == 'png' else 'jpeg'} compressed bgr8"
    msg.data = rgb_to_compressed(image, fmt, quality)
    return msg


def camera_info_msg(calibration: CameraCalibration, header: Header) -> CameraInfo:
    """CameraCalibration -> sensor_msgs/CameraInfo with the image's header."""
    msg = CameraInfo(header=header, height=calibration.height, width=calibration.width)
    msg.distortion_model = calibration.distortion_model
    msg.d = [float(v) for v in calibration.D]
    msg.k = [float(v) for v in calibration.K.ravel()]
    msg.r = [float(v) for v in calibration.R.ravel()]
    msg.p = [float(v) for v in calibration.P.ravel()]
    return msg


def calibration_from_msg(msg: CameraInfo) -> CameraCalibration:
    """sensor_msgs/CameraInfo -> CameraCalibration (inverse of camera_info_msg)."""
    return CameraCalibration(int(msg.width), int(msg.height), np.asarray(msg.k).reshape(3, 3),
                             np.asarray(msg.d, dtype=np.float64), msg.distortion_model,
                             np.asarray(msg.r).reshape(3, 3), np.asarray(msg.p).reshape(3, 4))
