"""sensor_msgs <-> core types (pure functions, no node).

In: Image / CompressedImage -> RGB array, CameraInfo -> CameraModel, stamps -> seconds.
Out: RGB array -> Image or CompressedImage, CameraCalibration -> CameraInfo (the image
source node and the debug image). Image errors are ``ImageConversionError`` (from
``rejshand_ros.imaging.codecs``); a CameraInfo that cannot be used raises ``ValueError`` saying
why. No cv_bridge.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from rejshand_ros.geometry.camera import CameraModel
from rejshand_ros.imaging.codecs import compressed_to_rgb, raw_to_rgb, rgb_to_compressed, rgb_to_raw
from rejshand_ros.sources.camera_info import CameraCalibration


def image_msg_to_rgb(msg: Image) -> np.ndarray:
    """sensor_msgs/Image (rgb8, bgr8, rgba8, bgra8, mono8; ``step`` honoured) ->
    (H, W, 3) uint8 RGB. Raises ImageConversionError."""
    return raw_to_rgb(msg.height, msg.width, msg.encoding, msg.step, msg.data,
                      msg.is_bigendian)


def compressed_msg_to_rgb(msg: CompressedImage) -> np.ndarray:
    """sensor_msgs/CompressedImage (JPEG/PNG) -> (H, W, 3) uint8 RGB.
    Raises ImageConversionError."""
    return compressed_to_rgb(msg.data, msg.format)


def rgb_to_image_msg(rgb: np.ndarray, header: Header, encoding: str = "rgb8") -> Image:
    """(H, W, 3) uint8 RGB -> sensor_msgs/Image (rgb8, bgr8 or mono8), tightly packed,
    with ``header``."""
    height, width, encoding, step, data = rgb_to_raw(rgb, encoding)
    return Image(header=header, height=height, width=width, encoding=encoding,
                 is_bigendian=0, step=step, data=data)


def rgb_to_compressed_msg(rgb: np.ndarray, header: Header, fmt: str = "jpeg",
                          quality: int = 95) -> CompressedImage:
    """(H, W, 3) uint8 RGB -> sensor_msgs/CompressedImage ("jpeg" or "png").

    ``format`` follows image_transport's convention: "rgb8; jpeg compressed bgr8".
    """
    msg = CompressedImage(header=header)
    msg.format = f"rgb8; {'png' if fmt == 'png' else 'jpeg'} compressed bgr8"
    msg.data = rgb_to_compressed(rgb, fmt, quality)
    return msg


def camera_model_from_info(msg: CameraInfo) -> CameraModel:
    """K and D of a CameraInfo -> CameraModel (pixels of the *unrectified* image).

    Raises:
        ValueError: as ``CameraModel.from_camera_info`` (bad K or D, zero image size,
            an unsupported distortion model).
    """
    return CameraModel.from_camera_info(msg.k, msg.d, msg.distortion_model, msg.width,
                                        msg.height)


def camera_info_msg(calibration: CameraCalibration, header: Header) -> CameraInfo:
    """CameraCalibration -> sensor_msgs/CameraInfo with the image's header."""
    msg = CameraInfo(header=header, height=calibration.height, width=calibration.width)
    msg.distortion_model = calibration.distortion_model
    msg.d = [float(v) for v in calibration.D]
    msg.k = [float(v) for v in calibration.K.ravel()]
    msg.r = [float(v) for v in calibration.R.ravel()]
    msg.p = [float(v) for v in calibration.P.ravel()]
    return msg


def stamp_seconds(stamp) -> float:
    """builtin_interfaces/Time -> seconds."""
    return float(stamp.sec) + 1e-9 * float(stamp.nanosec)
