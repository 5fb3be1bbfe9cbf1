"""What the soak benchmark observes: per-frame latency of the perception node's output,
its diagnostics counters, and its resident memory.

:class:`SoakRecord` is plain Python (the statistics are tested without ROS);
:class:`SoakMonitor` fills one from a private rclpy context (its own executor, so other
suites or tests in this process keep their own contexts).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def read_rss_bytes(pid: int) -> int | None:
    """Resident memory (VmRSS) of process ``pid`` in bytes; None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            value, unit = line.split()[1:3]
            if unit.lower() != "kb":
                raise ValueError(f"unexpected VmRSS unit in /proc/{pid}/status: {unit}")
            return int(value) * 1024
    return None


@dataclass
class SoakRecord:
    """Outputs seen (receipt time, latency), diagnostics snapshots and memory samples.

    Times are ``time.monotonic()`` seconds; latency = receipt (wall clock) minus the
    image's header stamp, in ms (source, node and monitor share this machine's clock).
    """

    outputs: list[tuple[float, float]] = field(default_factory=list)
    diagnostics: list[tuple[float, dict[str, str]]] = field(default_factory=list)
    rss: list[tuple[float, int]] = field(default_factory=list)

    def outputs_between(self, start: float, end: float = float("inf")) -> np.ndarray:
        """(N,) latencies in ms of the outputs received in [start, end)."""
        return np.array([ms for t, ms in self.outputs if start <= t < end], dtype=np.float64)

    def rate_hz(self, start: float, end: float = float("inf")) -> float:
        """Outputs per second received in [start, end) (0 with fewer than 2)."""
        times = [t for t, _ in self.outputs if start <= t < end]
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def counters_at(self, when: float) -> dict[str, str]:
        """The last diagnostics snapshot received at or before ``when`` ({} if none)."""
        before = [values for t, values in self.diagnostics if t <= when]
        return before[-1] if before else {}

    def rss_at_fraction(self, start: float, end: float, fraction: float) -> int | None:
        """The memory sample nearest to ``start + fraction * (end - start)``."""
        window = [(t, rss) for t, rss in self.rss if start <= t <= end]
        if not window:
            return None
        target = start + fraction * (end - start)
        return min(window, key=lambda sample: abs(sample[0] - target))[1]


def _stamp_s(stamp) -> float:
    return stamp.sec + 1e-9 * stamp.nanosec


class SoakMonitor:
    """Subscribes to ``hand_poses`` and ``/diagnostics`` in its own rclpy context.

    Args:
        record: where observations go.
        poses_topic: the HandPoseArray topic.
        node_fqn: fully qualified name of the perception node (its diagnostics status).
    """

    def __init__(self, record: SoakRecord, poses_topic: str = "hand_poses",
                 node_fqn: str = "/hand_pose_node") -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor

        from rejshand_ros.msg import HandPoseArray

        self.record = record
        self._node_fqn = node_fqn
        self._lock = threading.Lock()
        self.context = Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("rejshand_soak_monitor", context=self.context)
        self.node.create_subscription(HandPoseArray, poses_topic, self._on_poses, 50)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 20)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def _on_poses(self, msg) -> None:
        latency_ms = (time.time() - _stamp_s(msg.header.stamp)) * 1e3
        with self._lock:
            self.record.outputs.append((time.monotonic(), latency_ms))

    def _on_diagnostics(self, msg) -> None:
        for status in msg.status:
            if status.name.split(":")[0] == self._node_fqn:
                values = {kv.key: kv.value for kv in status.values}
                with self._lock:
                    self.record.diagnostics.append((time.monotonic(), values))

    def spin_for(self, seconds: float) -> None:
        """Handle callbacks for about ``seconds``."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=min(0.02, max(end - time.monotonic(), 0.0)))

    def sample_rss(self, pid: int) -> int | None:
        rss = read_rss_bytes(pid)
        if rss is not None:
            with self._lock:
                self.record.rss.append((time.monotonic(), rss))
        return rss

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        self.context.try_shutdown()
