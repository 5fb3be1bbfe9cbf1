"""Shape, joint limits, sampling and forward kinematics of the procedural hand."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rejshand_ros.hand_model import (LOWER, NAMED_POSES, POSE_MODES, UPPER, HandModel, HandPose,
                                     HandShape, clip_to_limits, forward_kinematics, mirror_pose,
                                     named_pose, pose_mesh, sample_pose, sample_shape,
                                     within_limits)
from rejshand_ros.geometry.keypoints import PARENTS

PARENTS_EXPECTED = [-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19]


def _bones(joints):
    return np.linalg.norm(joints[1:] - joints[np.array(PARENTS[1:])], axis=1)


def test_skeleton_constants():
    assert list(PARENTS) == PARENTS_EXPECTED


def test_default_shape_anthropometry():
    shape = HandShape()
    joints, _ = forward_kinematics(named_pose("rest"), shape)
    scale = np.linalg.norm(joints[9] - joints[10])
    assert 0.025 <= scale <= 0.030  # FreiHAND scale, middle proximal phalanx
    hand_length = joints[12, 1] - joints[0, 1]
    assert 0.17 <= hand_length <= 0.20
    np.testing.assert_allclose(joints[0], 0.0)
    np.testing.assert_allclose(joints[9][[0, 2]], 0.0, atol=1e-12)  # middle MCP on +y
    seg = shape.segment_lengths()[1:]
    np.testing.assert_allclose(seg[:, 1] / seg[:, 0], 0.65, atol=0.1)
    np.testing.assert_allclose(seg[:, 2] / seg[:, 0], 0.55, atol=0.1)
    pinky, middle = seg[3].sum(), seg[1].sum()
    assert 0.75 <= pinky / middle <= 0.85
    # thumb CMC well proximal and palmar of the index MCP; thumb on the +x side
    assert joints[1, 1] < joints[5, 1] - 0.05 and joints[1, 2] > joints[5, 2]
    assert joints[4, 0] > joints[5, 0]


def test_sampled_shapes_are_adult_hands():
    rng = np.random.default_rng(0)
    for _ in range(50):
        shape = sample_shape(rng)
        joints, _ = forward_kinematics(HandPose(), shape)
        assert 0.16 <= joints[12, 1] <= 0.21
        assert 0.07 <= shape.palm_width <= 0.10


def test_bone_lengths_preserved_under_any_pose():
    rng = np.random.default_rng(1)
    shape = sample_shape(rng)
    ref = _bones(forward_kinematics(HandPose(), shape)[0])
    for side in ("right", "left"):
        for _ in range(30):
            pose = HandPose(rng.uniform(-np.pi, np.pi, 21), rng.normal(size=3))
            joints, frames = forward_kinematics(pose, shape, side)
            np.testing.assert_allclose(_bones(joints), ref, atol=1e-12)
            rot = frames[:, :3, :3]
            np.testing.assert_allclose(rot @ rot.transpose(0, 2, 1),
                                       np.broadcast_to(np.eye(3), rot.shape), atol=1e-12)
            np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-12)
            np.testing.assert_allclose(frames[:, :3, 3], joints, atol=1e-15)


@pytest.mark.parametrize("mode", list(POSE_MODES) + [None])
def test_sample_pose_respects_limits(mode):
    rng = np.random.default_rng(2)
    for _ in range(100):
        pose = sample_pose(rng, mode=mode, global_rotation=True)
        assert np.all(pose.angles >= LOWER) and np.all(pose.angles <= UPPER)
        assert within_limits(pose)


def test_limits_match_the_facts_file():
    deg = {"lo": np.rad2deg(LOWER), "hi": np.rad2deg(UPPER)}
    for f in range(4):  # index..pinky: angles 4 f + 5 .. 4 f + 8
        i = 4 * f + 5
        assert deg["hi"][i] == 90 and -30 <= deg["lo"][i] <= -20  # MCP flexion
        assert deg["hi"][i + 2] == 110 and deg["hi"][i + 3] == 80  # PIP, DIP
        assert deg["hi"][i + 1] <= 20  # abduction
    assert deg["hi"][10] < deg["hi"][6]  # middle abducts less than index
    assert deg["hi"][1] == 70 and deg["hi"][3] == 55 and deg["hi"][4] == 80
    assert deg["lo"][4] == -20


def test_thumb_is_not_coupled_like_a_finger():
    rng = np.random.default_rng(6)
    a = np.array([sample_pose(rng, mode="grasp").angles for _ in range(100)])
    assert np.corrcoef(a[:, 3], a[:, 4])[0, 1] < 0.9
    assert np.ptp(a[:, 17]) > np.deg2rad(20)  # the pinky moves too


def test_dip_is_coupled_to_pip():
    rng = np.random.default_rng(4)
    pip, dip = [], []
    for _ in range(300):
        a = sample_pose(rng).angles
        pip += list(a[[7, 11, 15, 19]])
        dip += list(a[[8, 12, 16, 20]])
    pip, dip = np.array(pip), np.array(dip)
    ok = dip < np.deg2rad(79)  # ignore values clipped at the DIP limit
    slope = np.polyfit(pip[ok], dip[ok], 1)[0]
    assert 0.5 < slope < 0.8


def test_sampled_poses_mix_open_and_closed():
    rng = np.random.default_rng(5)
    curl = np.array([sample_pose(rng).angles[[5, 9, 13, 17]].mean() for _ in range(300)])
    assert np.mean(curl < np.deg2rad(20)) > 0.15 and np.mean(curl > np.deg2rad(60)) > 0.1


def test_deterministic_given_seed():
    a = sample_pose(np.random.default_rng(7), global_rotation=True)
    b = sample_pose(np.random.default_rng(7), global_rotation=True)
    np.testing.assert_array_equal(a.as_vector(), b.as_vector())
    assert sample_shape(np.random.default_rng(7)) == sample_shape(np.random.default_rng(7))


def test_clip_to_limits():
    pose = clip_to_limits(HandPose(np.full(21, 10.0), [0.1, 0.2, 0.3]))
    np.testing.assert_array_equal(pose.angles, UPPER)
    np.testing.assert_array_equal(pose.global_rot, [0.1, 0.2, 0.3])
    assert all(within_limits(named_pose(n)) for n in NAMED_POSES)


def test_named_poses_do_what_they_say():
    j_pinch, _ = forward_kinematics(named_pose("pinch"))
    assert np.linalg.norm(j_pinch[4] - j_pinch[8]) < 0.02  # thumb meets index
    j_point, _ = forward_kinematics(named_pose("point"))
    assert j_point[8, 1] > j_point[12, 1] + 0.05  # index straight, others curled
    j_fist, _ = forward_kinematics(named_pose("fist"))
    assert np.all(j_fist[[8, 12, 16, 20], 1] < j_fist[[5, 9, 13, 17], 1])


def test_left_is_mirror_of_right():
    rng = np.random.default_rng(8)
    mirror = np.array([-1.0, 1.0, 1.0])
    for _ in range(5):
        pose = sample_pose(rng)  # zero global rotation
        jr, _ = forward_kinematics(pose, side="right")
        jl, _ = forward_kinematics(pose, side="left")
        np.testing.assert_allclose(jl, jr * mirror, atol=1e-12)
        np.testing.assert_allclose(pose_mesh(pose, side="left"),
                                   pose_mesh(pose, side="right") * mirror, atol=1e-12)
        # with a global rotation: left(angles, M R M) == M right(angles, R)
        posed = HandPose(pose.angles, rng.normal(size=3))
        jr, _ = forward_kinematics(posed, side="right")
        jl, _ = forward_kinematics(mirror_pose(posed), side="left")
        np.testing.assert_allclose(jl, jr * mirror, atol=1e-12)


def test_global_rotation_rotates_about_the_wrist():
    pose = named_pose("fist")
    rotated = HandPose(pose.angles, [0.0, 0.0, np.pi / 2])
    j0, _ = forward_kinematics(pose)
    j1, _ = forward_kinematics(rotated)
    np.testing.assert_allclose(j1, j0 @ np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]]).T,
                               atol=1e-12)


def test_pose_vector_round_trip():
    pose = sample_pose(np.random.default_rng(9), global_rotation=True)
    again = HandPose.from_vector(pose.as_vector())
    np.testing.assert_array_equal(again.as_vector(), pose.as_vector())
    v, j = HandModel()(pose.as_vector())
    assert v.shape == (778, 3)


def test_core_imports_neither_torch_nor_rclpy():
    code = ("import sys; import rejshand_ros.hand_model as h; h.HandModel()(h.HandPose()); "
            "bad = [m for m in ('torch', 'rclpy') if m in sys.modules]; "
            "assert not bad, bad")
    import rejshand_ros

    env = dict(os.environ)
    here = str(Path(rejshand_ros.__file__).resolve().parents[1])  # the copy under test
    env["PYTHONPATH"] = os.pathsep.join([here, env.get("PYTHONPATH", "")])
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
