"""Node benchmark: hand_pose_node end to end across processes over DDS, beside the raw
Image DDS latency and the model-only time, measured interleaved in one run.

Processes: hand_pose_node (CPU, default parameters, shipped models), the image echo
(``rejshand_ros.bench.image_echo``) and this one (``NodeProbe``). Every round takes the
next synthetic 640x480 frame and, in turn:

a. raw Image DDS latency: publishes it as sensor_msgs/Image rgb8 to the echo; the echo's
   receipt time minus the publish stamp (one way, another process, one clock);
b. node end to end: publishes it to the node and waits for the HandPoseArray with the
   same stamp: its receipt here minus the publish stamp;
c. model only: ``HandPipeline.process`` on the same frame with the same stamp, in this
   process, built from the node's own default configuration (same models, threads,
   detection cadence and tracking; the frames reach both pipelines in the same order).

Each step waits for its answer, so the node is never overloaded. The goal compares the
node's overhead (end to end minus model only: image transport, decoding, conversion to
messages, the answer's transport, thread hand-overs) with the raw Image DDS latency.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rejshand_ros.bench.common import (SuiteSkipped, goal, goals_markdown, markdown_table,
                                       progress_bar, round_counts, summarize)

DEFAULT_ROUNDS, QUICK_ROUNDS = 120, 20
DEFAULT_WARMUP = 3
LOOP_FRAMES = 30  # synthetic frames rendered (rounds cycle through them)
WIDTH, HEIGHT = 640, 480
FRAME_ID = "camera_optical_frame"
OVERHEAD_ALLOWANCE_MS = 3.0
STARTUP_TIMEOUT_S = 180.0
NODE_NAME = "hand_pose_node"
NODE_STAGES = ("decode", "detect", "predict", "track_smooth", "publish", "total")
PIPELINE_STAGES = ("detect", "predict", "track_smooth")  # what HandPipeline.process times


@dataclass
class NodeSamples:
    """Per-round results in ms (None: the answer did not come within the timeout)."""

    dds_ms: list[float | None] = field(default_factory=list)
    node_ms: list[float | None] = field(default_factory=list)
    model_ms: list[float] = field(default_factory=list)

    def add(self, dds: float | None, node: float | None, model: float) -> None:
        self.dds_ms.append(dds)
        self.node_ms.append(node)
        self.model_ms.append(model)

    @staticmethod
    def _present(values: list[float | None]) -> np.ndarray:
        return np.array([v for v in values if v is not None], dtype=np.float64)

    def lost(self) -> dict[str, int]:
        return {"dds": sum(v is None for v in self.dds_ms),
                "node": sum(v is None for v in self.node_ms)}

    def overhead_ms(self) -> np.ndarray:
        """Per round: node end to end minus model only (rounds the node answered)."""
        return np.array([node - model for node, model in zip(self.node_ms, self.model_ms)
                         if node is not None], dtype=np.float64)

    def series(self) -> dict[str, np.ndarray]:
        return {"dds": self._present(self.dds_ms), "node": self._present(self.node_ms),
                "model": np.asarray(self.model_ms, dtype=np.float64),
                "overhead": self.overhead_ms()}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--node-domain-id", type=int, default=None,
                        help="ROS domain of the node suite's processes (default: "
                        "ROS_DOMAIN_ID, else 0); its topics live in a namespace of their own")
    parser.add_argument("--node-timeout", type=float, default=10.0,
                        help="s to wait for one answer before counting it lost (default 10)")


# ----------------------------------------------------------------------------- frames
def render_frames(count: int) -> list[np.ndarray]:
    """``count`` synthetic 640x480 RGB frames of one moving hand (one loop)."""
    from rejshand_ros.sources.synthetic import SyntheticSource

    source = SyntheticSource(seed=0, width=WIDTH, height=HEIGHT, num_frames=count,
                             num_hands=1)
    return [source.render(index)[0] for index in range(count)]


def image_messages(frames: list[np.ndarray]) -> list:
    """sensor_msgs/Image rgb8 per frame (stamped at publish time)."""
    from std_msgs.msg import Header

    from rejshand_ros.ros.camera_input import rgb_to_image_msg

    return [rgb_to_image_msg(frame, Header(frame_id=FRAME_ID)) for frame in frames]


def default_pipeline(threads: int):
    """The pipeline hand_pose_node builds from its default parameters, on the CPU."""
    from rejshand_ros.ros.node_params import HandPoseNodeConfig
    from rejshand_ros.perception.pipeline_setup import build_pipeline

    return build_pipeline(HandPoseNodeConfig(device="cpu", num_threads=threads)
                          .pipeline_settings()).pipeline


# -------------------------------------------------------------------------- processes
def _start_processes(namespace: str, threads: int, env: dict[str, str], log_dir: Path):
    """hand_pose_node (default parameters, CPU) and the image echo, in ``namespace``."""
    from rejshand_ros.ros.bringup import Bringup, BringupError, NodeProcess
    from rejshand_ros.ros.launch_spec import NodeSpec, node_specs

    specs = node_specs(namespace=namespace, overrides={NODE_NAME: {
        "device": "cpu", "num_threads": threads, "diagnostics_period": 0.5}})
    say = lambda text: print(f"[node] {text}", file=sys.stderr, flush=True)  # noqa: E731
    bringup = Bringup(specs, env=env, sink=None, log_dir=log_dir, say=say)
    try:
        bringup.start()
    except BringupError as exc:
        raise SuiteSkipped(f"cannot start hand_pose_node: {exc}") from exc
    echo = NodeSpec("image_echo", "bench_image_echo", namespace=namespace)
    command = [sys.executable, "-m", "rejshand_ros.bench.image_echo", *echo.ros_arguments()]
    try:
        bringup.nodes.append(NodeProcess(echo, command, bringup.env, None,
                                         log_dir / f"{echo.name}.log"))
    except OSError as exc:
        bringup.stop()
        raise RuntimeError(f"cannot start the image echo ({command}): {exc}") from exc
    return bringup


def _check_alive(bringup, log_dir: Path) -> None:
    for process in bringup.exited():
        log = log_dir / f"{process.name}.log"
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise RuntimeError(f"{process.name} exited with code {process.returncode}; its log "
                           f"({log}):\n{tail}")


def _wait_connected(probe, bringup, log_dir: Path, message, timeout_s: float) -> None:
    """Until both paths are matched and each has answered one image."""
    from rejshand_ros.bench.node_probe import ECHO, NODE

    deadline = time.monotonic() + timeout_s
    pending = {ECHO, NODE}
    while time.monotonic() < deadline:
        _check_alive(bringup, log_dir)
        if probe.connected():
            for path in sorted(pending):
                if probe.round_trip(path, message, timeout_s=2.0) is not None:
                    pending.discard(path)
            if not pending:
                return
        else:
            time.sleep(0.1)
    raise RuntimeError(f"no answer from {', '.join(sorted(pending))} within {timeout_s:g} s "
                       f"(logs: {log_dir})")


# ---------------------------------------------------------------------------- rounds
def measure(probe, pipeline, frames: list[np.ndarray], messages: list, rounds: int,
            warmup: int, timeout_s: float, check=lambda: None,
            progress: bool = False) -> NodeSamples:
    """``warmup`` untimed then ``rounds`` timed rounds of (echo, node, model only)."""
    from rejshand_ros.bench.node_probe import ECHO, NODE

    samples = NodeSamples()
    bar = progress_bar(warmup + rounds, "node", progress)
    try:
        for index in range(warmup + rounds):
            frame = index % len(frames)
            dds = probe.round_trip(ECHO, messages[frame], timeout_s)
            stamp = probe.send(NODE, messages[frame])
            receipt = probe.arrivals.wait(NODE, stamp, timeout_s)
            start = time.perf_counter()
            pipeline.process(frames[frame], stamp * 1e-9, None)
            model = (time.perf_counter() - start) * 1e3
            if index >= warmup:
                samples.add(dds, None if receipt is None else (receipt - stamp) * 1e-6, model)
            check()
            bar.update(1)
    finally:
        bar.close()
    return samples


# --------------------------------------------------------------------------- summary
CASES = (
    ("dds", "raw Image DDS, 640x480 rgb8 (publish -> receipt in another process)"),
    ("node", "node end to end (Image publish -> HandPoseArray receipt)"),
    ("model", "model only (HandPipeline.process in-process, same frames)"),
    ("overhead", "node overhead (end to end - model only, per frame)"),
)


def summary_rows(samples: NodeSamples, diagnostics: dict[str, str]) -> list[dict[str, Any]]:
    """One row per measured case, then the node's own stage medians (diagnostics)."""
    series, lost = samples.series(), samples.lost()
    rows = []
    for key, title in CASES:
        if series[key].size == 0:
            raise RuntimeError(f"no samples for {title} (lost: {lost})")
        stats = summarize(series[key], scale=1.0)
        rows.append({"case": key, "measurement": title, "median_ms": stats["median"],
                     "p10_ms": stats["p10"], "p90_ms": stats["p90"], "n": stats["n"],
                     "lost": lost.get(key, 0)})
    for stage in NODE_STAGES:
        value = diagnostics.get(f"{stage}_ms_median")
        if value is not None:
            rows.append({"case": f"node_{stage}", "measurement":
                         f"node-reported {stage} (diagnostics, median of its last 100)",
                         "median_ms": float(value)})
    compute = [diagnostics.get(f"{stage}_ms_median") for stage in PIPELINE_STAGES]
    if all(value is not None for value in compute):
        # the same difference against the node's own pipeline time instead of this
        # process's: no second process's threads compete with it while it is timed
        rows.append({"case": "overhead_vs_node_pipeline", "measurement":
                     "node end to end - node-reported pipeline (detect + predict + "
                     "track_smooth), medians",
                     "median_ms": rows[1]["median_ms"] - sum(float(v) for v in compute)})
    return rows


