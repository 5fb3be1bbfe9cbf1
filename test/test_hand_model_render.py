"""The z-buffer rasteriser and the preview renderer."""

import cv2
import numpy as np

from rejshand_ros.hand_model import (
    HandPose,
    faces_for_side,
    named_pose,
    pose_mesh,
    project,
    rasterize,
    render_hand,
    sample_pose,
    save_pose_gallery,
)
from rejshand_ros.hand_model.render_preview import look_rotation

K = np.array([[100.0, 0.0, 31.5], [0.0, 100.0, 31.5], [0.0, 0.0, 1.0]])


def _two_triangles():
    near = np.array([[-0.2, -0.2, 1.0], [0.2, -0.2, 1.0], [0.0, 0.2, 1.0]])
    far = near * np.array([3.0, 3.0, 1.0]) + np.array([0.0, 0.0, 1.0])  # z = 2, bigger on screen
    verts = np.concatenate([near, far])
    return verts, np.array([[0, 1, 2], [3, 4, 5]])


def test_nearer_triangle_wins_regardless_of_order():
    verts, faces = _two_triangles()
    a = rasterize(verts, faces, K, 64, 64)
    b = rasterize(verts, faces[::-1], K, 64, 64)
    c = 32 * 64 + 32
    assert a.face_id.ravel()[c] == 0 and b.face_id.ravel()[c] == 1  # the z=1 face
    np.testing.assert_allclose(a.depth.ravel()[c], 1.0, atol=1e-6)
    np.testing.assert_array_equal(a.depth, b.depth)
    covered_a = a.face_id >= 0
    assert np.array_equal(covered_a, b.face_id >= 0)
    # where only the far triangle is visible its depth is 2
    assert np.any(np.isclose(a.depth[covered_a], 2.0))
    assert np.all(a.depth[covered_a] <= 2.0 + 1e-6)


def test_background_and_dtypes():
    verts, faces = _two_triangles()
    r = rasterize(verts, faces, K, 64, 64, return_barycentrics=True)
    assert r.depth.dtype == np.float32 and r.face_id.dtype == np.int32
    assert r.depth.shape == r.face_id.shape == (64, 64)
    assert np.isinf(r.depth[0, 0]) and r.face_id[0, 0] == -1
    assert r.barycentrics.shape == (64, 64, 3)
    mask = r.face_id >= 0
    np.testing.assert_allclose(r.barycentrics[mask].sum(-1), 1.0, atol=1e-5)
    assert rasterize(verts, faces, K, 64, 64).barycentrics is None


def test_perspective_correct_barycentrics_reproduce_depth():
    # a slanted triangle: interpolating vertex z with the barycentrics gives depth
    verts = np.array([[-0.3, -0.3, 1.0], [0.3, -0.3, 2.0], [0.0, 0.3, 3.0]])
    faces = np.array([[0, 1, 2]])
    r = rasterize(verts, faces, K, 64, 64, return_barycentrics=True)
    mask = r.face_id >= 0
    z = r.barycentrics[mask] @ verts[:, 2]
    np.testing.assert_allclose(z, r.depth[mask], rtol=1e-5)


def test_triangle_coverage_matches_its_area():
    uv = np.array([[10.0, 10.0], [50.0, 12.0], [20.0, 55.0]])
    verts = np.concatenate([(uv - 31.5) / 100.0, np.ones((3, 1))], axis=1)
    r = rasterize(verts, np.array([[0, 1, 2]]), K, 64, 64)
    e1, e2 = uv[1] - uv[0], uv[2] - uv[0]
    area = 0.5 * abs(e1[0] * e2[1] - e1[1] * e2[0])
    assert abs((r.face_id >= 0).sum() - area) < 0.05 * area


def test_faces_behind_camera_are_skipped():
    verts, faces = _two_triangles()
    r = rasterize(verts * np.array([1, 1, -1]), faces, K, 64, 64)
    assert np.all(r.face_id == -1)


def test_mesh_silhouette_contains_projected_vertices():
    size = 160
    k = np.array([[400.0, 0, 79.5], [0, 400.0, 79.5], [0, 0, 1]])
    for pose in (named_pose("rest"), named_pose("fist"), sample_pose(np.random.default_rng(1))):
        verts = pose_mesh(pose) @ look_rotation("oblique").T
        verts = verts - verts.mean(0) + np.array([0.0, 0.0, 0.6])
        faces = faces_for_side("right")
        r = rasterize(verts, faces, k, size, size, cull_backfaces=False)
        mask = r.face_id >= 0
        grown = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        # vertices of every visible face project inside the silhouette ...
        visible = np.unique(r.face_id[mask])
        uv = np.rint(project(verts[np.unique(faces[visible])], k)).astype(int)
        assert np.all(grown[uv[:, 1], uv[:, 0]])
        # ... and so does every vertex of the closed mesh
        uv = np.rint(project(verts, k)).astype(int)
        assert np.all(grown[uv[:, 1], uv[:, 0]])
        # the visible faces face the camera (closed mesh, outward normals)
        tri = verts[faces[visible]]
        normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        facing = np.einsum("ij,ij->i", normal, tri.mean(1)) < 0
        assert facing.mean() > 0.97
        culled = rasterize(verts, faces, k, size, size, cull_backfaces=True)
        assert np.array_equal(culled.face_id >= 0, mask)


def test_render_hand_and_gallery(tmp_path):
    img = render_hand(HandPose(), view="palm", size=96)
    assert img.shape == (96, 96, 3) and img.dtype == np.uint8
    assert (img.sum(-1) < 3 * 250).mean() > 0.1  # the hand covers part of the frame
    left = render_hand(HandPose(), side="left", view="palm", size=96)
    np.testing.assert_array_less(np.abs(left.astype(int) - img[:, ::-1].astype(int)).mean(), 8)
    path = tmp_path / "gallery.png"
    gallery = save_pose_gallery(path, views=("palm",), size=96)
    assert gallery.shape == (96, 4 * 96, 3)
    assert cv2.imread(str(path)).shape == (96, 4 * 96, 3)
