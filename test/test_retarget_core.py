"""Retargeter: round trips, human poses, both sides, limits, refusals, filter, selection."""

import logging

import numpy as np
import pytest

from rejshand_ros.perception.hand_prediction import Handedness, HandPrediction
from rejshand_ros.retarget import human_poses as hp
from rejshand_ros.retarget.config import load_robot_config, robot_config_path
from rejshand_ros.retarget.controller import limit_velocity
from rejshand_ros.retarget.retargeter import Retargeter
from rejshand_ros.retarget.selection import HandSelector, SelectionPolicy

NO_FILTER = {"low_pass_alpha": 1.0}
FLEXION = ("mcp", "pip", "dip")


def _retargeter(side="right", kind="vector", **override) -> Retargeter:
    config = load_robot_config(robot_config_path("rejshand_hand", side, kind),
                               override={**NO_FILTER, **override})
    return Retargeter(config)


@pytest.fixture(scope="module")
def right():
    return _retargeter("right")


@pytest.fixture(scope="module")
def left():
    return _retargeter("left")


def _settle(retargeter: Retargeter, keypoints, handedness, frames: int = 10) -> np.ndarray:
    """Retarget the same frame repeatedly (a held pose): warm starts converge."""
    retargeter.reset()
    for _ in range(frames):
        q = retargeter.retarget_keypoints(keypoints, handedness)
        assert q is not None
    return q


def _joint(retargeter, q, name):
    return q[retargeter.joint_names.index(name)]


class RobotFK:
    """Forward kinematics of the robot and human-like 21 keypoints from its links."""

    def __init__(self, retargeter: Retargeter) -> None:
        import pinocchio as pin

        self.pin = pin
        self.model = pin.buildModelFromUrdf(str(retargeter.config.urdf_path))
        self.data = self.model.createData()
        assert list(self.model.names)[1:] == retargeter.joint_names

    def keypoints(self, q: np.ndarray) -> np.ndarray:
        """(21, 3) robot-sized keypoints in the robot base frame (the pinky is a copy of
        the ring finger shifted by one finger spacing: the robot has no pinky)."""
        self.pin.framesForwardKinematics(self.model, self.data, q)

        def at(name):
            return self.data.oMf[self.model.getFrameId(name)].translation.copy()

        k = np.zeros((21, 3))
        k[1:5] = [at(n) for n in ("thumb_base", "thumb_proximal", "thumb_distal", "thumb_tip")]
        for i, finger in enumerate(("index", "middle", "ring")):
            k[5 + 4 * i: 9 + 4 * i] = [at(f"{finger}_{part}") for part in
                                       ("knuckle", "middle", "distal", "tip")]
        k[17:21] = k[13:17] + (k[13] - k[9])
        return k


@pytest.mark.parametrize("side", ["right", "left"])
def test_round_trip_random_robot_poses_recover_fingertips(side, right, left):
    """dex-retargeting style: random joints -> FK -> keypoints -> retarget -> same fingertips."""
    retargeter = _retargeter(side, normal_delta=0.0)
    fk = RobotFK(retargeter)
    scale = retargeter.config.scaling_factor
    lo, hi = retargeter.joint_limits.T
    rng = np.random.default_rng(1)
    errors = []
    for _ in range(15):
        q_true = rng.uniform(lo, hi)
        robot_points = fk.keypoints(q_true)
        camera = (robot_points / scale) @ hp.random_rotation(rng).T + [0.05, -0.02, 0.5]
        q = _settle(retargeter, camera, side, frames=3)
        tips = [4, 8, 12, 16]
        errors.append(np.linalg.norm(fk.keypoints(q)[tips] - robot_points[tips], axis=1).max())
    assert np.median(errors) < 0.003, errors
    assert np.max(errors) < 0.006, errors


@pytest.mark.parametrize("side", ["right", "left"])
def test_open_hand_maps_near_the_open_robot_pose_and_fist_near_flexed_limits(side, right, left):
    """Human poses from the open hand model (rejshand_ros.hand_model), seen from any side."""
    retargeter = right if side == "right" else left
    limits = dict(zip(retargeter.joint_names, retargeter.joint_limits[:, 1]))
    rng = np.random.default_rng(2)
    for _ in range(3):
        rotation = hp.random_rotation(rng)
        q_open = _settle(retargeter, hp.camera_keypoints("rest", side, rotation), side)
        q_fist = _settle(retargeter, hp.camera_keypoints("fist", side, rotation), side)
        for finger in ("index", "middle", "ring"):
            names = [f"{finger}_{dof}_joint" for dof in FLEXION]
            opened = np.array([_joint(retargeter, q_open, n) for n in names])
            closed = np.array([_joint(retargeter, q_fist, n) for n in names])
            upper = np.array([limits[n] for n in names])
            assert (np.abs(opened) < 0.3).all(), (finger, opened)
            assert closed.sum() > 0.7 * upper.sum(), (finger, closed)
            assert (closed[1:] > 0.85 * upper[1:]).all() and closed[0] > 0.2, (finger, closed)
        for name in ("thumb_mcp_joint", "thumb_ip_joint"):
            assert abs(_joint(retargeter, q_open, name)) < 0.3
        assert _joint(retargeter, q_fist, "thumb_rot_joint") > \
            _joint(retargeter, q_open, "thumb_rot_joint") + 0.5