def node_goals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """node end to end - model only (medians) <= raw Image DDS latency + 3 ms."""
    median = {row["case"]: row["median_ms"] for row in rows}
    overhead = median["node"] - median["model"]
    budget = median["dds"] + OVERHEAD_ALLOWANCE_MS
    return [goal("node end-to-end minus model-only (ms, medians)", overhead,
                 f"<= raw-Image DDS latency + {OVERHEAD_ALLOWANCE_MS:g} ms = {budget:.2f}",
                 overhead <= budget)]


COLUMNS = [("measurement", "measurement"), ("median_ms", "median ms"), ("p10_ms", "p10 ms"),
           ("p90_ms", "p90 ms"), ("n", "n"), ("lost", "lost")]


# ------------------------------------------------------------------------------- run
def _environment(domain_id: int | None) -> dict[str, str]:
    from rejshand_ros.ros.runtime import prepare_environment

    env = prepare_environment()  # this process's participant uses the profile too
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    children = dict(env, PYTHONUNBUFFERED="1")
    if domain_id is not None:
        children["ROS_DOMAIN_ID"] = str(domain_id)
    return children


def run(opts: argparse.Namespace) -> dict[str, Any]:
    try:
        import rclpy  # noqa: F401

        from rejshand_ros.bench.node_probe import NodeProbe
    except ImportError as exc:
        raise SuiteSkipped(f"needs ROS 2 (rclpy) and the built messages: {exc}") from exc
    rounds, warmup = round_counts(opts, quick=(QUICK_ROUNDS, DEFAULT_WARMUP),
                                  full=(DEFAULT_ROUNDS, DEFAULT_WARMUP))
    threads = int(getattr(opts, "threads", 2) or 2)
    domain_id = getattr(opts, "node_domain_id", None)
    timeout_s = float(getattr(opts, "node_timeout", 10.0))
    namespace = f"/rejshand_bench_{os.getpid()}"
    log_dir = Path(tempfile.mkdtemp(prefix="rejshand-bench-node-"))

    env = _environment(domain_id)
    frames = render_frames(min(LOOP_FRAMES, warmup + rounds))
    messages = image_messages(frames)
    bringup = _start_processes(namespace, threads, env, log_dir)
    probe = None
    try:
        pipeline = default_pipeline(threads)
        probe = NodeProbe(namespace, f"{namespace}/{NODE_NAME}", domain_id)
        _wait_connected(probe, bringup, log_dir, messages[0], STARTUP_TIMEOUT_S)
        samples = measure(probe, pipeline, frames, messages, rounds, warmup, timeout_s,
                          check=lambda: _check_alive(bringup, log_dir),
                          progress=bool(getattr(opts, "progress", False)))
        time.sleep(0.6)  # one more diagnostics period
        diagnostics = probe.diagnostics()
    finally:
        if probe is not None:
            probe.close()
        exits = bringup.stop()
    rows = summary_rows(samples, diagnostics)
    for row in rows:
        row.update(threads=threads, logs=str(log_dir))
    goals = node_goals(rows)
    if any(code != 0 for code in exits.values()):
        raise RuntimeError(f"a process did not exit cleanly: {exits} (logs: {log_dir})")
    markdown = markdown_table(rows, COLUMNS) + "\n\n" + goals_markdown(goals)
    return {"suite": "node", "rows": rows, "markdown": markdown, "goals": goals}
