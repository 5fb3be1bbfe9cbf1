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
from rejshand_ros.ros.runtime import FASTDDS_PROFILE_ENV

NODE_EXE = Path(sys.prefix) / "lib" / "rejshand_ros" / "hand_pose_node"
FRAME_ID = "camera_optical_frame"


def _env(tmp_path: Path, domain: int) -> dict[str, str]:
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_LOG_DIR=str(tmp_path / "log"),
               ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", PYTHONUNBUFFERED="1")
    env.setdefault(FASTDDS_PROFILE_ENV, str(config_path("fastdds_profile.xml")))
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


@pytest.mark.ros
def test_node_with_mediapipe_publishes_the_hand_of_a_synthetic_frame(tmp_path,
                                                                     mediapipe_python):
    import rclpy
    from builtin_interfaces.msg import Time
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import Header

    from rejshand_ros.msg import HandPose, HandPoseArray
    from rejshand_ros.sources.synthetic import SyntheticSource

    domain = 160 + os.getpid() % 20
    env = _env(tmp_path, domain)
    proc = subprocess.Popen(_node_command(f"mediapipe_python:={mediapipe_python}"), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
    os.environ.setdefault(FASTDDS_PROFILE_ENV, env[FASTDDS_PROFILE_ENV])
    context = Context()
    rclpy.init(context=context, domain_id=domain)
    node = rclpy.create_node("mediapipe_test", context=context)
    try:
        image_pub = node.create_publisher(Image, "/image", 10)
        info_pub = node.create_publisher(CameraInfo, "/camera_info", 10)
        results: list = []
        node.create_subscription(HandPoseArray, "/hand_poses", results.append, 10)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        image, K, (truth,) = SyntheticSource(seed=3, num_frames=4).render(0)
        height, width = image.shape[:2]
        header = Header(stamp=Time(sec=int(time.time()), nanosec=0), frame_id=FRAME_ID)
        msg = Image(header=header, height=height, width=width, encoding="rgb8",
                    step=width * 3, data=image.tobytes())
        deadline = time.monotonic() + 90
        while not results:  # camera_info first, then the frame, until the node answers
            assert time.monotonic() < deadline, "no hand_poses:\n" + "".join(lines)[-3000:]
            assert proc.poll() is None, "node died:\n" + "".join(lines)[-3000:]
            if image_pub.get_subscription_count() and info_pub.get_subscription_count():
                info_pub.publish(_camera_info(K, width, height, header))
                executor.spin_once(timeout_sec=0.2)
                image_pub.publish(msg)
            end = time.monotonic() + 1.0
            while not results and time.monotonic() < end:
                executor.spin_once(timeout_sec=0.05)
        answer = results[-1]
        assert answer.header.frame_id == FRAME_ID and answer.header.stamp == header.stamp
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
    finally:
        node.destroy_node()
        context.try_shutdown()
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    output = "".join(lines)
    assert code == 0 and "Traceback" not in output, output[-3000:]
    assert "MediaPipe Hands 0.10.14" in output
