"""Every safety rule of retarget_node over real DDS, its timing measured (not slept).

One retarget_node process (rejshand_hand, shipped config with its soft limits; low-pass
off so that targets are exact) with a measured-state topic and a heartbeat. This test
process plays the operator (hands, heartbeat, engage) and the robot's driver (measured
joint states), records every command with its receipt time, and measures when commands
stop or start relative to the event that should cause it. The bounds are the rule's
timeout plus a latency allowance (LATENCY_S) for a loaded 2-core machine; the measured
numbers are printed (``pytest test/test_retarget_safety.py -rP``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rejshand_ros.resources import config_path
from rejshand_ros.ros.runtime import prepare_environment

NODE_EXE = Path(sys.prefix) / "lib" / "rejshand_ros" / "retarget_node"
VELOCITY = 2.0  # rad/s
TIME_FROM_START = 0.1  # s
HAND_TIMEOUT = 0.5  # s
HEARTBEAT_TIMEOUT = 0.3  # s
MAX_INPUT_AGE = 0.5  # s
LATENCY_S = 0.35  # allowance for DDS + scheduling on a loaded machine
PARAMS = dict(engaged_on_start=False, low_pass_alpha=1.0, max_joint_velocity=VELOCITY,
              time_from_start=TIME_FROM_START, hand_timeout=HAND_TIMEOUT,
              max_input_age=MAX_INPUT_AGE, measured_state_topic="measured_joint_states",
              measured_state_timeout=0.3, heartbeat_topic="deadman",
              heartbeat_timeout=HEARTBEAT_TIMEOUT, hand_poses_reliability="reliable",
              diagnostics_period=0.1, max_rate=0.0)


def _format(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return repr(value)


class Rig:
    """retarget_node + the operator and the robot driver, all in this process's node."""

    def __init__(self, tmp: Path, hand_array) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from sensor_msgs.msg import JointState
        from std_msgs.msg import Bool
        from std_srvs.srv import SetBool

        from rejshand_ros.msg import HandPoseArray
        from rejshand_ros.retarget.config import load_robot_config, robot_config_path
        from rejshand_ros.retarget.retargeter import Retargeter

        robot = load_robot_config(robot_config_path("rejshand_hand", "right"))
        retargeter = Retargeter(robot)
        self.names = list(retargeter.joint_names)
        self.soft = robot.soft_limits(self.names, retargeter.joint_limits)
        domain = 150 + os.getpid() % 20
        env = prepare_environment(dict(os.environ, ROS_DOMAIN_ID=str(domain),
                                       ROS_LOG_DIR=str(tmp / "log"),
                                       ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
                                       PYTHONUNBUFFERED="1"))
        args = [str(NODE_EXE), "--ros-args", "--params-file", str(config_path("retarget.yaml"))]
        for name, value in PARAMS.items():
            args += ["-p", f"{name}:={_format(value)}"]
        self.proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True).start()
        prepare_environment()  # this process's participant too (conftest did it already)
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain)
        self.node = rclpy.create_node("safety_test", context=self.context)
        self.hand_pub = self.node.create_publisher(HandPoseArray, "hand_poses", 10)
        self.measured_pub = self.node.create_publisher(JointState, "measured_joint_states", 10)
        self.heartbeat_pub = self.node.create_publisher(Bool, "deadman", 10)
        self.commands: list[tuple[float, tuple[int, int], np.ndarray]] = []
        self.node.create_subscription(JointState, "joint_commands", self._on_command, 100)
        self.diagnostics: dict[str, str] = {}
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)
        self.engage_client = self.node.create_client(SetBool, "engage")
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.hand_array = hand_array
        # what the operator and the robot do, replayed by spin()
        self.pose: str | None = None  # hand-model pose shown to the camera (None: no hand)
        self.input_delay = 0.0  # s subtracted from each image stamp
        self.measured: np.ndarray | None = None  # the robot's joints (None: silent driver)
        self.heartbeat: bool | None = True  # True alive, False released, None silent
        self._next = dict(hand=0.0, measured=0.0, heartbeat=0.0)

    def _on_command(self, msg) -> None:
        assert list(msg.name) == self.names
        self.commands.append((time.monotonic(), (msg.header.stamp.sec, msg.header.stamp.nanosec),
                              np.array(msg.position)))

    def _on_diag(self, msg) -> None:
        for status in msg.status:
            if "retargeting" in status.name:
                self.diagnostics = {kv.key: kv.value for kv in status.values}
                self.diagnostics["_received"] = time.monotonic()

    def spin(self, seconds: float, until=None):
        """Spin and play the operator/robot for ``seconds`` or until ``until()`` is true
        (returns the monotonic time it became true, or None)."""
        from sensor_msgs.msg import JointState
        from std_msgs.msg import Bool

        end = time.monotonic() + seconds
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= self._next["hand"]:
                self._next["hand"] = now + 0.05
                if self.pose != "silent":
                    stamp = time.time_ns() - int(self.input_delay * 1e9)
                    self.hand_pub.publish(self.hand_array(self.pose, stamp))
            if now >= self._next["measured"] and self.measured is not None:
                self._next["measured"] = now + 0.02
                state = JointState(name=self.names, position=self.measured.tolist())
                state.header.stamp = self.node.get_clock().now().to_msg()
                self.measured_pub.publish(state)
            if now >= self._next["heartbeat"] and self.heartbeat is not None:
                self._next["heartbeat"] = now + 0.05
                self.heartbeat_pub.publish(Bool(data=self.heartbeat))
            self.executor.spin_once(timeout_sec=0.005)
            assert self.proc.poll() is None, "".join(self.lines)[-3000:]
            if until is not None and until():
                return time.monotonic()
        return None

    def engage(self, on: bool) -> float:
        """Call the engage service; returns the time the answer came."""
        from std_srvs.srv import SetBool

        assert self.engage_client.wait_for_service(timeout_sec=30)
        future = self.engage_client.call_async(SetBool.Request(data=on))
        answered = self.spin(15.0, until=future.done)
        assert answered is not None and future.result().success
        return answered

    def commands_after(self, t: float) -> list:
        return [c for c in self.commands if c[0] > t]

    def wait_for_status(self, status: str, timeout: float = 10.0) -> float:
        """Time at which diagnostics first reported ``status``."""
        start = time.monotonic()
        seen = self.spin(timeout, until=lambda: self.diagnostics.get("status") == status
                         and self.diagnostics["_received"] > start)
        assert seen is not None, f"status never {status!r}: {self.diagnostics}"
        return seen

    def close(self) -> int:
        self.node.destroy_node()
        self.context.try_shutdown()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture(scope="module")
