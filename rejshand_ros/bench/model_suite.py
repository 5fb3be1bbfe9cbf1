"""``model`` suite: the network alone, per backbone and per backend/precision path.

For every backbone: batch-1 latency and batch-8 throughput of each path through
:class:`~rejshand_ros.perception.inference.InferenceEngine` (uint8 crops in, numpy out, as the node
runs it), with each path's max abs difference to the eager baseline on the same input;
then backbone-only vs full network on the fastest path (head overhead). The baseline is
eager fp32 in eval mode under ``torch.inference_mode``, not reparameterised.

Full run: fastvit_t8 and fastvit_ma36 at the paper's 224 px, random weights (timing and
agreement do not depend on training). ``--quick``: the shipped pose model (its backbone and input size).
"""

from __future__ import annotations

import argparse
import copy
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from rejshand_ros.bench.common import (SuiteSkipped, goal, goals_markdown, interleaved_timings,
                                       markdown_table, progress_bar, round_counts, speedup,
                                       summarize)
from rejshand_ros.perception.inference import (InferenceEngine, TupleOutputs, export_onnx,
                                               onnx_session, select_device)
from rejshand_ros.model.config import ModelConfig
from rejshand_ros.model.model_file import POSE_MODEL
from rejshand_ros.model.rejshand import ReJSHand

log = logging.getLogger(__name__)

FULL_BACKBONES = ("fastvit_t8", "fastvit_ma36")
BATCHES = (1, 8)
SPEEDUP_TARGET = 2.5
HEAD_OVERHEAD_TARGET = 0.10
GPU_FPS_TARGET = 500.0


@dataclass(frozen=True)
class PathSpec:
    """One way of running the network."""

    name: str
    backend: str
    precision: str
    reparameterize: bool = True
    channels_last: bool = False
    cuda_graphs: bool = False


BASELINE = PathSpec("eager (baseline)", "eager", "fp32", reparameterize=False)


def cpu_paths(quick: bool) -> list[PathSpec]:
    paths = [BASELINE, PathSpec("eager reparam", "eager", "fp32"),
             PathSpec("onnxruntime", "onnxruntime", "fp32"),
             PathSpec("eager reparam bf16", "eager", "bf16")]
    if not quick:
        paths.append(PathSpec("compile", "compile", "fp32"))
    return paths


def cuda_paths(quick: bool) -> list[PathSpec]:
    paths = [BASELINE, PathSpec("eager reparam", "eager", "fp32"),
             PathSpec("fp16", "eager", "fp16"), PathSpec("bf16", "eager", "bf16"),
             PathSpec("fp16 channels-last", "eager", "fp16", channels_last=True),
             PathSpec("fp16 channels-last CUDA graph", "eager", "fp16", channels_last=True,
                      cuda_graphs=True)]
    if not quick and _onnxruntime_has_cuda():
        paths.append(PathSpec("onnxruntime CUDA", "onnxruntime", "fp32"))
    return paths


def _onnxruntime_has_cuda() -> bool:
    try:
        import onnxruntime
    except ImportError:
        return False
    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model suite")
    group.add_argument("--model-backbones", default=None,
                       help="comma-separated timm backbones (default: fastvit_t8,fastvit_ma36 "
                       "at 224 px; --quick: the shipped pose model)")
    group.add_argument("--model-input-size", type=int, default=224,
                       help="crop side in px for random-weight models (default 224)")
    group.add_argument("--model-no-compile", action="store_true",
                       help="leave out the torch.compile path (slow to compile on CPU)")


# -- models and inputs ---------------------------------------------------------------------
def _models(opts: argparse.Namespace) -> list[tuple[str, ReJSHand]]:
    """(label, model in eval mode) per backbone to measure."""
    names = opts.model_backbones.split(",") if opts.model_backbones else None
    if opts.quick and names is None:
        from rejshand_ros.model.model_file import load_model_file
        from rejshand_ros.perception.predictor import default_model_path

        model, _ = load_model_file(default_model_path(), "cpu")
        return [(f"{model.config.backbone} (shipped)", model)]
    models = []
    for name in names or FULL_BACKBONES:
        torch.manual_seed(0)
        config = ModelConfig(backbone=name.strip(), input_size=opts.model_input_size)
        models.append((name.strip(), ReJSHand(config).eval()))
    return models


