"""rejshand-eval: scoring a pred.json and running a model on a split."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rejshand_ros.evaluation.freihand import read_pred_json, write_pred_json

EVAL = str(Path(sys.executable).parent / "rejshand-eval")


def _gt(root, split):
    xyz = np.array(json.loads((root / f"{split}_xyz.json").read_text()))
    verts = np.array(json.loads((root / f"{split}_verts.json").read_text()))
    return xyz, verts


def test_scoring_exact_and_translated_predictions(toy_dataset, tmp_path):
    xyz, verts = _gt(toy_dataset, "validation")
    write_pred_json(tmp_path / "exact.json", xyz, verts)
    result = subprocess.run([EVAL, "--pred", str(tmp_path / "exact.json"), "--gt-dir",
                             str(toy_dataset), "--split", "validation"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert set(metrics) == {"pa_mpjpe_mm", "pa_mpvpe_mm", "mpjpe_mm", "mpvpe_mm", "f5", "f15",
                            "f5_unaligned", "f15_unaligned", "auc_pa_joints"}
    assert metrics["mpjpe_mm"] == 0 and metrics["pa_mpjpe_mm"] < 1e-3 and metrics["f5"] == 1
    assert "ReJSHand (paper" in result.stderr
    shift = np.array([0.003, 0.004, 0.0])  # 5 mm
    write_pred_json(tmp_path / "shifted.json", xyz + shift, verts + shift)
    shifted = json.loads(subprocess.run(
        [EVAL, "--pred", str(tmp_path / "shifted.json"), "--gt-dir", str(toy_dataset),
         "--split", "validation"], capture_output=True, text=True, timeout=120).stdout)
    assert shifted["mpjpe_mm"] == pytest.approx(5.0, abs=1e-6)
    assert shifted["pa_mpjpe_mm"] < 1e-3
    assert shifted["f5_unaligned"] < 1.0 and shifted["f5"] == 1.0  # NN-based, not per vertex
    assert (tmp_path / "pck.png").exists() and (tmp_path / "per_joint_error.png").exists()


def test_scoring_needs_only_the_two_label_files(toy_dataset, tmp_path):
    """The official protocol scores from evaluation_xyz.json and evaluation_verts.json
    alone: no evaluation_K.json, no images."""
    labels = tmp_path / "labels"
    labels.mkdir()
    for key in ("xyz", "verts"):
        (labels / f"evaluation_{key}.json").write_text(
            (toy_dataset / f"validation_{key}.json").read_text())
    xyz, verts = _gt(toy_dataset, "validation")
    shift = np.array([0.0, 0.006, 0.008])  # 10 mm
    write_pred_json(tmp_path / "pred.json", xyz + shift, verts + shift)
    command = [EVAL, "--pred", str(tmp_path / "pred.json"), "--gt-dir", str(labels),
               "--split", "evaluation"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)
    assert metrics["mpjpe_mm"] == pytest.approx(10.0, abs=1e-6)
    assert metrics["mpvpe_mm"] == pytest.approx(10.0, abs=1e-6)
    assert metrics["pa_mpjpe_mm"] < 1e-3 and metrics["pa_mpvpe_mm"] < 1e-3


def test_label_files_of_different_lengths_or_missing_are_refused(tmp_path):
    from rejshand_ros.data.freihand import DatasetError, load_split

    (tmp_path / "evaluation_xyz.json").write_text(json.dumps([[[0.0] * 3] * 21] * 3))
    (tmp_path / "evaluation_verts.json").write_text(json.dumps([[[0.0] * 3] * 778] * 2))
    with pytest.raises(DatasetError, match="evaluation_verts.json: 2 entries, but "
                       "evaluation_xyz.json has 3"):
        load_split(tmp_path, "evaluation", labels_only=True)
    with pytest.raises(DatasetError, match="missing dataset file: .*evaluation_K.json"):
        load_split(tmp_path, "evaluation")  # running a model needs K and the images
    (tmp_path / "evaluation_xyz.json").unlink()  # scoring needs the keypoint labels
    with pytest.raises(DatasetError, match="missing dataset file: .*evaluation_xyz.json"):
        load_split(tmp_path, "evaluation", labels_only=True)


def test_bad_prediction_file_is_named(toy_dataset, tmp_path):
    (tmp_path / "pred.json").write_text("[[1, 2]]")
    result = subprocess.run([EVAL, "--pred", str(tmp_path / "pred.json"), "--gt-dir",
                             str(toy_dataset), "--split", "validation"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "pred.json" in result.stderr


def test_zero_threads_is_refused(toy_dataset, tmp_path):
    result = subprocess.run([EVAL, "--data", str(toy_dataset), "--split", "validation",
                             "--out", str(tmp_path), "--threads", "0"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--threads" in result.stderr


def test_running_a_model_writes_the_submission_format(toy_dataset, tmp_path):
    from rejshand_ros.model.config import ModelConfig
    from rejshand_ros.model.model_file import save_model_file
    from rejshand_ros.model.rejshand import ReJSHand

    torch.manual_seed(0)
    model_path = tmp_path / "m.safetensors"
    save_model_file(model_path, ReJSHand(ModelConfig(backbone="fastvit_t8", input_size=64)),
                    mesh_id="x")
    result = subprocess.run([EVAL, "--data", str(toy_dataset), "--split", "validation",
                             "--out", str(tmp_path / "out"), "--model", str(model_path),
                             "--device", "cpu", "--threads", "1"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    xyz, verts = read_pred_json(tmp_path / "out" / "pred.json")
    assert xyz.shape == (6, 21, 3) and verts.shape == (6, 778, 3)
    assert np.isfinite(xyz).all() and np.isfinite(verts).all()
    assert json.loads(result.stdout)["pa_mpjpe_mm"] > 0