@pytest.mark.parametrize("kind", ["vector", "dexpilot", "position"])
def test_left_and_right_give_the_same_angles_for_mirror_images(kind):
    sides = {side: _retargeter(side, kind) for side in ("right", "left")}
    rng = np.random.default_rng(4)
    for pose in ("rest", "pinch", "point", hp.blend("rest", "fist", 0.6)):
        rotation = hp.random_rotation(rng)
        q_right = _settle(sides["right"], hp.camera_keypoints(pose, "right", rotation),
                          "right", frames=4)
        q_left = _settle(sides["left"], hp.camera_keypoints(pose, "left", rotation),
                         "left", frames=4)
        np.testing.assert_allclose(q_left, q_right, atol=0.02)
        # a left human hand drives a right robot hand as its mirror image
        q_mirrored = _settle(sides["right"], hp.camera_keypoints(pose, "left", rotation),
                             "left", frames=4)
        np.testing.assert_allclose(q_mirrored, q_right, atol=0.02)


def test_joint_limits_are_never_exceeded(right):
    rng = np.random.default_rng(6)
    lo, hi = right.joint_limits.T
    right.reset()
    produced = 0
    for i in range(40):
        keypoints = hp.camera_keypoints("fist", "right", hp.random_rotation(rng))
        keypoints = keypoints + rng.normal(0, 0.03 * (i % 4), keypoints.shape)  # up to garbage
        if i % 5 == 0:
            keypoints = keypoints[0] + 4.0 * (keypoints - keypoints[0])  # a giant hand
        q = right.retarget_keypoints(keypoints, "right")
        if q is not None:
            produced += 1
            assert np.isfinite(q).all() and ((q >= lo) & (q <= hi)).all()
    assert produced >= 30


@pytest.mark.parametrize("broken", ["nan_tip", "nan_wrist", "inf", "missing_rows", "zeros"])
def test_nan_or_partial_keypoints_are_rejected_with_a_warning(broken, right, caplog):
    keypoints = hp.camera_keypoints("rest", "right")
    good = right.retarget_keypoints(keypoints, "right")
    assert good is not None
    if broken == "nan_tip":
        keypoints[8] = np.nan
    elif broken == "nan_wrist":
        keypoints[0, 1] = np.nan
    elif broken == "inf":
        keypoints[12] = np.inf
    elif broken == "missing_rows":
        keypoints = keypoints[:15]
    else:
        keypoints = np.zeros((21, 3))
    before = right.stats.rejected
    state = right.seq_retargeting.last_qpos.copy()
    right._warn.last = -float("inf")  # do not let the throttle hide this test's warning
    with caplog.at_level(logging.WARNING):
        assert right.retarget_keypoints(keypoints, "right") is None
    assert right.stats.rejected == before + 1
    assert "rejected" in caplog.text
    np.testing.assert_array_equal(right.seq_retargeting.last_qpos, state)  # warm start kept


def test_prediction_with_nan_is_rejected(right):
    joints = hp.camera_keypoints("rest", "right")
    joints[3] = np.nan
    prediction = HandPrediction(uv=np.zeros((21, 2)), joints=joints, absolute=True,
                                handedness=Handedness.RIGHT)
    assert right.retarget(prediction) is None


def test_warm_start_and_reset(right):
    keypoints = hp.camera_keypoints("pinch", "right")
    right.reset()
    mid = right.joint_limits.mean(1)
    np.testing.assert_allclose(right.seq_retargeting.last_qpos, mid, atol=1e-6)
    q1 = right.retarget_keypoints(keypoints, "right")
    np.testing.assert_allclose(right.seq_retargeting.last_qpos, q1, atol=1e-5)  # next start
    resets = right.stats.resets
    right.reset()
    assert right.stats.resets == resets + 1
    np.testing.assert_allclose(right.seq_retargeting.last_qpos, mid, atol=1e-6)


def test_low_pass_filter_is_a_config_option():
    smooth = _retargeter(low_pass_alpha=0.2, normal_delta=0.0)
    assert smooth.config.low_pass_alpha == 0.2
    sharp = _retargeter(normal_delta=0.0)  # no motion regulariser: the filter alone lags
    open_kp = hp.camera_keypoints("rest", "right")
    fist_kp = hp.camera_keypoints("fist", "right")
    for r in (smooth, sharp):
        _settle(r, open_kp, "right")
    for _ in range(4):  # the fist held for a few frames
        q_smooth = smooth.retarget_keypoints(fist_kp, "right")
        q_sharp = sharp.retarget_keypoints(fist_kp, "right")
    pip = sharp.joint_names.index("middle_pip_joint")
    assert q_sharp[pip] > 1.0 and q_smooth[pip] < 0.8 * q_sharp[pip]
    assert _retargeter(low_pass_alpha=-1.0).config.low_pass_alpha is None  # off


