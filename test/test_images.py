"""Image buffers -> RGB arrays: every encoding, step handling, and the error contract."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rejshand_ros.imaging.codecs import (SUPPORTED_ENCODINGS, ImageConversionError,
                                         compressed_to_rgb, raw_to_rgb, rgb_to_compressed,
                                         rgb_to_raw)


def _image(height=6, width=5, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "rgba8", "bgra8"])
def test_colour_encodings_with_padded_step_round_trip(encoding):
    rgb = _image()
    order = SUPPORTED_ENCODINGS[encoding][1]
    pixels = {"rgb": rgb, "bgr": rgb[..., ::-1],
              "rgba": np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)]),
              "bgra": np.dstack([rgb[..., ::-1], np.full(rgb.shape[:2], 7, np.uint8)])}[order]
    height, width, channels = pixels.shape
    step = width * channels + 3  # padded rows
    buffer = np.full((height, step), 255, np.uint8)
    buffer[:, :width * channels] = pixels.reshape(height, -1)
    out = raw_to_rgb(height, width, encoding, step, buffer.tobytes())
    np.testing.assert_array_equal(out, rgb)


def test_mono8_becomes_grey_rgb():
    mono = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = raw_to_rgb(3, 4, "mono8", 4, mono.tobytes())
    assert out.shape == (3, 4, 3)
    np.testing.assert_array_equal(out[..., 0], mono)
    np.testing.assert_array_equal(out[..., 2], mono)


def test_rgb_to_raw_round_trip_and_extra_data_ignored():
    rgb = _image(4, 7)
    height, width, encoding, step, data = rgb_to_raw(rgb, "bgr8")
    np.testing.assert_array_equal(raw_to_rgb(height, width, encoding, step, data + b"xx"), rgb)


@pytest.mark.parametrize("case", [
    dict(height=0, width=0, encoding="rgb8", step=0, data=b""),
    dict(height=2, width=2, encoding="16UC1", step=4, data=b"\0" * 8),
    dict(height=2, width=2, encoding="yuv422", step=4, data=b"\0" * 8),
    dict(height=2, width=2, encoding="bayer_rggb8", step=2, data=b"\0" * 4),
    dict(height=2, width=2, encoding="rgb8", step=5, data=b"\0" * 12),  # step < width*3
    dict(height=2, width=2, encoding="rgb8", step=6, data=b"\0" * 11),  # data short
])
def test_bad_raw_buffers_raise_the_documented_error(case):
    with pytest.raises(ImageConversionError):
        raw_to_rgb(**case)


def test_png_is_lossless_and_jpeg_close():
    rgb = _image(16, 16)
    np.testing.assert_array_equal(compressed_to_rgb(rgb_to_compressed(rgb, "png"), "png"), rgb)
    smooth = np.tile(np.linspace(0, 255, 32, dtype=np.uint8)[None, :, None], (32, 1, 3))
    jpeg = compressed_to_rgb(rgb_to_compressed(smooth, "jpeg", 95), "jpeg")
    assert np.abs(jpeg.astype(int) - smooth).max() <= 8


@pytest.mark.parametrize("data", [b"", b"\xff\xd8\xff garbage", b"not an image at all"])
def test_garbage_compressed_raises(data):
    with pytest.raises(ImageConversionError):
        compressed_to_rgb(data, "jpeg")


def test_truncated_jpeg_is_refused_on_every_opencv_version():
    """OpenCV 4 (the numpy-1 / apt installs) decodes the rows it has, OpenCV 5 refuses:
    a JPEG without its end-of-image marker is refused before decoding, on both."""
    encoded = rgb_to_compressed(_image(64, 64), "jpeg")
    for cut in (len(encoded) // 3, len(encoded) - 2):
        with pytest.raises(ImageConversionError, match="truncated JPEG"):
            compressed_to_rgb(encoded[:cut], "jpeg")
    padded = encoded + bytes(16)  # some drivers pad the buffer: still a whole JPEG
    assert compressed_to_rgb(padded, "jpeg").shape == (64, 64, 3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(height=st.integers(-2, 40), width=st.integers(-2, 40),
       encoding=st.sampled_from(list(SUPPORTED_ENCODINGS) + ["16UC1", "yuv422", "bayer_grbg8", ""]),
       step_delta=st.integers(-8, 8), length_delta=st.integers(-50, 50))
def test_arbitrary_buffers_only_raise_the_documented_error(height, width, encoding, step_delta,
                                                           length_delta):
    channels = SUPPORTED_ENCODINGS.get(encoding, (3, ""))[0]
    step = max(width * channels + step_delta, 0)
    data = bytes(max(height * step + length_delta, 0))
    try:
        out = raw_to_rgb(height, width, encoding, step, data)
    except ImageConversionError:
        return
    assert out.shape == (height, width, 3) and out.dtype == np.uint8


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_compressed_bytes_only_raise_the_documented_error(data):
    try:
        out = compressed_to_rgb(data, "jpeg")
    except ImageConversionError:
        return
    assert out.ndim == 3 and out.shape[2] == 3
