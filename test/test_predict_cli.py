"""rejshand-predict: a folder of images and a short video -> JSON per frame + overlays.

The models are random-init files written here (the shipped trained ones are not needed
to check the plumbing); with detector threshold 0 and presence threshold 0 every frame
has max_hands hands, deterministically. Accuracy is the evaluator's business.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from rejshand_ros.sources import CameraCalibration, open_source

WIDTH, HEIGHT = 320, 240


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[Path, Path]:
    import torch

    from rejshand_ros.detection import DetectorConfig, HandDetectorNet, save_detector_file
    from rejshand_ros.hand_model import MESH_ID, faces_for_side
    from rejshand_ros.model.config import ModelConfig
    from rejshand_ros.model.model_file import save_model_file
    from rejshand_ros.model.rejshand import ReJSHand

    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("models")
    pose, detector = directory / "pose.safetensors", directory / "detector.safetensors"
    save_model_file(pose, ReJSHand(ModelConfig(backbone="fastvit_t8", input_size=128)),
                    mesh_id=MESH_ID, model_id="test_pose", faces=faces_for_side("right"))
    save_detector_file(detector, HandDetectorNet(DetectorConfig(input_size=128)),
                       model_id="test_detector")
    return pose, detector


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    """A folder of 3 synthetic PNGs and a 6-frame synthetic MP4."""
    root = tmp_path_factory.mktemp("inputs")
    source = open_source("synthetic", seed=2, width=WIDTH, height=HEIGHT, num_frames=6)
    (root / "images").mkdir()
    video = cv2.VideoWriter(str(root / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0,
                            (WIDTH, HEIGHT))
    for index in range(6):
        bgr = cv2.cvtColor(source.read().image, cv2.COLOR_RGB2BGR)
        video.write(bgr)
        if index < 3:
            cv2.imwrite(str(root / "images" / f"hand_{index}.png"), bgr)
    video.release()
    (root / "calib.yaml").write_text(CameraCalibration.from_K(source.read().K, WIDTH, HEIGHT)
                                     .to_yaml())
    return root, root / "clip.mp4"


def _run(venv_bin, *args, timeout=240):
    return subprocess.run([str(venv_bin / "rejshand-predict"), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def _check_hand(hand: dict, vertices: int | None = 778) -> None:
    assert set(hand) >= {"track_id", "handedness", "handedness_score", "score", "box",
                         "keypoints_2d", "joints_3d", "absolute", "vertices", "mesh_id"}
    assert hand["handedness"] in ("left", "right")
    assert np.asarray(hand["keypoints_2d"]).shape == (21, 2)
    assert np.asarray(hand["joints_3d"]).shape == (21, 3)
    assert len(hand["box"]) == 4
    if vertices is not None:
        assert np.asarray(hand["vertices"]).shape == (vertices, 3)
        assert np.isfinite(hand["vertices"]).all()


def test_folder_and_video_give_json_per_frame_and_overlays(venv_bin, models, inputs, tmp_path):
    pose, detector = models
    root, video = inputs
    out = tmp_path / "out"
    result = _run(venv_bin, root / "images", video, "--out", out, "--model", pose,
                  "--detector", "rejshand", "--detector-model", detector, "--detector-threshold", 0, "--presence-threshold",
                  0, "--max-hands", 2, "--max-frames", 4, "--camera-info", root / "calib.yaml")
    assert result.returncode == 0, result.stderr[-3000:]
    for index in range(3):
        frame = json.loads((out / f"hand_{index}.json").read_text())
        assert frame["image_size"] == [WIDTH, HEIGHT] and frame["frame"] == 0
        assert frame["model_id"] == "test_pose" and frame["detector_model_id"] == "test_detector"
        assert frame["absolute"] is True and 1 <= len(frame["hands"]) <= 2
        for hand in frame["hands"]:
            _check_hand(hand)
        overlay = cv2.imread(str(out / f"hand_{index}.png"))
        assert overlay.shape == (HEIGHT, WIDTH, 3)
    frames = sorted((out / "clip").glob("frame_*.json"))
    assert [p.name for p in frames] == [f"frame_{i:06d}.json" for i in range(4)]
    times = [json.loads(p.read_text())["time_s"] for p in frames]
    np.testing.assert_allclose(times, [0.0, 0.1, 0.2, 0.3])
    tracks = [[h["track_id"] for h in json.loads(p.read_text())["hands"]] for p in frames]
    assert tracks[0] and tracks[-1] and set(tracks[-1]) <= set().union(*tracks)
    capture = cv2.VideoCapture(str(out / "clip.mp4"))
    assert capture.isOpened() and int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["images"], summary["videos"], summary["frames"]) == (3, 1, 7)
    faces = json.loads((out / f"mesh_{summary['mesh_id']}.json").read_text())["faces"]
    assert np.asarray(faces).shape[1] == 3


def test_zero_hands_is_a_valid_result(models, inputs, tmp_path, capsys):
    from rejshand_ros.cli.predict import main

    pose, detector = models
    root, _ = inputs
    out = tmp_path / "none"
    assert main([str(root / "images" / "hand_0.png"), "--out", str(out), "--model", str(pose),
                 "--detector", "rejshand", "--detector-model", str(detector),
                 "--detector-threshold", "1.0",
                 "--no-vertices"]) == 0
    frame = json.loads((out / "hand_0.json").read_text())
    assert frame["hands"] == [] and frame["absolute"] is False
    assert (out / "hand_0.png").is_file()
    assert "0 hand(s)" in capsys.readouterr().err


def test_bad_inputs_exit_2_naming_them(models, inputs, tmp_path, capsys):
    from rejshand_ros.cli.predict import main

    pose, detector = models
    root, _ = inputs
    cases = (
        ([str(tmp_path / "missing.png")], "input not found: " + str(tmp_path / "missing.png")),
        ([str(root / "calib.yaml")], "not an image or video file"),
        ([str(root / "images"), "--model", str(tmp_path / "m.safetensors")],
         "--model: file not found"),
        ([str(root / "images"), "--detector-model", str(tmp_path / "d.safetensors")],
         "--detector-model: file not found"),
    )
    for args, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            main([*args, "--out", str(tmp_path / "o")])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        main([str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    assert "no images or videos in folder" in capsys.readouterr().err
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    code = main([str(broken), str(root / "images" / "hand_1.png"), "--out", str(tmp_path / "b"),
                 "--model", str(pose), "--detector", "rejshand", "--detector-model",
                 str(detector), "--no-overlay"])
    err = capsys.readouterr().err
    assert code == 2 and "not a readable image: " + str(broken) in err
    assert (tmp_path / "b" / "hand_1.json").is_file()  # the good one is still processed
    # without --detector-model the shipped detector is used
    assert main([str(broken), "--out", str(tmp_path / "c"), "--model", str(pose)]) == 2
    assert "not a readable image" in capsys.readouterr().err
    # a detector file of the other kind is refused, naming it and the kind expected
    assert main([str(root / "images" / "hand_1.png"), "--out", str(tmp_path / "d"),
                 "--model", str(pose), "--detector-model", str(detector)]) == 2
    err = capsys.readouterr().err
    assert str(detector) in err and "detector palm" in err and "expected MediaPipe's" in err
