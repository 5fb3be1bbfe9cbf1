"""The bench process's end of ``rejshand-bench --suite node``: one rclpy context that sends
images and waits for the answers, with one clock for both ends.

Two paths, both sensor_msgs/Image with sensor-data QoS (best effort, depth 1, as a
camera driver publishes):

- ``echo``: ``<ns>/echo/image`` -> the image_echo process, which answers on
  ``<ns>/echo/received`` with its receipt time (raw Image DDS latency, one way);
- ``node``: ``<ns>/image`` -> hand_pose_node, which answers on ``<ns>/hand_poses`` with
  the image's stamp (receipt time taken in this process's callback).

Every image gets a fresh, strictly increasing stamp from the system clock just before
``publish``; times are ``time.time_ns()`` everywhere (the same clock in every process).
The node's ``/diagnostics`` values are kept too (its own per-stage medians).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

ECHO, NODE = "echo", "node"


def stamp_ns(stamp) -> int:
    """builtin_interfaces/Time -> ns since the epoch."""
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


class StampClock:
    """Stamps from ``time.time_ns()``, strictly increasing (at least ``step_ns`` apart):
    two images never share a stamp, so answers are matched to requests by stamp."""

    def __init__(self, now_ns: Callable[[], int] = time.time_ns,
                 step_ns: int = 1_000) -> None:
        self._now_ns, self._step_ns, self._last = now_ns, step_ns, 0

    def next(self) -> int:
        self._last = max(self._now_ns(), self._last + self._step_ns)
        return self._last


class Arrivals:
    """Thread-safe (path, stamp ns) -> receipt ns, with waiting."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._seen: dict[tuple[str, int], int] = {}

    def add(self, path: str, stamp: int, receipt_ns: int) -> None:
        with self._cond:
            self._seen.setdefault((path, stamp), receipt_ns)
            self._cond.notify_all()

    def wait(self, path: str, stamp: int, timeout_s: float) -> int | None:
        """The receipt time of the answer to ``stamp``, or None after ``timeout_s``."""
        with self._cond:
            self._cond.wait_for(lambda: (path, stamp) in self._seen, timeout_s)
            return self._seen.pop((path, stamp), None)


class NodeProbe:
    """Publishers, subscriptions and a spinning executor in a private rclpy context.

    Args:
        namespace: absolute namespace of the node and the echo (e.g. "/bench_1234").
        node_fqn: the perception node's fully qualified name (diagnostics are filtered
            on it).
        domain_id: ROS domain (None: ROS_DOMAIN_ID / 0).
    """

    def __init__(self, namespace: str, node_fqn: str, domain_id: int | None = None) -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import qos_profile_sensor_data
        from diagnostic_msgs.msg import DiagnosticArray
        from sensor_msgs.msg import Image, TimeReference

        from rejshand_ros.msg import HandPoseArray

        self.arrivals = Arrivals()
        self.clock = StampClock()
        self.node_fqn = node_fqn
        self._diag_lock = threading.Lock()
        self._diagnostics: dict[str, str] = {}
        self.context = Context()
        rclpy.init(context=self.context, **({} if domain_id is None
                                            else {"domain_id": domain_id}))
        self.node = rclpy.create_node("bench_node_probe", namespace=namespace,
                                      context=self.context)
        self.publishers = {
            ECHO: self.node.create_publisher(Image, "echo/image", qos_profile_sensor_data),
            NODE: self.node.create_publisher(Image, "image", qos_profile_sensor_data)}
        self.node.create_subscription(TimeReference, "echo/received", self._on_echo, 10)
        self.node.create_subscription(HandPoseArray, "hand_poses", self._on_poses, 10)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True, name="node-probe")
        self._thread.start()

    # -- callbacks (executor thread) -------------------------------------------------
    def _on_echo(self, msg) -> None:
        self.arrivals.add(ECHO, stamp_ns(msg.time_ref), stamp_ns(msg.header.stamp))

    def _on_poses(self, msg) -> None:
        self.arrivals.add(NODE, stamp_ns(msg.header.stamp), time.time_ns())

    def _on_diag(self, msg) -> None:
        for status in msg.status:
            if status.name.split(":")[0] == self.node_fqn:
                with self._diag_lock:
                    self._diagnostics = {kv.key: kv.value for kv in status.values}

    def _spin(self) -> None:
        while self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except Exception:  # noqa: BLE001 - the context went down while waiting
                if self.context.ok():
                    raise
                break

    # -- use -------------------------------------------------------------------------
    def connected(self) -> bool:
        """Both image subscribers and both answer publishers are matched."""
        node = self.node
        ns = node.get_namespace().rstrip("/")
        return (all(pub.get_subscription_count() > 0 for pub in self.publishers.values())
                and node.count_publishers(f"{ns}/echo/received") > 0
                and node.count_publishers(f"{ns}/hand_poses") > 0)

    def send(self, path: str, msg) -> int:
        """Stamp ``msg`` (a prepared sensor_msgs/Image) now and publish it on ``path``;
        returns the stamp (ns)."""
        from builtin_interfaces.msg import Time

        stamp = self.clock.next()
        msg.header.stamp = Time(sec=stamp // 1_000_000_000, nanosec=stamp % 1_000_000_000)
        self.publishers[path].publish(msg)
        return stamp

    def round_trip(self, path: str, msg, timeout_s: float) -> float | None:
        """Publish and wait for the answer: publish -> receipt in ms, None when lost."""
        stamp = self.send(path, msg)
        receipt = self.arrivals.wait(path, stamp, timeout_s)
        return None if receipt is None else (receipt - stamp) * 1e-6

    def diagnostics(self) -> dict[str, str]:
        """The node's last diagnostics values ({} before the first)."""
        with self._diag_lock:
            return dict(self._diagnostics)

    def close(self) -> None:
        self.node.destroy_node()
        self.context.try_shutdown()
        self._thread.join(timeout=5)