def _crops(size: int, batch: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (batch, size, size, 3), dtype=np.uint8)


class _CudaGraphRunner:
    """Replays one captured CUDA graph of an engine's network for a fixed batch size;
    same inputs and outputs as the engine."""

    def __init__(self, engine: InferenceEngine, crops: np.ndarray) -> None:
        self.engine = engine
        module = engine.network
        dtype = torch.float16 if engine.precision == "fp16" else torch.bfloat16
        self.static_input = engine.preprocess(crops).clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.inference_mode(), torch.cuda.stream(stream), \
                torch.autocast("cuda", dtype=dtype, enabled=engine.precision != "fp32",
                               cache_enabled=False):
            for _ in range(3):
                module(self.static_input)
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), torch.cuda.graph(self.graph), \
                torch.autocast("cuda", dtype=dtype, enabled=engine.precision != "fp32",
                               cache_enabled=False):
            self.static_output = module(self.static_input)

    @torch.inference_mode()
    def __call__(self, crops: np.ndarray) -> dict[str, np.ndarray]:
        self.static_input.copy_(self.engine.preprocess(crops))
        self.graph.replay()
        return self.engine.to_numpy(self.engine.named(self.static_output))


def _runners(model: ReJSHand, path: PathSpec, device: torch.device, threads: int,
             cache_dir: str, inputs: dict[int, np.ndarray]) -> dict[int, Callable]:
    """batch -> callable(crops) -> outputs, for one path."""
    engine = InferenceEngine(copy.deepcopy(model), POSE_MODEL, device, path.backend,
                             path.precision, num_threads=threads,
                             reparameterize=path.reparameterize, cache_dir=cache_dir,
                             channels_last=path.channels_last)
    if not path.cuda_graphs:
        return {batch: engine for batch in inputs}
    return {batch: _CudaGraphRunner(engine, crops) for batch, crops in inputs.items()}


def _max_differences(out: dict[str, np.ndarray], base: dict[str, np.ndarray],
                     input_size: int) -> dict[str, float]:
    """Joints in mm and uv in crop pixels (max abs over all hands and keypoints)."""
    return {"diff_joints_mm": float(np.abs(out["joints"] - base["joints"]).max() * 1e3),
            "diff_uv_px": float(np.abs(out["uv"] - base["uv"]).max() * input_size)}


# -- measurement ---------------------------------------------------------------------------
def _measure_paths(label: str, model: ReJSHand, paths: list[PathSpec], opts, device,
                   cache_dir: str) -> list[dict[str, Any]]:
    size = int(model.config.input_size)
    inputs = {batch: _crops(size, batch, seed=batch) for batch in BATCHES}
    runners: dict[str, dict[int, Callable]] = {}
    rows: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for path in paths:
        try:
            runners[path.name] = _runners(model, path, device, opts.threads, cache_dir, inputs)
        except Exception as exc:  # noqa: BLE001 - a path that cannot run is reported, not fatal
            log.warning("model suite: path %r failed to build: %s", path.name, exc)
            errors[path.name] = f"{type(exc).__name__}: {exc}"[:200]
    if BASELINE.name not in runners:
        raise RuntimeError(f"the eager baseline failed to build: {errors.get(BASELINE.name)}")
    base = runners[BASELINE.name][BATCHES[-1]](inputs[BATCHES[-1]])
    diffs = {name: _max_differences(run[BATCHES[-1]](inputs[BATCHES[-1]]), base, size)
             for name, run in runners.items()}
    cases = {(name, batch): (lambda run=run[batch], crops=inputs[batch]: run(crops))
             for name, run in runners.items() for batch in BATCHES}
    bar = progress_bar(opts.warmup_rounds + opts.timed_rounds, f"model {label}", opts.progress)
    samples = interleaved_timings(cases, opts.timed_rounds, opts.warmup_rounds,
                                  on_round=bar.update)
    bar.close()
    baseline_ms = {batch: summarize(samples[(BASELINE.name, batch)])["median"]
                   for batch in BATCHES}
    for path in paths:
        for batch in BATCHES:
            row: dict[str, Any] = {"backbone": label, "input_px": size, "path": path.name,
                                   "backend": path.backend, "precision": path.precision,
                                   "batch": batch}
            if path.name in errors:
                rows.append({**row, "error": errors[path.name]})
                continue
            stats = summarize(samples[(path.name, batch)])
            rows.append({**row, "median_ms": stats["median"], "p10_ms": stats["p10"],
                         "p90_ms": stats["p90"], "n": stats["n"],
                         "images_per_s": batch * 1e3 / stats["median"],
                         "speedup": speedup(baseline_ms[batch], stats["median"]),
                         **diffs[path.name]})
    return rows


