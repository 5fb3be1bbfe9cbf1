"""hand_pose_node with ``estimator:=mediapipe`` over real DDS: a synthetic frame in, its
HandPoseArray out (MediaPipe's keypoints, no mesh, absolute with camera_info); and the
refusal to start when the MediaPipe interpreter is missing. .venv-peers is created with
scripts/setup_peers.sh when missing (skipped, with the reason, only if that fails)."""

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

NODE_EXE = Path(sys.prefix) / "lib" / "rejshand_ros" / "hand_pose_node"
FRAME_ID = "camera_optical_frame"


def _env(tmp_path: Path, domain: int) -> dict[str, str]:
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_LOG_DIR=str(tmp_path / "log"),
               ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", PYTHONUNBUFFERED="1")
    prepare_environment(env)
    return env


def _node_command(*params: str) -> list[str]:
    args = [str(NODE_EXE), "--ros-args", "--params-file", str(config_path("hand_pose.yaml")),
            "-p", "estimator:=mediapipe", "-p", "qos_reliability:=reliable",
            "-p", "smoothing:=false"]
    for param in params:
        args += ["-p", param]
    return args


@pytest.mark.ros
def test_node_refuses_to_start_without_the_mediapipe_interpreter(tmp_path):
    missing = tmp_path / "no_venv" / "bin" / "python"
    result = subprocess.run(_node_command(f"mediapipe_python:={missing}"),
                            env=_env(tmp_path, 140 + os.getpid() % 20), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"the MediaPipe interpreter {missing} does not exist" in result.stderr
    assert "bash scripts/setup_peers.sh" in result.stderr
    assert "Traceback" not in result.stderr


def _camera_info(K: np.ndarray, width: int, height: int, header):
    from sensor_msgs.msg import CameraInfo

    return CameraInfo(header=header, width=width, height=height,
                      distortion_model="plumb_bob", d=[0.0] * 5, k=K.ravel().tolist(),
                      r=np.eye(3).ravel().tolist(),
                      p=np.hstack([K, np.zeros((3, 1))]).ravel().tolist())


class MediaPipeNode:
    """hand_pose_node with estimator:=mediapipe, and the test's own rclpy node."""

    def __init__(self, directory: Path, python: Path) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from sensor_msgs.msg import CameraInfo, Image

        from rejshand_ros.msg import HandPoseArray

        domain = 160 + os.getpid() % 20
        env = _env(directory, domain)
        self.proc = subprocess.Popen(
            _node_command(f"mediapipe_python:={python}", "diagnostics_period:=0.2"),
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stdout),
                         daemon=True).start()
        prepare_environment()
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain)
        self.node = rclpy.create_node("mediapipe_test", context=self.context)
        self.image_pub = self.node.create_publisher(Image, "/image", 10)
        self.info_pub = self.node.create_publisher(CameraInfo, "/camera_info", 10)
        self.results: list = []
        self.node.create_subscription(HandPoseArray, "/hand_poses", self.results.append, 10)
        self.diagnostics: dict[str, str] = {}
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._store_diag, 10)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def _store_diag(self, msg) -> None:
        for status in msg.status:
            if status.name.startswith("/hand_pose_node"):
                self.diagnostics = {kv.key: kv.value for kv in status.values}

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def spin_until(self, predicate, what: str, timeout: float = 90.0, every=None):
        """Spin until ``predicate()``; ``every()`` (if given) runs about once a second."""
        deadline, next_call = time.monotonic() + timeout, 0.0
        while time.monotonic() < deadline:
            if every is not None and time.monotonic() >= next_call:
                every()
                next_call = time.monotonic() + 1.0
            self.executor.spin_once(timeout_sec=0.05)
            result = predicate()
            if result:
                return result
            assert self.proc.poll() is None, "node died:\n" + self.output[-3000:]
        raise AssertionError(f"timed out waiting for {what}:\n{self.output[-3000:]}")

    def spin_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.05)

    def counter(self, name: str) -> int:
        return int(self.diagnostics.get(name, -1))

    def fresh_counters(self) -> dict[str, str]:
        """Diagnostics published after this call."""
        self.diagnostics = {}
        return self.spin_until(lambda: self.diagnostics, "diagnostics", timeout=30)

    def worker_pids(self) -> list[int]:
        """Child processes of the node running the MediaPipe worker script."""
        pids = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                pids += [int(p) for p in (task / "children").read_text().split()]
            except OSError:  # the thread ended meanwhile
                continue
        workers = []
        for pid in pids:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"mediapipe_hands/worker.py" in cmdline:
                workers.append(pid)
        return workers

    def close(self) -> int:
        self.node.destroy_node()
        self.context.try_shutdown()
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture(scope="module")
def mediapipe_node(tmp_path_factory, mediapipe_python):
    node = MediaPipeNode(tmp_path_factory.mktemp("mediapipe_node"), mediapipe_python)
    try:
        node.spin_until(lambda: node.image_pub.get_subscription_count()
                        and node.info_pub.get_subscription_count() and node.diagnostics,
                        "the node's subscriptions and diagnostics", timeout=120)
        yield node
    finally:
        code = node.close()
        assert code == 0 and "Traceback" not in node.output, node.output[-3000:]
        assert "MediaPipe Hands 0.10.14" in node.output


def _frame(seed: int = 3):
    from rejshand_ros.sources.synthetic import SyntheticSource

    return SyntheticSource(seed=seed, num_frames=4).render(0)


def _image_msg(image: np.ndarray, stamp_s: float):
    from builtin_interfaces.msg import Time
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    ns = int(stamp_s * 1e9)
    header = Header(stamp=Time(sec=ns // 10**9, nanosec=ns % 10**9), frame_id=FRAME_ID)
    height, width = image.shape[:2]
    return Image(header=header, height=height, width=width, encoding="rgb8",
                 step=width * 3, data=image.tobytes())


def _answered(node: MediaPipeNode, image: np.ndarray, what: str):
    """Publish ``image`` (a new stamp about once a second) until the node answers one of
    the sent frames; returns the answer."""
    sent: set[tuple[int, int]] = set()

    def publish():
        msg = _image_msg(image, time.time())
        sent.add((msg.header.stamp.sec, msg.header.stamp.nanosec))
        node.image_pub.publish(msg)

    return node.spin_until(
        lambda: next((r for r in node.results
                      if (r.header.stamp.sec, r.header.stamp.nanosec) in sent), None),
        what, every=publish)


@pytest.mark.ros
def test_node_with_mediapipe_publishes_the_hand_of_a_synthetic_frame(mediapipe_node):
    from rejshand_ros.msg import HandPose

    node = mediapipe_node
    image, K, (truth,) = _frame()
    height, width = image.shape[:2]
    msg = _image_msg(image, float(int(time.time())))
    deadline = time.monotonic() + 90
    while not any(r.header.stamp == msg.header.stamp for r in node.results):
        # camera_info first, then the frame, until the node answers
        assert time.monotonic() < deadline, "no hand_poses:\n" + node.output[-3000:]
        node.info_pub.publish(_camera_info(K, width, height, msg.header))
        node.executor.spin_once(timeout_sec=0.2)
        node.image_pub.publish(msg)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            node.executor.spin_once(timeout_sec=0.05)
    answer = next(r for r in node.results if r.header.stamp == msg.header.stamp)
    assert answer.header.frame_id == FRAME_ID
    (hand,) = answer.hands
    uv = np.asarray(hand.keypoints_2d, np.float64).reshape(21, 2)
    box = np.ptp(truth.uv, axis=0).max()
    assert np.linalg.norm(uv - truth.uv, axis=1).mean() < 0.15 * box
    assert hand.model_id == "mediapipe_hands_0.10.14" and hand.mesh_id == ""
    expected = HandPose.RIGHT if truth.handedness.value == "right" else HandPose.LEFT
    assert hand.handedness == expected and len(hand.vertices) == 0
    if hand.absolute:  # camera_info arrived before the frame: camera-frame 3D
        joints = np.asarray(hand.keypoints_3d).reshape(21, 3)
        assert abs(joints[9, 2] - truth.joints[9, 2]) < 0.25  # m, depth of the root


@pytest.mark.ros
def test_a_crashed_mediapipe_worker_is_restarted_and_the_next_frame_answered(
        mediapipe_node):
    """docs/models.md "MediaPipe estimator": a worker crash is logged, counted, and the
    worker restarted. The worker is killed while a frame is in flight: stopped (SIGSTOP)
    before the frame reaches the node, so the node is blocked sending it, then killed
    (SIGKILL)."""
    node = mediapipe_node
    image = _frame()[0]
    _answered(node, image, "a frame before the crash")  # the stream is running
    (old,) = node.worker_pids()
    before = node.fresh_counters()
    assert int(before["mediapipe_worker_restarts"]) == 0, before
    os.kill(old, signal.SIGSTOP)
    try:
        node.image_pub.publish(_image_msg(image, time.time()))
        node.spin_until(lambda: node.counter("frames_received")
                        > int(before["frames_received"]), "the frame to reach the node")
        node.spin_for(0.5)  # the node is now blocked writing the frame to the worker
    finally:
        os.kill(old, signal.SIGKILL)
    answer = _answered(node, image, "the first frame after the crash")
    assert len(answer.hands) == 1 and answer.hands[0].model_id == "mediapipe_hands_0.10.14"
    after = node.fresh_counters()
    assert int(after["mediapipe_worker_restarts"]) == 1, after
    assert int(after["frames_failed"]) == int(before["frames_failed"]) + 1, after
    assert "WorkerError: the MediaPipe worker" in after["last_error"], after
    assert "(worker restarted)" in after["last_error"], after
    assert "MediaPipe worker restarted (1 so far)" in node.output, node.output[-3000:]
    warned = [line for line in node.lines if "WARN" in line and "MediaPipe worker" in line]
    assert len(warned) == 1 and "frame dropped, pipeline error" in warned[0], warned
    assert not Path(f"/proc/{old}").exists() or old not in node.worker_pids()
    (new,) = node.worker_pids()
    assert new != old
