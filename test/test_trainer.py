"""The trainer really trains: fixed-step runs, exact resume after kill -9, DDP, bf16."""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rejshand_ros.model.model_file import load_model_file
from rejshand_ros.train.config import load_train_config, train_config_from_dict
from rejshand_ros.train.trainer import CHECKPOINT, Trainer

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "config" / "train" / "test_tiny.yaml"


def _config(toy_dataset, out, *extra):
    return load_train_config(TINY, [f"data.root={toy_dataset}", f"out_dir={out}", *extra])


def _weights(path):
    state = torch.load(path / CHECKPOINT, weights_only=True)
    return state["step"], state["extra"]["model"]


def test_config_validation_names_the_problem(tmp_path):
    with pytest.raises(ValueError, match="unknown key"):
        train_config_from_dict({"optim": {"learning_rate": 1}})
    with pytest.raises(ValueError, match="precision"):
        train_config_from_dict({"precision": "fp8"})
    with pytest.raises(ValueError, match="not found"):
        load_train_config(tmp_path / "missing.yaml")


def test_bf16_fixed_steps_write_checkpoints_models_and_curve(toy_dataset, tmp_path):
    trainer = Trainer(_config(toy_dataset, tmp_path / "run"))
    assert trainer.autocast_dtype == torch.bfloat16
    metrics = trainer.fit(progress=False)
    assert trainer.step == 6
    assert metrics["pa_mpjpe_mm"] > 0
    for name in (CHECKPOINT, "model_last.safetensors", "model_best.safetensors", "metrics.csv"):
        assert (tmp_path / "run" / name).exists(), name
    assert len((tmp_path / "run" / "metrics.csv").read_text().splitlines()) == 3  # header + 2


def test_channels_last_trains_and_exports_the_same_model(toy_dataset, tmp_path):
    trainer = Trainer(_config(toy_dataset, tmp_path / "run", "channels_last=true",
                              "max_steps=2", "val_every=2"))
    conv = next(p for p in trainer.model.parameters()
                if p.ndim == 4 and p.shape[1] > 1 and p.shape[2] > 1)
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert trainer.fit(progress=False)["pa_mpjpe_mm"] > 0
    exported, _ = load_model_file(tmp_path / "run" / "model_last.safetensors")
    images = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        expected = trainer.model.eval()(images)["joints"]
        assert torch.allclose(exported(images)["joints"], expected, atol=1e-5)


def _run_cli(args, env=None, **kwargs):
    return subprocess.Popen([str(Path(sys.executable).parent / "rejshand-train"), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)


# Runs the trainer CLI with the atomic writer patched so that the process SIGKILLs itself
# half-way through writing its second checkpoint (step 4): a kill -9 during the write.
_DIE_IN_SECOND_CHECKPOINT_WRITE = """
import io, os, signal, sys
from rejshand_ros.train import training_state
from rejshand_ros.cli.train import main

real_write, checkpoints = training_state.atomic_write, []

def dying_write(path, write):
    if path.name != "checkpoint.pt":
        return real_write(path, write)
    checkpoints.append(path)
    if len(checkpoints) < 2:
        return real_write(path, write)

    def half_then_die(f):
        buf = io.BytesIO()
        write(buf)
        f.write(buf.getvalue()[: len(buf.getvalue()) // 2])
        f.flush()
        os.fsync(f.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
    return real_write(path, half_then_die)

training_state.atomic_write = dying_write
sys.exit(main(sys.argv[1:]))
"""


def test_kill_9_during_a_checkpoint_write_then_resume_gives_identical_state(toy_dataset,
                                                                           tmp_path):
    """kill -9 half-way through writing the step-4 checkpoint: the step-2 checkpoint stays
    valid (atomic writes), resume removes the partial file, and the resumed run ends
    bit-identical to an uninterrupted one."""
    common = ["--config", str(TINY), "--data", str(toy_dataset), "--no-progress",
              "--max-steps", "6", "--set", "val_every=100"]
    straight = _run_cli([*common, "--out", str(tmp_path / "straight")])
    assert straight.wait(timeout=600) == 0, straight.stderr.read()

    out = tmp_path / "killed"
    killed = subprocess.run([sys.executable, "-c", _DIE_IN_SECOND_CHECKPOINT_WRITE, *common,
                             "--out", str(out), "--max-steps", "1000",
                             "--set", "checkpoint_every=2"],
                            capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert len(list(out.glob(f".{CHECKPOINT}.*.tmp"))) == 1  # died inside the write
    assert _weights(out)[0] == 2  # the previous checkpoint is intact and loads
    resumed = _run_cli([*common, "--out", str(out), "--resume"])
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read()
    assert "partial checkpoint" in resumed.stderr.read()
    assert not list(out.glob(f".{CHECKPOINT}.*.tmp"))
    step_a, weights_a = _weights(tmp_path / "straight")
    step_b, weights_b = _weights(out)
    assert step_a == step_b == 6
    for key in weights_a:
        assert torch.equal(weights_a[key], weights_b[key]), key


def test_existing_run_is_not_overwritten_without_resume(toy_dataset, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / CHECKPOINT).write_bytes(b"x")
    proc = _run_cli(["--config", str(TINY), "--data", str(toy_dataset), "--out", str(out)])
    assert proc.wait(timeout=300) == 2
    assert "--resume" in proc.stderr.read()


@pytest.mark.slow
def test_ddp_two_processes_with_gloo(toy_dataset, tmp_path):
    import socket

    torchrun = Path(sys.executable).parent / "torchrun"
    with socket.socket() as probe:  # a free port: parallel suites must not collide
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run(
        [str(torchrun), "--nproc_per_node=2", f"--master_port={port}",
         str(Path(sys.executable).parent / "rejshand-train"), "--config", str(TINY),
         "--data", str(toy_dataset), "--out", str(tmp_path / "ddp"), "--no-progress",
         "--max-steps", "3", "--set", "batch_size=2"],
        capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    step, _ = _weights(tmp_path / "ddp")
    assert step == 3
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["pa_mpjpe_mm"] > 0