def _network_callables(model: ReJSHand, path: PathSpec, device: torch.device, threads: int,
                       cache_dir: Path, example: torch.Tensor) -> dict[str, Callable]:
    """'backbone' and 'full' callables on a normalised input tensor, run like ``path``."""
    net = copy.deepcopy(model).to(device).eval()
    if path.reparameterize:
        net.reparameterize()
    if path.backend == "onnxruntime":
        sessions = {}
        size = int(net.config.input_size)
        for part, module, names in (
                ("backbone", net.backbone, None),
                ("full", TupleOutputs(net, POSE_MODEL.outputs, POSE_MODEL.output_fill),
                 POSE_MODEL.outputs)):
            target = export_onnx(module, cache_dir / f"{part}.onnx", size, names,
                                 example=example)
            sessions[part] = onnx_session(target, threads, device)
        array = example.cpu().numpy()
        return {part: (lambda s=session: s.run(None, {"images": array}))
                for part, session in sessions.items()}
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(path.precision)
    memory = torch.channels_last if path.channels_last else torch.contiguous_format
    net = net.to(memory_format=memory)
    example = example.to(device).contiguous(memory_format=memory)

    def runner(function: Callable) -> Callable:
        @torch.inference_mode()
        def run() -> None:
            with torch.autocast(device.type, dtype=dtype or torch.float32,
                                enabled=dtype is not None):
                function(example)
            if device.type == "cuda":
                torch.cuda.synchronize()
        return run

    return {"backbone": runner(net.forward_features), "full": runner(net)}


def _head_overhead(label: str, model: ReJSHand, path: PathSpec, opts, device,
                   cache_dir: str) -> dict[str, Any]:
    size = int(model.config.input_size)
    example = torch.from_numpy(_crops(size, 1, seed=3)).permute(0, 3, 1, 2).float() / 255 - 0.5
    calls = _network_callables(model, path, device, opts.threads, Path(cache_dir), example)
    samples = interleaved_timings(calls, opts.timed_rounds, opts.warmup_rounds)
    backbone = summarize(samples["backbone"])
    full = summarize(samples["full"])
    return {"backbone": label, "input_px": size, "path": path.name, "batch": 1,
            "backbone_ms": backbone["median"], "backbone_p10_ms": backbone["p10"],
            "backbone_p90_ms": backbone["p90"], "full_ms": full["median"],
            "full_p10_ms": full["p10"], "full_p90_ms": full["p90"],
            "head_overhead": (full["median"] - backbone["median"]) / backbone["median"]}


def _fastest_path(rows: list[dict[str, Any]], paths: list[PathSpec]) -> PathSpec:
    """Fastest batch-1 path that the head-overhead measurement can run (not compile or
    CUDA graphs, whose backbone-only variant would need its own compilation)."""
    usable = {p.name: p for p in paths if p.backend != "compile" and not p.cuda_graphs}
    timed = [r for r in rows if r["batch"] == 1 and "median_ms" in r and r["path"] in usable]
    return usable[min(timed, key=lambda r: r["median_ms"])["path"]]


