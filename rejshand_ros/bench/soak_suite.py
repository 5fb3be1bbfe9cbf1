"""Soak benchmark: the perception node under 4x overload for minutes, real processes.

``image_source_node`` (synthetic, 640x480) publishes at ``overload`` times the node's
inference rate into ``hand_pose_node`` (shipped models) over DDS. Measured here: per-frame
latency (image stamp -> HandPoseArray receipt in this process), the node's own counters
(frames received / processed / dropped / failed, frame age) from ``/diagnostics``, and the
node's resident memory (``/proc/<pid>/status`` VmRSS) once a second.

Phases: (1) unless ``--soak-rate`` is given, calibration: the source runs at
``CALIBRATION_RATE_HZ`` (far above what the node can take) and the node's output rate is
its inference rate; (2) the source restarts at ``overload`` x that rate and the soak
window (``--soak-duration`` s) starts at the first output. Memory growth compares the
sample at ``WARMUP_FRACTION`` of the window with the last one (goal < 5 %).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rejshand_ros.bench.common import SuiteSkipped, goal, goals_markdown, markdown_table
from rejshand_ros.bench.common import progress_bar
from rejshand_ros.bench.soak_monitor import SoakRecord

DEFAULT_DURATION_S = 300.0
QUICK_DURATION_S = 20.0
CALIBRATION_RATE_HZ = 60.0
WARMUP_FRACTION = 0.2
RSS_GROWTH_GOAL_PCT = 5.0
STARTUP_TIMEOUT_S = 180.0
SETTLE_S = 2.0  # calibration outputs ignored after the first one (queues filling)
NODE_FQN = "/hand_pose_node"


@dataclass(frozen=True)
class SoakSettings:
    duration_s: float
    rate_hz: float  # source rate; 0 = overload x the calibrated inference rate
    overload: float
    calibration_s: float
    width: int
    height: int
    threads: int
    device: str
    progress: bool

    def __post_init__(self) -> None:
        if self.duration_s <= 0 or self.calibration_s <= 0 or self.overload <= 0:
            raise ValueError("soak duration, calibration time and overload must be > 0")
        if not 0 <= self.rate_hz <= 240:
            raise ValueError(f"soak rate must be in [0, 240] Hz, got {self.rate_hz}")
        if min(self.width, self.height) < 32:
            raise ValueError(f"soak image size too small: {self.width}x{self.height}")

    @classmethod
    def from_options(cls, opts: argparse.Namespace) -> "SoakSettings":
        quick = bool(getattr(opts, "quick", False))
        duration = getattr(opts, "soak_duration", None)
        size = str(getattr(opts, "soak_size", "640x480")).lower().split("x")
        calibration = getattr(opts, "soak_calibration", None)
        return cls(duration_s=float(duration or (QUICK_DURATION_S if quick
                                                 else DEFAULT_DURATION_S)),
                   rate_hz=float(getattr(opts, "soak_rate", 0.0) or 0.0),
                   overload=float(getattr(opts, "soak_overload", 4.0)),
                   calibration_s=float(calibration or (6.0 if quick else 10.0)),
                   width=int(size[0]), height=int(size[1]),
                   threads=int(getattr(opts, "threads", 1) or 1),
                   device=str(getattr(opts, "device", "cpu") or "cpu"),
                   progress=bool(getattr(opts, "progress", False)))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--soak-duration", type=float, default=None,
                        help=f"soak window in seconds (default {DEFAULT_DURATION_S:g}, "
                        f"--quick {QUICK_DURATION_S:g})")
    parser.add_argument("--soak-rate", type=float, default=0.0,
                        help="source rate in Hz (default 0: --soak-overload times the "
                        "node's inference rate, measured first)")
    parser.add_argument("--soak-overload", type=float, default=4.0,
                        help="source rate / inference rate (default 4)")
    parser.add_argument("--soak-calibration", type=float, default=None,
                        help="seconds to measure the inference rate (default 10, --quick 6)")
    parser.add_argument("--soak-size", default="640x480", help="image size WxH (640x480)")


# ------------------------------------------------------------------------------ processes
def _node_specs(settings: SoakSettings, source_rate: float | None):
    """hand_pose_node alone (``source_rate`` None) or the synthetic source alone."""
    from rejshand_ros.ros.launch_spec import node_specs

    if source_rate is None:
        return node_specs(source="none", perception=True, overrides={"hand_pose_node": {
            "device": settings.device, "num_threads": settings.threads,
            "diagnostics_period": 1.0}})
    return node_specs(source="synthetic", rate=source_rate, perception=False,
                      overrides={"image_source_node": {
                          "width": settings.width, "height": settings.height,
                          "synthetic_hands": 1, "publish_ground_truth": False}})


def _start(specs, log_dir: Path, say):
    from rejshand_ros.ros.bringup import Bringup, BringupError

    bringup = Bringup(specs, sink=None, log_dir=log_dir, say=say)
    try:
        bringup.start()
    except BringupError as exc:
        raise SuiteSkipped(f"cannot start the nodes: {exc}") from exc
    return bringup


def _check_alive(bringup, log_dir: Path) -> None:
    for node in bringup.exited():
        log = (log_dir / f"{node.name}.log")
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise RuntimeError(f"{node.name} exited with code {node.returncode} during the "
                           f"soak; its log ({log}):\n{tail}")


def _wait_first_output(monitor, record: SoakRecord, after: float, bringups,
                       log_dir: Path) -> float:
    """Spin until an output arrives after ``after``; returns its receipt time."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        monitor.spin_for(0.1)
        fresh = [t for t, _ in record.outputs if t >= after]
        if fresh:
            return fresh[0]
        for bringup in bringups:
            _check_alive(bringup, log_dir)
    raise RuntimeError(f"no hand_poses output within {STARTUP_TIMEOUT_S:g} s (logs: {log_dir})")


