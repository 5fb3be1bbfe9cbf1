"""Counters, per-stage latencies and rates of the perception node -> DiagnosticArray.

:class:`NodeStats` is plain Python (thread-safe: the image callback and the inference
worker both count); :func:`stats_status` and :func:`diagnostic_array` turn a snapshot
into ``diagnostic_msgs`` without a node, so both are tested directly.

Counters (since start): frames_received (images that reached the callback),
frames_processed (published a HandPoseArray), frames_dropped (overwritten in the
one-slot buffer before inference could take them: the node was busy), frames_failed
(conversion or pipeline error), camera_info_rejected, track_resets (timestamps going
backwards, camera silent for camera_timeout), debug_images, mesh_markers.
Latencies (ms, median and max over the last ``window`` frames): decode, detect, predict,
track_smooth, publish, total (receipt -> published) and frame_age (published minus the
image's header stamp: meaningful when the camera stamps with this machine's clock).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

COUNTERS = ("frames_received", "frames_processed", "frames_dropped", "frames_failed",
            "camera_info_rejected", "track_resets", "debug_images", "mesh_markers")
STAGES = ("decode", "detect", "predict", "track_smooth", "publish", "total", "frame_age")


class NodeStats:
    """Thread-safe counters and rolling latency windows."""

    def __init__(self, window: int = 100) -> None:
        self._lock = threading.Lock()
        self.counters = {name: 0 for name in COUNTERS}
        self.latencies = {stage: deque(maxlen=window) for stage in STAGES}
        self.hands = 0
        self.last_error = ""
        self.last_received_s: float | None = None
        self._mark: tuple[float, int, int, int] | None = None

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counters[name] += n

    def received(self, now_s: float, overwrote: bool) -> None:
        """An image reached the callback at ``now_s`` (s, monotonic)."""
        with self._lock:
            self.counters["frames_received"] += 1
            self.counters["frames_dropped"] += int(overwrote)
            self.last_received_s = now_s

    def failed(self, message: str) -> None:
        with self._lock:
            self.counters["frames_failed"] += 1
            self.last_error = message

    def processed(self, latencies_ms: Mapping[str, float], hands: int) -> None:
        """One frame published; ``latencies_ms`` keyed by :data:`STAGES` (any subset)."""
        with self._lock:
            self.counters["frames_processed"] += 1
            self.hands = hands
            for stage, value in latencies_ms.items():
                if stage in self.latencies and np.isfinite(value):
                    self.latencies[stage].append(float(value))

    def snapshot(self, now_s: float) -> dict[str, float | int | str]:
        """Counters, latency medians/maxima, and rates since the previous snapshot."""
        with self._lock:
            values: dict[str, float | int | str] = dict(self.counters)
            mark = self._mark
            self._mark = (now_s, self.counters["frames_received"],
                          self.counters["frames_processed"], self.counters["frames_failed"])
            for stage, window in self.latencies.items():
                data = np.array(window) if window else np.array([np.nan])
                values[f"{stage}_ms_median"] = float(np.median(data))
                values[f"{stage}_ms_max"] = float(np.max(data))
            values["hands"] = self.hands
            values["last_error"] = self.last_error
            values["seconds_since_last_image"] = (
                float(now_s - self.last_received_s) if self.last_received_s is not None
                else float("inf"))
        if mark is None or now_s <= mark[0]:
            values.update(input_rate_hz=0.0, output_rate_hz=0.0, failed_since_last=0)
        else:
            span = now_s - mark[0]
            values["input_rate_hz"] = (values["frames_received"] - mark[1]) / span
            values["output_rate_hz"] = (values["frames_processed"] - mark[2]) / span
            values["failed_since_last"] = values["frames_failed"] - mark[3]
        return values


def stats_status(values: Mapping[str, object], camera_timeout_s: float) -> tuple[bytes, str]:
    """(level, message) for a snapshot: WARN when no image arrived for
    ``camera_timeout_s`` or frames failed since the last report, else OK."""
    silent = float(values["seconds_since_last_image"])
    if silent > camera_timeout_s:
        return DiagnosticStatus.WARN, (
            "no images received yet" if silent == float("inf")
            else f"no images for {silent:.1f} s")
    if int(values["failed_since_last"]) > 0:
        return DiagnosticStatus.WARN, (f"{values['failed_since_last']} frame(s) failed: "
                                       f"{values['last_error']}")
    return DiagnosticStatus.OK, (f"{float(values['output_rate_hz']):.1f} Hz, "
                                 f"{values['hands']} hand(s)")


def _text(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def diagnostic_array(name: str, hardware_id: str, level: bytes, message: str,
                     values: Mapping[str, object], stamp) -> DiagnosticArray:
    """One DiagnosticStatus (values as key/value strings, floats with 3 decimals)."""
    status = DiagnosticStatus(name=name, hardware_id=hardware_id, level=level,
                              message=message)
    status.values = [KeyValue(key=str(k), value=_text(v)) for k, v in values.items()]
    array = DiagnosticArray()
    array.header.stamp = stamp
    array.status = [status]
    return array


def status_values(status: DiagnosticStatus) -> dict[str, str]:
    """The key/values of a DiagnosticStatus as a dict (for readers and tests)."""
    return {kv.key: kv.value for kv in status.values}
