"""Shared benchmark machinery: interleaved timing, summary statistics, ratios, markdown
tables and a description of the machine.

Timings on shared machines drift (other processes, frequency scaling), so cases are never
timed one after another: after a warm-up every round calls each case once, in turn
(A, B, C, A, B, C, ...), and results are medians with their p10/p90 spread.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np


class SuiteSkipped(Exception):
    """A suite cannot run on this machine (missing package, no GPU, ...); the message is
    the reason shown to the user."""


def interleaved_timings(cases: Mapping[str, Callable[[], Any]], rounds: int, warmup: int = 1,
                        on_round: Callable[[], None] | None = None) -> dict[str, list[float]]:
    """Time each case ``rounds`` times, round-robin, after ``warmup`` untimed rounds.

    Returns seconds per call for each case name, in call order. ``on_round`` is called
    after every round (timed or not), e.g. to advance a progress bar.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for index in range(warmup + rounds):
        for name, case in cases.items():
            start = time.perf_counter()
            case()
            elapsed = time.perf_counter() - start
            if index >= warmup:
                samples[name].append(elapsed)
        if on_round is not None:
            on_round()
    return samples


def round_counts(opts: Any, quick: tuple[int, int], full: tuple[int, int]) -> tuple[int, int]:
    """(timed rounds, warm-up rounds): ``opts.rounds`` / ``opts.warmup`` when given, else
    the suite's defaults for quick or full runs."""
    rounds, warmup = quick if opts.quick else full
    if getattr(opts, "rounds", None) is not None:
        rounds = opts.rounds
    if getattr(opts, "warmup", None) is not None:
        warmup = opts.warmup
    return rounds, warmup


def summarize(samples: Iterable[float], scale: float = 1e3) -> dict[str, float]:
    """median, p10, p90 (times ``scale``: seconds -> ms by default) and the count n."""
    values = np.asarray(list(samples), dtype=np.float64) * scale
    if values.size == 0:
        raise ValueError("no samples to summarize")
    p10, median, p90 = np.percentile(values, [10, 50, 90])
    return {"median": float(median), "p10": float(p10), "p90": float(p90),
            "n": int(values.size)}


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator; NaN when the denominator is not positive."""
    return float(numerator) / float(denominator) if denominator > 0 else float("nan")


def speedup(baseline_ms: float, candidate_ms: float) -> float:
    """How many times faster the candidate is than the baseline (> 1 = faster)."""
    return ratio(baseline_ms, candidate_ms)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not np.isfinite(value):
            return "–"
        if abs(value) >= 100:
            return f"{value:.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.3g}"
    return "" if value is None else str(value)


def markdown_table(rows: list[Mapping[str, Any]], columns: list[tuple[str, str]]) -> str:
    """Rows as a markdown table; ``columns`` = [(row key, header), ...]. Floats get
    2 decimals (>= 1) or 3 significant digits; missing keys are blank, and a column no
    row has is left out."""
    columns = [(key, title) for key, title in columns if any(key in row for row in rows)]
    header = "| " + " | ".join(title for _, title in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(_cell(row.get(key)) for key, _ in columns) + " |"
            for row in rows]
    return "\n".join([header, rule, *body])


def goal(name: str, value: float, target: str, met: bool) -> dict[str, Any]:
    """One entry of a suite's ``goals`` list."""
    return {"goal": name, "value": float(value), "target": target, "met": bool(met)}


def goals_markdown(goals: list[Mapping[str, Any]]) -> str:
    return markdown_table([{**g, "met": "met" if g["met"] else "MISSED"} for g in goals],
                          [("goal", "goal"), ("value", "value"), ("target", "target"),
                           ("met", "")])


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except Exception:  # noqa: BLE001 - any import failure means "not available"
        return None


def machine_info() -> dict[str, Any]:
    """CPU model, cores usable by this process, library versions and the GPU (if any)."""
    import torch

    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "onnxruntime": _version("onnxruntime"),
        "timm": _version("timm"),
        "numpy": np.__version__,
        "opencv": _version("cv2"),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
    }
    return info


def machine_line(info: Mapping[str, Any]) -> str:
    """One line for docs/benchmarks.md / reports."""
    parts = [f"{info['cpu']} ({info['cores']} cores)"]
    if info.get("gpu"):
        parts.append(f"{info['gpu']} (CUDA {info.get('cuda')})")
    parts.append(f"Python {info['python']}, torch {info['torch']}")
    if info.get("onnxruntime"):
        parts.append(f"onnxruntime {info['onnxruntime']}")
    return ", ".join(parts)


def progress_bar(total: int, description: str, enabled: bool):
    """A tqdm bar on stderr (a no-op object when disabled or tqdm is missing)."""
    if enabled:
        try:
            from tqdm import tqdm

            return tqdm(total=total, desc=description, file=sys.stderr, leave=False)
        except ImportError:
            pass
    return _NoBar()


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass
