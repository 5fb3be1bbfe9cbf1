"""The far end of the raw-Image DDS latency probe of ``rejshand-bench --suite node``.

A process of its own: subscribes ``echo/image`` (sensor_msgs/Image, sensor-data QoS like
hand_pose_node's ``image``) and, for every image, publishes a sensor_msgs/TimeReference
on ``echo/received``: ``header.stamp`` = when the callback got the image (system clock,
the clock the publisher stamps with), ``time_ref`` = the image's own header stamp. The
bench process subtracts the two: publish -> receive in another process, one clock.

    python -m rejshand_ros.bench.image_echo --ros-args -r __ns:=/bench
"""

from __future__ import annotations

import sys
import time

USAGE = """usage: python -m rejshand_ros.bench.image_echo [--ros-args ...]

Answers every sensor_msgs/Image on `echo/image` with a sensor_msgs/TimeReference on
`echo/received` (header.stamp: receipt time, time_ref: the image's stamp)."""


def receipt_stamp(now_ns: int):
    """builtin_interfaces/Time for ``now_ns`` (ns since the epoch)."""
    from builtin_interfaces.msg import Time

    return Time(sec=now_ns // 1_000_000_000, nanosec=now_ns % 1_000_000_000)


def make_node():
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image, TimeReference

    class ImageEcho(Node):
        def __init__(self) -> None:
            super().__init__("bench_image_echo")
            self.answers = self.create_publisher(TimeReference, "echo/received", 10)
            self.create_subscription(Image, "echo/image", self._on_image,
                                     qos_profile_sensor_data)

        def _on_image(self, msg) -> None:
            now_ns = time.time_ns()
            answer = TimeReference(time_ref=msg.header.stamp, source="image_echo")
            answer.header.stamp = receipt_stamp(now_ns)
            answer.header.frame_id = msg.header.frame_id
            self.answers.publish(answer)

    return ImageEcho()


def main(argv: list[str] | None = None) -> int:
    from rejshand_ros.ros.runtime import run_node

    return run_node("image_echo", USAGE, make_node, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