def test_low_pass_weight_changes_at_run_time_without_a_jump():
    tuned = _retargeter(low_pass_alpha=0.2, normal_delta=0.0)
    open_kp = hp.camera_keypoints("rest", "right")
    fist_kp = hp.camera_keypoints("fist", "right")
    pip = tuned.joint_names.index("middle_pip_joint")
    settled = _settle(tuned, open_kp, "right")
    tuned.set_low_pass_alpha(0.0)  # frozen: the filter keeps its last output
    assert tuned.low_pass_alpha == 0.0
    np.testing.assert_allclose(tuned.retarget_keypoints(fist_kp, "right"), settled, atol=1e-6)
    tuned.set_low_pass_alpha(1.0)  # off: the newest solution as it is
    q_fist = tuned.retarget_keypoints(fist_kp, "right")
    assert q_fist[pip] > 1.0
    tuned.set_low_pass_alpha(None)  # back to the config file's 0.2
    assert tuned.low_pass_alpha == pytest.approx(0.2)
    q_open = tuned.retarget_keypoints(open_kp, "right")
    assert 0.7 * q_fist[pip] < q_open[pip] < q_fist[pip]  # one 0.2 step towards open
    with pytest.raises(ValueError, match="low_pass_alpha"):
        tuned.set_low_pass_alpha(1.5)
    off = _retargeter(low_pass_alpha=-1.0)
    assert off.low_pass_alpha is None
    off.set_low_pass_alpha(0.5)
    assert off.low_pass_alpha == 0.5


def test_limit_velocity():
    prev = np.array([0.0, 1.0, -1.0])
    target = np.array([1.0, 1.05, -2.0])
    np.testing.assert_allclose(limit_velocity(prev, target, 2.0, 0.1), [0.2, 1.05, -1.2])
    np.testing.assert_allclose(limit_velocity(prev, target, 0.0, 0.1), target)  # 0: no limit
    np.testing.assert_allclose(limit_velocity(None, target, 2.0, 0.1), target)
    np.testing.assert_allclose(limit_velocity(prev, target, [1.0, 1.0, 10.0], 0.1),
                               [0.1, 1.05, -2.0])


def _hand(side="right", track=1, score=0.9):
    return HandPrediction(uv=np.zeros((21, 2)), joints=hp.camera_keypoints("rest", side),
                          absolute=True, presence=score, handedness=side, track_id=track)


def test_selector_follows_one_hand_and_resets_on_loss():
    selector = HandSelector(SelectionPolicy("same", -1, 0.5, max_missed=1), "right")
    first = selector.select([_hand("left", 3), _hand("right", 7, 0.8), _hand("right", 8, 0.95)])
    assert first.hand.track_id == 8 and first.new_track
    again = selector.select([_hand("right", 7, 0.99), _hand("right", 8, 0.6)])
    assert again.hand.track_id == 8 and not again.new_track  # sticky, not the best score
    assert selector.select([_hand("right", 7)]).hand is None  # one miss tolerated
    switched = selector.select([_hand("right", 7)])
    assert switched.lost and switched.new_track and switched.hand.track_id == 7
    assert selector.select([]).hand is None
    gone = selector.select([])
    assert gone.lost and gone.hand is None and not selector.tracking


def test_selector_filters():
    low = HandSelector(SelectionPolicy("any", -1, 0.5), "right")
    assert low.select([_hand(score=0.3)]).hand is None
    unknown = _hand()
    unknown.handedness = Handedness.UNKNOWN
    assert HandSelector(SelectionPolicy("same"), "right").select([unknown]).hand is None
    assert HandSelector(SelectionPolicy("any"), "right").select([unknown]).hand is unknown
    by_id = HandSelector(SelectionPolicy("left", track_id=5), "right")
    assert by_id.select([_hand("left", 4), _hand("right", 5)]).hand is None
    assert by_id.select([_hand("left", 5)]).hand.track_id == 5
    with pytest.raises(ValueError):
        SelectionPolicy("both")


def test_optimiser_failure_gives_no_command_and_does_not_poison_the_state(monkeypatch):
    retargeter = _retargeter(low_pass_alpha=0.2)
    keypoints = hp.camera_keypoints("pinch", "right")
    good = _settle(retargeter, keypoints, "right", frames=3)
    optimizer = retargeter.seq_retargeting.optimizer
    working = optimizer.get_objective_function

    def nan_objective(*args, **kwargs):
        def objective(x, grad):
            if grad.size:
                grad[:] = np.nan
            return float("nan")
        return objective

    monkeypatch.setattr(optimizer, "get_objective_function", nan_objective)
    assert retargeter.retarget_keypoints(keypoints, "right") is None
    assert retargeter.stats.failures == 1
    monkeypatch.setattr(optimizer, "get_objective_function", working)
    again = retargeter.retarget_keypoints(keypoints, "right")
    assert again is not None and np.isfinite(again).all()
    np.testing.assert_allclose(again, good, atol=0.05)
