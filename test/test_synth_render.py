"""Synthetic renderer: exact z-buffer, masks vs mesh, ground-truth consistency."""

import numpy as np
import pytest

from rejshand_ros.geometry.camera import project as crop_project
from rejshand_ros.hand_model import faces_for_side, joint_regressor, manifold_report, rasterize
from rejshand_ros.hand_model.mesh_ops import signed_volume
from rejshand_ros.synth import SceneConfig, render_crop, render_frame, render_sample
from rejshand_ros.synth import primitives
from rejshand_ros.synth.background import render_background
from rejshand_ros.synth.render import vertex_normals
from rejshand_ros.synth.scene import sample_crop_scene, sample_frame_scene
from rejshand_ros.synth.skin import sample_skin

BARE = SceneConfig(forearm_prob=0.0, occluder_prob=0.0, free_occluders=0.0)


def _dilate(mask: np.ndarray) -> np.ndarray:
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= out[:, :-1].copy()
    out[:, :-1] |= out[:, 1:].copy()
    return out


def _reference_raster(verts, faces, K, width, height):
    """Brute force: every pixel against every triangle, nearest depth wins."""
    uv = verts @ K.T
    uv = uv[:, :2] / uv[:, 2:]
    ys, xs = np.mgrid[0:height, 0:width]
    depth = np.full((height, width), np.inf)
    face_id = np.full((height, width), -1)
    for index, (a, b, c) in enumerate(faces):
        pa, pb, pc = uv[a], uv[b], uv[c]
        area = (pb[0] - pa[0]) * (pc[1] - pa[1]) - (pb[1] - pa[1]) * (pc[0] - pa[0])
        if abs(area) < 1e-12:
            continue
        l1 = ((xs - pa[0]) * (pc[1] - pa[1]) - (ys - pa[1]) * (pc[0] - pa[0])) / area
        l2 = ((pb[0] - pa[0]) * (ys - pa[1]) - (pb[1] - pa[1]) * (xs - pa[0])) / area
        l0 = 1 - l1 - l2
        inside = (l0 >= -1e-9) & (l1 >= -1e-9) & (l2 >= -1e-9)
        z = 1.0 / (l0 / verts[a, 2] + l1 / verts[b, 2] + l2 / verts[c, 2])
        better = inside & (z < depth)
        depth[better] = z[better]
        face_id[better] = index
    return depth, face_id


@pytest.mark.parametrize("seed", range(4))
def test_rasterizer_matches_brute_force_z_buffer(seed):
    """Random interpenetrating triangles: the nearest surface wins at every pixel."""
    rng = np.random.default_rng(seed)
    K = np.array([[40.0, 0, 23.5], [0, 40.0, 19.5], [0, 0, 1]])
    verts = np.concatenate([rng.uniform([-0.6, -0.5, 1.0], [0.6, 0.5, 3.0], (60, 3)),
                            [[-0.3, 0.0, 1.5], [0.3, 0.0, 1.5], [0.0, 0.3, 1.5]]])  # flat edge
    faces = np.concatenate([rng.integers(0, 60, (20, 3)), [[60, 61, 62]]])
    faces = faces[np.array([len(set(f)) == 3 for f in faces])]
    r = rasterize(verts, faces, K, 48, 40)
    depth, face_id = _reference_raster(verts, faces, K, 48, 40)
    np.testing.assert_array_equal(r.face_id, face_id)
    np.testing.assert_allclose(r.depth, depth, rtol=1e-6)


def test_primitives_are_closed_and_outward():
    meshes = [primitives.box([0.1, 0.2, 0.3]), primitives.ellipsoid([0.1, 0.05, 0.07]),
              primitives.cylinder(0.02, 0.1, taper=0.7),
              primitives.forearm(0.06, 0.035, 0.3, sleeve_start=0.1)[0],
              primitives.forearm(0.06, 0.035, 0.25)[0]]
    for mesh in meshes:
        assert signed_volume(mesh.vertices, mesh.faces) > 0
    for mesh in meshes[1:]:  # the box has separate vertices per side (flat shading)
        report = manifold_report(mesh.faces, mesh.vertices.shape[0])
        assert report["open_edges"] == 0 and report["nonmanifold_edges"] == 0


