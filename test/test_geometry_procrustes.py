"""Similarity Procrustes: official-formula agreement, invariances, batch == loop."""

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.transform import Rotation

from rejshand_ros.geometry.procrustes import (
    apply_similarity,
    procrustes_align,
    procrustes_transform,
)


def _reference_align(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """The official FreiHAND recipe written out with scipy, one sample."""
    t1, t2 = gt.mean(0), pred.mean(0)
    a, b = gt - t1, pred - t2
    s1, s2 = np.linalg.norm(a) + 1e-8, np.linalg.norm(b) + 1e-8
    a, b = a / s1, b / s2
    r, s = orthogonal_procrustes(a, b)
    return (b @ r.T) * s * s1 + t1


def _random_similarity(rng, reflect=False):
    rot = Rotation.random(random_state=rng).as_matrix()
    if reflect:
        rot = rot @ np.diag([1.0, 1.0, -1.0])
    return rot, rng.uniform(0.3, 3.0), rng.normal(size=3)


def test_matches_official_recipe():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(21, 3)) * 0.05
    pred = gt + rng.normal(size=(21, 3)) * 0.01
    np.testing.assert_allclose(procrustes_align(pred, gt), _reference_align(gt, pred), atol=1e-12)


@pytest.mark.parametrize("reflect", [False, True])
def test_similarity_copy_aligns_to_zero(reflect):
    rng = np.random.default_rng(1)
    gt = rng.normal(size=(778, 3)) * 0.05
    rot, s, t = _random_similarity(rng, reflect)
    pred = s * gt @ rot.T + t
    aligned = procrustes_align(pred, gt)
    # the official +1e-8 on each norm leaves a ~1e-9 relative scale error
    assert np.abs(aligned - gt).max() < 1e-8


def test_transform_recovers_inverse_similarity():
    rng = np.random.default_rng(2)
    gt = rng.normal(size=(21, 3))
    rot, s, t = _random_similarity(rng)
    pred = s * gt @ rot.T + t
    r_est, s_est, t_est = procrustes_transform(pred, gt)
    np.testing.assert_allclose(r_est, rot.T, atol=1e-9)
    assert s_est == pytest.approx(1.0 / s, rel=1e-7)
    np.testing.assert_allclose(apply_similarity(pred, r_est, s_est, t_est), gt, atol=1e-9)


def test_reflection_is_not_excluded():
    rng = np.random.default_rng(3)
    gt = rng.normal(size=(21, 3))
    pred = gt * np.array([-1.0, 1.0, 1.0])
    r_est, _, _ = procrustes_transform(pred, gt)
    assert np.linalg.det(r_est) == pytest.approx(-1.0)


def test_batch_equals_loop():
    rng = np.random.default_rng(4)
    gt = rng.normal(size=(17, 21, 3))
    pred = gt + rng.normal(size=gt.shape) * 0.3
    batch = procrustes_align(pred, gt)
    rots, scales, trans = procrustes_transform(pred, gt)
    for i in range(gt.shape[0]):
        np.testing.assert_allclose(batch[i], procrustes_align(pred[i], gt[i]), atol=1e-12)
        r, s, t = procrustes_transform(pred[i], gt[i])
        np.testing.assert_allclose(rots[i], r, atol=1e-12)
        assert scales[i] == pytest.approx(s)
        np.testing.assert_allclose(trans[i], t, atol=1e-12)


def test_transform_applies_to_other_points():
    rng = np.random.default_rng(5)
    gt = rng.normal(size=(4, 21, 3))
    rot, s, t = _random_similarity(rng)
    pred = s * gt @ rot.T + t
    verts = rng.normal(size=(4, 50, 3))
    tr = procrustes_transform(pred, gt)
    np.testing.assert_allclose(apply_similarity(s * verts @ rot.T + t, *tr), verts, atol=1e-9)


def test_shape_errors():
    with pytest.raises(ValueError):
        procrustes_align(np.zeros((21, 3)), np.zeros((20, 3)))
    with pytest.raises(ValueError):
        procrustes_align(np.zeros((2, 2, 21, 3)), np.zeros((2, 2, 21, 3)))