def _calibrate(settings: SoakSettings, monitor, record, node, log_dir, say) -> float:
    """The node's inference rate (Hz): its output rate with the source far above it."""
    source = _start(_node_specs(settings, CALIBRATION_RATE_HZ), log_dir, say)
    try:
        first = _wait_first_output(monitor, record, time.monotonic(), (node, source), log_dir)
        monitor.spin_for(SETTLE_S + settings.calibration_s - (time.monotonic() - first))
        _check_alive(node, log_dir)
        rate = record.rate_hz(first + SETTLE_S)
    finally:
        source.stop()
    if rate <= 0:
        raise RuntimeError(f"calibration saw fewer than 2 outputs (logs: {log_dir})")
    say(f"inference rate {rate:.2f} Hz")
    return rate


def _soak_window(settings: SoakSettings, monitor, record, node, source, log_dir) -> tuple:
    """Run the soak window; returns (start, end) monotonic times."""
    pid = node.nodes[0].process.pid
    start = _wait_first_output(monitor, record, time.monotonic(), (node, source), log_dir)
    end = start + settings.duration_s
    bar = progress_bar(int(np.ceil(settings.duration_s)), "soak", settings.progress)
    try:
        while time.monotonic() < end:
            monitor.sample_rss(pid)
            monitor.spin_for(min(1.0, max(end - time.monotonic(), 0.0)))
            _check_alive(node, log_dir)
            _check_alive(source, log_dir)
            bar.update(1)
        monitor.sample_rss(pid)
        monitor.spin_for(1.5)  # the diagnostics snapshot after the window
    finally:
        bar.close()
    return start, end


# ------------------------------------------------------------------------------- summary
def _counter(values: dict[str, str], name: str) -> float:
    try:
        return float(values.get(name, 0))
    except ValueError:
        return float("nan")


def _mib(nbytes: int | None) -> float:
    return float("nan") if nbytes is None else nbytes / 2 ** 20


def summarize_soak(record: SoakRecord, start: float, end: float, inference_hz: float,
                   source_hz: float, node_exit: int | None) -> dict[str, Any]:
    """One flat row: latency percentiles, counter deltas over the window, memory growth."""
    latencies = record.outputs_between(start, end)
    first, last = record.counters_at(start), record.counters_at(float("inf"))
    delta = {name: _counter(last, name) - _counter(first, name) for name in (
        "frames_received", "frames_processed", "frames_dropped", "frames_failed")}
    rss_warm = record.rss_at_fraction(start, end, WARMUP_FRACTION)
    rss_end = record.rss_at_fraction(start, end, 1.0)
    peak = max((rss for t, rss in record.rss if start <= t <= end), default=None)
    growth = (100.0 * (rss_end - rss_warm) / rss_warm) if rss_warm and rss_end else float("nan")

    def pct(q: float) -> float:
        return float(np.percentile(latencies, q)) if latencies.size else float("nan")

    return {
        "duration_s": round(end - start, 1), "inference_hz": inference_hz,
        "source_hz": source_hz, "overload": source_hz / inference_hz,
        "outputs": int(latencies.size), "output_hz": record.rate_hz(start, end),
        **{name: int(value) if np.isfinite(value) else value for name, value in delta.items()},
        "latency_ms_p50": pct(50), "latency_ms_p99": pct(99),
        "latency_ms_max": float(latencies.max()) if latencies.size else float("nan"),
        "frame_age_ms_max_last": _counter(last, "frame_age_ms_max"),
        "rss_warm_mib": _mib(rss_warm), "rss_end_mib": _mib(rss_end), "rss_peak_mib": _mib(peak),
        "rss_growth_pct": growth, "rss_samples": sum(start <= t <= end for t, _ in record.rss),
        "node_exit_code": node_exit,
    }


