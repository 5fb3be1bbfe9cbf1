"""Camera image buffers -> numpy RGB arrays, without cv_bridge and without ROS.

The ROS shell passes the raw fields of sensor_msgs/Image (height, width, encoding, step,
data) or sensor_msgs/CompressedImage (format, data); everything here works on plain
values so it is tested on arrays. Every failure raises :class:`ImageConversionError`
with a message that says what was wrong; nothing else escapes.
"""

from __future__ import annotations

import cv2
import numpy as np

# encoding -> (channels, channel order as it arrives)
SUPPORTED_ENCODINGS: dict[str, tuple[int, str]] = {
    "rgb8": (3, "rgb"),
    "bgr8": (3, "bgr"),
    "rgba8": (4, "rgba"),
    "bgra8": (4, "bgra"),
    "mono8": (1, "mono"),
    "8UC3": (3, "bgr"),  # OpenCV's default order
    "8UC1": (1, "mono"),
}

# Refuse frames larger than this (pixels); 8K is 33 M pixels.
MAX_PIXELS = 8192 * 8192


class ImageConversionError(ValueError):
    """The buffer cannot be turned into an image (bad size, step, encoding or bytes)."""


def _to_rgb(pixels: np.ndarray, order: str) -> np.ndarray:
    if order == "rgb":
        return pixels
    if order == "bgr":
        return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    if order == "rgba":
        return cv2.cvtColor(pixels, cv2.COLOR_RGBA2RGB)
    if order == "bgra":
        return cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)


def raw_to_rgb(height: int, width: int, encoding: str, step: int, data: bytes | memoryview
               | np.ndarray, is_bigendian: int = 0) -> np.ndarray:
    """A raw image buffer -> (height, width, 3) uint8 RGB, honouring ``step``.

    Raises ImageConversionError for an empty or oversized frame, an unsupported
    encoding, a step smaller than one row of pixels, or data shorter than height*step.
    """
    if encoding not in SUPPORTED_ENCODINGS:
        raise ImageConversionError(
            f"unsupported encoding '{encoding}' (supported: {', '.join(SUPPORTED_ENCODINGS)})")
    if height <= 0 or width <= 0:
        raise ImageConversionError(f"empty image ({width}x{height})")
    if height * width > MAX_PIXELS:
        raise ImageConversionError(f"image too large ({width}x{height} > {MAX_PIXELS} pixels)")
    channels, order = SUPPORTED_ENCODINGS[encoding]
    row_bytes = width * channels
    if step < row_bytes:
        raise ImageConversionError(
            f"step {step} is smaller than width*channels = {row_bytes} for {encoding}")
    buffer = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) \
        else data.reshape(-1).view(np.uint8)
    needed = height * step
    if buffer.size < needed:
        raise ImageConversionError(
            f"data has {buffer.size} bytes, expected height*step = {needed}")
    rows = buffer[:needed].reshape(height, step)[:, :row_bytes]
    pixels = rows.reshape(height, width, channels) if channels > 1 else rows
    pixels = np.ascontiguousarray(pixels)
    return np.ascontiguousarray(_to_rgb(pixels, order))


def compressed_to_rgb(data: bytes | memoryview | np.ndarray, fmt: str = "") -> np.ndarray:
    """A JPEG/PNG buffer (sensor_msgs/CompressedImage) -> (H, W, 3) uint8 RGB."""
    buffer = np.frombuffer(data, dtype=np.uint8) if not isinstance(data, np.ndarray) \
        else data.reshape(-1).view(np.uint8)
    if buffer.size == 0:
        raise ImageConversionError(f"empty compressed image (format '{fmt}')")
    if bytes(buffer[:2]) == b"\xff\xd8" and \
            not bytes(buffer[-64:]).rstrip(b"\x00").endswith(b"\xff\xd9"):
        # OpenCV 4 (apt / numpy-1 installs) returns the rows it could decode, OpenCV 5
        # refuses: refuse on every version, a half-grey frame is no camera image
        raise ImageConversionError(
            f"cannot decode compressed image (format '{fmt}', {buffer.size} bytes): "
            "truncated JPEG (no end-of-image marker)")
    try:
        decoded = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    except cv2.error as exc:  # some corrupt streams raise instead of returning None
        raise ImageConversionError(f"cannot decode compressed image ({fmt}): {exc}") from exc
    if decoded is None or decoded.size == 0:
        raise ImageConversionError(
            f"cannot decode compressed image (format '{fmt}', {buffer.size} bytes)")
    if decoded.shape[0] * decoded.shape[1] > MAX_PIXELS:
        raise ImageConversionError(f"image too large ({decoded.shape[1]}x{decoded.shape[0]})")
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def rgb_to_raw(image: np.ndarray, encoding: str = "rgb8") -> tuple[int, int, str, int, bytes]:
    """(H, W, 3) uint8 RGB -> (height, width, encoding, step, data) for sensor_msgs/Image."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ImageConversionError(f"expected (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
    if encoding == "rgb8":
        pixels = image
    elif encoding == "bgr8":
        pixels = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif encoding == "mono8":
        pixels = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    else:
        raise ImageConversionError(f"cannot encode to '{encoding}'")
    pixels = np.ascontiguousarray(pixels)
    height, width = image.shape[:2]
    return height, width, encoding, pixels.strides[0], pixels.tobytes()


def rgb_to_compressed(image: np.ndarray, fmt: str = "jpeg", quality: int = 95) -> bytes:
    """(H, W, 3) uint8 RGB -> JPEG or PNG bytes."""
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if fmt in ("jpeg", "jpg"):
        ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    elif fmt == "png":
        ok, encoded = cv2.imencode(".png", bgr)
    else:
        raise ImageConversionError(f"unsupported compressed format '{fmt}' (jpeg, png)")
    if not ok:
        raise ImageConversionError(f"encoding to {fmt} failed")
    return encoded.tobytes()
