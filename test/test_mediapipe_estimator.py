"""The MediaPipe estimator: conversion and track assignment without mediapipe (hand-made
answers), the line-protocol worker on a tiny stand-in, then the real worker in
.venv-peers (created with scripts/setup_peers.sh when missing; skipped with the reason
only when that install fails)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rejshand_ros.mediapipe_hands.line_worker import LineWorker, WorkerError
from rejshand_ros.mediapipe_hands.conversion import (MODEL_ID, hand_to_prediction,
                                                     handedness_from_label)
from rejshand_ros.mediapipe_hands.pipeline import assign_tracks
from rejshand_ros.perception.hand_prediction import Handedness
from rejshand_ros.perception.predictor import CameraModel
from rejshand_ros.perception.tracking.tracks import HandTracker, TrackerConfig

K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])


def _world() -> np.ndarray:
    """21 points, metres, around the origin as MediaPipe's world landmarks are."""
    grid = np.stack(np.meshgrid(np.arange(7), np.arange(3)), -1).reshape(-1, 2) * 0.01
    return np.concatenate([grid - grid.mean(0), np.linspace(-0.01, 0.01, 21)[:, None]], 1)


def _answer(world: np.ndarray, uv: np.ndarray, label: str = "Left", score: float = 0.9):
    return {"uv": uv.tolist(), "world": world.tolist(), "label": label, "score": score}


def test_handedness_is_swapped_for_a_camera_image_and_kept_for_a_mirrored_one():
    assert handedness_from_label("Left", mirrored=False) == Handedness.RIGHT
    assert handedness_from_label("Right", mirrored=False) == Handedness.LEFT
    assert handedness_from_label("Left", mirrored=True) == Handedness.LEFT
    with pytest.raises(ValueError, match="unknown MediaPipe handedness label"):
        handedness_from_label("left", mirrored=False)


def test_conversion_root_relative_without_camera():
    world = _world()
    uv = np.arange(42, dtype=np.float64).reshape(21, 2) + 100.0
    hand = hand_to_prediction(_answer(world, uv), camera=None)
    np.testing.assert_allclose(hand.joints, world - world[9], atol=1e-7)
    np.testing.assert_allclose(hand.joints[9], 0.0)
    np.testing.assert_allclose(hand.uv, uv)
    assert not hand.absolute and hand.vertices is None and hand.mesh_id == ""
    assert hand.model_id == MODEL_ID == "mediapipe_hands_0.10.14"
    assert hand.handedness == Handedness.RIGHT and hand.handedness_score == pytest.approx(0.9)
    # roi: the square around the keypoints (100..140 x 101..141 px), 1.5 times larger
    side = 40.0 * 1.5
    assert hand.roi == pytest.approx((120.0 - side / 2, 121.0 - side / 2, side, side))


def test_conversion_is_absolute_with_intrinsics_and_reprojects_onto_the_keypoints():
    """Hand-made case: the skeleton 0.6 m in front of the camera, shifted 5 cm right;
    its projection is the 2D answer, so the solved root is exactly that translation."""
    world = _world()
    t = np.array([0.05, -0.02, 0.6])
    camera_frame = world - world[9] + t
    uv = camera_frame[:, :2] / camera_frame[:, 2:] * 500.0 + [320.0, 240.0]
    hand = hand_to_prediction(_answer(world, uv), CameraModel(K))
    assert hand.absolute
    np.testing.assert_allclose(hand.joints, camera_frame, atol=1e-6)
    np.testing.assert_allclose(hand.joints[9], t, atol=1e-6)


def test_conversion_rescales_to_the_hand_size():
    world = _world()
    uv = np.full((21, 2), 50.0) + np.arange(21)[:, None]
    hand = hand_to_prediction(_answer(world, uv), hand_size=0.09)
    assert np.linalg.norm(hand.joints[9] - hand.joints[0]) == pytest.approx(0.09)


def _hand_at(u: float, v: float, label: str = "Left", score: float = 0.9):
    offsets = np.stack(np.meshgrid(np.arange(7), np.arange(3)), -1).reshape(-1, 2) * 10.0
    return hand_to_prediction(_answer(_world(), offsets + [u, v], label, score))


def test_tracks_follow_the_overlapping_hand_whatever_the_order_mediapipe_gives():
    tracker = HandTracker(TrackerConfig(max_hands=2))
    first = assign_tracks(tracker, [_hand_at(100, 100), _hand_at(400, 300, "Right", 0.8)])
    assert [t.track_id for t in tracker.tracks] == [1, 2]
    tracker.update(first, 0.0, _no_smoothing())
    # next frame: MediaPipe lists the hands the other way round, both moved a little
    moved = [_hand_at(405, 303, "Right"), _hand_at(104, 98)]
    ordered = assign_tracks(tracker, moved)
    assert [t.track_id for t in tracker.tracks] == [1, 2]
    assert ordered[0] is moved[1] and ordered[1] is moved[0]
    hands = tracker.update(ordered, 0.05, _no_smoothing())
    assert [(h.track_id, h.handedness) for h in hands] == [(1, Handedness.RIGHT),
                                                           (2, Handedness.LEFT)]
    # a hand far away: track 1 ends, the new hand gets a new id
    ordered = assign_tracks(tracker, [_hand_at(404, 302, "Right"), _hand_at(500, 50)])
    assert [t.track_id for t in tracker.tracks] == [2, 3]
    assert [h.uv[0, 0] for h in ordered] == [404.0, 500.0]


