"""Crop / uncrop: affine and perspective crops, warping, mirroring, projection."""

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rejshand_ros.geometry.crop import (
    upright_rotation_rad,
    box_from_keypoints,
    camera_to_crop_3d,
    crop_from_box,
    crop_to_camera_3d,
    crop_to_full,
    full_to_crop,
    mirror_x_3d,
    mirror_x_points,
    perspective_crop_from_box,
    warp_to_crop,
)
from rejshand_ros.geometry.camera import project, undistort_points, unproject

K = np.array([[600.0, 0.0, 320.0], [0.0, 610.0, 240.0], [0.0, 0.0, 1.0]])


def _transforms():
    return [
        crop_from_box((300.0, 200.0), 120.0, 224),
        crop_from_box((100.5, 400.0), 80.0, 128, rotation_rad=0.7, mirror=True),
        perspective_crop_from_box((560.0, 60.0), 150.0, K, 224),
        perspective_crop_from_box((60.0, 430.0), 90.0, K, 224, rotation_rad=-1.2, mirror=True),
    ]


@settings(max_examples=40, deadline=None)
@given(
    cx=st.floats(0, 640), cy=st.floats(0, 480), size=st.floats(20, 400),
    rot=st.floats(-np.pi, np.pi), mirror=st.booleans(), perspective=st.booleans(),
)
def test_full_crop_full_round_trip(cx, cy, size, rot, mirror, perspective):
    if perspective:
        tr = perspective_crop_from_box((cx, cy), size, K, 224, rot, mirror)
    else:
        tr = crop_from_box((cx, cy), size, 224, rot, mirror)
    pts = np.random.default_rng(0).uniform([cx - size, cy - size], [cx + size, cy + size], (21, 2))
    np.testing.assert_allclose(crop_to_full(full_to_crop(pts, tr), tr), pts, atol=1e-6)
    np.testing.assert_allclose(full_to_crop([cx, cy], tr), [111.5, 111.5], atol=1e-6)


def test_affine_box_edges_map_to_crop_edges():
    tr = crop_from_box((300.0, 200.0), 100.0, 50)
    np.testing.assert_allclose(full_to_crop([[250.0, 150.0], [350.0, 250.0]], tr),
                               [[-0.5, -0.5], [49.5, 49.5]])
    assert tr.is_affine and tr.affine.shape == (2, 3)
    # positive rotation turns content clockwise as displayed: right of centre -> below
    rot = crop_from_box((300.0, 200.0), 100.0, 51, rotation_rad=np.pi / 2)
    np.testing.assert_allclose(full_to_crop([310.0, 200.0], rot), [25.0, 30.1], atol=1e-9)


@pytest.mark.parametrize("idx", range(4))
def test_warp_puts_dot_where_transform_maps_it(idx):
    tr = _transforms()[idx]
    image = np.zeros((480, 640), np.float32)
    # a dot well inside the box: crop centre mapped back, nudged
    centre_full = crop_to_full([tr.size * 0.3, tr.size * 0.6], tr)
    u, v = np.round(centre_full).astype(int)
    cv2.circle(image, (int(u), int(v)), 3, 255.0, -1)
    crop = warp_to_crop(image, tr)
    assert crop.shape == (tr.size, tr.size)
    ys, xs = np.nonzero(crop > 0)
    w = crop[ys, xs]
    centroid = np.array([np.sum(xs * w), np.sum(ys * w)]) / w.sum()
    np.testing.assert_allclose(centroid, full_to_crop([u, v], tr), atol=1.0)


def test_warp_border_is_constant():
    image = np.full((100, 100, 3), 200, np.uint8)
    tr = crop_from_box((0.0, 0.0), 100.0, 64)  # half the box is outside the image
    crop = warp_to_crop(image, tr, border_value=0)
    assert crop.shape == (64, 64, 3)
    assert crop[0, 0].tolist() == [0, 0, 0] and crop[-1, -1].tolist() == [200, 200, 200]


