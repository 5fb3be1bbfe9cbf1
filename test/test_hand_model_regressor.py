"""The joint regressor of the procedural hand mesh."""

import numpy as np

from rejshand_ros.hand_model import HandModel, joint_regressor, sample_pose, sample_shape
from rejshand_ros.geometry.keypoints import FINGERTIP_JOINTS as TIP_JOINTS


def test_regressor_rows_are_convex_combinations():
    reg = joint_regressor()
    assert reg.shape == (21, 778)
    assert np.all(reg >= 0)
    np.testing.assert_allclose(reg.sum(1), 1.0, atol=1e-9)


def test_fingertip_rows_are_one_hot():
    reg = joint_regressor()
    for j in TIP_JOINTS:
        assert np.count_nonzero(reg[j]) == 1 and reg[j].max() == 1.0
    assert len({int(np.argmax(reg[j])) for j in TIP_JOINTS}) == 5


def test_other_rows_average_several_vertices():
    reg = joint_regressor()
    for j in set(range(21)) - set(TIP_JOINTS):
        assert np.count_nonzero(reg[j] > 1e-6) >= 3


def test_regressor_matches_forward_kinematics():
    hand = HandModel()
    reg = hand.joint_regressor
    rng = np.random.default_rng(11)
    worst = {True: 0.0, False: 0.0}  # keyed by "default shape"
    for i in range(40):
        shape = None if i % 2 else sample_shape(rng)
        side = "left" if i % 3 == 0 else "right"
        verts, joints = hand(sample_pose(rng, global_rotation=True), shape, side)
        err = float(np.linalg.norm(reg @ verts - joints, axis=1).max())
        worst[shape is None] = max(worst[shape is None], err)
    assert worst[False] < 0.005  # metres, any adult shape
    assert worst[True] < 1e-4  # the regressor was fitted on the default shape


def test_fingertip_vertex_is_the_fk_tip():
    hand = HandModel()
    verts, joints = hand(sample_pose(np.random.default_rng(12)))
    tips = np.argmax(hand.joint_regressor[list(TIP_JOINTS)], axis=1)
    np.testing.assert_allclose(verts[tips], joints[list(TIP_JOINTS)], atol=1e-12)
