"""``rejshand-record``: record topics to MCAP, or play an MCAP file back (``--play``).

An existing file is never replaced silently: the CLI refuses it unless ``--overwrite``;
``--unique`` (what launch and bringup use) writes ``<name>_<YYYYmmdd-HHMMSS>.mcap``
beside it instead. The default topics keep the robot's commanded joints
(``joint_commands``) apart from its measured ones (``joint_states``, the driver's) and
include ``/tf`` and ``/tf_static``. At the end the recorder prints what it wrote (per
topic: type, messages, rate; the duration) and stores the same summary in the file as
MCAP metadata ``rejshand.recording``.

Recording subscribes to each requested topic as soon as a publisher of it appears
(type and QoS taken from the publishers, as rosbag2 does: reliable only when every
publisher is, transient-local when every publisher is), takes the messages serialized
(no decode, no re-encode) and writes them with full message definitions
(``mcap_io.McapRecordWriter``). The file is finished cleanly on Ctrl-C, SIGTERM or
after ``--duration``. Playing republishes every message with its original spacing
(scaled by ``--rate``), with the QoS it was recorded with.
Also installed as the node executable ``recorder_node`` (used by launch and bringup).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from rejshand_ros.ros.launch_spec import DEFAULT_RECORD_TOPICS as DEFAULT_TOPICS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rejshand-record",
        description="Record image, camera_info, hand poses and robot joint topics to an MCAP "
        "file (readable by ros2 bag with the MCAP plugin and Foxglove), or replay one with "
        "--play. ROS arguments go after --ros-args.")
    parser.add_argument("output", nargs="?", help="MCAP file to write (e.g. session.mcap)")
    parser.add_argument("--topics", nargs="+", default=list(DEFAULT_TOPICS), metavar="TOPIC",
                        help="topics to record or play (default: "
                        f"{' '.join(DEFAULT_TOPICS)}; relative names use the namespace)")
    parser.add_argument("--all-topics", action="store_true",
                        help="play: every topic in the file (the default with --play)")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing file")
    parser.add_argument("--unique", action="store_true",
                        help="when OUTPUT exists, write OUTPUT's name + _YYYYmmdd-HHMMSS "
                        "instead (never replaces a file)")
    parser.add_argument("--play", metavar="FILE", help="replay this MCAP file instead")
    parser.add_argument("--rate", type=float, default=1.0, help="play: speed factor (default 1)")
    parser.add_argument("--loop", action="store_true", help="play: start again at the end")
    parser.add_argument("--delay", type=float, default=1.0,
                        help="play: seconds to wait for subscribers before the first message")
    return parser


def qos_for(publishers: list):
    """The QoS to subscribe with, matching every publisher in ``publishers``."""
    from rclpy.qos import (DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy)

    reliable = bool(publishers) and all(
        p.qos_profile.reliability == ReliabilityPolicy.RELIABLE for p in publishers)
    latched = bool(publishers) and all(
        p.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in publishers)
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=100,
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)


def message_class(type_name: str):
    """'pkg/msg/Type' -> the generated Python class."""
    package, kind, name = type_name.split("/")
    return getattr(importlib.import_module(f"{package}.{kind}"), name)


def _make_recorder(writer, topics: list[str]):
    from rclpy.node import Node
    from rclpy.qos import DurabilityPolicy, ReliabilityPolicy

    class Recorder(Node):
        """Subscribes to ``topics`` once they appear and writes raw messages."""

        def __init__(self) -> None:
            super().__init__("recorder")
            self.wanted = {self.resolve_topic_name(topic) for topic in topics}
            self.subscribed: dict[str, object] = {}
            self.create_timer(0.25, self.discover)
            self.discover()

        def discover(self) -> None:
            for name, types in self.get_topic_names_and_types():
                if name not in self.wanted or name in self.subscribed:
                    continue
                publishers = self.get_publishers_info_by_topic(name)
                if not publishers:
                    continue
                if len(set(types)) > 1:
                    self.get_logger().warning(f"{name} has several types {types}; "
                                              f"recording {types[0]}")
                qos = qos_for(publishers)
                metadata = {
                    "rejshand.reliability": "reliable" if qos.reliability ==
                    ReliabilityPolicy.RELIABLE else "best_effort",
                    "rejshand.durability": "transient_local" if qos.durability ==
                    DurabilityPolicy.TRANSIENT_LOCAL else "volatile"}
                writer.add_topic(name, types[0], metadata)
                self.subscribed[name] = self.create_subscription(
                    message_class(types[0]), name, self._callback(name), qos, raw=True)
                self.get_logger().info(f"recording {name} ({types[0]}, "
                                       f"{metadata['rejshand.reliability']})")

        @staticmethod
        def _callback(topic: str):
            def on_message(data: bytes, info) -> None:
                received = info.get("received_timestamp") or time.time_ns()
                writer.write(topic, data, received, info.get("source_timestamp") or received)
            return on_message

    return Recorder()


def record(output: Path, topics: list[str], duration: float | None, ros_args: list[str]) -> int:
    """Record until Ctrl-C / SIGTERM / ``duration``; returns an exit code."""
    import rclpy

    from rejshand_ros.ros.mcap_io import McapRecordWriter
    from rejshand_ros.ros.runtime import ros_session, stopping_cleanly

    writer = McapRecordWriter(output)
    started = time.monotonic()
    try:
        with ros_session(args=["recorder", *ros_args]):
            node = _make_recorder(writer, topics)
            deadline = None if duration is None else time.monotonic() + duration
            try:
                with stopping_cleanly():
                    while rclpy.ok() and (deadline is None or time.monotonic() < deadline):
                        rclpy.spin_once(node, timeout_sec=0.1)
            finally:
                node.destroy_node()
    finally:
        summary = writer.summary(time.monotonic() - started)
        metadata = {k: str(v) for k, v in summary.items() if k != "topics"}
        metadata.update({f"topic {topic}": f"{info['type']} {info['count']}"
                         for topic, info in summary["topics"].items()})
        writer.add_metadata("rejshand.recording", metadata)
        writer.close()
    print(recording_report(output, summary), flush=True)
    return 0


def recording_report(output: Path, summary: dict) -> str:
    """The end-of-recording lines: totals, then one line per topic (type, count, rate)."""
    lines = [f"rejshand-record: wrote {summary['messages']} messages to {output} "
             f"({summary['bytes'] / 1e6:.1f} MB, recorded {summary['seconds']:.1f} s, "
             f"messages spanning {summary['span_s']:.1f} s)"]
    if not summary["topics"]:
        lines.append("  no topic seen")
    for topic, info in sorted(summary["topics"].items()):
        lines.append(f"  {topic:<24} {info['type']:<36} {info['count']:>7} msgs "
                     f"{info['rate_hz']:7.1f} Hz")
    return "\n".join(lines)


def unique_path(path: Path, now: float | None = None) -> Path:
    """``path`` if free, else ``<stem>_<YYYYmmdd-HHMMSS>[_N]<suffix>`` beside it."""
    if not path.exists():
        return path
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    candidate = path.with_name(f"{path.stem}_{stamp}{path.suffix}")
    index = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}_{stamp}_{index}{path.suffix}")
        index += 1
    return candidate


def _player_publishers(node, available: dict, wanted: set[str]) -> dict:
    """One publisher per wanted recorded topic, with the QoS the recording noted."""
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    publishers = {}
    for topic in sorted(wanted & set(available)):
        type_name, metadata = available[topic]
        reliable = metadata.get("rejshand.reliability", "reliable") == "reliable"
        durable = metadata.get("rejshand.durability", "volatile") == "transient_local"
        qos = QoSProfile(
            depth=100,
            reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
            durability=DurabilityPolicy.TRANSIENT_LOCAL if durable else DurabilityPolicy.VOLATILE)
        publishers[topic] = node.create_publisher(message_class(type_name), topic, qos)
    return publishers


def play(path: Path, topics: list[str] | None, rate: float, loop: bool, delay: float,
         ros_args: list[str]) -> int:
    """Republish the file's messages with their recorded spacing / ``rate``."""
    import rclpy

    from rejshand_ros.ros.mcap_io import channels_of, read_messages
    from rejshand_ros.ros.runtime import ros_session, stopping_cleanly

    available = channels_of(path)
    with ros_session(args=["player", *ros_args]):
        node = rclpy.create_node("player")
        wanted = set(available) if topics is None else {node.resolve_topic_name(t) for t in topics}
        sent = 0
        try:
            with stopping_cleanly():
                publishers = _player_publishers(node, available, wanted)
                node.get_logger().info(f"playing {path} ({len(publishers)} topics) at {rate:g}x")
                end = time.monotonic() + delay
                while time.monotonic() < end:
                    rclpy.spin_once(node, timeout_sec=0.05)
                while True:
                    start_wall, start_log = time.monotonic(), None
                    for message in read_messages(path, list(publishers)):
                        start_log = message.log_time_ns if start_log is None else start_log
                        due = start_wall + (message.log_time_ns - start_log) * 1e-9 / rate
                        while (wait := due - time.monotonic()) > 0:
                            rclpy.spin_once(node, timeout_sec=min(wait, 0.05))
                        publishers[message.topic].publish(message.data)
                        sent += 1
                    if not loop:
                        break
                end = time.monotonic() + 0.5  # let reliable messages in flight arrive
                while time.monotonic() < end:
                    rclpy.spin_once(node, timeout_sec=0.05)
        finally:
            node.destroy_node()
    print(f"rejshand-record: played {sent} messages from {path}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ros_args = argv[argv.index("--ros-args"):] if "--ros-args" in argv else []
    own = argv[:len(argv) - len(ros_args)]
    parser = build_parser()
    args = parser.parse_args(own)
    if (args.output is None) == (args.play is None):
        parser.error("give either an OUTPUT file to record to or --play FILE")
    if args.duration is not None and args.duration <= 0:
        parser.error("--duration must be > 0")
    if args.rate <= 0:
        parser.error("--rate must be > 0")
    from rejshand_ros.ros.runtime import (dump_stacks_on_request, prepare_environment,
                                          require_rclpy)

    require_rclpy()
    prepare_environment()
    dump_stacks_on_request()
    if args.play:
        from rejshand_ros.ros.mcap_io import McapFileError

        topics = None if args.all_topics or "--topics" not in own else args.topics
        try:
            return play(Path(args.play), topics, args.rate, args.loop, args.delay, ros_args)
        except McapFileError as exc:
            print(f"rejshand-record: error: {exc}", file=sys.stderr)
            return 2
    output = Path(args.output).expanduser()
    if args.overwrite and args.unique:
        parser.error("give --overwrite or --unique, not both")
    if output.is_dir():
        parser.error(f"{output} is a directory")
    if output.exists() and args.unique:
        output = unique_path(output)
        print(f"rejshand-record: {args.output} exists; recording to {output} instead",
              file=sys.stderr, flush=True)
    elif output.exists() and not args.overwrite:
        parser.error(f"{output} exists (use --overwrite to replace it, or --unique)")
    output.parent.mkdir(parents=True, exist_ok=True)
    return record(output, args.topics, args.duration, ros_args)


if __name__ == "__main__":
    sys.exit(main())
