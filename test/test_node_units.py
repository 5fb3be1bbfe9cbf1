"""hand_pose_node's pure parts, tested without spinning a node: parameters, markers, TF,
overlay, diagnostics, rate-limited warnings, the frame slot, message conversions and the
start-up checks (plus one real start-up refusal as a process)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rejshand_ros.perception.frame_stream import FrameSlot, StreamMonitor
from rejshand_ros.geometry.keypoints import FINGER_COLORS_RGB, SKELETON_EDGES
from rejshand_ros.imaging.overlay import draw_hands, hand_label
from rejshand_ros.perception.hand_prediction import Handedness, HandPrediction
from rejshand_ros.perception.predictor import CameraModel
from rejshand_ros.ros.node_params import PARAMETERS, HandPoseNodeConfig
from rejshand_ros.ros.param_specs import descriptor
from rejshand_ros.ros.runtime import prepare_environment
from rejshand_ros.ros.throttled_log import ThrottledWarnings, problem_kind

K = np.array([[300.0, 0, 159.5], [0, 300.0, 119.5], [0, 0, 1]])


def _hand(track_id=1, handedness=Handedness.RIGHT, absolute=True, presence=0.9, seed=0,
          vertices=True):
    """A plausible right hand ~0.5 m in front of the camera (FreiHAND order)."""
    from rejshand_ros.hand_model import HandModel, named_pose

    verts, joints = HandModel()(named_pose("rest"))
    flip = np.array([1.0, -1.0, -1.0])
    offset = np.array([0.02 * seed, 0.0, 0.5])
    joints, verts = joints * flip + offset, verts * flip + offset
    uv = joints[:, :2] / joints[:, 2:] * 300.0 + [159.5, 119.5]
    return HandPrediction(uv=uv, joints=joints, vertices=verts if vertices else None,
                          absolute=absolute, presence=presence, handedness=handedness,
                          handedness_score=0.8, roi=(100.0, 50.0, 120.0, 120.0),
                          mesh_id="m", model_id="test", track_id=track_id)


# ----------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("changes, match", [
    (dict(device="gpu"), "device"), (dict(image_transport="theora"), "image_transport"),
    (dict(qos_reliability="sometimes"), "qos_reliability"), (dict(max_hands=0), "max_hands"),
    (dict(presence_threshold=1.5), "presence_threshold"), (dict(hand_size=-0.1), "hand_size"),
    (dict(smoothing_min_cutoff=0.0), "smoothing_min_cutoff"),
    (dict(precision="fp16", device="cpu"), "fp16"),
    (dict(backend="onnxruntime", precision="bf16"), "onnxruntime"),
])
def test_config_rejects_values_outside_choices_and_ranges(changes, match):
    with pytest.raises(ValueError, match=match):
        HandPoseNodeConfig(**changes)


def test_config_rejects_unknown_parameters():
    with pytest.raises(ValueError, match="max_hand"):
        HandPoseNodeConfig.from_values({"max_hand": 2})


def test_config_maps_onto_the_core_configs():
    cfg = HandPoseNodeConfig(model_path="/m.safetensors", device="cpu", backend="eager",
                             max_hands=3, presence_threshold=0.2, smoothing=False,
                             smoothing_beta=0.5, hand_size=0.09, detect_interval=4,
                             detector="rejshand", detector_model_path="/d.safetensors",
                             detector_score_threshold=0.4)
    predictor = cfg.predictor_config()
    assert (predictor.model_path, predictor.device, predictor.hand_size) == \
        ("/m.safetensors", "cpu", 0.09)
    assert HandPoseNodeConfig().predictor_config().model_path is None  # shipped model
    assert HandPoseNodeConfig().predictor_config().hand_size is None
    pipeline = cfg.pipeline_config()
    assert pipeline.tracker.max_hands == 3 and pipeline.tracker.presence_threshold == 0.2
    assert not pipeline.smoothing.enabled and pipeline.smoothing.beta == 0.5
    assert pipeline.detect_interval == 4
    settings = cfg.detector_settings("cpu")
    assert (settings.kind, settings.model_path, settings.score_threshold) == \
        ("rejshand", "/d.safetensors", 0.4)
    assert settings.max_hands == 3 and settings.backend == "eager"
    assert HandPoseNodeConfig().detector_path().endswith("palm_detection_full.tflite")
    assert HandPoseNodeConfig(detector="rejshand").detector_path().endswith(".safetensors")


def test_descriptors_carry_descriptions_and_ranges():
    by_name = {spec.name: spec for spec in PARAMETERS}
    max_hands = descriptor(by_name["max_hands"])
    assert not max_hands.read_only and max_hands.description  # tunable at run time
    assert descriptor(by_name["model_path"]).read_only
    assert (max_hands.integer_range[0].from_value, max_hands.integer_range[0].to_value) == \
        (1, 16)
    threshold = descriptor(by_name["presence_threshold"])
    assert threshold.floating_point_range[0].to_value == 1.0
    assert "best_effort" in descriptor(by_name["qos_reliability"]).additional_constraints


@pytest.mark.ros
def test_ros_refuses_out_of_range_overrides(tmp_path, monkeypatch):
    import rclpy
    from rclpy.context import Context
    from rclpy.exceptions import InvalidParameterValueException
    from rclpy.parameter import Parameter

    from rejshand_ros.ros.node_params import declare_parameters

    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path))
    context = Context()
    rclpy.init(context=context, domain_id=231)
    try:
        for name, value in (("max_hands", 0), ("detector_score_threshold", 2.0)):
            node = rclpy.create_node("params_test", context=context, parameter_overrides=[
                Parameter(name, value=value)])
            with pytest.raises(InvalidParameterValueException):
                declare_parameters(node)
            node.destroy_node()
        node = rclpy.create_node("params_test", context=context, parameter_overrides=[
            Parameter("image_transport", value="theora")])
        with pytest.raises(ValueError, match="image_transport"):
            declare_parameters(node)
        node.destroy_node()
        node = rclpy.create_node("params_test", context=context)
        assert declare_parameters(node) == HandPoseNodeConfig()
        node.destroy_node()
    finally:
        context.try_shutdown()


# -------------------------------------------------------------------------------- markers
def test_markers_keep_ids_per_track_and_carry_the_image_header():
    from std_msgs.msg import Header
    from visualization_msgs.msg import Marker

    from rejshand_ros.ros.markers import frame_markers

    header = Header(frame_id="cam")
    header.stamp.sec, header.stamp.nanosec = 12, 34
    hands = [_hand(3), _hand(7, Handedness.LEFT, seed=1)]
    faces = np.array([[0, 1, 2], [2, 3, 4]])
    first, shown = frame_markers(hands, header, set(), camera=CameraModel(K), faces=faces,
                                 mesh_tracks={3})
    second, shown2 = frame_markers(hands, header, shown, camera=CameraModel(K), faces=faces)
    assert shown == shown2 == {3, 7}
    ids = lambda array: sorted((m.ns, m.id) for m in array.markers)  # noqa: E731
    assert ids(first) == [("hand_3", 0), ("hand_3", 1), ("hand_3", 2), ("hand_3", 3),
                          ("hand_7", 0), ("hand_7", 1), ("hand_7", 2)]
    assert ids(second) == [i for i in ids(first) if i != ("hand_3", 3)]
    for marker in first.markers:
        assert marker.header.frame_id == "cam"
        assert (marker.header.stamp.sec, marker.header.stamp.nanosec) == (12, 34)
        assert marker.action == Marker.ADD and marker.pose.orientation.w == 1.0
    by_id = {(m.ns, m.id): m for m in first.markers}
    joints = by_id[("hand_3", 0)]
    assert joints.type == Marker.SPHERE_LIST and len(joints.points) == len(joints.colors) == 21
    np.testing.assert_allclose([joints.points[9].x, joints.points[9].y, joints.points[9].z],
                               hands[0].joints[9], atol=1e-6)
    bones = by_id[("hand_3", 1)]
    assert bones.type == Marker.LINE_LIST and len(bones.points) == len(bones.colors) == 40
    child = SKELETON_EDGES[0][1]  # first bone: the thumb
    assert abs(bones.colors[0].r - FINGER_COLORS_RGB["thumb"][0] / 255) < 1e-6 and child == 1
    label = by_id[("hand_7", 2)]
    assert label.type == Marker.TEXT_VIEW_FACING and label.text == "left 0.80 #7"
    mesh = by_id[("hand_3", 3)]
    assert mesh.type == Marker.TRIANGLE_LIST and len(mesh.points) == faces.size


def test_vanished_tracks_get_delete_markers_for_every_id():
    from std_msgs.msg import Header
    from visualization_msgs.msg import Marker

    from rejshand_ros.ros.markers import MARKER_IDS, frame_markers

    header = Header(frame_id="cam")
    array, shown = frame_markers([_hand(5)], header, {4, 5, 9})
    deleted = sorted((m.ns, m.id) for m in array.markers if m.action == Marker.DELETE)
    assert deleted == [(f"hand_{t}", i) for t in (4, 9) for i in MARKER_IDS]
    assert shown == {5}
    array, shown = frame_markers([], header, shown)
    assert {(m.ns, m.action) for m in array.markers} == {("hand_5", Marker.DELETE)}
    assert shown == set()


def test_root_relative_hands_are_drawn_along_their_ray():
    from rejshand_ros.ros.markers import display_offset

    hand = _hand(absolute=False)
    hand.joints = hand.joints - hand.joints[9]
    offset = display_offset(hand, CameraModel(K), 0.5)
    point = hand.joints[9] + offset
    np.testing.assert_allclose(point[:2] / point[2] * 300 + [159.5, 119.5], hand.uv[9],
                               atol=1e-3)
    assert point[2] == pytest.approx(0.5)
    assert not display_offset(_hand(), CameraModel(K), 0.5).any()  # absolute: as is


def test_mesh_rate_limiter():
    from rejshand_ros.ros.markers import MeshRateLimiter

    limiter = MeshRateLimiter(2.0)
    assert limiter.due([1, 2], 0.0) == {1, 2}
    assert limiter.due([1, 2], 0.3) == set()
    assert limiter.due([1, 2, 3], 0.5) == {1, 2, 3}
    assert limiter.lifetime_s == pytest.approx(1.0)
    assert MeshRateLimiter(0.0).due([1], 10.0) == set()


# ---------------------------------------------------------------------------------- TF
def test_quaternion_matches_the_rotation():
    from scipy.spatial.transform import Rotation

    from rejshand_ros.ros.tf_frames import rotation_to_quaternion

    for rotation in Rotation.random(50, random_state=0):
        q = rotation_to_quaternion(rotation.as_matrix())
        np.testing.assert_allclose(Rotation.from_quat(q).as_matrix(), rotation.as_matrix(),
                                   atol=1e-9)
        assert q[3] >= 0
    np.testing.assert_allclose(rotation_to_quaternion(np.diag([1.0, -1.0, -1.0])),
                               [1, 0, 0, 0], atol=1e-12)


def test_wrist_transforms_one_per_side_for_absolute_hands():
    from std_msgs.msg import Header

    from rejshand_ros.retarget.wrist_frame import wrist_rotation
    from rejshand_ros.ros.tf_frames import wrist_transforms

    header = Header(frame_id="cam")
    weak, strong = _hand(1, presence=0.6), _hand(2, presence=0.9, seed=1)
    degenerate = _hand(4, Handedness.LEFT)
    degenerate.joints[:] = 0.3
    transforms = wrist_transforms([weak, strong, degenerate], header, "hand")
    assert [t.child_frame_id for t in transforms] == ["hand_right_wrist"]
    t = transforms[0]
    assert t.header.frame_id == "cam"
    translation = t.transform.translation
    np.testing.assert_allclose([translation.x, translation.y, translation.z],
                               strong.joints[0], atol=1e-6)
    from scipy.spatial.transform import Rotation

    q = t.transform.rotation
    np.testing.assert_allclose(Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix(),
                               wrist_rotation(strong.joints, "right"), atol=1e-6)
    names = [t.child_frame_id for t in wrist_transforms([_hand(5, Handedness.LEFT)],
                                                        header, "")]
    assert names == ["left_wrist"]


def test_root_relative_wrists_keep_their_orientation_without_camera_info():
    """No camera_info: the wrist relative to joint 9, under the image frame shifted by
    the display offset (where the markers draw the hand), or under tf_relative_frame."""
    from scipy.spatial.transform import Rotation
    from std_msgs.msg import Header

    from rejshand_ros.retarget.wrist_frame import wrist_rotation
    from rejshand_ros.ros.tf_frames import wrist_transforms

    header = Header(frame_id="cam")
    relative = _hand(3, Handedness.LEFT, absolute=False)
    relative.joints = relative.joints - relative.joints[9]
    offset = np.array([0.01, -0.02, 0.5])
    (shown,) = wrist_transforms([relative], header, "hand", offsets=[offset])
    (placed,) = wrist_transforms([relative], header, "hand", relative_frame="hand_root")
    assert shown.child_frame_id == placed.child_frame_id == "hand_left_wrist"
    assert (shown.header.frame_id, placed.header.frame_id) == ("cam", "hand_root")
    for t, expected in ((shown, relative.joints[0] + offset), (placed, relative.joints[0])):
        translation = t.transform.translation
        np.testing.assert_allclose([translation.x, translation.y, translation.z], expected,
                                   atol=1e-6)
        q = t.transform.rotation
        np.testing.assert_allclose(Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix(),
                                   wrist_rotation(relative.joints, "left"), atol=1e-6)


def test_static_transform_from_xyz_rpy():
    from scipy.spatial.transform import Rotation

    from rejshand_ros.ros.retarget_params import camera_to_robot_pose
    from rejshand_ros.ros.tf_frames import static_transform

    pose = camera_to_robot_pose("0.1 -0.2 0.5 0.3 -1.0 2.0")
    t = static_transform("cam", "base_link", pose, static_stamp())
    assert (t.header.frame_id, t.child_frame_id) == ("cam", "base_link")
    assert (t.transform.translation.x, t.transform.translation.y,
            t.transform.translation.z) == pytest.approx((0.1, -0.2, 0.5))
    q = t.transform.rotation
    np.testing.assert_allclose(Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix(),
                               Rotation.from_euler("xyz", [0.3, -1.0, 2.0]).as_matrix(),
                               atol=1e-9)  # fixed axes x, y, z = URDF rpy
    assert camera_to_robot_pose("") is None
    for bad in ("1 2 3", "a b c d e f", "1 2 3 4 5 nan"):
        with pytest.raises(ValueError, match="camera_to_robot"):
            camera_to_robot_pose(bad)


def static_stamp():
    from builtin_interfaces.msg import Time

    return Time(sec=3, nanosec=4)


# ------------------------------------------------------------------------------ overlay
def test_overlay_draws_skeleton_box_and_label_on_a_copy():
    image = np.zeros((240, 320, 3), np.uint8)
    hand = _hand(4)
    out = draw_hands(image, [hand], thickness=3)
    assert not image.any()  # input untouched
    assert out.shape == image.shape and out.dtype == np.uint8
    u, v = np.round((hand.uv[5] + hand.uv[6]) / 2).astype(int)  # index finger bone
    patch = out[v - 1:v + 2, u - 1:u + 2].reshape(-1, 3)
    assert (np.abs(patch.astype(int) - FINGER_COLORS_RGB["index"]).sum(1) < 60).any()
    assert out[50:52, 100:220].any()  # the box's top edge
    assert hand_label(hand) == "#4 R 0.90"


def test_overlay_survives_nan_and_far_away_keypoints():
    hand = _hand()
    hand.uv[3] = np.nan
    hand.uv[7] = [1e12, -1e12]
    hand.roi = (float("nan"), 0.0, 10.0, 10.0)
    out = draw_hands(np.zeros((20, 30, 3), np.uint8), [hand, _hand(seed=1)])
    assert out.shape == (20, 30, 3)
    with pytest.raises(ValueError):
        draw_hands(np.zeros((20, 30), np.uint8), [])


# -------------------------------------------------------------------------- diagnostics
def test_stats_snapshot_counts_rates_and_latencies():
    from builtin_interfaces.msg import Time
    from diagnostic_msgs.msg import DiagnosticStatus

    from rejshand_ros.ros.diagnostics import (NodeStats, diagnostic_array, stats_status,
                                              status_values)

    stats = NodeStats()
    assert stats_status(stats.snapshot(0.0), 2.0)[1] == "no images received yet"
    for i in range(10):
        stats.received(1.0 + 0.1 * i, overwrote=i % 2 == 1)
    for i in range(5):
        stats.processed({"predict": 10.0 + i, "total": 20.0, "frame_age": float("nan")}, 2)
    stats.failed("image dropped: empty image (0x0)")
    stats.count("camera_info_rejected")
    values = stats.snapshot(2.0)
    assert values["frames_received"] == 10 and values["frames_dropped"] == 5
    assert values["frames_processed"] == 5 and values["frames_failed"] == 1
    assert values["camera_info_rejected"] == 1 and values["hands"] == 2
    assert values["input_rate_hz"] == pytest.approx(10 / 2.0)
    assert values["predict_ms_median"] == 12.0 and values["predict_ms_max"] == 14.0
    assert np.isnan(values["frame_age_ms_median"])
    level, message = stats_status(values, 2.0)
    assert level == DiagnosticStatus.WARN and "empty image" in message
    stats.processed({"predict": 1.0}, 1)
    values = stats.snapshot(3.0)
    assert values["output_rate_hz"] == pytest.approx(1.0)
    assert stats_status(values, 2.0)[0] == DiagnosticStatus.OK
    assert stats_status(stats.snapshot(10.0), 2.0)[1].startswith("no images for")
    array = diagnostic_array("/n: hand pose", "cpu", DiagnosticStatus.OK, "ok",
                             dict(values, device="cpu"), Time(sec=5))
    status = array.status[0]
    shown = status_values(status)
    assert status.name == "/n: hand pose" and status.hardware_id == "cpu"
    assert shown["frames_received"] == "10" and shown["device"] == "cpu"
    assert shown["input_rate_hz"] == "0.000" and array.header.stamp.sec == 5


def test_stats_are_thread_safe():
    from rejshand_ros.ros.diagnostics import NodeStats

    stats = NodeStats()

    def work():
        for _ in range(2000):
            stats.received(0.0, True)
            stats.count("track_resets")
    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    values = stats.snapshot(1.0)
    assert values["frames_received"] == values["frames_dropped"] == values["track_resets"] \
        == 8000


# ------------------------------------------------------------------ rate-limited warnings
def test_warnings_are_rate_limited_per_kind_of_problem():
    logged, now = [], [0.0]
    warn = ThrottledWarnings(logged.append, period_s=5.0, clock=lambda: now[0]).warn
    assert warn("data has 10 bytes, expected 20")
    assert not warn("data has 11 bytes, expected 22")  # same kind
    assert warn("unsupported encoding '16UC1'")  # another kind is not held back
    now[0] = 6.0
    assert warn("data has 12 bytes, expected 24")
    assert logged == ["data has 10 bytes, expected 20", "unsupported encoding '16UC1'",
                      "data has 12 bytes, expected 24 (1 more like this in the last 5 s)"]
    assert problem_kind("fx=-300.0, fy=12") == "fx=-#, fy=#"


def test_warning_kinds_are_bounded():
    limiter = ThrottledWarnings(lambda message: None, max_kinds=8)
    for i in range(100):
        limiter.warn(f"kind {chr(65 + i % 26)}{chr(65 + i // 26)}")
    assert len(limiter._last) <= 8


# ---------------------------------------------------------------------- frame slot/stream
def test_frame_slot_keeps_only_the_newest_frame():
    slot: FrameSlot[int] = FrameSlot()
    assert slot.put(1) is False
    assert slot.put(2) is True  # 1 was dropped
    assert slot.take(0.0) == 2
    assert slot.take(0.01) is None
    slot.put(3)
    assert slot.put(4, merge=lambda old, new: old * 10 + new) is True
    assert slot.take() == 34
    slot.close()
    assert slot.take() is None and slot.closed


def test_slow_consumer_sees_fresh_frames_and_every_frame_is_accounted_for():
    slot: FrameSlot[int] = FrameSlot()
    taken, dropped = [], 0

    def consume():
        while True:
            item = slot.take(1.0)
            if item is None:
                return
            taken.append(item)
            time.sleep(0.005)  # slower than the producer
    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(300):
        dropped += slot.put(i)
        time.sleep(0.0005)
    time.sleep(0.05)
    slot.close()
    consumer.join()
    assert taken == sorted(taken) and taken[-1] == 299
    assert len(taken) + dropped == 300 and dropped > 0


def test_stream_monitor_reports_backwards_time_and_silence():
    monitor = StreamMonitor(timeout_s=2.0)
    assert monitor.check(10.0, 100.0) is None
    assert monitor.check(10.1, 100.1) is None
    assert monitor.check(10.1, 100.2) is None  # repeated stamp: fine
    assert "backwards" in monitor.check(5.0, 100.3)
    assert "no image for 3.0 s" in monitor.check(5.1, 103.3)
    assert monitor.silent_for(104.3) == pytest.approx(1.0)
    assert StreamMonitor(1.0).silent_for(0.0) == float("inf")


# ----------------------------------------------------------------- message conversions
def test_image_messages_to_rgb_and_back():
    from sensor_msgs.msg import CompressedImage, Image
    from std_msgs.msg import Header

    from rejshand_ros.imaging.codecs import ImageConversionError, rgb_to_compressed
    from rejshand_ros.ros.camera_input import (compressed_msg_to_rgb, image_msg_to_rgb,
                                               rgb_to_image_msg)

    rgb = np.random.default_rng(0).integers(0, 255, (6, 5, 3), dtype=np.uint8)
    padded = np.zeros((6, 5 * 4 + 8), np.uint8)
    padded[:, :20] = np.concatenate([rgb[..., ::-1], np.full((6, 5, 1), 255, np.uint8)],
                                    -1).reshape(6, 20)
    msg = Image(height=6, width=5, encoding="bgra8", step=28, data=padded.tobytes())
    np.testing.assert_array_equal(image_msg_to_rgb(msg), rgb)
    out = rgb_to_image_msg(rgb, Header(frame_id="f"))
    assert (out.encoding, out.step, out.header.frame_id) == ("rgb8", 15, "f")
    np.testing.assert_array_equal(image_msg_to_rgb(out), rgb)
    png = CompressedImage(format="png", data=rgb_to_compressed(rgb, "png"))
    np.testing.assert_array_equal(compressed_msg_to_rgb(png), rgb)
    with pytest.raises(ImageConversionError):
        image_msg_to_rgb(Image(height=6, width=5, encoding="16UC1", step=10, data=bytes(60)))
    with pytest.raises(ImageConversionError):
        compressed_msg_to_rgb(CompressedImage(format="jpeg", data=b"\xff\xd8garbage"))


def _info(**fields):
    from sensor_msgs.msg import CameraInfo

    values = dict(width=320, height=240, distortion_model="plumb_bob", d=[0.1, -0.02, 0, 0, 0],
                  k=K.ravel().tolist())
    values.update(fields)
    return CameraInfo(**values)


def test_camera_info_to_camera_model():
    from rejshand_ros.ros.camera_input import camera_model_from_info

    model = camera_model_from_info(_info())
    np.testing.assert_array_equal(model.K, K)
    np.testing.assert_allclose(model.dist, [0.1, -0.02, 0, 0, 0])
    assert camera_model_from_info(_info(d=[])).dist is None
    assert camera_model_from_info(_info(d=[0.0] * 5, distortion_model="equidistant")).dist \
        is None  # no distortion: the model name does not matter


@pytest.mark.parametrize("fields, match", [
    (dict(k=[0.0] * 9), "focal length must be > 0"),
    (dict(k=[float("nan")] + K.ravel().tolist()[1:]), "not finite"),
    (dict(k=[-300.0] + K.ravel().tolist()[1:]), "focal length must be > 0"),
    (dict(k=K.ravel().tolist()[:8] + [0.0]), "not an intrinsic matrix"),
    (dict(width=0), "image size"),
    (dict(d=[float("inf"), 0, 0, 0, 0]), "D is not finite"),
    (dict(d=[0.1, 0, 0, 0], distortion_model="equidistant"), "not supported"),
    (dict(d=[0.1, 0.0, 0.0]), "3 coefficients"),
])
def test_invalid_camera_info_is_refused_with_the_reason(fields, match):
    from rejshand_ros.ros.camera_input import camera_model_from_info

    with pytest.raises(ValueError, match=match):
        camera_model_from_info(_info(**fields))


# ----------------------------------------------------------------------- start-up checks
@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    import torch

    from rejshand_ros.detection import DetectorConfig, HandDetectorNet, save_detector_file
    from rejshand_ros.model.config import ModelConfig
    from rejshand_ros.model.model_file import save_model_file
    from rejshand_ros.model.rejshand import ReJSHand

    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("startup")
    pose, detector = directory / "pose.safetensors", directory / "detector.safetensors"
    save_model_file(pose, ReJSHand(ModelConfig(backbone="fastvit_t8", input_size=128)),
                    mesh_id="test_mesh", model_id="tiny")
    save_detector_file(detector, HandDetectorNet(DetectorConfig(input_size=128)),
                       model_id="tiny_detector")
    truncated = directory / "truncated.safetensors"
    truncated.write_bytes(pose.read_bytes()[: pose.stat().st_size // 2])
    other = directory / "other_architecture.safetensors"
    _rewrite_metadata(pose, other, backbone="fastvit_t12")
    return dict(pose=pose, detector=detector, truncated=truncated, other=other,
                missing=directory / "missing.safetensors")


def _rewrite_metadata(source: Path, target: Path, **config_changes) -> None:
    """Copy a model file with its config changed (weights no longer fit it)."""
    import safetensors
    import safetensors.torch

    with safetensors.safe_open(str(source), framework="pt") as f:
        header = f.metadata()
        tensors = {key: f.get_tensor(key) for key in f.keys()}
    meta = json.loads(header["rejshand"])
    meta["config"].update(config_changes)
    header["rejshand"] = json.dumps(meta)
    safetensors.torch.save_file(tensors, str(target), metadata=header)


@pytest.mark.parametrize("pose, detector, match", [
    ("missing", "detector", r"pose model file not found: .*missing\.safetensors.*"
                            r"expected a pose model file"),
    ("truncated", "detector", r"truncated\.safetensors.*truncated or corrupt.*"
                              r"expected a pose model file"),
    ("other", "detector", r"other_architecture\.safetensors.*do not fit the architecture"),
    ("detector", "detector", r"detector\.safetensors.*'rejshand-detector'.*"
                             r"expected a pose model file"),
    ("pose", "missing", r"hand detector .*missing\.safetensors: detector rejshand: file "
                        r"not found; expected a rejshand-detector file"),
    ("pose", "pose", r"pose\.safetensors: detector rejshand: .*not a hand detector.*"
                     r"expected a rejshand-detector"),
    ("pose", "truncated", r"truncated\.safetensors: detector rejshand: .*expected a "
                          r"rejshand-detector"),
])
def test_startup_refuses_bad_model_files_naming_the_file(model_files, pose, detector, match):
    from rejshand_ros.perception.pipeline_setup import StartupError, build_pipeline

    cfg = HandPoseNodeConfig(model_path=str(model_files[pose]), device="cpu",
                             detector="rejshand",
                             detector_model_path=str(model_files[detector]))
    with pytest.raises(StartupError, match=match):
        build_pipeline(cfg.pipeline_settings())


def test_startup_refuses_a_detector_file_of_the_other_kind(model_files):
    from rejshand_ros.perception.pipeline_setup import StartupError, build_pipeline

    cfg = HandPoseNodeConfig(model_path=str(model_files["pose"]), device="cpu",
                             detector_model_path=str(model_files["detector"]))  # palm
    with pytest.raises(StartupError, match=r"detector\.safetensors: detector palm: not a "
                       r"readable TFLite model.*expected MediaPipe's palm detection model"
                       r".*set the parameters detector"):
        build_pipeline(cfg.pipeline_settings())


def test_startup_builds_the_pipeline_and_refuses_unavailable_options(model_files):
    import torch

    from rejshand_ros.perception.pipeline_setup import StartupError, build_pipeline

    cfg = dict(model_path=str(model_files["pose"]), detector="rejshand",
               detector_model_path=str(model_files["detector"]), device="cpu")
    parts = build_pipeline(HandPoseNodeConfig(**cfg, max_hands=3).pipeline_settings())
    assert parts.predictor.model_id == "tiny" and parts.detector_model_id == "tiny_detector"
    assert parts.pipeline.config.tracker.max_hands == 3 and parts.detector.max_hands == 3
    missing = model_files["pose"].parent / "no_venv" / "bin" / "python"
    with pytest.raises(StartupError, match=rf"MediaPipe interpreter {re.escape(str(missing))} "
                       r"does not exist.*bash scripts/setup_peers\.sh"):
        build_pipeline(HandPoseNodeConfig(**cfg, estimator="mediapipe",
                                          mediapipe_python=str(missing)).pipeline_settings())
    if not torch.cuda.is_available():
        with pytest.raises(StartupError, match="no CUDA device"):
            build_pipeline(HandPoseNodeConfig(**dict(cfg, device="cuda"),
                                              cuda_fallback="refuse").pipeline_settings())


def test_node_help_needs_no_ros(capsys):
    from rejshand_ros.ros.hand_pose_node import main

    assert main(["hand_pose_node", "--help"]) == 0
    assert "hand_poses" in capsys.readouterr().out


@pytest.mark.ros
def test_node_process_refuses_to_start_with_a_truncated_model(model_files, ros_env):
    prepare_environment(ros_env)
    exe = Path(sys.prefix) / "lib" / "rejshand_ros" / "hand_pose_node"
    result = subprocess.run(
        [str(exe), "--ros-args", "-p", f"model_path:={model_files['truncated']}",
         "-p", "detector:=rejshand", "-p", f"detector_model_path:={model_files['detector']}"],
        env=ros_env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "hand_pose_node: error: cannot load the pose model" in result.stderr
    assert str(model_files["truncated"]) in result.stderr
    assert "Traceback" not in result.stderr


def test_the_fast_dds_profile_reaches_both_fast_dds_versions():
    """Kilted's Fast DDS 3 reads FASTDDS_DEFAULT_PROFILES_FILE, Jazzy's 2.14 only
    FASTRTPS_DEFAULT_PROFILES_FILE: both point at the profile, the user's choice in either
    one wins (with one alone, Jazzy's best-effort 640x480 images lost most frames)."""
    from rejshand_ros.resources import config_path
    from rejshand_ros.ros.runtime import FASTDDS_PROFILE_ENVS

    ours = str(config_path("fastdds_profile.xml"))
    assert set(FASTDDS_PROFILE_ENVS) == {"FASTDDS_DEFAULT_PROFILES_FILE",
                                         "FASTRTPS_DEFAULT_PROFILES_FILE"}
    assert prepare_environment({}) == dict.fromkeys(FASTDDS_PROFILE_ENVS, ours)
    for key in FASTDDS_PROFILE_ENVS:
        env = {key: "/mine.xml", "OTHER": "1"}
        assert prepare_environment(env) is env
        assert env == dict.fromkeys(FASTDDS_PROFILE_ENVS, "/mine.xml") | {"OTHER": "1"}
    both = {FASTDDS_PROFILE_ENVS[0]: "/a.xml", FASTDDS_PROFILE_ENVS[1]: "/b.xml"}
    assert prepare_environment(dict(both)) == both
