"""A fixed-step trainer run learns: held-out PA-MPJPE <= 0.8x the mean-pose baseline.

The user's flow end to end, with the installed commands in real processes:
``rejshand-synth`` renders an easy distribution at 64 px (EASY_SCENE) as a training split
and a held-out split with another seed; ``rejshand-train`` trains fastvit_t8 from scratch
for a fixed 180 steps (config/train/test_learn.yaml); ``rejshand-eval`` runs the exported
model on the held-out split and reports the mean-pose baseline (the training split's mean
root-relative pose, placed at each held-out sample's root). Everything runs on one
thread per process.

Why this distribution: with any in-plane roll the camera-frame mean pose is a blur of
rotated hands (baseline ~38 mm) that a network beats by reading the hand's orientation
alone (0.35x after 150 steps); upright hands of every pose mode make a sharp baseline
(~12 mm) that 200 steps only bring to 0.95x. Upright open hands and fists (baseline
~15 mm) need the network to read finger articulation from pixels, within a CI budget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config" / "train" / "test_learn.yaml"
BIN = Path(sys.executable).parent
MAX_RATIO = 0.8  # issue 4: >= 20% below the mean-pose baseline

#: right hands, palm towards the camera within +-30 deg of fingers-up, open or fist,
#: plain backgrounds (base layer only), nothing in front of the hand
EASY_SCENE = ("roll_deg=30", "pose_modes=[open, fist]", "extreme_view_prob=0",
              "back_view_prob=0", "tilt_sigma_deg=10", "occluder_prob=0", "forearm_prob=0",
              "clutter=0", "skin_distractor_prob=0")
SPLITS = (("training", 400, 1), ("validation", 100, 7777))  # name, images, seed


def _single_threaded_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return env


def _run(command: list[str], timeout: float) -> str:
    """Run an installed command; its stdout (fails the test with stderr otherwise)."""
    result = subprocess.run([str(BIN / command[0]), *command[1:]], capture_output=True,
                            text=True, timeout=timeout, env=_single_threaded_env())
    assert result.returncode == 0, f"{command[0]} failed:\n{result.stderr[-3000:]}"
    return result.stdout


def _last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def _make_easy_data(root: Path) -> None:
    scene = [arg for item in EASY_SCENE for arg in ("--scene", item)]
    for split, num, seed in SPLITS:
        _run(["rejshand-synth", "--out", str(root), "--split", split, "--num", str(num),
              "--seed", str(seed), "--size", "64", "--left-ratio", "0",
              "--negative-ratio", "0", "--workers", "2", "--no-progress", *scene], 300)


@pytest.mark.slow
def test_fixed_step_training_beats_the_mean_pose_baseline(tmp_path):
    data, run = tmp_path / "data", tmp_path / "run"
    start = time.perf_counter()
    _make_easy_data(data)
    made = time.perf_counter()
    trained = _last_json(_run(["rejshand-train", "--config", str(CONFIG), "--data", str(data),
                               "--out", str(run), "--no-progress"], 600))
    fitted = time.perf_counter()
    report = _last_json(_run(["rejshand-eval", "--data", str(data), "--split", "validation",
                              "--out", str(tmp_path / "eval"),
                              "--model", str(run / "model_last.safetensors"),
                              "--device", "cpu", "--threads", "1",
                              "--baseline-train-split", "training"], 300))
    ratio = report["pa_mpjpe_mm"] / report["mean_pose_pa_mpjpe_mm"]
    print(f"held-out PA-MPJPE {report['pa_mpjpe_mm']:.2f} mm, mean-pose baseline "
          f"{report['mean_pose_pa_mpjpe_mm']:.2f} mm, ratio {ratio:.3f}; seconds: data "
          f"{made - start:.0f}, training {fitted - made:.0f}, "
          f"evaluation {time.perf_counter() - fitted:.0f}")
    assert report["mean_pose_pa_mpjpe_mm"] > 10.0  # the baseline is a real pose spread
    assert ratio <= MAX_RATIO, report
    # the evaluator (Predictor: crop, reparameterised model, uncrop) scores what the
    # trainer's own validation scored on the same split
    assert report["pa_mpjpe_mm"] == pytest.approx(trained["pa_mpjpe_mm"], abs=0.5)
