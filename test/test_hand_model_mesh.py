"""Topology and skinning of the procedural hand mesh."""

import numpy as np
import pytest

from rejshand_ros.hand_model import (
    MESH_ID,
    NUM_VERTICES,
    HandModel,
    HandShape,
    faces_for_side,
    manifold_report,
    named_pose,
    pose_mesh,
    rest_vertices,
    sample_pose,
    sample_shape,
    signed_volume,
)
from rejshand_ros.hand_model.mesh import mesh_template


def _edge_counts(faces):
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    und, und_n = np.unique(np.sort(directed, axis=1), axis=0, return_counts=True)
    _, dir_n = np.unique(directed, axis=0, return_counts=True)
    return und, und_n, dir_n


@pytest.mark.parametrize("side", ["right", "left"])
def test_closed_oriented_two_manifold(side):
    faces = faces_for_side(side).astype(np.int64)
    assert faces.dtype == np.int64 and faces.shape == (2 * 778 - 4, 3)
    assert faces_for_side(side).dtype == np.int32
    und, und_n, dir_n = _edge_counts(faces)
    assert np.all(und_n == 2), "every undirected edge must be shared by exactly 2 faces"
    assert np.all(dir_n == 1), "every directed edge once: consistent orientation"
    assert NUM_VERTICES - len(und) + len(faces) == 2  # Euler characteristic
    assert np.all(np.diff(np.sort(faces, axis=1), axis=1) > 0), "degenerate face"
    assert len(np.unique(np.sort(faces, axis=1), axis=0)) == len(faces), "duplicate face"
    assert np.array_equal(np.unique(faces), np.arange(NUM_VERTICES))
    report = manifold_report(faces, NUM_VERTICES)
    assert report["euler"] == 2
    bad = {k: v for k, v in report.items() if k not in ("vertices", "faces", "edges", "euler")}
    assert all(v == 0 for v in bad.values()), bad


def test_exactly_778_vertices_and_id():
    hand = HandModel()
    verts, joints = hand(named_pose("rest"))
    assert verts.shape == (778, 3) and joints.shape == (21, 3)
    assert rest_vertices().shape == (778, 3)
    assert hand.mesh_id == MESH_ID == "rejshand_open_hand_v1"
    assert hand.faces.shape == (1552, 3)


def test_rest_mesh_faces_have_area():
    v = rest_vertices()
    tri = v[faces_for_side("right")]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    assert area.min() > 1e-7  # > 0.1 mm^2


@pytest.mark.parametrize("side", ["right", "left"])
def test_outward_orientation(side):
    rng = np.random.default_rng(3)
    faces = faces_for_side(side)
    for pose in [named_pose("rest"), named_pose("fist"), sample_pose(rng, global_rotation=True)]:
        vol = signed_volume(pose_mesh(pose, side=side), faces)
        assert 1.5e-4 < vol < 6e-4  # m^3, positive = outward normals


def test_other_shapes_keep_a_clean_surface():
    faces = faces_for_side("right")
    ref = rest_vertices()
    tri = ref[faces]
    n_ref = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    rng = np.random.default_rng(5)
    for _ in range(10):
        v = rest_vertices(sample_shape(rng))[faces]
        n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
        assert np.linalg.norm(n, axis=1).min() > 2e-7  # no degenerate triangle
        cos = np.einsum("ij,ij->i", n, n_ref) / np.linalg.norm(n, axis=1)
        cos /= np.linalg.norm(n_ref, axis=1)
        assert cos.min() > 0.5  # no triangle flips relative to the template


def test_volume_of_rest_hand_is_plausible():
    # adult hand volume is a few hundred cm^3
    assert 150e-6 < signed_volume(rest_vertices(), faces_for_side("right")) < 600e-6


def test_skin_weights_are_a_partition_of_unity():
    w = mesh_template().skin_weights
    assert w.shape == (778, 16)
    assert np.all(w >= 0)
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-12)


def test_rest_pose_skinning_is_identity():
    shape = sample_shape(np.random.default_rng(1))
    np.testing.assert_allclose(pose_mesh(named_pose("rest"), shape), rest_vertices(shape),
                               atol=1e-12)


def test_manifold_report_flags_a_hole():
    faces = faces_for_side("right")[1:]
    report = manifold_report(faces, NUM_VERTICES)
    assert report["open_edges"] == 3


def test_rest_mesh_cached_per_shape():
    hand = HandModel()
    s = HandShape(hand_length=0.19, palm_width=0.088)
    assert hand.rest_vertices(s) is hand.rest_vertices(s)
    assert not np.allclose(hand.rest_vertices(s), hand.rest_vertices())