# -- report --------------------------------------------------------------------------------
PATH_COLUMNS = [("backbone", "backbone"), ("input_px", "px"), ("path", "path"),
                ("batch", "batch"), ("median_ms", "median ms"), ("p10_ms", "p10"),
                ("p90_ms", "p90"), ("images_per_s", "images/s"), ("speedup", "x baseline"),
                ("diff_joints_mm", "max Δ joints mm"), ("diff_uv_px", "max Δ uv px"),
                ("error", "error")]
HEAD_COLUMNS = [("backbone", "backbone"), ("path", "path"), ("backbone_ms", "backbone ms"),
                ("backbone_p10_ms", "p10"), ("backbone_p90_ms", "p90"),
                ("full_ms", "full ms"), ("full_p10_ms", "p10"), ("full_p90_ms", "p90"),
                ("head_overhead", "head overhead")]


def _goals(rows: list[dict[str, Any]], heads: list[dict[str, Any]], cuda: bool) -> list[dict]:
    goals = []
    for label in dict.fromkeys(r["backbone"] for r in rows):
        timed = [r for r in rows if r["backbone"] == label and r["batch"] == 1
                 and "median_ms" in r]
        best = max(timed, key=lambda r: r["speedup"])
        if cuda:
            goals.append(goal(f"{label} batch-1 images/s ({best['path']})",
                              best["images_per_s"], f">= {GPU_FPS_TARGET:.0f}",
                              best["images_per_s"] >= GPU_FPS_TARGET))
        else:
            goals.append(goal(f"{label} fastest CPU path ({best['path']}) vs eager baseline, "
                              "batch 1", best["speedup"], f">= {SPEEDUP_TARGET}x",
                              best["speedup"] >= SPEEDUP_TARGET))
    for head in heads:
        goals.append(goal(f"{head['backbone']} head overhead on {head['path']}",
                          head["head_overhead"], f"<= {HEAD_OVERHEAD_TARGET:.2f}",
                          head["head_overhead"] <= HEAD_OVERHEAD_TARGET))
    return goals


def run(opts: argparse.Namespace) -> dict[str, Any]:
    device = select_device(opts.device, "refuse")
    if opts.device == "cuda" and device.type != "cuda":
        raise SuiteSkipped("--device cuda but no CUDA device")
    if device.type == "cpu":
        torch.set_num_threads(opts.threads)
    opts.timed_rounds, opts.warmup_rounds = round_counts(opts, quick=(3, 1), full=(20, 3))
    paths = cuda_paths(opts.quick) if device.type == "cuda" else cpu_paths(opts.quick)
    if opts.model_no_compile:
        paths = [p for p in paths if p.backend != "compile"]
    rows: list[dict[str, Any]] = []
    heads: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rejshand-bench-") as cache_dir:
        for label, model in _models(opts):
            path_rows = _measure_paths(label, model, paths, opts, device, cache_dir)
            rows.extend(path_rows)
            heads.append(_head_overhead(label, model, _fastest_path(path_rows, paths), opts,
                                        device, cache_dir))
    goals = _goals(rows, heads, device.type == "cuda")
    markdown = "\n\n".join([
        f"Model only ({device.type}, {opts.threads} threads; {opts.timed_rounds} interleaved "
        "rounds; Δ = max abs difference to the eager baseline on the same batch of 8 crops)",
        markdown_table(rows, PATH_COLUMNS),
        "Backbone only vs full network, batch 1, on the fastest path",
        markdown_table(heads, HEAD_COLUMNS), goals_markdown(goals)])
    return {"suite": "model", "rows": rows + [{"kind": "head_overhead", **h} for h in heads],
            "markdown": markdown, "goals": goals}
