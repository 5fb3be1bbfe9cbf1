"""FreiHAND metrics against hand-computed values and invariances."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.spatial.transform import Rotation

from rejshand_ros.evaluation.metrics import (PCK_THRESHOLDS_M, auc, evaluate, f_scores,
                                             keypoint_errors, nearest_neighbour_distances,
                                             pck_curve, per_keypoint_mean)

REQUIRED_KEYS = {"pa_mpjpe_mm", "pa_mpvpe_mm", "mpjpe_mm", "mpvpe_mm", "f5", "f15",
                 "f5_unaligned", "f15_unaligned", "auc_pa_joints"}


def test_three_point_errors_are_means_not_rms():
    gt = np.zeros((2, 3, 3))
    pred = gt.copy()
    pred[0, 0] = [0.003, 0.004, 0.0]  # 5 mm
    pred[1, 0] = [0.0, 0.0, 0.001]  # 1 mm
    pred[0, 2] = [0.0, 0.012, 0.0]  # 12 mm
    err = keypoint_errors(pred, gt)
    np.testing.assert_allclose(err, [[0.005, 0.0, 0.012], [0.001, 0.0, 0.0]], atol=1e-15)
    np.testing.assert_allclose(per_keypoint_mean(err), [0.003, 0.0, 0.006], atol=1e-15)


def test_evaluate_unaligned_and_pa_on_shifted_copies():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(2, 21, 3)) * 0.05 + [0.0, 0.0, 0.6]
    pred = gt.copy()
    pred[0] += [0.003, 0.004, 0.0]  # every joint 5 mm off
    pred[1] += [0.0, 0.0, 0.001]  # every joint 1 mm off
    res = evaluate(pred, gt)
    assert res["mpjpe_mm"] == pytest.approx(3.0)  # mean; the RMS would be sqrt(13)
    assert res["pa_mpjpe_mm"] == pytest.approx(0.0, abs=1e-4)  # official +1e-8 norm eps
    np.testing.assert_allclose(res["per_joint_mm"], 3.0)
    assert evaluate(pred, gt, root_relative=True)["mpjpe_mm"] == pytest.approx(0.0, abs=1e-9)
    assert REQUIRED_KEYS <= set(res) and np.isnan(res["f5"]) and np.isnan(res["pa_mpvpe_mm"])


def _similar(points, rng, reflect=False):
    rot = Rotation.random(random_state=rng).as_matrix()
    if reflect:
        rot = rot @ np.diag([-1.0, 1.0, 1.0])
    return 1.7 * points @ rot.T + rng.normal(size=3)


@pytest.mark.parametrize("reflect", [False, True])
def test_similarity_copies_score_perfectly_after_alignment(reflect):
    rng = np.random.default_rng(1)
    gt_j = rng.normal(size=(3, 21, 3)) * 0.04
    gt_v = rng.normal(size=(3, 778, 3)) * 0.04
    # joints and vertices get *different* transforms: they must be aligned separately
    pred_j = np.stack([_similar(g, rng, reflect) for g in gt_j])
    pred_v = np.stack([_similar(g, rng, reflect) for g in gt_v])
    res = evaluate(pred_j, gt_j, pred_v, gt_v)
    assert res["pa_mpjpe_mm"] < 1e-5 and res["pa_mpvpe_mm"] < 1e-5
    assert res["f5"] == 1.0 and res["f15"] == 1.0
    # residuals of ~1e-9 m fail only the 0 m threshold (PCK counts error <= t)
    assert res["auc_pa_joints"] == pytest.approx((99 - 0.5) / 99)
    assert res["mpjpe_mm"] > 10 and res["f5_unaligned"] < 0.5


def test_vertices_reuse_joint_transform_when_counts_differ():
    rng = np.random.default_rng(2)
    gt_j = rng.normal(size=(2, 21, 3)) * 0.04
    grid = np.stack(np.meshgrid(*[np.arange(10)] * 3, indexing="ij"), -1).reshape(-1, 3)
    gt_v = np.stack([grid[rng.permutation(1000)[:778]] * 0.02 for _ in range(2)])  # 2 cm apart
    rot = Rotation.random(random_state=rng).as_matrix()
    pred_j = 0.5 * gt_j @ rot.T + 0.1
    pred_v = (0.5 * gt_v @ rot.T + 0.1)[:, :500]  # a subset: another "topology"
    res = evaluate(pred_j, gt_j, pred_v, gt_v)
    assert np.isnan(res["mpvpe_mm"]) and np.isnan(res["pa_mpvpe_mm"])
    # the joints' transform brings the subset exactly onto GT: precision 500/778, recall 1
    p, r = 500 / 778, 1.0
    assert res["f5"] == pytest.approx(2 * p * r / (p + r))


def test_fscore_by_hand_with_strict_threshold():
    gt = np.array([[[0, 0, 0], [0.1, 0, 0], [0.2, 0, 0], [0.3, 0, 0]]], float)
    pred = np.array([[[0.004, 0, 0],      # 4 mm from A
                      [0.1, 0.005, 0],    # exactly 5 mm from B: not < 5 mm
                      [0.2, 0, 0.01],     # 10 mm from C
                      [0.5, 0, 0],        # far from everything
                      [0.001, 0, 0]]])    # 1 mm from A
    d = nearest_neighbour_distances(gt, pred)
    assert d[0, 1] == 0.005
    f = f_scores(pred, gt, (0.005, 0.015))
    # 5 mm: precision (GT side) 1/4, recall (pred side) 2/5
    # 15 mm: precision 3/4 (A, B, C), recall 4/5
    np.testing.assert_allclose(f[0], [4 / 13, 24 / 31], rtol=1e-12)


def test_fscore_zero_when_nothing_matches_and_exact_boundary():
    gt = np.zeros((2, 1, 3))
    pred = np.array([[[0.0, 0.0, 0.015]], [[0.0, 0.0, 0.0149]]])
    f = f_scores(pred, gt, (0.005, 0.015))
    np.testing.assert_array_equal(f, [[0.0, 0.0], [0.0, 1.0]])


def test_nearest_neighbours_match_brute_force_and_stay_within_samples():
    rng = np.random.default_rng(3)
    src = rng.normal(size=(300, 40, 3)) * 0.05  # > one chunk of samples
    dst = rng.normal(size=(300, 25, 3)) * 0.05
    dst[1:] += 5.0  # every other sample far away: cross-sample matches would show
    d = nearest_neighbour_distances(src, dst)
    ref = np.stack([cdist(s, t).min(axis=1) for s, t in zip(src, dst)])
    np.testing.assert_allclose(d, ref, rtol=1e-12)
    bounded = nearest_neighbour_distances(src, dst, upper_bound=0.05)
    np.testing.assert_array_equal(bounded, np.where(ref < 0.05, bounded, np.inf))
    np.testing.assert_allclose(bounded[ref < 0.05], ref[ref < 0.05], rtol=1e-12)


def test_pck_and_auc_by_hand():
    assert auc(pck_curve(np.zeros((4, 21)))) == pytest.approx(1.0)  # <= counts error 0
    assert auc(pck_curve(np.full((4, 21), 0.06))) == 0.0
    half = np.concatenate([np.zeros((2, 21)), np.ones((2, 21))])
    np.testing.assert_allclose(pck_curve(half), 0.5)
    assert auc(pck_curve(half)) == pytest.approx(0.5)
    err = np.full((1, 1), PCK_THRESHOLDS_M[50])  # PCK 0 below t50, 1 from t50 on
    assert pck_curve(err)[50] == 1.0 and pck_curve(err)[49] == 0.0
    assert auc(pck_curve(err)) == pytest.approx((99 - 49.5) / 99)


def test_unaligned_mesh_metrics_and_extra_keys():
    rng = np.random.default_rng(4)
    gt_j = rng.normal(size=(3, 21, 3)) * 0.04
    gt_v = rng.normal(size=(3, 778, 3)) * 0.04
    res = evaluate(gt_j + [0.0, 0.002, 0.0], gt_j, gt_v + [0.0, 0.0, 0.002], gt_v)
    assert res["mpvpe_mm"] == pytest.approx(2.0) and res["mpjpe_mm"] == pytest.approx(2.0)
    assert res["f5_unaligned"] == 1.0 and res["f15_unaligned"] == 1.0
    assert res["pck_thresholds_mm"].shape == (100,) and res["pck_thresholds_mm"][-1] == 50.0
    assert res["per_joint_pa_mm"].shape == (21,) and res["pck_pa_joints"].shape == (100,)
    assert res["num_samples"] == 3


def test_input_validation():
    gt = np.zeros((2, 21, 3))
    with pytest.raises(ValueError):
        evaluate(np.zeros((2, 20, 3)), gt)
    bad = gt.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        evaluate(bad, gt)


def _brute_fscores(pred, gt, ths):
    out = []
    for g, p in zip(gt, pred):
        d = cdist(g, p)
        prec = (d.min(axis=1)[:, None] < ths).mean(0)
        rec = (d.min(axis=0)[:, None] < ths).mean(0)
        out.append(np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-300), 0))
    return np.array(out)


@pytest.mark.parametrize("noise", [0.001, 0.004, 0.01, 0.03])
def test_fscores_match_brute_force(noise):
    """Same-topology shortcut and the plain search agree with an all-pairs reference."""
    rng = np.random.default_rng(5)
    gt = rng.normal(size=(40, 200, 3)) * 0.03
    pred = gt + rng.normal(size=gt.shape) * noise
    pred[0, :5] = gt[0, :5] + [0.005, 0.0, 0.0]  # near-ties at the 5 mm threshold
    for ths in (np.array([0.005, 0.015]), np.array([0.015, 0.002, 0.008])):
        np.testing.assert_allclose(f_scores(pred, gt, ths), _brute_fscores(pred, gt, ths), rtol=1e-12)
        sub = pred[:, :150]  # different point counts: no correspondence shortcut
        np.testing.assert_allclose(f_scores(sub, gt, ths, workers=1), _brute_fscores(sub, gt, ths),
                                   rtol=1e-12)
        np.testing.assert_array_equal(f_scores(sub, gt, ths, workers=2),
                                      f_scores(sub, gt, ths, workers=1))
