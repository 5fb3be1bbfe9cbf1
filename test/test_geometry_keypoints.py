"""The 21-keypoint layout and its MANO mapping."""

import numpy as np

from rejshand_ros.geometry import keypoints as kp


def test_layout_is_consistent():
    assert kp.NUM_JOINTS == len(kp.JOINT_NAMES) == 21
    assert kp.JOINT_NAMES[kp.ROOT_JOINT] == "middle_mcp"
    assert len(kp.SKELETON_EDGES) == 20
    assert kp.PARENTS[0] == -1 and all(kp.PARENTS[c] == p for p, c in kp.SKELETON_EDGES)
    for name, joints in kp.FINGERS.items():
        assert [kp.JOINT_NAMES[j].split("_")[0] for j in joints] == [name] * 4
        assert kp.PARENTS[joints[0]] == 0
        assert list(kp.PARENTS[list(joints[1:])]) == list(joints[:-1])
        assert joints[-1] in kp.FINGERTIP_JOINTS and kp.JOINT_NAMES[joints[-1]].endswith("tip")
    np.testing.assert_array_equal(kp.FLIP_PERMUTATION, np.arange(21))


def test_mano_to_freihand_matches_joint_names():
    order = kp.MANO_TO_FREIHAND
    assert sorted(order) == list(range(21))
    mano21 = list(kp.MANO_JOINT_NAMES) + [f"{f}_tip" for f in kp.FINGER_NAMES]
    words = {"1": "mcp", "2": "pip", "3": "dip"}
    thumb = {"1": "cmc", "2": "mcp", "3": "ip"}
    for fh_name, src in zip(kp.JOINT_NAMES, order):
        mano_name = mano21[src]
        if mano_name[-1] in "123":
            finger, level = mano_name[:-1], mano_name[-1]
            mano_name = f"{finger}_{(thumb if finger == 'thumb' else words)[level]}"
        assert fh_name == mano_name
    pts = np.arange(21 * 3).reshape(21, 3)
    np.testing.assert_array_equal(kp.mano_to_freihand(pts)[1], pts[13])