@pytest.mark.parametrize("mirror", [False, True])
def test_perspective_crop_is_virtual_pinhole_camera(mirror):
    rng = np.random.default_rng(1)
    tr = perspective_crop_from_box((580.0, 420.0), 140.0, K, 224, rotation_rad=0.4, mirror=mirror)
    X = rng.uniform([-0.1, -0.1, 0.4], [0.1, 0.1, 0.9], (30, 3)) + [0.3, 0.2, 0.0]
    in_crop = full_to_crop(project(X, K), tr)
    expected = project(X @ tr.rotation.T, tr.K_crop)
    if mirror:
        expected = mirror_x_points(expected, 224)
    np.testing.assert_allclose(in_crop, expected, atol=1e-8)
    np.testing.assert_allclose(in_crop, project(camera_to_crop_3d(X, tr), tr.K_crop), atol=1e-8)
    # R looks at the box centre: its ray becomes the virtual optical axis
    ray = unproject([580.0, 420.0], K)
    r = tr.rotation @ (ray / np.linalg.norm(ray))
    np.testing.assert_allclose(r, [0.0, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(tr.rotation), 1.0)


@pytest.mark.parametrize("idx", range(4))
def test_mirroring_round_trip(idx):
    tr = _transforms()[idx]
    rng = np.random.default_rng(2)
    X = rng.normal(size=(21, 3)) * 0.05 + [0.0, 0.0, 0.5]
    np.testing.assert_allclose(crop_to_camera_3d(camera_to_crop_3d(X, tr), tr), X, atol=1e-12)
    pts = rng.uniform(0, 224, (21, 2))
    np.testing.assert_allclose(mirror_x_points(mirror_x_points(pts, 224), 224), pts)
    np.testing.assert_allclose(mirror_x_3d(mirror_x_3d(X)), X)


@pytest.mark.parametrize("perspective", [False, True])
def test_mirrored_crop_is_flipped_crop(perspective):
    args = ((300.0, 260.0), 160.0)
    if perspective:
        plain = perspective_crop_from_box(*args, K, 96, 0.3)
        mirrored = perspective_crop_from_box(*args, K, 96, 0.3, mirror=True)
    else:
        plain, mirrored = crop_from_box(*args, 96, 0.3), crop_from_box(*args, 96, 0.3, mirror=True)
    pts = np.random.default_rng(3).uniform(200, 350, (21, 2))
    np.testing.assert_allclose(full_to_crop(pts, mirrored),
                               mirror_x_points(full_to_crop(pts, plain), 96), atol=1e-9)
    X = np.random.default_rng(4).normal(size=(5, 3))
    np.testing.assert_allclose(camera_to_crop_3d(X, mirrored),
                               mirror_x_3d(camera_to_crop_3d(X, plain)), atol=1e-12)
    yy, xx = np.mgrid[0:480, 0:640]
    image = (127 + 60 * np.sin(xx / 17.0) + 60 * np.cos(yy / 11.0)).astype(np.float32)
    flipped = warp_to_crop(image, plain)[:, ::-1]
    assert np.abs(warp_to_crop(image, mirrored) - flipped).max() < 1.0


def test_box_from_keypoints():
    uv = np.array([[10.0, 20.0], [50.0, 30.0], [30.0, 100.0], [np.nan, 5.0]])
    box = box_from_keypoints(uv)
    np.testing.assert_allclose(box.center, [30.0, 60.0])
    assert box.size == pytest.approx(80.0 * 1.25)
    with pytest.raises(ValueError):
        box_from_keypoints(np.array([[1.0, 1.0], [1.0, 1.0]]))


def test_project_unproject_with_and_without_distortion():
    rng = np.random.default_rng(5)
    X = rng.uniform([-0.2, -0.15, 0.3], [0.2, 0.15, 1.0], (50, 3))
    uv = project(X, K)
    np.testing.assert_allclose(uv, (X @ K.T)[:, :2] / X[:, 2:], atol=1e-9)
    np.testing.assert_allclose(unproject(uv, K, depth=X[:, 2]), X, atol=1e-9)
    dist = np.array([-0.2, 0.05, 0.001, -0.001, 0.0])
    uv_d = project(X, K, dist)
    assert np.abs(uv_d - uv).max() > 1.0  # distortion really applied
    np.testing.assert_allclose(unproject(uv_d, K, depth=X[:, 2], dist=dist), X, atol=1e-9)
    np.testing.assert_allclose(undistort_points(uv_d, K, dist), uv, atol=1e-6)


_any_float = st.floats(allow_nan=True, allow_infinity=True)
_intrinsics = st.one_of(
    st.just(K),
    st.lists(_any_float, min_size=9, max_size=9).map(lambda v: np.array(v).reshape(3, 3)),
    st.builds(lambda f: np.array([[f, 0.0, 320.0], [0.0, f, 240.0], [0.0, 0.0, 1.0]]),
              _any_float),
)


@settings(max_examples=300, deadline=None)
@given(cx=_any_float, cy=_any_float, size=_any_float, out_size=st.integers(-2, 48),
       rot=_any_float, mirror=st.booleans(), perspective=st.booleans(), K_=_intrinsics,
       focal=st.one_of(st.none(), _any_float), height=st.integers(0, 24),
       width=st.integers(0, 24), channels=st.sampled_from([None, 1, 3, 4]))
def test_arbitrary_boxes_cameras_and_images_only_raise_the_documented_error(
        cx, cy, size, out_size, rot, mirror, perspective, K_, focal, height, width, channels):
    """Crop transforms and warping: arbitrary boxes (NaN, inf, zero, negative, huge),
    rotations, intrinsics and image shapes either work (finite transform, S x S crop)
    or raise ValueError, the documented error type."""
    shape = (height, width) if channels is None else (height, width, channels)
    image = np.full(shape, 7, np.uint8)
    try:
        if perspective:
            tr = perspective_crop_from_box((cx, cy), size, K_, out_size, rot, mirror, focal)
        else:
            tr = crop_from_box((cx, cy), size, out_size, rot, mirror)
        crop = warp_to_crop(image, tr)
    except ValueError:
        return
    assert np.isfinite(tr.forward).all() and np.isfinite(tr.inverse).all()
    assert np.isfinite(tr.rotation).all()
    assert crop.shape[:2] == (out_size, out_size) and crop.dtype == np.uint8
    if channels not in (None, 1):
        assert crop.shape[2] == channels


@pytest.mark.parametrize("angle_deg", [-170.0, -90.0, -30.0, 0.0, 45.0, 90.0, 180.0])
@pytest.mark.parametrize("perspective", [False, True])
def test_upright_rotation_turns_wrist_to_middle_mcp_upwards(angle_deg, perspective):
    # a hand whose wrist -> middle MCP vector points at angle_deg (image axes, y down)
    uv = np.zeros((21, 2))
    uv[:] = (320.0, 240.0)
    direction = np.array([np.cos(np.deg2rad(angle_deg)), np.sin(np.deg2rad(angle_deg))])
    uv[9] = uv[0] + 60.0 * direction
    rotation = upright_rotation_rad(uv)
    assert -np.pi < rotation <= np.pi
    K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    center = (uv[0] + uv[9]) / 2
    transform = (perspective_crop_from_box(center, 150.0, K, 128, rotation) if perspective
                 else crop_from_box(center, 150.0, 128, rotation))
    crop = full_to_crop(uv[[0, 9]], transform)
    v = crop[1] - crop[0]
    assert v[1] < 0 and abs(v[0]) < 1e-6 * 128 + 0.02 * abs(v[1])


def test_upright_rotation_of_degenerate_hands_is_zero():
    assert upright_rotation_rad(np.zeros((21, 2))) == 0.0
    uv = np.full((21, 2), np.nan)
    assert upright_rotation_rad(uv) == 0.0
