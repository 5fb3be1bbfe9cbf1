"""sensor_msgs in, core types out: Image / CompressedImage -> RGB array, CameraInfo ->
CameraModel, stamps -> seconds; and RGB array -> Image for the debug output.

Pure functions (no node). Image errors are ``ImageConversionError`` (from
``rejshand_ros.images``); a CameraInfo that cannot be used raises ``ValueError`` saying
why. No cv_bridge.
"""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from rejshand_ros.images import compressed_to_rgb, raw_to_rgb, rgb_to_raw
from rejshand_ros.predictor import CameraModel

#: CameraInfo.distortion_model values whose D are OpenCV's (k1, k2, p1, p2[, k3, ...])
OPENCV_DISTORTION_MODELS = ("plumb_bob", "rational_polynomial")


def image_msg_to_rgb(msg: Image) -> np.ndarray:
    """sensor_msgs/Image (rgb8, bgr8, rgba8, bgra8, mono8; ``step`` honoured) ->
    (H, W, 3) uint8 RGB. Raises ImageConversionError."""
    return raw_to_rgb(msg.height, msg.width, msg.encoding, msg.step, msg.data,
                      msg.is_bigendian)


def compressed_msg_to_rgb(msg: CompressedImage) -> np.ndarray:
    """sensor_msgs/CompressedImage (JPEG/PNG) -> (H, W, 3) uint8 RGB.
    Raises ImageConversionError."""
    return compressed_to_rgb(msg.data, msg.format)


def rgb_to_image_msg(rgb: np.ndarray, header: Header) -> Image:
    """(H, W, 3) uint8 RGB -> sensor_msgs/Image rgb8 with ``header``."""
    height, width, encoding, step, data = rgb_to_raw(rgb, "rgb8")
    return Image(header=header, height=height, width=width, encoding=encoding,
                 is_bigendian=0, step=step, data=data)


def camera_model_from_info(msg: CameraInfo) -> CameraModel:
    """K and D of a CameraInfo -> CameraModel (pixels of the *unrectified* image).

    Raises:
        ValueError: zero/NaN/negative focal length, non-finite K or D, a zero image
            size, or a distortion model other than plumb_bob / rational_polynomial
            with non-zero coefficients.
    """
    K = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    if not np.isfinite(K).all():
        raise ValueError(f"camera_info K is not finite: {K.ravel().tolist()}")
    if K[0, 0] <= 0 or K[1, 1] <= 0:
        raise ValueError(f"camera_info focal length must be > 0, got fx={K[0, 0]}, "
                         f"fy={K[1, 1]}")
    if K[2, 2] != 1.0 or K[1, 0] != 0 or K[2, 0] != 0 or K[2, 1] != 0:
        raise ValueError(f"camera_info K is not an intrinsic matrix: {K.ravel().tolist()}")
    if msg.width == 0 or msg.height == 0:
        raise ValueError(f"camera_info image size is {msg.width}x{msg.height}")
    dist = np.asarray(msg.d, dtype=np.float64)
    if not np.isfinite(dist).all():
        raise ValueError(f"camera_info D is not finite: {dist.tolist()}")
    if dist.size and np.any(dist) and msg.distortion_model not in OPENCV_DISTORTION_MODELS:
        raise ValueError(f"camera_info distortion model {msg.distortion_model!r} is not "
                         f"supported (use {' or '.join(OPENCV_DISTORTION_MODELS)})")
    if dist.size not in (0, 4, 5, 8, 12, 14):
        raise ValueError(f"camera_info D has {dist.size} coefficients (OpenCV takes 4, 5, "
                         f"8, 12 or 14)")
    return CameraModel(K, dist if dist.size else None)


def stamp_seconds(stamp) -> float:
    """builtin_interfaces/Time -> seconds."""
    return float(stamp.sec) + 1e-9 * float(stamp.nanosec)