def rig(tmp_path_factory, hand_pose_array):
    rig = Rig(tmp_path_factory.mktemp("safety"), hand_pose_array)
    try:
        deadline = time.monotonic() + 60
        while not (rig.engage_client.service_is_ready()
                   and rig.hand_pub.get_subscription_count() > 0
                   and rig.measured_pub.get_subscription_count() > 0
                   and rig.heartbeat_pub.get_subscription_count() > 0):
            assert time.monotonic() < deadline, "retarget_node did not come up"
            rig.spin(0.1)
        yield rig
    finally:
        code = rig.close()
        output = "".join(rig.lines)
        assert code == 0 and "Traceback" not in output, output[-3000:]


def _engaged_and_streaming(rig: Rig, pose: str = "rest") -> None:
    """Heartbeat alive, robot at rest where the last command left it, hand in view,
    engaged; returns once commands flow."""
    rig.heartbeat, rig.pose, rig.input_delay = True, pose, 0.0
    if rig.measured is None:
        rig.measured = np.clip(np.zeros(len(rig.names)), *rig.soft)
    rig.engage(True)
    count = len(rig.commands)
    assert rig.spin(10.0, until=lambda: len(rig.commands) > count + 3) is not None


@pytest.mark.ros
def test_no_command_before_the_robot_state_is_known_then_a_ramp_from_it(rig):
    """Engaged with a hand in view but no measured state: nothing. Once the driver
    publishes, the first command is within max_joint_velocity x time_from_start of the
    measured state, and the ramp to the target takes at least distance / velocity."""
    rig.heartbeat, rig.pose, rig.measured = True, "fist", None
    engaged = rig.engage(True)
    rig.spin(1.0)
    assert rig.commands_after(engaged) == []
    assert rig.diagnostics.get("status") == "no measured state", rig.diagnostics
    lower, upper = rig.soft
    start_pose = lower + 0.1 * (upper - lower)  # near the open end of every joint
    rig.measured = start_pose
    published = time.monotonic()
    assert rig.spin(10.0, until=lambda: rig.commands_after(published)) is not None
    first_time, _, first = rig.commands_after(published)[0]
    step = VELOCITY * TIME_FROM_START
    assert np.abs(first - start_pose).max() <= step + 1e-6, first - start_pose
    assert np.abs(first - start_pose).max() > 0.5 * step  # it did move towards the fist
    # the ramp: no command moves a joint more than one step from the previous one; it
    # ends with the first command that is not velocity-limited (a small step)
    def settled():
        ramp = rig.commands_after(published)
        return len(ramp) > 2 and np.abs(ramp[-1][2] - ramp[-2][2]).max() < 0.2 * step
    assert rig.spin(15.0, until=settled) is not None
    ramp = rig.commands_after(published)
    positions = np.array([c[2] for c in ramp])
    assert np.abs(np.diff(positions, axis=0)).max() <= step + 1e-6
    distance = np.abs(positions[-1] - start_pose).max()
    took = ramp[-1][0] - first_time + TIME_FROM_START
    print(f"ramp of {distance:.2f} rad took {took:.2f} s (at least {distance / VELOCITY:.2f} s "
          f"at {VELOCITY} rad/s)")
    assert took >= distance / VELOCITY - 0.05
    assert ((positions >= lower - 1e-9) & (positions <= upper + 1e-9)).all()  # soft limits
    assert int(rig.diagnostics.get("ramps_from_measured", 0)) >= 1


