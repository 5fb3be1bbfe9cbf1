"""Track management: detections -> tracks, loss, duplicates, handedness, smoothing."""

from dataclasses import dataclass

import numpy as np

from rejshand_ros.perception.hand_prediction import Handedness, HandPrediction
from rejshand_ros.geometry.crop import crop_from_box, full_to_crop, upright_rotation_rad
from rejshand_ros.perception.tracking.tracks import (HandTracker, SmoothingConfig, TrackerConfig,
                                                     box_iou, square_box, upright_box)

OFF = SmoothingConfig(enabled=False)


@dataclass
class Det:
    center: tuple
    size: float
    score: float = 0.9
    handedness: Handedness = Handedness.RIGHT
    rotation_rad: float = 0.0


def _hand(cx, cy, spread=40.0, presence=0.9, handedness=Handedness.RIGHT, score=0.95, seed=0):
    rng = np.random.default_rng(seed)
    uv = np.array([cx, cy]) + rng.uniform(-spread, spread, (21, 2))
    return HandPrediction(uv=uv, joints=rng.normal(0, 0.03, (21, 3)), presence=presence,
                          handedness=handedness, handedness_score=score)


def test_box_helpers_hand_computed():
    assert box_iou((0, 0), 2, (1, 0), 2) == 2 / 6
    assert box_iou((0, 0), 2, (5, 5), 2) == 0
    center, size = square_box(np.array([[0, 0], [10, 4], [np.nan, 1]]), 1.5)
    assert tuple(center) == (5, 2) and size == 15


def _long_hand(angle_rad: float, center=(300.0, 200.0)) -> np.ndarray:
    """(21, 2) keypoints of a 100 x 20 px hand along ``angle_rad`` (image axes): wrist at
    one end, middle MCP (9) 40 px further, fingertips at the other end."""
    along = np.linspace(-50.0, 50.0, 21)
    across = np.tile([-10.0, 0.0, 10.0], 7)
    local = np.stack([along, across], 1)
    local[0], local[9] = (-50.0, 0.0), (-10.0, 0.0)
    rot = np.array([[np.cos(angle_rad), -np.sin(angle_rad)], [np.sin(angle_rad), np.cos(angle_rad)]])
    return np.asarray(center) + local @ rot.T


def test_upright_box_is_tight_around_a_tilted_hand_and_turns_it_up():
    for angle in (0.0, np.pi / 4, 2.0, -2.5):
        uv = _long_hand(angle)
        center, side, rotation = upright_box(uv, 1.5)
        assert np.isclose(side, 100.0 * 1.5)  # the hand's length, whatever its tilt
        assert np.allclose(center, (300.0, 200.0))
        crop = full_to_crop(uv, crop_from_box(center, side, 150, rotation))
        assert np.all((crop >= 0) & (crop <= 150))
        wrist_to_mcp = crop[9] - crop[0]
        assert np.allclose(wrist_to_mcp / np.linalg.norm(wrist_to_mcp), (0.0, -1.0))
    # the axis-aligned square of a 45-degree hand is ~0.78 of its length; upright it is tight
    assert square_box(_long_hand(np.pi / 4), 1.0)[1] < 80.0


def test_detections_start_tracks_up_to_max_and_not_twice():
    tracker = HandTracker(TrackerConfig(max_hands=2))
    started = tracker.add_detections([Det((100, 100), 80), Det((105, 100), 80, 0.5),
                                      Det((400, 300), 90, 0.8), Det((600, 50), 50, 0.7)])
    assert [t.track_id for t in started] == [1, 2]
    assert not tracker.wants_detection
    assert [tuple(t.center) for t in tracker.tracks] == [(100, 100), (400, 300)]


def test_tracks_follow_keypoints_and_end_when_presence_drops():
    tracker = HandTracker(TrackerConfig(max_hands=2))
    tracker.add_detections([Det((100, 100), 80), Det((400, 300), 90)])
    hands = tracker.update([_hand(110, 100), _hand(400, 310, seed=1)], 0.0, OFF)
    assert [h.track_id for h in hands] == [1, 2]
    assert np.allclose(tracker.tracks[0].center, square_box(hands[0].uv, 1.5)[0])
    assert tracker.tracks[0].rotation == 0.0  # unrolled crops unless upright_crops
    hands = tracker.update([_hand(120, 100), _hand(400, 320, presence=0.1)], 0.1, OFF)
    assert [h.track_id for h in hands] == [1] and tracker.wants_detection
    tracker.add_detections([Det((400, 300), 90)])
    assert tracker.tracks[-1].track_id == 3  # a new id after the loss


def test_duplicate_tracks_merge_into_the_older_one():
    tracker = HandTracker(TrackerConfig(max_hands=2))
    tracker.add_detections([Det((100, 100), 80), Det((300, 100), 80)])
    hands = tracker.update([_hand(200, 100), _hand(202, 101, seed=1)], 0.0, OFF)
    assert [h.track_id for h in hands] == [1]


