"""The shipped trained models, offline and in hand_pose_node over real DDS.

The node process runs the shipped pose model and the shipped synthetic-trained detector
(``detector: rejshand``; the default palm detector is trained on real photos and finds
fewer of these renders, see ``test_the_palm_detector_on_synthetic_cold_starts``) with the
shipped YAML (smoothing off, reliable QoS, camera_info on); the test publishes synthetic frames whose ground truth
it knows, one at a time (no drops), and runs the same frames through an offline
``HandPipeline`` built from the same parameters. The numbers the thresholds come from
(shipped models, this machine kind) are in docs/models.md "The shipped model".
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
import yaml

from rejshand_ros.resources import config_path
from rejshand_ros.ros.runtime import prepare_environment

NODE_EXE = Path(sys.prefix) / "lib" / "rejshand_ros" / "hand_pose_node"
FRAME_ID = "camera_optical_frame"
CAMERA_TIMEOUT_S = 30.0  # no silence resets (a slow offline step between frames must not
# make the node start afresh); cold starts come from stamps jumping backwards instead
OVERRIDES = dict(detector="rejshand", detector_score_threshold=0.3,  # its calibrated setting
                 smoothing=False, num_threads=1, qos_reliability="reliable",
                 camera_timeout=CAMERA_TIMEOUT_S, diagnostics_period=0.5)
# 3D accuracy is judged against the mean-pose baseline on the same frames (see
# assert_beats_mean_pose): the model's mean PA-MPJPE must be at most this fraction of the
# baseline's. The shipped model (docs/models.md "The shipped model": 0.21x on held-out synthetic
# crops) gives 0.27x on the tracked sequence, 0.28x on the border scenes and 0.37x on the
# overlapping hands here (`pytest test/test_node_accuracy.py -rP` prints them); 0.5 leaves
# room for frames that change with a retrained model. 2D error is relative to the hand's
# box side.
MAX_BASELINE_RATIO = 0.5
MAX_UV_ERROR_BOX = 0.35
HARD_CASES = 8  # border scenes and overlapping-hands scenes (seeds 0-7)


def _node_values() -> dict:
    values = yaml.safe_load(config_path("hand_pose.yaml").read_text())
    return dict(values["/**"]["ros__parameters"], **OVERRIDES)


def _offline_pipeline():
    from rejshand_ros.ros.node_params import HandPoseNodeConfig
    from rejshand_ros.perception.pipeline_setup import build_pipeline

    return build_pipeline(HandPoseNodeConfig.from_values(_node_values())
                          .pipeline_settings()).pipeline


def _box(uv: np.ndarray) -> np.ndarray:
    from rejshand_ros.detection.targets import box_from_uv

    return box_from_uv(uv, 1.25)


def _errors(hand, truth) -> tuple[float, float]:
    """(mean 2D error / box side of the truth, PA-MPJPE mm) of one predicted hand."""
    from rejshand_ros.geometry.procrustes import procrustes_align

    uv = np.linalg.norm(hand.uv - truth.uv, axis=1).mean() / _box(truth.uv)[2]
    pred, gt = hand.joints - hand.joints[9], truth.joints - truth.joints[9]
    pa = np.linalg.norm(procrustes_align(pred, gt) - gt, axis=1).mean() * 1000.0
    return float(uv), float(pa)


def _closest(hands, truth):
    return min(hands, key=lambda h: np.linalg.norm(h.uv - truth.uv, axis=1).mean())


def mean_pose(truth_joints) -> np.ndarray:
    """(21, 3) mean root-relative pose (m) of (N, 21, 3) true joints."""
    from rejshand_ros.geometry.keypoints import ROOT_JOINT

    truth = np.asarray(truth_joints, np.float64)
    return (truth - truth[:, ROOT_JOINT:ROOT_JOINT + 1]).mean(0)


def assert_beats_mean_pose(pred_joints, truth_joints, reference=None,
                           ratio: float = MAX_BASELINE_RATIO) -> tuple[float, float]:
    """Assert mean PA-MPJPE(pred, truth) <= ``ratio`` x that of the mean-pose baseline on
    the same frames; returns (model mm, baseline mm).

    The baseline predicts one constant hand for every frame: the mean root-relative pose
    of ``truth_joints`` (or of ``reference`` (M, 21, 3) true joints, for frames that all
    show one pose), placed at each frame's true root; PA-MPJPE is the official metric
    (rejshand_ros.evaluation.metrics.evaluate). Arrays are (N, 21, 3), metres. Predicting the mean
    hand scores 1x. Caveat: the mean is taken in the camera frame (as rejshand-eval's
    baseline), so hands of varied orientation average into a shrunken hand that a fixed
    real hand beats (test_the_shipped_model_beats_one_constant_hand). Re-check a new
    model with ``pytest test/test_node_accuracy.py -rP`` (each test prints its ratio).
    """
    from rejshand_ros.geometry.keypoints import ROOT_JOINT
    from rejshand_ros.evaluation.metrics import evaluate

    pred, truth = np.asarray(pred_joints, np.float64), np.asarray(truth_joints, np.float64)
    constant = mean_pose(truth if reference is None else reference)
    baseline = float(evaluate(constant[None] + truth[:, ROOT_JOINT:ROOT_JOINT + 1],
                              truth)["pa_mpjpe_mm"])
    model = float(evaluate(pred, truth)["pa_mpjpe_mm"])
    report = (f"PA-MPJPE {model:.1f} mm = {model / baseline:.2f}x the mean-pose baseline "
              f"({baseline:.1f} mm) on {len(truth)} frames; limit {ratio:g}x")
    print(report)
    assert model <= ratio * baseline, report
    return model, baseline


# -- the detectors alone, offline --------------------------------------------------------
# The shipped YAML's default detector is palm (MediaPipe's palm model, trained on real
# photos); rejshand (ours, trained on these synthetic renders) is the other option.
def _cold_start_rates(kind: str, num_frames: int = 40) -> tuple[float, float]:
    """Fractions of easy one-hand synthetic frames where a fresh detector's boxes (a) put
    a box on the hand (centre within half a side, side within 2x) and (b) match it at
    IoU >= 0.5."""
    import torch

    from rejshand_ros.detection.evaluation import match_detections
    from rejshand_ros.detection.factory import DetectorSettings, build_detector
    from rejshand_ros.sources.synthetic import SyntheticSource

    torch.set_num_threads(1)
    threshold = 0.3 if kind == "rejshand" else 0.5  # each one's calibrated setting
    detector = build_detector(DetectorSettings(kind=kind, score_threshold=threshold,
                                               num_threads=1))
    source = SyntheticSource(seed=123, num_frames=num_frames, motion="random", num_hands=1)
    located = matched = 0
    for index in range(num_frames):
        image, _, truth = source.render(index)
        gt = _box(truth[0].uv)
        found = np.array([[*d.center, d.size, d.score] for d in detector.detect(image)])
        found = found.reshape(-1, 4)
        near = np.hypot(*(found[:, :2] - gt[:2]).T) < 0.5 * gt[2]
        sized = (found[:, 2] > 0.5 * gt[2]) & (found[:, 2] < 2.0 * gt[2])
        located += bool(np.any(near & sized))
        matched += len(match_detections(found, gt[None], 0.5)) == 1
    return located / num_frames, matched / num_frames


@pytest.fixture(scope="module")
def cold_start_rates() -> tuple[float, float]:
    return _cold_start_rates("rejshand")


@pytest.fixture(scope="module")
def palm_cold_start_rates() -> tuple[float, float]:
    return _cold_start_rates("palm")


def test_the_rejshand_detector_locates_the_hand_from_a_cold_start(cold_start_rates):
    """A seed box for the tracker: the first pose crop then refines it."""
    located, _ = cold_start_rates
    assert located >= 0.95, f"hand located in {located:.0%} of cold-start frames"


@pytest.mark.xfail(strict=True, reason="the rejshand detector (2000 CPU steps of a 20000-"
                   "step recipe) matches ~80% of hands at IoU 0.5 from a cold start; the "
                   "issue asks >= 95%: needs the rest of config/train/detector_synth_cpu.yaml")
def test_the_rejshand_detector_matches_95_percent_at_iou_half(cold_start_rates):
    _, matched = cold_start_rates
    assert matched >= 0.95, f"IoU >= 0.5 in {matched:.0%} of cold-start frames"


def test_the_palm_detector_on_synthetic_cold_starts(palm_cold_start_rates):
    """The default detector is trained on real photos; these renders are outside what it
    saw. Measured (docs/models.md "Detectors"): located in 78 % of these 40 frames (MediaPipe
    Hands' own pipeline finds 62 % of them), IoU >= 0.5 with the keypoint box x 1.25 in
    60 % (its box is rolled upright and sized ~1.35x the upright keypoint box)."""
    located, matched = palm_cold_start_rates
    assert located >= 0.7, f"hand located in {located:.0%} of cold-start frames"
    assert matched >= 0.5, f"IoU >= 0.5 in {matched:.0%} of cold-start frames"


# -- the node -----------------------------------------------------------------------------
class ShippedNode:
    """hand_pose_node with the shipped models, and the test's own rclpy node."""

    def __init__(self, directory: Path) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from sensor_msgs.msg import CameraInfo, Image

        from rejshand_ros.msg import HandPoseArray

        params = directory / "params.yaml"
        params.write_text(yaml.safe_dump({"hand_pose_node": {"ros__parameters": OVERRIDES}}))
        domain = 170 + os.getpid() % 20  # 0..232 (Fast DDS ports); beside the others
        env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_LOG_DIR=str(directory / "log"),
                   ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", PYTHONUNBUFFERED="1")
        prepare_environment(env)
        self.proc = subprocess.Popen(
            [str(NODE_EXE), "--ros-args", "--params-file", str(config_path("hand_pose.yaml")),
             "--params-file", str(params)], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True).start()
        prepare_environment()
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain)
        self.node = rclpy.create_node("accuracy_test", context=self.context)
        self.image_pub = self.node.create_publisher(Image, "/image", 10)
        self.info_pub = self.node.create_publisher(CameraInfo, "/camera_info", 10)
        self.results: dict[tuple[int, int], object] = {}
        self.node.create_subscription(HandPoseArray, "/hand_poses", self._store, 10)
        self.diagnostics: dict[str, str] = {}
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._store_diag, 10)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.stamp_ns = int(time.time() * 1e9)

    def _store(self, msg) -> None:
        self.results[(msg.header.stamp.sec, msg.header.stamp.nanosec)] = msg

    def _store_diag(self, msg) -> None:
        for status in msg.status:
            if status.name.startswith("/hand_pose_node"):
                self.diagnostics = {kv.key: kv.value for kv in status.values}

    def spin_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.02)

    def spin_until(self, predicate, what: str, timeout: float = 120.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.02)
            result = predicate()
            if result:
                return result
            assert self.proc.poll() is None, "node died:\n" + "".join(self.lines)[-3000:]
        raise AssertionError(f"timed out waiting for {what}:\n" + "".join(self.lines)[-3000:])

    def process(self, image: np.ndarray, K: np.ndarray, stamp):
        """Publish camera_info + image with ``stamp``; the HandPoseArray for it."""
        from sensor_msgs.msg import Image
        from std_msgs.msg import Header

        key = (stamp.sec, stamp.nanosec)
        header = Header(stamp=stamp, frame_id=FRAME_ID)
        height, width = image.shape[:2]
        self.info_pub.publish(_camera_info(K, width, height, stamp))
        self.image_pub.publish(Image(header=header, height=height, width=width,
                                     encoding="rgb8", step=width * 3, data=image.tobytes()))
        return self.spin_until(lambda: self.results.get(key), f"hand_poses of {key}")

    def close(self) -> int:
        self.node.destroy_node()
        self.context.try_shutdown()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def next_stamp(self, restart: bool):
        from builtin_interfaces.msg import Time

        if restart:  # a jump backwards: the node starts tracking afresh (cold start)
            self.stamp_ns -= 10 * 10**9
        else:
            self.stamp_ns += 50_000_000
        return Time(sec=self.stamp_ns // 10**9, nanosec=self.stamp_ns % 10**9)


def _camera_info(K: np.ndarray, width: int, height: int, stamp):
    from sensor_msgs.msg import CameraInfo
    from std_msgs.msg import Header

    return CameraInfo(header=Header(stamp=stamp, frame_id=FRAME_ID), width=width,
                      height=height, distortion_model="plumb_bob", d=[0.0] * 5,
                      k=K.ravel().tolist(), r=np.eye(3).ravel().tolist(),
                      p=np.hstack([K, np.zeros((3, 1))]).ravel().tolist())


def _hands_of(msg) -> list[tuple[int, np.ndarray, np.ndarray]]:
    return [(hand.track_id, np.asarray(hand.keypoints_2d, np.float64).reshape(21, 2),
             np.asarray(hand.keypoints_3d, np.float64).reshape(21, 3)) for hand in msg.hands]


@pytest.fixture(scope="module")
def sequence():
    """Ten frames of one easy scene, a hand moving smoothly; its K is every frame's K."""
    from rejshand_ros.sources.synthetic import SyntheticSource

    return SyntheticSource(seed=3, num_frames=10)


@pytest.fixture(scope="module")
def shipped(tmp_path_factory, sequence):
    """The node, up and holding the camera_info every test frame uses."""
    node = ShippedNode(tmp_path_factory.mktemp("shipped_node"))
    try:
        node.spin_until(lambda: node.image_pub.get_subscription_count() > 0
                        and node.info_pub.get_subscription_count() > 0,
                        "the node's image and camera_info subscriptions")
        K, deadline = sequence.render(0)[1], time.monotonic() + 60
        while node.diagnostics.get("camera_info") != "valid":
            assert time.monotonic() < deadline, "the node never reported a valid camera_info"
            node.info_pub.publish(_camera_info(K, 640, 480, node.next_stamp(False)))
            node.spin_for(0.3)
        yield node
    finally:
        code = node.close()
        output = "".join(node.lines)
        assert code == 0 and "Traceback" not in output, output[-3000:]


def _run_both(shipped: ShippedNode, pipeline, frames, restart_each: bool):
    """Each (image, K) through the node and the offline pipeline with the same stamps;
    returns [(node message, offline hands)]."""
    from rejshand_ros.perception.predictor import CameraModel

    results = []
    for index, (image, K) in enumerate(frames):
        restart = restart_each or index == 0
        stamp = shipped.next_stamp(restart)
        msg = shipped.process(image, K, stamp)
        if restart:
            pipeline.reset()
        offline = pipeline.process(image, stamp.sec + stamp.nanosec * 1e-9, CameraModel(K))
        results.append((msg, offline.hands))
    return results


def _assert_same(msg, offline_hands, ids: dict[int, int] | None = None) -> None:
    """Node output == offline output. Track ids (when ``ids`` is given): the node keeps
    counting ids across restarts and a fresh offline pipeline starts at 1, so ``ids``
    collects node id -> offline id over a sequence, which must stay one-to-one."""
    node_hands = _hands_of(msg)
    assert msg.header.frame_id == FRAME_ID and len(node_hands) == len(offline_hands)
    if ids is not None:
        for (node_id, _, _), hand in zip(node_hands, offline_hands):
            assert ids.setdefault(node_id, hand.track_id) == hand.track_id, (ids, node_id)
        assert len(set(ids.values())) == len(ids), ids
    for (_, uv, joints), hand, wire in zip(node_hands, offline_hands, msg.hands):
        np.testing.assert_allclose(uv, hand.uv, atol=0.01)  # px (float32 on the wire)
        np.testing.assert_allclose(joints, hand.joints, atol=1e-4)  # m
        assert wire.absolute and wire.header.stamp == msg.header.stamp


@pytest.mark.ros
def test_node_equals_the_offline_pipeline_and_the_truth_within_known_error(shipped, sequence,
                                                                          hard_cases):
    """Ten tracked frames of one hand. They all show one pose, so its baseline takes the
    mean pose of the module's 24 independent hands (the border and overlap scenes)."""
    renders = [sequence.render(i) for i in range(10)]
    results = _run_both(shipped, _offline_pipeline(), [(im, K) for im, K, _ in renders],
                        restart_each=False)
    uv_errors, pred, truths, ids = [], [], [], {}
    for (msg, offline), (image, _, truth) in zip(results, renders):
        _assert_same(msg, offline, ids)
        if not offline:  # the track drifted off (presence < threshold); re-detected next frame
            continue
        hand = _closest(offline, truth[0])
        uv_errors.append(_errors(hand, truth[0])[0])
        pred.append(hand.joints)
        truths.append(truth[0].joints)
    assert len(pred) >= 9, f"hand tracked in {len(pred)} of 10 frames"
    assert_beats_mean_pose(pred, truths, reference=_independent_truths(hard_cases))
    assert np.mean(uv_errors) <= MAX_UV_ERROR_BOX, uv_errors


def _move_box_to(hand, K: np.ndarray, target: np.ndarray) -> None:
    """Translate ``hand`` parallel to the image plane so that its box centre projects to
    ``target`` (px)."""
    from rejshand_ros.geometry.camera import project

    box = _box(project(hand.joints, K))
    depth = hand.joints[:, 2].mean()
    hand.moved(np.array([(target[0] - box[0]) * depth / K[0, 0],
                         (target[1] - box[1]) * depth / K[1, 1], 0.0]))


def _clean_scene(seed: int, num_hands: int, K: np.ndarray):
    """An easy scene seen through ``K`` (all frames share one camera_info, so the node never
    pairs an image with another frame's intrinsics), without props (they would not follow
    the moved hands)."""
    from rejshand_ros.sources.synthetic import EASY_SCENE
    from rejshand_ros.synth.scene import sample_frame_scene

    scene = sample_frame_scene(np.random.default_rng(1000 + seed), 640, 480, EASY_SCENE,
                               num_hands)
    scene.K, scene.props = K.copy(), []
    return scene


def _border_scene(seed: int, K: np.ndarray):
    """One hand whose box centre is a quarter of its side from the left image edge (part
    of the hand outside the image)."""
    from rejshand_ros.geometry.camera import project

    scene = _clean_scene(seed, 1, K)
    hand = scene.hands[0]
    _move_box_to(hand, K, np.array([0.25 * _box(project(hand.joints, K))[2], 240.0]))
    return scene


def _overlap_scene(seed: int, K: np.ndarray):
    """Two hands at their own depths, the second one's box centre 0.4 of a box side right
    of (and 0.12 below) the first one's."""
    from rejshand_ros.geometry.camera import project

    scene = _clean_scene(seed, 2, K)
    first, second = scene.hands
    _move_box_to(first, K, np.array([260.0, 220.0]))
    box = _box(project(first.joints, K))
    _move_box_to(second, K, box[:2] + box[2] * np.array([0.4, 0.12]))
    return scene


def _render(scene):
    from rejshand_ros.sources.synthetic import sample_to_ground_truth
    from rejshand_ros.synth.generate import render_sample

    sample = render_sample(scene)
    return sample.image, sample.K, sample_to_ground_truth(sample)


@pytest.fixture(scope="module")
def hard_cases(shipped, sequence):
    """Eight border and eight overlapping scenes, each a cold start, through the node and
    offline: {kind: [(node message, offline hands, truth)]}."""
    cases = {}
    for kind, make in (("border", _border_scene), ("overlap", _overlap_scene)):
        renders = [_render(make(seed, sequence.render(0)[1])) for seed in range(HARD_CASES)]
        results = _run_both(shipped, _offline_pipeline(), [(im, K) for im, K, _ in renders],
                            restart_each=True)
        cases[kind] = [(msg, offline, truth) for (msg, offline), (_, _, truth)
                       in zip(results, renders)]
    return cases


def _independent_truths(hard_cases) -> list[np.ndarray]:
    """True joints of every hand in the border and overlap scenes (24 distinct poses)."""
    return [t.joints for kind in ("border", "overlap") for _, _, truth in hard_cases[kind]
            for t in truth]


@pytest.mark.ros
def test_a_hand_at_the_image_border_is_found_from_a_cold_start(hard_cases):
    """Offline on 10 seeds: found in 9, box-relative 2D error 0.09-0.28 (one 1.03)."""
    uv_errors, pred, truths = [], [], []
    for msg, offline, truth in hard_cases["border"]:
        _assert_same(msg, offline)
        if offline:
            hand = _closest(offline, truth[0])
            uv_errors.append(_errors(hand, truth[0])[0])
            pred.append(hand.joints)
            truths.append(truth[0].joints)
    assert len(pred) >= HARD_CASES - 1, f"border hand found in {len(pred)} frames"
    assert np.median(uv_errors) <= MAX_UV_ERROR_BOX, uv_errors
    assert_beats_mean_pose(pred, truths)


@pytest.mark.ros
def test_two_overlapping_hands_give_a_valid_hand_on_one_of_them(hard_cases):
    """Offline on 10 seeds: a hand in every frame. Per frame, the (found hand, true
    hand) pair with the smaller error is scored; the baseline scores its mean pose against
    the same true hands."""
    pred, truths = [], []
    for msg, offline, truth in hard_cases["overlap"]:
        _assert_same(msg, offline)
        assert len(offline) >= 1, "neither overlapping hand found"
        hand, best = min(((hand, t) for hand in offline for t in truth),
                         key=lambda pair: _errors(*pair)[1])
        pred.append(hand.joints)
        truths.append(best.joints)
    assert_beats_mean_pose(pred, truths)


@pytest.mark.ros
@pytest.mark.xfail(strict=True, reason="the rejshand detector often merges two overlapping "
                   "hands into one box (offline: both found in 4 of 10 seeds); the palm "
                   "detector gives two boxes in none of these 8 renders")
def test_two_overlapping_hands_are_both_found(hard_cases):
    both = sum(len(offline) == 2 for _, offline, _ in hard_cases["overlap"])
    assert both >= HARD_CASES - 1, f"both hands found in {both} of {HARD_CASES} frames"


@pytest.mark.ros
def test_a_constant_mean_hand_fails_the_baseline_assertion(hard_cases):
    """The same assertion refuses a "model" that outputs the frames' mean hand whatever
    the image (1x the baseline)."""
    truths = _independent_truths(hard_cases)
    roots = np.asarray(truths)[:, 9:10]
    with pytest.raises(AssertionError, match=r"= 1\.00x the mean-pose baseline"):
        assert_beats_mean_pose(mean_pose(truths)[None] + roots, truths)


def _procrustes_mean(truth_joints, iterations: int = 10) -> np.ndarray:
    """(21, 3) mean root-relative pose after aligning every pose to it (rotation, scale:
    generalised Procrustes), i.e. the mean hand shape whatever its orientation."""
    from rejshand_ros.geometry.procrustes import procrustes_align

    truth = np.asarray(truth_joints, np.float64)
    poses = truth - truth[:, 9:10]
    mean = poses[0]
    for _ in range(iterations):
        mean = np.mean([procrustes_align(pose, mean) for pose in poses], axis=0)
    return mean


@pytest.mark.ros
def test_the_shipped_model_beats_one_constant_hand(hard_cases):
    """The best single constant hand (the Procrustes mean of the true poses, placed at each
    true root) is a harder baseline than the camera-frame mean pose above, which averages
    hands of different orientations into a shrunken hand. On the border and overlap frames
    rejshand_lite0_real scores 6.1 mm PA-MPJPE against that hand's 9.0 mm (0.68x; the
    synthetic-only model before it, 12.6 vs 8.6 mm, was worse than the constant)."""
    pred, truths = [], []
    for kind in ("border", "overlap"):
        for _, offline, truth in hard_cases[kind]:
            if offline:
                hand, best = min(((hand, t) for hand in offline for t in truth),
                                 key=lambda pair: _errors(*pair)[1])
                pred.append(hand.joints)
                truths.append(best.joints)
    constant = _procrustes_mean(_independent_truths(hard_cases))
    roots = np.asarray(truths)[:, 9:10]
    constant_mm = float(evaluate_pa(constant[None] + roots, truths))
    model_mm = float(evaluate_pa(pred, truths))
    report = f"model {model_mm:.1f} mm, one constant hand {constant_mm:.1f} mm"
    print(report)
    assert model_mm <= 0.8 * constant_mm, report


def evaluate_pa(pred_joints, truth_joints) -> float:
    """Mean PA-MPJPE (mm) by the official metric."""
    from rejshand_ros.evaluation.metrics import evaluate

    return float(evaluate(np.asarray(pred_joints, np.float64),
                          np.asarray(truth_joints, np.float64))["pa_mpjpe_mm"])
