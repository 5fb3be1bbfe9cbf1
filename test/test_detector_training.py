"""The detector learns: an overfit on a few rejshand-synth full frames finds every hand
(and nothing on hand-less frames), and the task runs through the generic Trainer into a
model file that HandDetector loads."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

from rejshand_ros.cli import eval_detector
from rejshand_ros.detection.detector import HandDetector
from rejshand_ros.detection.frame_eval import evaluate_on_frames
from rejshand_ros.detection.annotations import load_frames, save_frames
from rejshand_ros.detection.model import read_detector_metadata, save_detector_file
from rejshand_ros.detection.task import DetectorTask
from rejshand_ros.synth import render_frame
from rejshand_ros.train.config import load_train_config
from rejshand_ros.train.trainer import CHECKPOINT, Trainer

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "config" / "train" / "test_detector_tiny.yaml"


def write_synth_frames(root: Path, name: str, hands_per_frame: list[int], seed: int,
                       width: int = 160, height: int = 120) -> None:
    """rejshand-synth full frames with a chosen number of hands each, in the
    ``--full-frame`` layout (NAME_frames.json + NAME/rgb/%08d.jpg)."""
    (root / name / "rgb").mkdir(parents=True, exist_ok=True)
    frames = []
    for i, count in enumerate(hands_per_frame):
        sample = render_frame((seed, i), width, height, num_hands=count)
        cv2.imwrite(str(root / name / "rgb" / f"{i:08d}.jpg"),
                    cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
        frames.append({"image": f"{i:08d}.jpg", "width": width, "height": height,
                       "K": sample.K, "hands": [h.to_json() for h in sample.hands]})
    save_frames(root, name, frames)


@pytest.fixture(scope="module")
def frames_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("toy_frames")
    write_synth_frames(root, "training", [1, 2, 0, 1, 2, 1, 0, 2], seed=0)
    write_synth_frames(root, "validation", [1, 2, 0, 1], seed=1)
    return root


@pytest.fixture
def one_thread():
    """One torch thread: small convs run faster than with 2 on shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _config(frames_root: Path, out: Path, *extra: str):
    return load_train_config(TINY, [f"data.root={frames_root}", f"out_dir={out}", *extra])


def test_overfit_finds_every_training_hand_and_nothing_on_empty_frames(frames_root, tmp_path,
                                                                      one_thread):
    config = _config(frames_root, tmp_path, "data.augment.center_jitter=0",
                     "data.augment.scale_range=[1,1]", "data.augment.rotation_deg=0",
                     "data.augment.flip_prob=0", "data.augment.colour=0")
    task = DetectorTask(config)
    torch.manual_seed(0)
    model = task.build_model()
    batch = default_collate([task.train_set[i] for i in range(len(task.train_set))])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    history = []
    for _ in range(80):
        losses = task.losses(model, batch)
        optimizer.zero_grad()
        losses["total"].backward()
        optimizer.step()
        history.append(float(losses["total"].detach()))
    assert history[-1] < 0.1 * history[0], history[::10]
    path = tmp_path / "overfit.safetensors"
    save_detector_file(path, model)
    metrics = evaluate_on_frames(HandDetector(path, device="cpu"),
                                 load_frames(frames_root, "training"))
    assert metrics["hands"] >= 6, metrics   # hands to find (not occluded, centre inside)
    assert metrics["recall"] == 1.0 and metrics["frames_all_found"] == 1.0, metrics
    assert metrics["mean_iou"] > 0.7, metrics
    assert metrics["empty_frame_false_alarm"] == 0.0, metrics  # nothing on hand-less frames


def test_detector_task_through_the_trainer_writes_a_loadable_model(frames_root, tmp_path,
                                                                   one_thread, capsys):
    trainer = Trainer(_config(frames_root, tmp_path / "run"))
    metrics = trainer.fit(progress=False)
    assert trainer.step == 6
    for key in ("miss_rate", "recall", "precision", "mean_iou", "handedness_accuracy"):
        assert key in metrics and np.isfinite(metrics[key]), metrics
    for name in (CHECKPOINT, "model_last.safetensors", "model_best.safetensors", "metrics.csv"):
        assert (tmp_path / "run" / name).exists(), name
    meta = read_detector_metadata(tmp_path / "run" / "model_last.safetensors")
    assert meta.config.backbone == "test_convnext" and meta.model_id == "run"
    assert meta.training_data_id == f"{frames_root.name}/training"
    detector = HandDetector(tmp_path / "run" / "model_best.safetensors", device="cpu",
                            score_threshold=0.0)
    assert len(detector.detect(np.zeros((120, 160, 3), np.uint8))) >= 1
    assert trainer.resume()   # the checkpoint restores into the same task's model
    assert eval_detector.main(["--model", str(tmp_path / "run" / "model_best.safetensors"),
                               "--data", str(frames_root), "--threads", "1"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["frames"] == 4 and 0 <= scored["recall"] <= 1
    assert eval_detector.main(["--model", str(tmp_path / "none.safetensors"),
                               "--data", str(frames_root)]) == 2
    assert "none.safetensors" in capsys.readouterr().err