def test_non_finite_output_ends_the_track():
    tracker = HandTracker()
    tracker.add_detections([Det((100, 100), 80)])
    bad = _hand(100, 100)
    bad.joints[3, 1] = np.nan
    assert tracker.update([bad], 0.0, OFF) == [] and tracker.tracks == []


def test_handedness_switches_after_consecutive_confident_disagreements():
    tracker = HandTracker(TrackerConfig(handedness_switch_frames=3))
    tracker.add_detections([Det((100, 100), 80, handedness=Handedness.RIGHT)])
    labels = []
    for frame in range(4):
        hands = tracker.update([_hand(100, 100, handedness=Handedness.LEFT, score=0.9)],
                               frame / 30, OFF)
        labels.append((hands[0].handedness, round(hands[0].handedness_score, 2)))
    assert labels[:2] == [(Handedness.RIGHT, 0.1)] * 2  # the track's label, its probability
    assert labels[2:] == [(Handedness.LEFT, 0.9)] * 2


def test_upright_tracks_take_the_detectors_roll_then_the_keypoints():
    tracker = HandTracker(TrackerConfig(upright_crops=True))
    tracker.add_detections([Det((300, 200), 150, rotation_rad=0.7)])
    assert tracker.tracks[0].rotation == 0.7
    uv = _long_hand(2.0)
    tracker.update([HandPrediction(uv=uv, joints=np.zeros((21, 3)), presence=0.9,
                                   handedness=Handedness.RIGHT, handedness_score=0.9)], 0.0, OFF)
    track = tracker.tracks[0]  # (keypoints stored as float32)
    assert np.allclose(track.center, (300, 200), atol=1e-4)
    assert np.isclose(track.size, 150.0, atol=1e-3)
    assert np.isclose(track.rotation, upright_rotation_rad(uv), atol=1e-6)
    unrolled = HandTracker(TrackerConfig())  # the default: detector rolls are ignored
    unrolled.add_detections([Det((300, 200), 150, rotation_rad=0.7)])
    assert unrolled.tracks[0].rotation == 0.0


def test_a_track_without_handedness_takes_the_networks_at_once():
    tracker = HandTracker(TrackerConfig(handedness_switch_frames=3))
    tracker.add_detections([Det((100, 100), 80, handedness=Handedness.UNKNOWN)])
    hands = tracker.update([_hand(100, 100, handedness=Handedness.LEFT, score=0.6)], 0.0, OFF)
    assert hands[0].handedness == Handedness.LEFT and hands[0].handedness_score == 0.6
    assert tracker.tracks[0].handedness == Handedness.LEFT  # next crop mirrored


def test_smoothing_reduces_jitter_of_a_still_hand():
    rng = np.random.default_rng(0)
    tracker = HandTracker()
    tracker.add_detections([Det((200, 200), 100)])
    base = _hand(200, 200)
    raw, smooth = [], []
    for frame in range(60):
        noisy = HandPrediction(uv=base.uv + rng.normal(0, 2.0, (21, 2)), joints=base.joints,
                               presence=0.9, handedness=Handedness.RIGHT, handedness_score=0.9)
        raw.append(noisy.uv.copy())
        smooth.append(tracker.update([noisy], frame / 30, SmoothingConfig())[0].uv)
    assert np.std(np.array(smooth)[20:], axis=0).mean() < 0.5 * np.std(np.array(raw)[20:], axis=0).mean()


class _CountingDetector:
    """Returns ``found`` (mutable) and counts its calls."""

    def __init__(self, found):
        self.found, self.calls = found, 0

    def detect(self, image):
        self.calls += 1
        return list(self.found)


class _EchoPredictor:
    """A hand centred in each box, always present."""

    def predict(self, image, boxes, camera=None):
        return [_hand(*box.center) for box in boxes]


def test_detector_cadence_every_frame_without_tracks_every_nth_with_some():
    from rejshand_ros.perception.pipeline import HandPipeline, PipelineConfig

    detector = _CountingDetector([])
    pipeline = HandPipeline(_EchoPredictor(), detector,
                            PipelineConfig(tracker=TrackerConfig(max_hands=2), smoothing=OFF,
                                           detect_interval=4))
    image = np.zeros((480, 640, 3), np.uint8)
    ran = [pipeline.process(image, i * 0.1).detected for i in range(3)]
    assert ran == [True, True, True] and detector.calls == 3  # no track: every frame
    detector.found = [Det((100, 100), 80)]
    ran = [pipeline.process(image, 0.3 + i * 0.1).detected for i in range(9)]
    # found on the first, then one hand tracked (< max_hands): every 4th frame
    assert ran == [True, False, False, False, True, False, False, False, True]
    detector.found = [Det((100, 100), 80), Det((400, 300), 80)]
    for i in range(5):
        pipeline.process(image, 1.2 + i * 0.1)
    calls = detector.calls
    assert len(pipeline.tracker.tracks) == 2
    pipeline.process(image, 2.0)
    assert detector.calls == calls  # max_hands tracked: never


