"""CommandController: every safety rule on hand-computed cases, without ROS."""

import subprocess
import sys

import numpy as np
import pytest

from rejshand_ros.retarget.controller import (
    DISENGAGED,
    NO_HAND,
    NO_HEARTBEAT,
    NO_MEASURED_STATE,
    RATE,
    STALE_INPUT,
    STALLED,
    CommandController,
    ControllerConfig,
)

LOWER, UPPER = np.array([-1.0, 0.0, -2.0]), np.array([1.0, 1.5, 2.0])


def _controller(**kw) -> CommandController:
    cfg = dict(max_rate=0.0, max_joint_velocity=2.0, time_from_start=0.1, hand_timeout=0.5,
               max_input_age=0.5)
    cfg.update(kw)
    ctl = CommandController(ControllerConfig(**cfg), LOWER, UPPER)
    ctl.engage(True, 0.0)
    return ctl


def test_config_refuses_bad_values():
    with pytest.raises(ValueError, match="time_from_start"):
        ControllerConfig(time_from_start=0.0)
    with pytest.raises(ValueError, match="max_joint_velocity"):
        ControllerConfig(max_joint_velocity=-1.0)
    with pytest.raises(ValueError, match="lower > upper"):
        CommandController(ControllerConfig(), np.array([1.0]), np.array([0.0]))


def test_first_command_after_start_up_ramps_from_home():
    ctl = _controller()
    np.testing.assert_allclose(ctl.home, [0.0, 0.0, 0.0])  # 0 clipped into the limits
    cmd = ctl.step(1.0, np.array([0.9, 1.2, -1.0]))
    assert cmd.ramp_from == "home" and cmd.limited
    np.testing.assert_allclose(cmd.positions, [0.2, 0.2, -0.2])  # 2 rad/s x 0.1 s
    # streaming: dt = min(time since the previous command, time_from_start)
    cmd = ctl.step(1.05, np.array([0.9, 1.2, -1.0]))
    assert cmd.ramp_from == ""
    np.testing.assert_allclose(cmd.positions, [0.3, 0.3, -0.3])
    cmd = ctl.step(2.0, np.array([0.9, 1.2, -1.0]))
    np.testing.assert_allclose(cmd.positions, [0.5, 0.5, -0.5])  # capped at 0.1 s


def test_home_is_zero_clipped_into_the_soft_limits():
    ctl = CommandController(ControllerConfig(), np.array([0.3, -1.0]), np.array([1.0, -0.5]))
    np.testing.assert_allclose(ctl.home, [0.3, -0.5])


def test_targets_are_clipped_into_the_soft_limits():
    ctl = _controller(max_joint_velocity=0.0)
    cmd = ctl.step(1.0, np.array([5.0, -3.0, 1.0]))
    np.testing.assert_allclose(cmd.positions, [1.0, 0.0, 1.0])
    assert not cmd.limited


def test_after_a_hold_the_ramp_starts_from_the_last_command_without_measured_state():
    ctl = _controller()
    for i in range(20):
        ctl.step(1.0 + 0.1 * i, np.array([0.5, 0.5, 0.5]))
    np.testing.assert_allclose(ctl.last_command, [0.5, 0.5, 0.5])
    assert ctl.step(3.1, None) is None and ctl.hold_reason == NO_HAND  # hand lost
    cmd = ctl.step(10.0, np.array([-1.0, 0.0, 0.5]))
    assert cmd.ramp_from == "last"
    np.testing.assert_allclose(cmd.positions, [0.3, 0.3, 0.5])


def test_with_measured_state_every_ramp_starts_from_the_robot_and_waits_for_it():
    ctl = _controller(use_measured_state=True, measured_state_timeout=0.2)
    target = np.array([0.9, 1.2, -1.0])
    assert ctl.step(1.0, target) is None and ctl.hold_reason == NO_MEASURED_STATE
    ctl.measured(np.array([0.8, 1.0, 0.0]), 1.0)
    cmd = ctl.step(1.1, target)
    assert cmd.ramp_from == "measured"
    np.testing.assert_allclose(cmd.positions, [0.9, 1.2, -0.2])
    # streaming continues from the last command, not from the (lagging) measurement
    ctl.measured(np.array([0.0, 0.0, 0.0]), 1.12)
    np.testing.assert_allclose(ctl.step(1.15, target).positions, [0.9, 1.2, -0.3])
    # re-engage: the robot was moved meanwhile; the ramp starts where it is now
    ctl.engage(False, 1.2)
    assert ctl.step(1.25, target) is None and ctl.hold_reason == DISENGAGED
    ctl.engage(True, 1.3)
    assert ctl.step(1.4, target) is None  # the last measurement is 0.28 s old: stale
    ctl.measured(np.array([-1.0, 0.0, 2.0]), 1.45)
    cmd = ctl.step(1.5, target)
    assert cmd.ramp_from == "measured"
    np.testing.assert_allclose(cmd.positions, [-0.8, 0.2, 1.8])
    with pytest.raises(ValueError):
        ctl.measured(np.array([np.nan, 0.0, 0.0]), 2.0)