@pytest.mark.ros
def test_commands_stop_when_the_hand_is_lost_and_the_next_ramp_starts_at_the_robot(rig):
    _engaged_and_streaming(rig)
    rig.pose = None  # images without hands from now on
    lost = time.monotonic()
    rig.spin(1.0)
    late = rig.commands_after(lost + LATENCY_S)
    last = max(t for t, _, _ in rig.commands) - lost
    print(f"hand lost: last command {last * 1000:.0f} ms after the first empty image")
    assert late == [], f"{len(late)} commands after the hand was lost"
    # the robot was moved meanwhile: the next command ramps from where it is now
    lower, upper = rig.soft
    rig.measured = lower + 0.9 * (upper - lower)
    rig.spin(0.2)
    back = time.monotonic()
    rig.pose = "rest"
    assert rig.spin(10.0, until=lambda: rig.commands_after(back)) is not None
    first = rig.commands_after(back)[0][2]
    assert np.abs(first - rig.measured).max() <= VELOCITY * TIME_FROM_START + 1e-6


@pytest.mark.ros
def test_perception_stall_holds_within_the_hand_timeout(rig):
    _engaged_and_streaming(rig)
    rig.pose = "silent"  # no hand_poses messages at all
    stalled = time.monotonic()
    reported = rig.wait_for_status("perception stalled")
    delay = reported - stalled
    print(f"stall reported after {delay * 1000:.0f} ms (hand_timeout {HAND_TIMEOUT * 1000:.0f})")
    assert HAND_TIMEOUT - 0.05 <= delay <= HAND_TIMEOUT + LATENCY_S + 0.1
    assert rig.commands_after(stalled + LATENCY_S) == []
    rig.pose = "rest"
    rig.wait_for_status("commanding")


@pytest.mark.ros
def test_input_older_than_the_limit_is_not_followed(rig):
    _engaged_and_streaming(rig)
    rig.input_delay = MAX_INPUT_AGE + 0.5  # images stamped 1 s ago
    old = time.monotonic()
    rig.spin(1.0)
    assert rig.commands_after(old + LATENCY_S) == []
    assert int(rig.diagnostics.get("held_input_too_old", 0)) > 5, rig.diagnostics
    rig.input_delay = 0.0
    fresh = time.monotonic()
    resumed = rig.spin(10.0, until=lambda: rig.commands_after(fresh))
    print(f"fresh input: commands again after {(resumed - fresh) * 1000:.0f} ms")
    assert resumed - fresh <= 1.0


@pytest.mark.ros
def test_heartbeat_is_a_dead_man_switch(rig):
    _engaged_and_streaming(rig)
    rig.heartbeat = None  # the heartbeat dies; hands keep coming
    died = time.monotonic()
    rig.spin(1.5)
    last = max(t for t, _, _ in rig.commands) - died
    print(f"heartbeat silent: last command {last * 1000:.0f} ms after the last heartbeat "
          f"(timeout {HEARTBEAT_TIMEOUT * 1000:.0f} ms)")
    assert 0.05 <= last <= HEARTBEAT_TIMEOUT + LATENCY_S
    assert rig.diagnostics.get("status") == "no heartbeat"
    rig.heartbeat = True
    alive = time.monotonic()
    assert rig.spin(10.0, until=lambda: rig.commands_after(alive)) is not None
    first = rig.commands_after(alive)[0][2]
    assert np.abs(first - rig.measured).max() <= VELOCITY * TIME_FROM_START + 1e-6
    rig.heartbeat = False  # released: stops at once
    released = time.monotonic()
    rig.spin(1.0)
    last = max(t for t, _, _ in rig.commands) - released
    print(f"heartbeat released: last command {last * 1000:.0f} ms after the release")
    assert last <= LATENCY_S
    rig.heartbeat = True


@pytest.mark.ros
def test_disengage_stops_at_once(rig):
    _engaged_and_streaming(rig)
    answered = rig.engage(False)
    rig.spin(1.0)
    assert rig.commands_after(answered + LATENCY_S) == []
    assert rig.diagnostics.get("status") == "disengaged"