def test_the_pose_network_gets_the_detectors_roll_with_upright_crops():
    from rejshand_ros.perception.pipeline import HandPipeline, PipelineConfig

    class Recording(_EchoPredictor):
        boxes: list = []

        def predict(self, image, boxes, camera=None):
            self.boxes.append(list(boxes))
            return super().predict(image, boxes, camera)

    image = np.zeros((480, 640, 3), np.uint8)
    for upright, expected in ((True, 0.5), (False, 0.0)):
        predictor = Recording()
        predictor.boxes = []
        pipeline = HandPipeline(predictor, _CountingDetector([Det((100, 100), 80,
                                                                  rotation_rad=0.5)]),
                                PipelineConfig(tracker=TrackerConfig(upright_crops=upright),
                                               smoothing=OFF))
        pipeline.process(image, 0.0)
        box = predictor.boxes[0][0]
        assert box.rotation_rad == expected and box.size == 80 and box.track_id == 1


def test_a_new_hand_is_predicted_again_on_its_keypoints_box():
    from rejshand_ros.perception.pipeline import HandPipeline, PipelineConfig

    class Shifted(_EchoPredictor):
        """The hand 30 px right of each box's centre: the keypoints' box differs from the
        detector's, so the second run sees a different crop."""
        boxes: list = []

        def predict(self, image, boxes, camera=None):
            self.boxes.append(list(boxes))
            return [_hand(box.center[0] + 30, box.center[1]) for box in boxes]

    image = np.zeros((480, 640, 3), np.uint8)
    for refine, runs in ((True, 2), (False, 1)):
        predictor = Shifted()
        predictor.boxes = []
        pipeline = HandPipeline(predictor, _CountingDetector([Det((100, 100), 80)]),
                                PipelineConfig(tracker=TrackerConfig(upright_crops=False),
                                               smoothing=OFF, refine_new_tracks=refine))
        hands = pipeline.process(image, 0.0).hands
        assert len(predictor.boxes) == runs
        first = _hand(130, 100)  # what the first run returned
        if refine:  # the second crop is the first run's keypoints' tracking box
            center, size = square_box(first.uv, 1.5)
            assert np.allclose(predictor.boxes[1][0].center, center)
            assert abs(predictor.boxes[1][0].size - size) < 1e-9
            assert predictor.boxes[1][0].track_id == predictor.boxes[0][0].track_id
            assert np.allclose(hands[0].uv, _hand(center[0] + 30, center[1]).uv)
        else:
            assert np.allclose(hands[0].uv, first.uv)
        pipeline.process(image, 0.1)  # a tracked hand: one run per frame
        assert len(predictor.boxes) == runs + 1


def test_pipeline_takes_new_settings_between_frames_and_keeps_its_tracks():
    from rejshand_ros.perception.pipeline import HandPipeline, PipelineConfig

    detector = _CountingDetector([Det((100, 100), 80), Det((400, 300), 80)])
    pipeline = HandPipeline(_EchoPredictor(), detector,
                            PipelineConfig(tracker=TrackerConfig(max_hands=1), smoothing=OFF,
                                           detect_interval=4))
    image = np.zeros((480, 640, 3), np.uint8)
    assert len(pipeline.process(image, 0.0).hands) == 1
    first = pipeline.tracker.tracks[0].track_id
    pipeline.configure(PipelineConfig(tracker=TrackerConfig(max_hands=2), smoothing=OFF,
                                      detect_interval=1))
    assert pipeline.process(image, 0.1).detected  # every frame now, room for a second hand
    assert len(pipeline.tracker.tracks) == 2 and pipeline.tracker.tracks[0].track_id == first


def test_smoothing_settings_change_on_live_tracks():
    tracker = HandTracker()
    tracker.add_detections([Det((200, 200), 100)])
    base = _hand(200, 200)

    def step(frame, offset, config):
        moved = HandPrediction(uv=base.uv + offset, joints=base.joints, presence=0.9,
                               handedness=Handedness.RIGHT, handedness_score=0.9)
        return tracker.update([moved], frame / 30, config)[0].uv

    heavy = SmoothingConfig(min_cutoff=0.01, beta=0.0)
    for frame in range(5):
        step(frame, 0.0, heavy)
    lagging = step(5, 10.0, heavy) - base.uv  # a 10 px step barely gets through
    assert np.abs(lagging).max() < 0.1
    light = SmoothingConfig(min_cutoff=1000.0, beta=0.0)  # same track, filter retuned
    assert np.abs(step(6, 10.0, light) - base.uv - 10.0).max() < 0.1
    assert np.allclose(step(7, 20.0, OFF), base.uv + 20.0)  # off: raw values
    assert not tracker.tracks[0].filters  # and the filter state is dropped
