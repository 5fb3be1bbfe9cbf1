"""Image sources: camera_info files, folder / video / camera / synthetic sources, and
image_source_node over real DDS (Image + camera_info + hand_poses_gt with one stamp)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from rejshand_ros.resources import config_path
from rejshand_ros.sources import CalibrationError, CameraCalibration, SourceError, open_source

NODE_EXE = Path(sys.prefix) / "lib" / "rejshand_ros" / "image_source_node"
K = np.array([[300.0, 0, 159.5], [0, 300.0, 119.5], [0, 0, 1]])


# -- camera_info files ---------------------------------------------------------------------
def test_camera_info_yaml_round_trip(tmp_path):
    calib = CameraCalibration(320, 240, K, [0.1, -0.05, 0.001, 0.002, 0.0], camera_name="cam")
    path = tmp_path / "cam.yaml"
    path.write_text(calib.to_yaml())
    doc = yaml.safe_load(path.read_text())  # the ROS camera_calibration_parsers layout
    assert doc["camera_matrix"] == {"rows": 3, "cols": 3, "data": K.ravel().tolist()}
    assert doc["projection_matrix"]["cols"] == 4 and doc["distortion_model"] == "plumb_bob"
    back = CameraCalibration.load(path)
    assert (back.width, back.height, back.camera_name) == (320, 240, "cam")
    np.testing.assert_array_equal(back.K, K)
    np.testing.assert_array_equal(back.D, calib.D)
    np.testing.assert_array_equal(back.P[:, :3], K)


def test_camera_info_errors_name_the_file(tmp_path):
    with pytest.raises(CalibrationError, match="nope.yaml"):
        CameraCalibration.load(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("image_width: 320\nimage_height: 240\ncamera_matrix: {data: [1, 2, 3]}\n")
    with pytest.raises(CalibrationError, match="bad.yaml.*camera_matrix"):
        CameraCalibration.load(bad)
    with pytest.raises(CalibrationError, match="640x480"):
        CameraCalibration.from_K(K, 320, 240).check_size(640, 480)


# -- OpenCV sources ------------------------------------------------------------------------
def _write_images(folder: Path, count: int, size=(64, 48)) -> list[np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    images = []
    for i in range(count):
        image = np.full((size[1], size[0], 3), 40 * i, np.uint8)
        image[..., 0] = 200  # red channel marks RGB order
        cv2.imwrite(str(folder / f"img_{i:02d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        images.append(image)
    return images


def test_folder_source_reads_in_order_loops_and_names_bad_files(tmp_path):
    images = _write_images(tmp_path / "frames", 3)
    (tmp_path / "frames" / "notes.txt").write_text("not an image")
    source = open_source("folder", str(tmp_path / "frames"), loop=True)
    frames = [source.read() for _ in range(4)]
    for frame, expected in zip(frames, images + images[:1]):
        np.testing.assert_array_equal(frame.image, expected)
    assert [f.index for f in frames] == [0, 1, 2, 3] and frames[3].name == "img_00.png"
    once = open_source("folder", str(tmp_path / "frames"), loop=False)
    assert len(list(once)) == 3
    (tmp_path / "frames" / "img_99.png").write_bytes(b"garbage")
    broken = open_source("folder", str(tmp_path / "frames"), loop=False)
    with pytest.raises(SourceError, match="img_99.png"):
        list(broken)
    with pytest.raises(SourceError, match="image folder not found: .*missing"):
        open_source("folder", str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no image files"):
        open_source("folder", str(tmp_path / "empty"))


def test_video_source_and_missing_devices(tmp_path):
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 12.0, (64, 48))
    for i in range(5):
        writer.write(np.full((48, 64, 3), 50 * i, np.uint8))
    writer.release()
    once = open_source("video", str(path), loop=False)
    assert once.native_rate == pytest.approx(12.0)
    frames = list(once)
    assert len(frames) == 5 and frames[0].image.shape == (48, 64, 3)
    looping = open_source("video", str(path), loop=True)
    assert len([looping.read() for _ in range(12)]) == 12
    looping.close()
    with pytest.raises(SourceError, match="video file not found"):
        open_source("video", str(tmp_path / "none.mp4"))
    (tmp_path / "fake.mp4").write_bytes(b"not a video")
    with pytest.raises(SourceError, match="fake.mp4"):
        open_source("video", str(tmp_path / "fake.mp4"))
    with pytest.raises(SourceError, match="camera '37'"):
        open_source("camera", "37")


# -- synthetic -----------------------------------------------------------------------------
def test_synthetic_sequence_is_deterministic_periodic_smooth_and_exact():
    from rejshand_ros.geometry.camera import project

    a = open_source("synthetic", seed=3, width=160, height=120, num_frames=16, num_hands=1)
    b = open_source("synthetic", seed=3, width=160, height=120, num_frames=16, num_hands=1)
    frames = [a.read() for _ in range(17)]
    np.testing.assert_array_equal(frames[0].image, b.read().image)
    np.testing.assert_array_equal(frames[16].image, frames[0].image)  # seamless loop
    centers = []
    for frame in frames:
        (hand,) = frame.ground_truth
        assert hand.absolute and hand.vertices.shape == (778, 3) and hand.track_id == 1
        np.testing.assert_allclose(project(hand.joints.astype(np.float64), frame.K), hand.uv,
                                   atol=1e-3)  # 2D truth = projection of the 3D truth
        centers.append(hand.uv.mean(0))
    steps = np.linalg.norm(np.diff(centers, axis=0), axis=1)
    assert steps.max() < 0.1 * 160 and steps.max() > 0.5  # it moves, smoothly
    random = open_source("synthetic", seed=3, width=160, height=120, num_frames=4,
                         motion="random", num_hands=2)
    assert [len(random.read().ground_truth) for _ in range(2)] == [2, 2]


def test_config_checks_location_and_encoding():
    from rejshand_ros.ros.image_source_params import ImageSourceConfig

    with pytest.raises(ValueError, match="location"):
        ImageSourceConfig(source="video")
    with pytest.raises(ValueError, match="encoding"):
        ImageSourceConfig(encoding="yuv422")


def test_node_help_and_clean_errors(ros_env):
    result = subprocess.run([str(NODE_EXE), "--help"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and "hand_poses_gt" in result.stdout
    result = subprocess.run([str(NODE_EXE), "--ros-args", "-p", "source:=video", "-p",
                             "location:=/no/such/clip.mp4"], env=ros_env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "video file not found: /no/such/clip.mp4" in result.stderr
    assert "Traceback" not in result.stderr


# -- the node over DDS ---------------------------------------------------------------------
@pytest.mark.ros
def test_synthetic_source_publishes_image_camera_info_and_truth_with_one_stamp(
        ros_env, monkeypatch, tmp_path):
    """The node runs in a namespace and takes its settings from a YAML file written like
    the shipped one (under ``/**``), so the namespaced node must read it."""
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, CompressedImage, Image

    from rejshand_ros.geometry.camera import project
    from rejshand_ros.imaging.codecs import compressed_to_rgb, raw_to_rgb
    from rejshand_ros.msg import HandPoseArray
    from rejshand_ros.ros.runtime import prepare_environment, ros_session

    for key in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_LOG_DIR"):
        monkeypatch.setenv(key, ros_env[key])
    prepare_environment()
    document = yaml.safe_load(config_path("image_source.yaml").read_text())
    document["/**"]["ros__parameters"].update(
        width=320, height=240, rate=15.0, synthetic_frames=12, synthetic_hands=2,
        synthetic_seed=5, compressed_format="png", frame_id="test_optical_frame")
    params = tmp_path / "camera_ns.yaml"
    params.write_text(yaml.safe_dump(document))
    proc = subprocess.Popen(
        [str(NODE_EXE), "--ros-args", "-r", "__ns:=/camera_ns", "--params-file", str(params)],
        env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    got: dict[str, dict[int, object]] = defaultdict(dict)
    try:
        with ros_session():
            node = rclpy.create_node("source_test", namespace="/camera_ns")

            def keep(key):
                return lambda msg: got[key].__setitem__(
                    msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec, msg)

            node.create_subscription(Image, "image", keep("image"), qos_profile_sensor_data)
            node.create_subscription(CompressedImage, "image/compressed", keep("png"),
                                     qos_profile_sensor_data)
            node.create_subscription(CameraInfo, "camera_info", keep("info"),
                                     qos_profile_sensor_data)
            node.create_subscription(HandPoseArray, "hand_poses_gt", keep("truth"), 10)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(got["truth"]) < 15:
                rclpy.spin_once(node, timeout_sec=0.05)
                assert proc.poll() is None, proc.stdout.read()[-3000:]
            node.destroy_node()
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out[-3000:]
    assert "Traceback" not in out
    common = set(got["image"]) & set(got["info"]) & set(got["truth"]) & set(got["png"])
    assert len(got["truth"]) >= 15 and len(common) >= 10  # best effort may lose a few
    for stamp in sorted(common):
        image, info, truth = got["image"][stamp], got["info"][stamp], got["truth"][stamp]
        for msg in (image, info, truth, got["png"][stamp]):
            assert msg.header.frame_id == "test_optical_frame"
        assert (image.width, image.height, image.encoding, image.step) == (320, 240, "rgb8", 960)
        rgb = raw_to_rgb(image.height, image.width, image.encoding, image.step, image.data)
        np.testing.assert_array_equal(rgb, compressed_to_rgb(got["png"][stamp].data))
        assert (info.width, info.height) == (320, 240)
        K = np.asarray(info.k).reshape(3, 3)
        assert len(truth.hands) == 2 and truth.hands[0].track_id != truth.hands[1].track_id
        for hand in truth.hands:
            assert hand.absolute and hand.header.stamp == image.header.stamp
            joints = np.asarray(hand.keypoints_3d, dtype=np.float64).reshape(21, 3)
            np.testing.assert_allclose(project(joints, K),
                                       np.asarray(hand.keypoints_2d).reshape(21, 2), atol=0.01)
            assert len(hand.vertices) == 778 * 3
    stamps = sorted(got["truth"])
    periods = np.diff(stamps) * 1e-9
    assert 0.03 < np.median(periods) < 0.12  # ~15 Hz


@pytest.mark.ros
def test_ctrl_c_while_publishing_is_a_clean_exit(ros_env):
    """rclpy shuts the context down from its signal thread, so Ctrl-C can land while a
    timer callback is publishing; that must still exit 0 without a traceback. The race is
    near-certain when the process starts with SIGINT ignored (as under a non-interactive
    shell's background job or a CI runner: Python then raises no KeyboardInterrupt and only
    rclpy's handler runs), so that is how four busy publishers (240 Hz, 640x480 + JPEG)
    are started here, then interrupted at staggered times."""
    procs = [subprocess.Popen(
        [str(NODE_EXE), "--ros-args", "-p", "source:=synthetic", "-p", "width:=640", "-p",
         "height:=480", "-p", "synthetic_frames:=3", "-p", "rate:=240.0", "-p",
         "compressed_format:=jpeg"], env=ros_env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) for _ in range(4)]
    outputs = []
    try:
        for proc in procs:  # wait until each one publishes
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if "publishing synthetic" in line:
                    break
            assert proc.poll() is None, "".join(lines)[-3000:]
            outputs.append(lines)
    finally:
        for i, proc in enumerate(procs):  # one Ctrl-C each (a second one may interrupt
            time.sleep(0.3 + 0.17 * i)    # the clean-up, as it does for any program)
            proc.send_signal(signal.SIGINT)
    for proc, lines in zip(procs, outputs):
        out = "".join(lines) + proc.communicate(timeout=30)[0]
        assert proc.returncode == 0, out[-3000:]
        assert "Traceback" not in out
