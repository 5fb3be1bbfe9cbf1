"""hand_pose_node over real DDS: two node processes shared by every case of this module.

Node "raw" (root namespace, image_transport raw, qos best_effort; the shipped YAML + test
overrides) and node "jpeg" (namespace /jpeg, image_transport compressed, qos reliable,
default_frame_id set). Both run model files the fixture writes: a random-init hand
detector with detector_score_threshold 0 (it always returns max_hands boxes) and a
"template" pose model whose outputs on black crops are a fixed, self-consistent hand
(see _template_pose_model), with presence_threshold 0 so tracks never end by presence.
Every processed frame therefore has hands, deterministically; on black frames with
camera_info their 3D is absolute and wrist TF is published. What this cannot check
(accuracy, cold-start detection rate, a hand at the border, overlapping hands) needs the
shipped trained models: test_node_accuracy.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import yaml

from rejshand_ros.resources import config_path
from rejshand_ros.ros.runtime import FASTDDS_PROFILE_ENVS, prepare_environment

pytestmark = pytest.mark.ros

NODE_EXE = Path(sys.prefix) / "lib" / "rejshand_ros" / "hand_pose_node"
WIDTH, HEIGHT = 320, 240
FRAME_ID = "camera_optical_frame"
K = [300.0, 0.0, 159.5, 0.0, 300.0, 119.5, 0.0, 0.0, 1.0]
WAIT_S = 40.0  # generous: 2 shared cores, other suites may run beside this one


def _template_pose_model(path: Path) -> None:
    """A random-init ReJSHand whose outputs are a fixed, consistent hand for BLACK crops.

    The 2D head ignores its input (weights 0, bias = the template's projection, spanning
    0.4 of the crop, so tracked boxes shrink to a stable point instead of drifting);
    the mesh head is solved in closed form so that a black crop gives the procedural
    hand model's rest-pose mesh (joints = its regressor on that mesh). On black frames
    every crop is black, so uv and 3D agree: absolute 3D and wrist TF work as with a
    trained model. On other images uv is still the template, 3D is arbitrary.
    """
    import torch

    from rejshand_ros.hand_model import MESH_ID, HandModel, faces_for_side, joint_regressor
    from rejshand_ros.hand_model import named_pose
    from rejshand_ros.model.config import ModelConfig
    from rejshand_ros.model.model_file import save_model_file
    from rejshand_ros.model.rejshand import ReJSHand

    verts, joints = HandModel()(named_pose("rest"))
    flip = np.array([1.0, -1.0, -1.0])  # palm towards the camera, fingers up
    verts, joints = verts * flip - joints[9] * flip, joints * flip - joints[9] * flip
    xy = joints[:, :2] / (joints[:, 2:] + 0.5)
    lo, hi = xy.min(0), xy.max(0)
    uv = 0.5 + (xy - (lo + hi) / 2) / (hi - lo).max() * 0.4
    torch.manual_seed(0)
    config = ModelConfig(backbone="fastvit_t8", input_size=128)
    net = ReJSHand(config, joint_regressor=joint_regressor()).eval()
    head = net.head
    with torch.no_grad():
        head.keypoint_2d.fc.weight.zero_()
        head.keypoint_2d.fc.bias.copy_(torch.tensor(uv.ravel(), dtype=torch.float32))
        captured = {}
        hook = head.mesh_token.register_forward_hook(
            lambda module, inputs, output: captured.update(x=torch.cat(inputs, -1)[0]))
        mean = torch.tensor(config.mean).view(1, 3, 1, 1)
        std = torch.tensor(config.std).view(1, 3, 1, 1)
        net((torch.zeros(1, 3, 128, 128) - mean) / std)
        hook.remove()
        x = captured["x"].double()  # (tokens, channels) into the mesh token generator
        channels = torch.argsort(x.std(0), descending=True)[:3]
        target = torch.tensor(verts, dtype=torch.float64)
        head.mesh_token.token.weight.copy_(target @ torch.linalg.pinv(x[:, channels]))
        head.mesh_token.token.bias.zero_()
        head.mesh_token.coord.weight.zero_()
        head.mesh_token.coord.weight[torch.arange(3), channels] = 1.0
        head.mesh_token.coord.bias.zero_()
    save_model_file(path, net, mesh_id=MESH_ID, model_id="test_template",
                    faces=faces_for_side("right"))


def _write_models(directory: Path) -> tuple[Path, Path]:
    import torch

    from rejshand_ros.detection import DetectorConfig, HandDetectorNet, save_detector_file

    pose, detector = directory / "pose.safetensors", directory / "detector.safetensors"
    _template_pose_model(pose)
    torch.manual_seed(0)
    save_detector_file(detector, HandDetectorNet(DetectorConfig(input_size=128)),
                       model_id="test_detector")
    return pose, detector


class NodeProcess:
    """One hand_pose_node subprocess; its output is collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([str(NODE_EXE), "--ros-args", *args], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._reader.join(timeout=5)
        return code


class Harness:
    """The test's own rclpy context: publishers, subscriptions, waiting helpers."""

    def __init__(self, domain_id: int) -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor

        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node("hand_pose_node_test", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.lock = threading.Lock()
        self.got: dict[str, list] = defaultdict(list)
        self.diag: dict[str, dict[str, str]] = {}
        self.diag_seen: dict[str, int] = defaultdict(int)
        self.stamp_ns = int(time.time() * 1e9)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        while self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except Exception as exc:  # noqa: BLE001 - shutting down
                if self.context.ok():
                    print(f"test executor stopped: {exc!r}", file=sys.stderr)
                break

    def subscribe(self, key: str, msg_type, topic: str, qos=10):
        def store(msg):
            with self.lock:
                self.got[key].append((time.time(), msg))
        return self.node.create_subscription(msg_type, topic, store, qos)

    def subscribe_diagnostics(self) -> None:
        from diagnostic_msgs.msg import DiagnosticArray

        def store(msg):
            for status in msg.status:
                values = {kv.key: kv.value for kv in status.values}
                values["_level"], values["_message"] = status.level, status.message
                with self.lock:
                    self.diag[status.name.split(":")[0]] = values
                    self.diag_seen[status.name.split(":")[0]] += 1
        self.node.create_subscription(DiagnosticArray, "/diagnostics", store, 50)

    def messages(self, key: str) -> list:
        with self.lock:
            return [msg for _, msg in self.got[key]]

    def timed(self, key: str) -> list:
        with self.lock:
            return list(self.got[key])

    def wait(self, predicate, what: str, timeout: float = WAIT_S, nodes=()):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            for node in nodes:
                assert node.proc.poll() is None, f"node died:\n{node.output[-4000:]}"
            time.sleep(0.02)
        logs = "".join(f"\n--- node log ---\n{n.output[-3000:]}" for n in nodes)
        raise AssertionError(f"timed out waiting for {what}{logs}")

    def counters(self, fqn: str) -> dict[str, str]:
        with self.lock:
            return dict(self.diag.get(fqn, {}))

    def next_stamp(self, offset_s: float = 0.0):
        from builtin_interfaces.msg import Time

        self.stamp_ns = max(self.stamp_ns + 1_000_000, int(time.time() * 1e9))
        ns = self.stamp_ns + int(offset_s * 1e9)
        return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)

    def close(self) -> None:
        self.node.destroy_node()
        self.context.try_shutdown()
        self._thread.join(timeout=5)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    """Start both nodes (in parallel) and the test's harness; stop them at the end."""
    directory = tmp_path_factory.mktemp("hand_pose_node")
    pose, detector = _write_models(directory)
    domain = 200 + os.getpid() % 30
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_LOG_DIR=str(directory / "log"),
               ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", PYTHONUNBUFFERED="1")
    prepare_environment(env)
    common = dict(model_path=str(pose), detector="rejshand", detector_model_path=str(detector),
                  detector_score_threshold=0.0, presence_threshold=0.0, hand_size=0.09,
                  diagnostics_period=0.1, camera_timeout=2.5, num_threads=1)
    raw_params = directory / "raw.yaml"
    raw_params.write_text(yaml.safe_dump({"hand_pose_node": {"ros__parameters": common}}))
    jpeg_params = directory / "jpeg.yaml"
    jpeg_params.write_text(yaml.safe_dump({"/**": {"ros__parameters": dict(
        common, image_transport="compressed", qos_reliability="reliable",
        default_frame_id="fallback_frame")}}))
    shipped = str(config_path("hand_pose.yaml"))
    raw = NodeProcess(["--params-file", shipped, "--params-file", str(raw_params)], env)
    jpeg = NodeProcess(["-r", "__ns:=/jpeg", "--params-file", shipped,
                        "--params-file", str(jpeg_params)], env)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update({k: env[k] for k in ("ROS_AUTOMATIC_DISCOVERY_RANGE",
                                           *FASTDDS_PROFILE_ENVS)})
    harness = Harness(domain)
    try:
        harness.subscribe_diagnostics()
        harness.wait(lambda: harness.counters("/hand_pose_node")
                     and harness.counters("/jpeg/hand_pose_node"),
                     "both nodes' diagnostics", timeout=120, nodes=(raw, jpeg))
        yield harness, raw, jpeg
    finally:
        harness.close()
        for node in (raw, jpeg):
            node.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# ------------------------------------------------------------------------------ helpers
def _image(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
    image[60:180, 100:220] = rng.integers(120, 230, (120, 120, 3), dtype=np.uint8)
    return image


def _raw_msg(stamp, rgb=None, frame_id=FRAME_ID, **fields):
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    rgb = _image() if rgb is None else rgb
    msg = Image(header=Header(stamp=stamp, frame_id=frame_id), height=rgb.shape[0],
                width=rgb.shape[1], encoding="rgb8", step=rgb.shape[1] * 3,
                data=rgb.tobytes())
    for key, value in fields.items():
        setattr(msg, key, value)
    return msg


def _compressed_msg(stamp, data: bytes, fmt: str = "png", frame_id=FRAME_ID):
    from sensor_msgs.msg import CompressedImage
    from std_msgs.msg import Header

    return CompressedImage(header=Header(stamp=stamp, frame_id=frame_id), format=fmt,
                           data=data)


def _qos(reliable: bool):
    from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

    return QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE) if reliable \
        else qos_profile_sensor_data


def _key(stamp) -> tuple[int, int]:
    return (stamp.sec, stamp.nanosec)


def _stamp_of(msg):
    """The image stamp an output carries (MarkerArray: its first marker's)."""
    if hasattr(msg, "header"):
        return _key(msg.header.stamp)
    return _key(msg.markers[0].header.stamp) if getattr(msg, "markers", None) else None


def _poses_for(harness: Harness, key: str, stamp):
    for msg in harness.messages(key):
        if _stamp_of(msg) == _key(stamp):
            return msg
    return None


def _publish_until(harness, pub, make_msg, key, nodes, timeout=WAIT_S, every_s=2.0):
    """Publish ``make_msg(stamp)`` (again every ``every_s``: best effort may lose one)
    until an output on ``key`` carries one of the sent stamps; returns (sent, output).
    ``every_s`` stays under the raw node's camera_timeout (2.5 s), so that a lost frame
    does not turn into a camera-silence reset (new track ids) before it is resent."""
    deadline, sent = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        msg = make_msg(harness.next_stamp())
        sent[_key(msg.header.stamp)] = msg
        pub.publish(msg)
        until = min(time.monotonic() + every_s, deadline)
        while time.monotonic() < until:
            for out in harness.messages(key):
                if _stamp_of(out) in sent:
                    return sent[_stamp_of(out)], out
            for node in nodes:
                assert node.proc.poll() is None, f"node died:\n{node.output[-4000:]}"
            time.sleep(0.02)
    raise AssertionError(f"no {key} output within {timeout} s (test executor alive: "
                         f"{harness._thread.is_alive()}, {len(harness.messages(key))} "
                         f"{key} messages in all; diagnostics {harness.diag}):\n"
                         f"{nodes[0].output[-3000:]}")


def _counter(harness: Harness, fqn: str, name: str) -> int:
    return int(harness.counters(fqn).get(name, 0))


def _fresh(harness: Harness, fqn: str) -> dict[str, str]:
    """Counters from a diagnostics message produced after this call."""
    with harness.lock:
        seen = harness.diag_seen.get(fqn, 0)
    harness.wait(lambda: harness.diag_seen.get(fqn, 0) >= seen + 2, f"{fqn} diagnostics")
    return harness.counters(fqn)


class Io:
    """Publishers and subscriptions of this module (created once, on first use)."""

    def __init__(self, harness: Harness) -> None:
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image

        from rejshand_ros.msg import HandPoseArray

        node = harness.node
        self.raw_best_effort = node.create_publisher(Image, "/image", _qos(False))
        self.raw_reliable = node.create_publisher(Image, "/image", _qos(True))
        self.jpeg = node.create_publisher(CompressedImage, "/jpeg/image/compressed",
                                          _qos(True))
        self.info = node.create_publisher(CameraInfo, "/camera_info", _qos(True))
        harness.subscribe("raw", HandPoseArray, "/hand_poses")
        harness.subscribe("jpeg", HandPoseArray, "/jpeg/hand_poses")
        harness.wait(lambda: all(pub.get_subscription_count() > 0 for pub in (
            self.raw_best_effort, self.raw_reliable, self.jpeg)), "image subscriptions")


@pytest.fixture(scope="module")
def io(nodes) -> Io:
    return Io(nodes[0])


def _good(harness, io, raw, stamp_offset_s=0.0, rgb=None, pub=None):
    """Publish one black (or given) frame and return (sent, HandPoseArray)."""
    rgb = np.zeros((HEIGHT, WIDTH, 3), np.uint8) if rgb is None else rgb
    return _publish_until(harness, pub or io.raw_reliable,
                          lambda stamp: _raw_msg(_shift(stamp, stamp_offset_s), rgb), "raw",
                          (raw,))


def _shift(stamp, seconds: float):
    from builtin_interfaces.msg import Time

    ns = stamp.sec * 1_000_000_000 + stamp.nanosec + int(seconds * 1e9)
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


# -------------------------------------------------------------------------------- tests
def test_first_frames_raw_and_png_give_identical_hands_with_the_image_header(nodes, io):
    """Same first frame to both nodes: raw rgb8 (best effort) and PNG (reliable)."""
    from rejshand_ros.hand_model import MESH_ID, NUM_VERTICES
    from rejshand_ros.imaging.codecs import rgb_to_compressed

    harness, raw, jpeg = nodes
    rgb = _image(1)
    png = rgb_to_compressed(rgb, "png")
    sent_raw, out_raw = _publish_until(harness, io.raw_best_effort,
                                       lambda stamp: _raw_msg(stamp, rgb), "raw", (raw,))
    sent_png, out_png = _publish_until(harness, io.jpeg,
                                       lambda stamp: _compressed_msg(stamp, png), "jpeg",
                                       (jpeg,))
    for sent, out in ((sent_raw, out_raw), (sent_png, out_png)):
        assert out.header.frame_id == FRAME_ID
        assert _key(out.header.stamp) == _key(sent.header.stamp)
        assert 1 <= len(out.hands) <= 2  # max_hands 2; the detector always finds boxes
        for hand in out.hands:
            assert _key(hand.header.stamp) == _key(sent.header.stamp)
            assert hand.header.frame_id == FRAME_ID
            assert len(hand.keypoints_2d) == 42 and len(hand.keypoints_3d) == 63
            assert len(hand.vertices) == 3 * NUM_VERTICES and hand.mesh_id == MESH_ID
            assert hand.model_id == "test_template" and hand.track_id > 0
            assert not hand.absolute  # no camera_info yet
            assert np.isfinite(hand.keypoints_2d).all() and np.isfinite(hand.vertices).all()
    assert [h.track_id for h in out_raw.hands] == [h.track_id for h in out_png.hands]
    for a, b in zip(out_raw.hands, out_png.hands):
        np.testing.assert_allclose(a.keypoints_2d, b.keypoints_2d, atol=1e-3)
        np.testing.assert_allclose(a.keypoints_3d, b.keypoints_3d, atol=1e-5)


def test_hand_mesh_is_latched_for_late_subscribers(nodes):
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    from rejshand_ros.hand_model import MESH_ID, NUM_FACES, faces_for_side
    from rejshand_ros.msg import HandMesh

    harness, raw, _ = nodes
    harness.subscribe("mesh", HandMesh, "/hand_mesh", QoSProfile(
        depth=1, reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL))
    harness.wait(lambda: harness.messages("mesh"), "latched hand_mesh", nodes=(raw,))
    time.sleep(0.5)
    meshes = harness.messages("mesh")
    assert len(meshes) == 1  # once per mesh_id, although many frames were processed
    assert meshes[0].mesh_id == MESH_ID and len(meshes[0].faces) == 3 * NUM_FACES
    np.testing.assert_array_equal(np.asarray(meshes[0].faces).reshape(-1, 3),
                                  faces_for_side("right"))


def test_debug_image_is_computed_only_while_subscribed(nodes, io):
    from sensor_msgs.msg import Image

    harness, raw, _ = nodes
    _good(harness, io, raw)
    assert int(_fresh(harness, "/hand_pose_node")["debug_images"]) == 0
    sub = harness.subscribe("debug", Image, "/debug_image")
    sent, _ = _publish_until(harness, io.raw_reliable,
                             lambda stamp: _raw_msg(stamp, np.zeros((HEIGHT, WIDTH, 3),
                                                                    np.uint8)),
                             "debug", (raw,))
    image = next(m for m in harness.messages("debug")
                 if _key(m.header.stamp) == _key(sent.header.stamp))
    assert image.header.frame_id == FRAME_ID and image.encoding == "rgb8"
    assert (image.width, image.height, image.step) == (WIDTH, HEIGHT, 3 * WIDTH)
    pixels = np.frombuffer(bytes(image.data), np.uint8).reshape(HEIGHT, WIDTH, 3)
    assert pixels.any()  # the skeleton and boxes were drawn on the black frame
    harness.node.destroy_subscription(sub)
    time.sleep(1.0)  # let the node see the subscription go
    _good(harness, io, raw)
    before = int(_fresh(harness, "/hand_pose_node")["debug_images"])
    for _ in range(2):
        _good(harness, io, raw)
    assert int(_fresh(harness, "/hand_pose_node")["debug_images"]) == before


def test_markers_keep_ids_per_track_and_vanished_tracks_are_deleted(nodes, io):
    from visualization_msgs.msg import Marker, MarkerArray

    from rejshand_ros.hand_model import NUM_FACES

    harness, raw, _ = nodes
    harness.subscribe("markers", MarkerArray, "/markers")
    _publish_until(harness, io.raw_reliable,
                   lambda stamp: _raw_msg(stamp, np.zeros((HEIGHT, WIDTH, 3), np.uint8)),
                   "markers", (raw,))
    frames = [_good(harness, io, raw) for _ in range(3)]
    harness.wait(lambda: all(_poses_for(harness, "markers", sent.header.stamp)
                             for sent, _ in frames), "markers of three frames")
    by_stamp = {_stamp_of(a): a for a in harness.messages("markers") if a.markers}
    ids_per_frame = []
    for sent, poses in frames:
        array = by_stamp[_key(sent.header.stamp)]
        tracks = {hand.track_id for hand in poses.hands}
        assert tracks, "every frame has hands with this model"
        shown = {(m.ns, m.id) for m in array.markers if m.action == Marker.ADD}
        for marker in array.markers:
            assert marker.header.frame_id == FRAME_ID
            assert _key(marker.header.stamp) == _key(sent.header.stamp)
        for track in tracks:
            ns = f"hand_{track}"
            assert {(ns, 0), (ns, 1), (ns, 2)} <= shown
            types = {m.id: m for m in array.markers if m.ns == ns}
            assert types[0].type == Marker.SPHERE_LIST and len(types[0].points) == 21
            assert types[1].type == Marker.LINE_LIST and len(types[1].points) == 40
            assert types[2].type == Marker.TEXT_VIEW_FACING and f"#{track}" in types[2].text
        ids_per_frame.append(tracks)
    assert ids_per_frame[0] == ids_per_frame[1] == ids_per_frame[2]  # stable track ids
    meshes = [m for a in harness.messages("markers") for m in a.markers
              if m.type == Marker.TRIANGLE_LIST and m.action == Marker.ADD]
    assert meshes and all(len(m.points) == 3 * NUM_FACES for m in meshes)
    # timestamps jump backwards: the tracks are reset, new ids, old ones deleted
    old = ids_per_frame[-1]
    resets = int(_fresh(harness, "/hand_pose_node")["track_resets"])
    sent, poses = _good(harness, io, raw, stamp_offset_s=-100.0)
    assert {h.track_id for h in poses.hands}.isdisjoint(old)
    array = harness.wait(lambda: _poses_for(harness, "markers", sent.header.stamp),
                         "markers after the reset")
    deleted = {(m.ns, m.id) for m in array.markers if m.action == Marker.DELETE}
    assert deleted == {(f"hand_{t}", i) for t in old for i in range(4)}
    assert int(_fresh(harness, "/hand_pose_node")["track_resets"]) == resets + 1


def test_without_camera_info_the_wrist_tf_is_root_relative(nodes, io):
    """Orientation needs no intrinsics: every hand's wrist is on /tf, under the image
    frame where the markers draw it (marker_display_depth along its ray)."""
    from tf2_msgs.msg import TFMessage

    harness, raw, _ = nodes
    harness.subscribe("tf_relative", TFMessage, "/tf", 100)
    sent, poses = _good(harness, io, raw)
    assert poses.hands and not any(hand.absolute for hand in poses.hands)
    harness.wait(lambda: any(_key(t.header.stamp) == _key(sent.header.stamp)
                             for m in harness.messages("tf_relative") for t in m.transforms),
                 "wrist TF without camera_info", nodes=(raw,))
    transforms = [t for m in harness.messages("tf_relative") for t in m.transforms
                  if _key(t.header.stamp) == _key(sent.header.stamp)]
    for transform in transforms:
        assert transform.header.frame_id == FRAME_ID
        assert transform.child_frame_id in ("hand_left_wrist", "hand_right_wrist")
        q = transform.transform.rotation
        assert abs(q.x ** 2 + q.y ** 2 + q.z ** 2 + q.w ** 2 - 1.0) < 1e-6
        assert 0.3 < transform.transform.translation.z < 0.7  # ~0.5 m: display depth


def test_camera_info_gives_absolute_3d_and_wrist_tf(nodes, io):
    from sensor_msgs.msg import CameraInfo
    from std_msgs.msg import Header
    from tf2_msgs.msg import TFMessage

    harness, raw, _ = nodes
    harness.subscribe("tf", TFMessage, "/tf", 100)
    info = CameraInfo(header=Header(frame_id=FRAME_ID), width=WIDTH, height=HEIGHT,
                      distortion_model="plumb_bob", d=[0.05, -0.01, 0.0, 0.0, 0.0], k=K)
    io.info.publish(info)
    harness.wait(lambda: harness.counters("/hand_pose_node").get("camera_info") == "valid",
                 "camera_info accepted", nodes=(raw,))
    sent, poses = _good(harness, io, raw)
    absolute = [hand for hand in poses.hands if hand.absolute]
    assert absolute, "black frames give the template hand: its 2D and 3D agree"
    for hand in absolute:
        assert np.asarray(hand.keypoints_3d).reshape(21, 3)[:, 2].min() > 0.05  # in front
    harness.wait(lambda: any(_key(t.header.stamp) == _key(sent.header.stamp)
                             for m in harness.messages("tf") for t in m.transforms),
                 "wrist TF", nodes=(raw,))
    transforms = [t for m in harness.messages("tf") for t in m.transforms
                  if _key(t.header.stamp) == _key(sent.header.stamp)]
    side_names = {0: "left", 1: "right"}
    expected = {f"hand_{side_names[hand.handedness]}_wrist" for hand in absolute}
    assert {t.child_frame_id for t in transforms} == expected
    for transform in transforms:
        assert transform.header.frame_id == FRAME_ID
        q = transform.transform.rotation
        assert abs(q.x ** 2 + q.y ** 2 + q.z ** 2 + q.w ** 2 - 1.0) < 1e-6
        hands = [hand for hand in absolute if transform.child_frame_id
                 == f"hand_{side_names[hand.handedness]}_wrist"]
        best = max(hands, key=lambda hand: hand.score)
        t = transform.transform.translation
        np.testing.assert_allclose([t.x, t.y, t.z], best.keypoints_3d[:3], atol=1e-5)


def _camera_info_msg(width: int, height: int, scale: float = 1.0):
    from sensor_msgs.msg import CameraInfo
    from std_msgs.msg import Header

    k = [value * scale for value in K[:8]] + [1.0]
    k[2], k[5] = (K[2] + 0.5) * scale - 0.5, (K[5] + 0.5) * scale - 0.5  # pixel centres
    return CameraInfo(header=Header(frame_id=FRAME_ID), width=width, height=height,
                      distortion_model="plumb_bob", d=[0.0] * 5, k=k)


def _until(harness, io, raw, rgb, predicate, what: str, tries: int = 10):
    """Publish ``rgb`` frames (one at a time) until an output satisfies ``predicate``
    (a camera_info published just before may reach the node after the next image)."""
    outputs = []
    for _ in range(tries):
        outputs.append(_good(harness, io, raw, rgb=rgb)[1])
        if predicate(outputs[-1]):
            return outputs[-1]
    raise AssertionError(f"{what}: not within {tries} frames; absolute per frame "
                         f"{[[h.absolute for h in o.hands] for o in outputs]}\n"
                         f"{raw.output[-3000:]}")


def test_camera_info_is_used_only_for_images_of_its_size(nodes, io):
    """hand_pose_node._camera_for over DDS: a mid-stream image size change, and a
    camera_info for another size, give root-relative 3D with one warning; matching sizes
    give absolute 3D again."""
    harness, raw, _ = nodes
    small = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    large = np.zeros((2 * HEIGHT, 2 * WIDTH, 3), np.uint8)
    absolute = lambda out: out.hands and all(h.absolute for h in out.hands)  # noqa: E731
    relative = lambda out: out.hands and not any(h.absolute for h in out.hands)  # noqa: E731
    io.info.publish(_camera_info_msg(WIDTH, HEIGHT))
    _until(harness, io, raw, small, absolute, "absolute 3D with a matching camera_info")
    start = _fresh(harness, "/hand_pose_node")
    resets = int(start["track_resets"])

    # the image size changes mid-stream; camera_info still describes 320x240
    out = _good(harness, io, raw, rgb=large)[1]
    assert relative(out), [h.absolute for h in out.hands]
    assert _warnings(raw, f"camera_info is for {WIDTH}x{HEIGHT} images, this image is "
                          f"{2 * WIDTH}x{2 * HEIGHT}: 3D stays root-relative") == 1
    assert f"image size changed from {WIDTH}x{HEIGHT} to {2 * WIDTH}x{2 * HEIGHT}" \
        in raw.output, raw.output[-3000:]
    assert absolute(_good(harness, io, raw, rgb=small)[1])  # back to the camera's size
    assert int(_fresh(harness, "/hand_pose_node")["track_resets"]) == resets + 2

    # a camera_info for 640x480 images: 320x240 frames stay root-relative, 640x480 ones
    # use it
    io.info.publish(_camera_info_msg(2 * WIDTH, 2 * HEIGHT, scale=2.0))
    _until(harness, io, raw, small, relative, "root-relative 3D with a 640x480 camera_info")
    _until(harness, io, raw, large, absolute, "absolute 3D for 640x480 frames")
    io.info.publish(_camera_info_msg(WIDTH, HEIGHT))
    _until(harness, io, raw, small, absolute, "absolute 3D after the 320x240 camera_info")
    assert _fresh(harness, "/hand_pose_node")["camera_info_rejected"] == \
        start["camera_info_rejected"]  # other sizes are valid camera_infos, just unused


def _expect_counted(harness, node, fqn, publish, counter: str, what: str) -> None:
    """Publish one bad input; wait until the node counted it as received and in
    ``counter`` (the case really reached it and was classified)."""
    before = _fresh(harness, fqn)
    publish()
    harness.wait(lambda: int(harness.counters(fqn).get(counter, 0)) > int(before[counter]),
                 f"{counter} to rise for {what}", nodes=(node,))


def _warnings(node: NodeProcess, text: str) -> int:
    return sum(text in line and "WARN" in line for line in node.lines)


def _wait_counter(harness, node, fqn, counter: str, at_least: int, what: str) -> None:
    harness.wait(lambda: int(harness.counters(fqn).get(counter, 0)) >= at_least,
                 f"{counter} >= {at_least} ({what})", nodes=(node,))


def test_bad_raw_input_is_counted_warned_once_and_the_next_frame_is_processed(nodes, io):
    """Issue 8 item 1 for sensor_msgs/Image (published reliably): each bad frame is
    received, counted as failed and logged once; the good frame after it is processed."""
    harness, raw, _ = nodes
    row = WIDTH * 3
    black = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    bad = [  # (case, Image fields, what the warning says)
        ("empty image", dict(height=0, width=0, step=0, data=b""), "empty image (0x0)"),
        ("step smaller than a row", dict(step=row - 1), "is smaller than width*channels"),
        ("data shorter than height*step", dict(data=bytes(1000)), "expected height*step"),
        ("16UC1", dict(encoding="16UC1", step=2 * WIDTH, data=bytes(2 * WIDTH * HEIGHT)),
         "unsupported encoding '16UC1'"),
        ("yuv422", dict(encoding="yuv422", step=2 * WIDTH, data=bytes(2 * WIDTH * HEIGHT)),
         "unsupported encoding 'yuv422'"),
        ("bayer", dict(encoding="bayer_rggb8", step=WIDTH, data=bytes(WIDTH * HEIGHT)),
         "unsupported encoding 'bayer_rggb8'"),
        ("empty frame_id", dict(frame_id=""), "header.frame_id is empty"),
        ("16UC1 again (same kind: counted, not logged again)",
         dict(encoding="16UC1", step=2 * WIDTH, data=bytes(2 * WIDTH * HEIGHT)), None),
    ]
    start = _fresh(harness, "/hand_pose_node")
    failed, received = int(start["frames_failed"]), int(start["frames_received"])
    for case, fields, _ in bad:
        fields = dict(fields)
        frame_id = fields.pop("frame_id", FRAME_ID)
        io.raw_reliable.publish(_raw_msg(harness.next_stamp(), black, frame_id, **fields))
        failed += 1
        _wait_counter(harness, raw, "/hand_pose_node", "frames_failed", failed, case)
        _good(harness, io, raw)
    counters = _fresh(harness, "/hand_pose_node")
    assert int(counters["frames_received"]) >= received + 2 * len(bad)
    assert int(counters["frames_failed"]) == failed
    assert "unsupported encoding" in counters["last_error"]
    for case, _, text in bad:
        if text:
            assert _warnings(raw, text) == 1, (case, raw.output[-3000:])

    # unusual but valid images are processed, not failed
    padded = np.zeros((HEIGHT, row + 64), np.uint8)  # rows padded: step > width*channels
    mono = np.zeros((HEIGHT, WIDTH + 16), np.uint8)
    valid = [
        dict(height=1, width=1, step=3, data=bytes(3)),
        dict(step=row + 64, data=padded.tobytes()),
        dict(encoding="bgr8"),
        dict(encoding="rgba8", step=4 * WIDTH, data=bytes(4 * WIDTH * HEIGHT)),
        dict(encoding="bgra8", step=4 * WIDTH, data=bytes(4 * WIDTH * HEIGHT)),
        dict(encoding="mono8", step=WIDTH + 16, data=mono.tobytes()),
    ]
    # 4K; mono8 (8.3 MB) fits the 10 MB shared-memory segment of config/fastdds_profile.xml
    # (on Jazzy too, now that FASTRTPS_DEFAULT_PROFILES_FILE names it); 4K rgb8 (25 MB)
    # would go through fragmented UDP, which is transport-bound and flaky on a loaded machine
    valid.append(dict(height=2160, width=3840, encoding="mono8", step=3840,
                      data=bytes(3840 * 2160)))
    for fields in valid:
        _, out = _publish_until(harness, io.raw_reliable,
                                lambda stamp: _raw_msg(stamp, black, **fields), "raw",
                                (raw,), every_s=15.0)
        assert out.header.frame_id == FRAME_ID, fields.get("encoding")
    assert int(_fresh(harness, "/hand_pose_node")["frames_failed"]) == failed


def test_bad_camera_info_is_rejected_counted_and_ignored(nodes, io):
    from sensor_msgs.msg import CameraInfo
    from std_msgs.msg import Header

    harness, raw, _ = nodes
    cases = [
        ("zeros", [0.0] * 9, "focal length must be > 0, got fx=0.0"),
        ("NaN", [float("nan")] + K[1:], "K is not finite"),
        ("negative focal", [-300.0] + K[1:], "focal length must be > 0, got fx=-300.0"),
    ]
    for case, k, _ in cases:
        info = CameraInfo(header=Header(frame_id=FRAME_ID), width=WIDTH, height=HEIGHT,
                          distortion_model="plumb_bob", d=[0.0] * 5, k=k)
        _expect_counted(harness, raw, "/hand_pose_node", lambda: io.info.publish(info),
                        "camera_info_rejected", case)
    for case, _, text in cases:
        assert _warnings(raw, text) == 1, (case, raw.output[-3000:])
    _, out = _good(harness, io, raw)  # the last valid camera_info is kept
    assert any(hand.absolute for hand in out.hands)


def test_bad_compressed_input_and_default_frame_id(nodes, io):
    from rejshand_ros.imaging.codecs import rgb_to_compressed

    harness, _, jpeg = nodes
    black = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    good = rgb_to_compressed(black, "jpeg", 95)
    bad = [("truncated JPEG", good[: len(good) // 2]),
           ("garbage", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8),
           ("empty", b"")]
    for case, data in bad:
        msg = _compressed_msg(harness.next_stamp(), data, "jpeg")
        _expect_counted(harness, jpeg, "/jpeg/hand_pose_node",
                        lambda: io.jpeg.publish(msg), "frames_failed", case)
        _, out = _publish_until(harness, io.jpeg,
                                lambda stamp: _compressed_msg(stamp, good, "jpeg"), "jpeg",
                                (jpeg,))
        assert out.hands
    assert 1 <= _warnings(jpeg, "cannot decode compressed image") <= 2  # one kind
    assert _warnings(jpeg, "empty compressed image") == 1
    # an empty frame_id is replaced by default_frame_id (set on this node)
    sent, out = _publish_until(harness, io.jpeg,
                               lambda stamp: _compressed_msg(stamp, good, "jpeg", ""),
                               "jpeg", (jpeg,))
    assert out.header.frame_id == "fallback_frame"


# Fast DDS's shared-memory watchdog (healthy_check_timeout_ms, default 1000) declares a
# port whose listener has not stirred for about a second broken; the listener then
# rebuilds it, and whatever was queued is gone.
SHM_HEALTHY_CHECK_S = 1.0


@pytest.mark.parametrize("node_state", ["running", "descheduled"])
def test_a_burst_of_200_frames_is_absorbed_without_a_backlog(nodes, io, node_state):
    """200 frames back to back; the node answers the burst's newest frame and nothing
    waits behind it: every frame it received was processed or dropped, in stamp order.

    "descheduled": the node process is stopped (SIGSTOP) while the burst is published, as
    a busy machine does to it for a moment. Its DDS listener then reads nothing during the
    burst; with Fast DDS's default 512-entry shared-memory port queue the burst's newest
    fragments were dropped and the queued ones recycled, so the node got no frame or an
    old one (the CI flake of issue 11). config/fastdds_profile.xml's 4096-entry queue keeps
    the newest frame of up to ~680 such 320x240 frames from this reliable writer.

    What the design promises depends on how long the node could not read: under
    SHM_HEALTHY_CHECK_S, the burst's newest frame; longer (a very busy machine: publishing
    the burst itself took that long), Fast DDS may drop the whole queue, and the promise
    is only that nothing queues: the next frame is answered and nothing older after it."""
    harness, raw, _ = nodes
    before = _fresh(harness, "/hand_pose_node")
    first_output = len(harness.messages("raw"))
    black = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    msgs = [_raw_msg(harness.next_stamp(), black) for _ in range(200)]
    start = time.monotonic()
    if node_state == "descheduled":
        raw.proc.send_signal(signal.SIGSTOP)
    try:
        for msg in msgs:
            io.raw_reliable.publish(msg)
        time.sleep(0.2)
    finally:
        if node_state == "descheduled":
            raw.proc.send_signal(signal.SIGCONT)
    unread_s = time.monotonic() - start
    if unread_s < 0.9 * SHM_HEALTHY_CHECK_S:
        harness.wait(lambda: _poses_for(harness, "raw", msgs[-1].header.stamp),
                     f"the burst's last frame to be processed (published in {unread_s:.2f} s)",
                     nodes=(raw,))
        fresh = None
    else:  # print: says which promise a run checked
        print(f"the burst took {unread_s:.2f} s to publish: checking that nothing queues")
        fresh = _good(harness, io, raw)[1]
    after = _fresh(harness, "/hand_pose_node")
    outputs = [_key(m.header.stamp) for m in harness.messages("raw")[first_output:]]
    burst = {_key(x.header.stamp) for x in msgs}
    order = [key for key in outputs if key in burst]
    delta = {name: int(after[name]) - int(before[name]) for name in (
        "frames_received", "frames_processed", "frames_dropped", "frames_failed")}
    report = f"{delta}, {len(order)} burst outputs of {len(outputs)}, {unread_s:.2f} s"
    assert order == sorted(order) and len(set(order)) == len(order), report  # newest wins
    assert len(order) < 200 / 4, report  # the newest frames, not a queue of old ones
    if fresh is not None:  # no burst frame is answered after the next frame
        assert outputs[-1] == _key(fresh.header.stamp), report
    assert delta["frames_processed"] == len(outputs) and delta["frames_failed"] == 0, report
    # nothing is left waiting: each received frame was processed or replaced in the slot
    assert delta["frames_received"] == delta["frames_processed"] + delta["frames_dropped"], \
        report
    _good(harness, io, raw)


def test_overload_keeps_frame_age_under_two_inference_periods(nodes, io):
    """Images at 4x the node's rate (best effort): the newest frame is processed, old
    ones are dropped and reported; frame age (receipt of the output minus the image
    stamp, one clock) has a median under 2 inference periods and no growing tail."""
    harness, raw, _ = nodes
    before = _fresh(harness, "/hand_pose_node")
    stages = ("decode", "detect", "predict", "track_smooth", "publish")
    period = sum(float(before[f"{stage}_ms_median"]) for stage in stages) / 1e3
    black = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    sent = {}
    end = time.monotonic() + max(4.0, 12 * period)
    while time.monotonic() < end:
        msg = _raw_msg(harness.next_stamp(), black)
        sent[_key(msg.header.stamp)] = msg
        io.raw_best_effort.publish(msg)
        time.sleep(period / 4)
    time.sleep(3 * period)
    outputs = [(t, m) for t, m in harness.timed("raw") if _key(m.header.stamp) in sent]
    ages = np.array([t - (m.header.stamp.sec + 1e-9 * m.header.stamp.nanosec)
                     for t, m in outputs])
    intervals = np.diff([t for t, _ in outputs])
    inference_period = float(np.median(intervals))
    after = _fresh(harness, "/hand_pose_node")
    report = (f"period {inference_period * 1e3:.0f} ms (stages {period * 1e3:.0f} ms), "
              f"age median {np.median(ages) * 1e3:.0f} ms, p90 "
              f"{np.percentile(ages, 90) * 1e3:.0f} ms, max {ages.max() * 1e3:.0f} ms, "
              f"{len(outputs)}/{len(sent)} frames processed")
    print(report)
    assert len(outputs) >= 4, report
    # No backlog: a frame waits at most one inference in the slot, so its age is about
    # 1-1.5 periods; frames queued behind each other would age by whole periods per
    # frame. Median: the design's bound. p90: 4.5 periods = the worst of three runs on
    # a loaded 2-core machine (2.9: descheduling delays single outputs) + 50 %; the tail
    # under load is measured by the soak benchmark (docs/reliability.md), not here.
    assert np.median(ages) < 2 * inference_period, report
    assert np.percentile(ages, 90) < 4.5 * inference_period, report
    assert int(after["frames_dropped"]) - int(before["frames_dropped"]) >= len(sent) // 3
    assert float(after["frame_age_ms_max"]) > 0


def test_camera_silence_resets_tracks_and_deletes_their_markers(nodes, io):
    from visualization_msgs.msg import Marker

    harness, raw, _ = nodes
    _, poses = _good(harness, io, raw)
    tracks = {hand.track_id for hand in poses.hands}
    resets = int(_fresh(harness, "/hand_pose_node")["track_resets"])
    count = len(harness.messages("markers"))
    time.sleep(3.5)  # camera_timeout is 2.5 s
    counters = _fresh(harness, "/hand_pose_node")
    assert int(counters["track_resets"]) == resets + 1
    assert counters["_level"] == b"\x01" and "no images" in counters["_message"]  # WARN
    deleted = {m.ns for a in harness.messages("markers")[count:] for m in a.markers
               if m.action == Marker.DELETE}
    assert deleted == {f"hand_{t}" for t in tracks}
    # the camera is back: frames are processed again, with new tracks; the restart is
    # not counted as a second reset and the status returns to OK
    processed = int(counters["frames_processed"])
    _, poses = _good(harness, io, raw)
    assert poses.hands and {h.track_id for h in poses.hands}.isdisjoint(tracks)
    again = [_good(harness, io, raw)[1] for _ in range(2)]
    ids = [sorted(h.track_id for h in p.hands) for p in (poses, *again)]
    assert all(p.hands for p in again) and ids[1] == ids[2] == ids[0], (
        f"tracking resumed, the new tracks persist: {ids}; "
        f"{_fresh(harness, '/hand_pose_node')}\n{raw.output[-3000:]}")
    counters = _fresh(harness, "/hand_pose_node")
    assert int(counters["frames_processed"]) >= processed + 3
    assert int(counters["track_resets"]) == resets + 1, counters
    assert counters["_level"] == b"\x00", counters["_message"]


def _set_parameters(harness: Harness, node_name: str, **values):
    """One SetParameters call over DDS (the service ros2 param set uses)."""
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter

    client = harness.node.create_client(SetParameters, f"{node_name}/set_parameters")
    try:
        harness.wait(lambda: client.service_is_ready(), f"{node_name}/set_parameters")
        future = client.call_async(SetParameters.Request(parameters=[
            Parameter(name, value=value).to_parameter_msg() for name, value in values.items()]))
        harness.wait(future.done, "the set_parameters answer")
        return future.result().results
    finally:
        harness.node.destroy_client(client)


def test_tunable_parameter_set_over_dds_changes_the_output(nodes, io):
    """presence_threshold is tunable: raised to 1.0 while the node runs, every hand ends
    (presence < 1); lowered again, hands come back. Read-only and invalid values are
    refused with a reason and change nothing."""
    harness, raw, _ = nodes
    _, poses = _good(harness, io, raw)
    assert poses.hands and all(hand.score < 1.0 for hand in poses.hands)
    result = _set_parameters(harness, "/hand_pose_node", presence_threshold=1.0)[0]
    assert result.successful, result.reason
    for _ in range(2):
        assert _good(harness, io, raw)[1].hands == []
    for bad in (dict(model_path="/other.safetensors"), dict(presence_threshold=1.5),
                dict(detect_interval=0), dict(max_hands="two")):
        result = _set_parameters(harness, "/hand_pose_node", **bad)[0]
        assert not result.successful and result.reason, bad
    assert "read-only" in _set_parameters(harness, "/hand_pose_node",
                                          model_path="/other.safetensors")[0].reason
    result = _set_parameters(harness, "/hand_pose_node", presence_threshold=0.0)[0]
    assert result.successful, result.reason
    assert _good(harness, io, raw)[1].hands
    assert raw.count("parameters changed: {'presence_threshold': 1.0}") == 1


def test_nodes_shut_down_cleanly_and_never_crashed(nodes):
    harness, raw, jpeg = nodes
    for node in (raw, jpeg):
        assert node.stop() == 0, node.output[-3000:]
        assert "Traceback" not in node.output, node.output[-3000:]
        assert "pipeline error" not in node.output, node.output[-3000:]