@pytest.mark.parametrize("seed", range(3))
def test_crop_mask_is_the_rasterized_mesh_silhouette(seed):
    scene = sample_crop_scene(np.random.default_rng(seed), 160, BARE)
    sample = render_sample(scene)
    hand = scene.hands[0]
    reference = rasterize(hand.verts, faces_for_side(hand.side), scene.K, 160, 160)
    np.testing.assert_array_equal(sample.hand_index == 0, reference.face_id >= 0)
    ann = sample.hands[0]
    assert ann.visible_pixels == int((reference.face_id >= 0).sum())
    assert ann.visible_fraction == 1.0


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_visible_vertices_project_into_the_hand_mask(seed):
    """With forearms and occluders: front-facing vertices on the hand's own visible
    surface, at pixels where nothing else is nearer, land on their hand's mask; every
    vertex lands in the hand's own silhouette."""
    sample = render_frame((seed, 1), 320, 240, num_hands=2,
                          config=SceneConfig(occluder_prob=1.0))
    checked = 0
    for k, hand in enumerate(sample.hands):
        verts = hand.verts
        uv = crop_project(verts, sample.K)
        px = np.round(uv).astype(int)
        inside = (px[:, 0] >= 0) & (px[:, 0] < 320) & (px[:, 1] >= 0) & (px[:, 1] < 240)
        normals = vertex_normals(verts, faces_for_side(hand.handedness).astype(np.int64))
        facing = np.einsum("ij,ij->i", normals, verts / np.linalg.norm(verts, axis=1)[:, None]) < -0.3
        alone = rasterize(verts, faces_for_side(hand.handedness), sample.K, 320, 240)
        own = np.full(778, np.inf)
        scene = np.full(778, -np.inf)
        own[inside] = alone.depth[px[inside, 1], px[inside, 0]]
        scene[inside] = sample.depth[px[inside, 1], px[inside, 0]]
        on_surface = np.abs(verts[:, 2] - own) < 0.003  # not hidden by its own hand
        nothing_nearer = scene >= own
        visible = inside & facing & on_surface & nothing_nearer
        mask = _dilate(sample.hand_index == k)
        assert np.all(mask[px[visible, 1], px[visible, 0]])
        assert np.all(_dilate(alone.face_id >= 0)[px[inside, 1], px[inside, 0]])
        checked += int(visible.sum())
    assert checked > 100


def test_ground_truth_is_consistent():
    for sample in [render_crop((1, i)) for i in range(3)] + [render_frame((2, 0), num_hands=2)]:
        height, width = sample.image.shape[:2]
        assert sample.image.dtype == np.uint8 and sample.image.shape[2] == 3
        for k, hand in enumerate(sample.hands):
            assert hand.verts.shape == (778, 3) and hand.xyz.shape == (21, 3)
            np.testing.assert_allclose(hand.xyz, joint_regressor() @ hand.verts, atol=1e-12)
            np.testing.assert_allclose(hand.uv, crop_project(hand.xyz, sample.K), atol=1e-9)
            assert np.all(hand.verts[:, 2] > 0.1)
            ys, xs = np.nonzero(sample.hand_index == k)
            assert hand.box.tolist() == [xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1]
            assert hand.box[0] + hand.box[2] <= width and hand.box[1] + hand.box[3] <= height
            assert hand.handedness in ("left", "right")


def test_crops_are_hand_centred_and_fill_most_of_the_image():
    for i in range(6):
        sample = render_crop((4, i), size=224, config=BARE)
        uv = crop_project(sample.hands[0].verts, sample.K)
        extent = (uv.max(0) - uv.min(0)).max() / 224
        assert 0.55 <= extent <= 0.85
        centre = 0.5 * (uv.max(0) + uv.min(0))
        assert np.all(np.abs(centre - 111.5) < 0.12 * 224)
    empty = render_crop((4, 0), presence=False)
    assert empty.hands == [] and not empty.presence and np.all(empty.hand_index < 0)


def test_hand_partly_outside_the_frame_has_a_clipped_box():
    rng = np.random.default_rng(11)
    scene = sample_frame_scene(rng, 320, 240, BARE, num_hands=1)
    hand = scene.hands[0]
    uv = crop_project(hand.joints, scene.K)
    # slide the hand left until its middle MCP (joint 9) sits on the image's left edge
    hand.moved(np.array([-uv[9, 0] / scene.K[0, 0] * hand.joints[9, 2], 0.0, 0.0]))
    sample = render_sample(scene)
    ann = sample.hands[0]
    assert ann.uv[:, 0].min() < 0 < ann.uv[:, 0].max()
    assert ann.visible_pixels > 0 and ann.box[0] == 0
    assert ann.box[0] + ann.box[2] <= 320 and ann.box[1] + ann.box[3] <= 240
    assert ann.visible_fraction == 1.0  # cut by the frame, not occluded


def test_rendering_is_deterministic_and_varied():
    a, b = render_frame((5, 3), 200, 150), render_frame((5, 3), 200, 150)
    np.testing.assert_array_equal(a.image, b.image)
    assert not np.array_equal(a.image, render_frame((5, 4), 200, 150).image)
    bg = [render_background(np.random.default_rng(i), 96, 64) for i in range(3)]
    assert all(img.shape == (64, 96, 3) and img.dtype == np.uint8 for img in bg)
    np.testing.assert_array_equal(bg[0], render_background(np.random.default_rng(0), 96, 64))


def test_handedness_follows_left_ratio_and_skin_tones_vary():
    lefts = [render_crop((6, i), 64, config=SceneConfig(left_ratio=1.0)).hands[0].handedness
             for i in range(2)]
    rights = [render_crop((6, i), 64, config=SceneConfig(left_ratio=0.0)).hands[0].handedness
              for i in range(2)]
    assert lefts == ["left", "left"] and rights == ["right", "right"]
    lum = [float(sample_skin(np.random.default_rng(i)).base @ [0.21, 0.72, 0.07])
           for i in range(200)]
    assert min(lum) < 0.1 and max(lum) > 0.5  # dark to light tones (linear RGB)
