"""Joint regressor fitting and the FreiHAND-order MANO regressor."""

import numpy as np
import pytest
import torch

from rejshand_ros.geometry.regressor import (fit_joint_regressor, mano_regressor_freihand,
                                             regress_joints)
from rejshand_ros.geometry.keypoints import MANO_FINGERTIP_VERTICES, MANO_TO_FREIHAND


def _sparse_regressor(rng, num_j=6, num_v=40, per_row=3):
    w = np.zeros((num_j, num_v))
    for j in range(num_j):
        idx = rng.choice(num_v, per_row, replace=False)
        vals = rng.uniform(0.1, 1.0, per_row)
        w[j, idx] = vals / vals.sum()
    return w


@pytest.mark.parametrize(
    "nonneg, sum_one", [(False, False), (False, True), (True, False), (True, True)]
)
def test_fit_recovers_sparse_regressor(nonneg, sum_one):
    rng = np.random.default_rng(0)
    w_true = _sparse_regressor(rng)
    verts = rng.normal(size=(30, 40, 3))  # 90 equations for 40 unknowns per joint
    joints = regress_joints(w_true, verts)
    w = fit_joint_regressor(verts, joints, ridge=0.0, nonnegative=nonneg, rows_sum_to_one=sum_one)
    assert w.shape == (6, 40)
    np.testing.assert_allclose(w, w_true, atol=1e-6)


def test_sum_to_one_constraint_holds_when_underdetermined():
    rng = np.random.default_rng(1)
    w_true = _sparse_regressor(rng)
    verts = rng.normal(size=(5, 40, 3))  # 15 equations < 40 unknowns
    joints = regress_joints(w_true, verts) + rng.normal(size=(5, 6, 3)) * 0.01
    for nonneg in (False, True):
        w = fit_joint_regressor(verts, joints, ridge=1e-3, nonnegative=nonneg, rows_sum_to_one=True)
        np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-9)
        if nonneg:
            assert w.min() >= 0.0
        # translation equivariance follows from rows summing to one
        shift = np.array([0.3, -0.2, 1.0])
        np.testing.assert_allclose(
            regress_joints(w, verts + shift), regress_joints(w, verts) + shift, atol=1e-9
        )


def test_regress_joints_batch_shapes_and_torch():
    rng = np.random.default_rng(2)
    w = rng.random((21, 778))
    verts = rng.normal(size=(2, 3, 778, 3))
    out = regress_joints(w, verts)
    assert out.shape == (2, 3, 21, 3)
    np.testing.assert_allclose(out[1, 2], w @ verts[1, 2])
    out_t = regress_joints(torch.from_numpy(w), torch.from_numpy(verts))
    np.testing.assert_allclose(out_t.numpy(), out, atol=1e-10)
    with pytest.raises(ValueError):
        regress_joints(w, verts[..., :777, :])


def test_mano_regressor_freihand_layout():
    rng = np.random.default_rng(3)
    j_reg = rng.random((16, 778))
    reg = mano_regressor_freihand(j_reg)
    assert reg.shape == (21, 778)
    np.testing.assert_array_equal(reg[0], j_reg[0])  # wrist
    np.testing.assert_array_equal(reg[1], j_reg[13])  # thumb CMC = MANO thumb1
    np.testing.assert_array_equal(reg[5], j_reg[1])  # index MCP = MANO index1
    np.testing.assert_array_equal(reg[17], j_reg[7])  # pinky MCP = MANO pinky1
    for joint, vertex in zip((4, 8, 12, 16, 20), MANO_FINGERTIP_VERTICES):
        expected = np.zeros(778)
        expected[vertex] = 1.0
        np.testing.assert_array_equal(reg[joint], expected)
    # equals regressing 16 joints + picking 5 tips and reordering
    verts = rng.normal(size=(778, 3))
    mano21 = np.vstack([j_reg @ verts, verts[list(MANO_FINGERTIP_VERTICES)]])
    np.testing.assert_allclose(reg @ verts, mano21[list(MANO_TO_FREIHAND)], atol=1e-12)


def test_mano_regressor_rejects_bad_shape():
    with pytest.raises(ValueError):
        mano_regressor_freihand(np.zeros((15, 778)))