def _no_smoothing():
    from rejshand_ros.perception.tracking.tracks import SmoothingConfig

    return SmoothingConfig(enabled=False)


# -- the line protocol on a stand-in worker -----------------------------------------------
ECHO_WORKER = textwrap.dedent("""
    import json, os, sys
    out = sys.stdout.buffer
    out.write(b'{"ready": true}\\n'); out.flush()
    for line in sys.stdin.buffer:
        cmd = json.loads(line)
        if cmd["cmd"] == "sum":
            data = sys.stdin.buffer.read(cmd["size"])
            out.write(json.dumps({"sum": sum(data)}).encode() + b"\\n"); out.flush()
        elif cmd["cmd"] == "die":
            sys.stderr.write("dying on purpose\\n"); sys.stderr.flush(); os._exit(3)
        elif cmd["cmd"] == "quit":
            break
        else:
            out.write(json.dumps({"error": "unknown"}).encode() + b"\\n"); out.flush()
""")


def test_line_worker_sends_payloads_reports_errors_and_a_crash(tmp_path):
    script = tmp_path / "echo_worker.py"
    script.write_text(ECHO_WORKER)
    worker = LineWorker([sys.executable, str(script)], "echo worker", timeout_s=20)
    payload = np.arange(1_000_000, dtype=np.uint32).astype(np.uint8).tobytes()
    assert worker.request({"cmd": "sum", "size": len(payload)}, payload) == \
        {"sum": sum(payload)}
    with pytest.raises(WorkerError, match="echo worker: unknown"):
        worker.request({"cmd": "nonsense"})
    with pytest.raises(WorkerError, match="exited with code 3: dying on purpose"):
        worker.request({"cmd": "die"})
    assert not worker.alive
    worker.close()
    with pytest.raises(WorkerError, match="cannot start the echo worker"):
        LineWorker([str(tmp_path / "missing")], "echo worker")


# -- the real MediaPipe worker in .venv-peers ----------------------------------------------
def synthetic_scores(python: Path, num_scenes: int = 8, frames: int = 3) -> dict:
    """MediaPipe estimator (no smoothing) on short synthetic sequences of one hand: mean
    2D error / box side and handedness accuracy over the frames with the hand found."""
    from rejshand_ros.mediapipe_hands.client import MediaPipeHandsWorker
    from rejshand_ros.mediapipe_hands.pipeline import MediaPipePipeline
    from rejshand_ros.perception.pipeline import PipelineConfig
    from rejshand_ros.sources.synthetic import SyntheticSource
    from rejshand_ros.perception.tracking.tracks import SmoothingConfig, square_box

    pipeline = MediaPipePipeline(MediaPipeHandsWorker(python, max_hands=2),
                                 PipelineConfig(smoothing=SmoothingConfig(enabled=False)))
    errors, correct, total = [], 0, 0
    try:
        for seed in range(num_scenes):
            source = SyntheticSource(seed=seed, num_frames=frames)
            pipeline.reset()
            for index in range(frames):
                image, K, (truth,) = source.render(index)
                hands = pipeline.process(image, index / 30.0, CameraModel(K)).hands
                total += 1
                if not hands:
                    continue
                hand = min(hands, key=lambda h: np.linalg.norm(h.uv - truth.uv, 1).mean())
                box = square_box(truth.uv, 1.0)[1]
                errors.append(np.linalg.norm(hand.uv - truth.uv, axis=1).mean() / box)
                correct += hand.handedness == truth.handedness
                assert hand.absolute and hand.vertices is None
    finally:
        pipeline.close()
    return {"frames": total, "found": len(errors), "uv_error_box": float(np.mean(errors)),
            "handedness_accuracy": correct / max(len(errors), 1)}


def test_mediapipe_finds_synthetic_hands_with_small_2d_error_and_right_handedness(
        mediapipe_python):
    scores = synthetic_scores(mediapipe_python)
    print(scores)
    assert scores["found"] >= 0.6 * scores["frames"], scores  # 69 % over 200 frames
    assert scores["uv_error_box"] < 0.15, scores  # well under the box size
    assert scores["handedness_accuracy"] >= 0.8, scores


def test_predict_cli_with_the_mediapipe_estimator(tmp_path, mediapipe_python, venv_bin):
    import json

    import cv2

    from rejshand_ros.sources.synthetic import SyntheticSource

    image, _, (truth,) = SyntheticSource(seed=3, num_frames=4).render(0)
    cv2.imwrite(str(tmp_path / "hand.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    command = [str(venv_bin / "rejshand-predict"), str(tmp_path / "hand.png"), "--out",
               str(tmp_path / "out"), "--estimator", "mediapipe", "--no-overlay"]
    done = subprocess.run(command + ["--mediapipe-python", str(mediapipe_python)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    (hand,) = json.loads((tmp_path / "out" / "hand.json").read_text())["hands"]
    assert hand["handedness"] == truth.handedness.value and hand["vertices"] is None
    error = np.linalg.norm(np.asarray(hand["keypoints_2d"]) - truth.uv, axis=1).mean()
    assert error < 0.15 * np.ptp(truth.uv, axis=0).max(), error
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["model_id"] == "mediapipe_hands_0.10.14" and summary["mesh_id"] == ""
    missing = tmp_path / "nowhere" / "python"
    done = subprocess.run(command + ["--mediapipe-python", str(missing)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and f"interpreter {missing} does not exist" in done.stderr