def soak_goals(row: dict[str, Any]) -> list[dict[str, Any]]:
    """RSS growth < 5 %, latency p99 < 2 inference periods (the period measured during
    the soak: 1 / output rate), no crash."""
    period_ms = 1e3 / (row["output_hz"] or row["inference_hz"])
    crashed = row["node_exit_code"] not in (0, None)
    return [
        goal("node RSS growth after warm-up (%)", row["rss_growth_pct"],
             f"< {RSS_GROWTH_GOAL_PCT:g}", abs(row["rss_growth_pct"]) < RSS_GROWTH_GOAL_PCT),
        goal("latency p99 / inference period", row["latency_ms_p99"] / period_ms, "< 2",
             row["latency_ms_p99"] < 2 * period_ms),
        goal("node crashes", float(crashed), "0", not crashed),
    ]


COLUMNS = [("duration_s", "s"), ("inference_hz", "inference Hz"), ("source_hz", "source Hz"),
           ("output_hz", "output Hz"),
           ("frames_received", "received"), ("frames_processed", "processed"),
           ("frames_dropped", "dropped"), ("frames_failed", "failed"),
           ("latency_ms_p50", "latency p50 ms"), ("latency_ms_p99", "p99 ms"),
           ("rss_warm_mib", f"RSS at {WARMUP_FRACTION:.0%} MiB"), ("rss_end_mib", "RSS end MiB"),
           ("rss_growth_pct", "growth %"), ("node_exit_code", "node exit")]


# ----------------------------------------------------------------------------------- run
def run(opts: argparse.Namespace) -> dict[str, Any]:
    try:
        settings = SoakSettings.from_options(opts)
    except (ValueError, IndexError) as exc:
        raise SystemExit(f"rejshand-bench soak: {exc}") from exc
    try:
        import rclpy  # noqa: F401

        from rejshand_ros.bench.soak_monitor import SoakMonitor
    except ImportError as exc:
        raise SuiteSkipped(f"needs ROS 2 (rclpy): {exc}") from exc
    if not Path("/proc/self/status").exists():
        raise SuiteSkipped("needs /proc to read the node's resident memory (Linux)")
    from rejshand_ros.ros.runtime import prepare_environment

    prepare_environment()
    log_dir = Path(tempfile.mkdtemp(prefix="rejshand-soak-"))
    say = lambda text: print(f"[soak] {text}", file=sys.stderr, flush=True)  # noqa: E731
    record = SoakRecord()
    monitor = SoakMonitor(record, node_fqn=NODE_FQN)
    node = None
    try:
        node = _start(_node_specs(settings, None), log_dir, say)
        inference_hz = settings.rate_hz / settings.overload if settings.rate_hz else \
            _calibrate(settings, monitor, record, node, log_dir, say)
        source_hz = min(settings.rate_hz or settings.overload * inference_hz, 240.0)
        source = _start(_node_specs(settings, source_hz), log_dir, say)
        try:
            start, end = _soak_window(settings, monitor, record, node, source, log_dir)
        finally:
            source.stop()
    finally:
        node_exit = node.stop().get("hand_pose_node") if node is not None else None
        monitor.close()
    row = summarize_soak(record, start, end, inference_hz, source_hz, node_exit)
    row["logs"] = str(log_dir)
    goals = soak_goals(row)
    markdown = markdown_table([row], COLUMNS) + "\n\n" + goals_markdown(goals)
    return {"suite": "soak", "rows": [row], "markdown": markdown, "goals": goals}