def test_disengaged_sends_nothing():
    ctl = CommandController(ControllerConfig(max_rate=0.0), LOWER, UPPER)
    assert ctl.step(1.0, np.zeros(3)) is None and ctl.hold_reason == DISENGAGED
    ctl.engage(True, 1.0)
    assert ctl.step(1.1, np.zeros(3)) is not None


def test_old_input_is_not_followed_and_restarts_the_ramp():
    ctl = _controller(max_input_age=0.3)
    assert ctl.step(1.0, np.full(3, 0.5), input_age=0.1) is not None
    assert ctl.step(1.1, np.full(3, 0.5), input_age=0.31) is None
    assert ctl.hold_reason == STALE_INPUT
    assert ctl.step(1.2, np.full(3, 0.5), input_age=None) is None  # unknown age
    assert ctl.step(1.3, np.full(3, 0.5), input_age=0.0).ramp_from == "last"
    off = _controller(max_input_age=0.0)
    assert off.step(1.0, np.full(3, 0.5), input_age=99.0) is not None


def test_perception_stall_stops_the_stream():
    ctl = _controller(hand_timeout=0.5)
    ctl.input_received(1.0)
    assert ctl.step(1.0, np.full(3, 0.1)) is not None
    assert ctl.tick(1.4) is None
    assert ctl.tick(1.51) == STALLED and ctl.status(1.51) == STALLED
    assert ctl.tick(1.6) is None  # reported once
    ctl.input_received(2.0)
    assert ctl.step(2.0, np.full(3, 0.1)).ramp_from == "last"
    assert ctl.status(2.0) == "commanding"


def test_heartbeat_is_a_dead_man_switch():
    ctl = _controller(heartbeat_timeout=0.25)
    target = np.full(3, 0.1)
    assert ctl.step(1.0, target) is None and ctl.hold_reason == NO_HEARTBEAT
    ctl.heartbeat(True, 1.0)
    assert ctl.step(1.1, target).ramp_from == "home"
    ctl.input_received(1.2)
    assert ctl.step(1.2, target) is not None
    assert ctl.step(1.26, target) is None and ctl.hold_reason == NO_HEARTBEAT  # 0.26 s
    ctl.heartbeat(True, 1.3)
    assert ctl.step(1.3, target).ramp_from == "last"
    ctl.heartbeat(False, 1.35)  # switch released: at once
    assert ctl.status(1.35) == NO_HEARTBEAT and ctl.step(1.36, target) is None
    ctl.heartbeat(True, 1.4)
    ctl.input_received(1.4)
    assert ctl.step(1.4, target) is not None
    assert ctl.tick(1.7) == NO_HEARTBEAT  # dies between frames: the tick reports it


def test_rate_limit_drops_frames_without_breaking_the_stream():
    ctl = _controller(max_rate=10.0)
    assert ctl.step(1.0, np.full(3, 0.1)) is not None
    assert ctl.step(1.05, np.full(3, 0.1)) is None and ctl.holds[RATE] == 1
    assert ctl.streaming
    assert ctl.step(1.1, np.full(3, 0.1)).ramp_from == ""


def test_velocity_limit_holds_over_a_random_stream():
    """Whatever the targets, holds and timing: every command is within the soft limits'
    hull of reachable moves and within max_joint_velocity of its reference."""
    rng = np.random.default_rng(0)
    ctl = _controller(max_joint_velocity=3.0, use_measured_state=True,
                      measured_state_timeout=1.0)
    now, robot = 0.0, np.zeros(3)
    previous = None
    for _ in range(2000):
        now += rng.uniform(0.0, 0.08)
        event = rng.uniform()
        if event < 0.05:
            ctl.engage(bool(rng.integers(2)), now)
        if event < 0.5:
            robot = rng.uniform(LOWER, UPPER)
            ctl.measured(robot, now)
        target = None if rng.uniform() < 0.1 else rng.uniform(LOWER - 1, UPPER + 1)
        cmd = ctl.step(now, target, input_age=rng.uniform(0.0, 0.6))
        if cmd is None:
            continue
        reference = robot if cmd.ramp_from == "measured" else previous[1]
        dt = 0.1 if cmd.ramp_from else min(now - previous[0], 0.1)
        assert np.abs(cmd.positions - reference).max() <= 3.0 * dt + 1e-9
        assert cmd.ramp_from in ("", "measured")
        previous = (now, cmd.positions)
    assert ctl.commands > 100 and ctl.ramps["measured"] > 10


def test_the_controller_imports_without_ros():
    code = ("import sys; sys.modules['rclpy'] = None; "
            "import rejshand_ros.retarget.controller as c; print(c.ControllerConfig())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
