"""ROS 2 MCAP files: write serialized (CDR) messages with full schemas; read them back.

Written like rosbag2's MCAP storage: profile ``ros2``, one schema per type
(``pkg/msg/Type``, encoding ``ros2msg``, the full definition from
``msg_definitions``), one channel per topic (message encoding ``cdr``), log time =
receive time, publish time = the sender's source timestamp, zstd chunks. Messages are
stored exactly as they came off the wire, so ``rclpy.serialization.deserialize_message``,
``mcap_ros2``'s decoder, Foxglove and ``ros2 bag`` (MCAP plugin) all read them. The QoS
the publishers offered is kept in channel metadata (``rejshand.reliability``,
``rejshand.durability``) for replay. No rclpy import: bytes in, bytes out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mcap.reader import make_reader
from mcap.well_known import MessageEncoding, SchemaEncoding
from mcap.writer import CompressionType, Writer

from rejshand_ros.ros.msg_definitions import full_definition, normalize_type

try:
    from mcap_ros2 import __version__ as _MCAP_ROS2_VERSION
except ImportError:  # pragma: no cover
    _MCAP_ROS2_VERSION = "unknown"

LIBRARY = f"rejshand_ros recorder (mcap-ros2-support {_MCAP_ROS2_VERSION})"


class McapFileError(ValueError):
    """An MCAP file cannot be read (missing, not MCAP, not ROS 2 CDR); names the file."""


@dataclass(frozen=True)
class RecordedMessage:
    """One message as stored: topic, type ('pkg/msg/Type'), CDR bytes, times in ns."""

    topic: str
    type_name: str
    data: bytes
    log_time_ns: int
    publish_time_ns: int
    channel_metadata: dict


class McapRecordWriter:
    """Appends serialized ROS 2 messages to a new MCAP file.

    Channels are registered on first use of a topic; each type's schema is registered
    once with its full definition (MessageDefinitionError when a .msg is missing).
    """

    def __init__(self, path: str | Path, chunk_size: int = 4 * 1024 * 1024) -> None:
        self.path = Path(path)
        self._stream = open(self.path, "wb")
        self._writer = Writer(self._stream, chunk_size=chunk_size,
                              compression=CompressionType.ZSTD)
        self._writer.start(profile="ros2", library=LIBRARY)
        self._schemas: dict[str, int] = {}
        self._channels: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self.types: dict[str, str] = {}
        self.bytes = 0
        self._first_ns: int | None = None
        self._last_ns: int | None = None
        self._closed = False

    def add_topic(self, topic: str, type_name: str, metadata: dict[str, str] | None = None) -> int:
        """Register ``topic`` of ``type_name`` (idempotent); returns its channel id."""
        if topic in self._channels:
            return self._channels[topic]
        type_name = normalize_type(type_name)
        if type_name not in self._schemas:
            self._schemas[type_name] = self._writer.register_schema(
                name=type_name, encoding=SchemaEncoding.ROS2,
                data=full_definition(type_name).encode())
        channel = self._writer.register_channel(
            topic=topic, message_encoding=MessageEncoding.CDR,
            schema_id=self._schemas[type_name], metadata=dict(metadata or {}))
        self._channels[topic] = channel
        self.counts.setdefault(topic, 0)
        self.types[topic] = type_name
        return channel

    def write(self, topic: str, data: bytes, log_time_ns: int,
              publish_time_ns: int | None = None) -> None:
        """Store one serialized message of a registered topic."""
        channel = self._channels[topic]
        self._writer.add_message(channel_id=channel, log_time=int(log_time_ns),
                                 publish_time=int(publish_time_ns or log_time_ns),
                                 sequence=self.counts[topic], data=bytes(data))
        self.counts[topic] += 1
        self.bytes += len(data)
        log_time_ns = int(log_time_ns)
        self._first_ns = log_time_ns if self._first_ns is None else min(self._first_ns,
                                                                        log_time_ns)
        self._last_ns = log_time_ns if self._last_ns is None else max(self._last_ns,
                                                                      log_time_ns)

    def summary(self, seconds: float) -> dict:
        """What was written: messages, bytes (message data), ``seconds`` recorded, the
        span of log times (s) and per topic {type, count, rate_hz} (rate over the span)."""
        span = 0.0 if self._first_ns is None else (self._last_ns - self._first_ns) * 1e-9
        return {"messages": sum(self.counts.values()), "bytes": self.bytes,
                "seconds": round(float(seconds), 3), "span_s": round(span, 3),
                "topics": {topic: {"type": self.types[topic], "count": count,
                                   "rate_hz": count / span if span > 0 else 0.0}
                           for topic, count in self.counts.items()}}

    def add_metadata(self, name: str, data: dict[str, str]) -> None:
        """An MCAP metadata record (string keys and values), e.g. the recording summary."""
        self._writer.add_metadata(name=name, data={str(k): str(v) for k, v in data.items()})

    def close(self) -> None:
        """Write the summary and close the file (idempotent)."""
        if not self._closed:
            self._closed = True
            self._writer.finish()
            self._stream.close()

    def __enter__(self) -> "McapRecordWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _open_reader(path: Path):
    if not path.is_file():
        raise McapFileError(f"MCAP file not found: {path}")
    stream = open(path, "rb")
    try:
        return stream, make_reader(stream)
    except Exception as exc:  # noqa: BLE001 - mcap raises several unrelated types
        stream.close()
        raise McapFileError(f"not an MCAP file: {path} ({exc})") from exc


def channels_of(path: str | Path) -> dict[str, tuple[str, dict]]:
    """topic -> (type 'pkg/msg/Type', channel metadata) of every channel in the file."""
    path = Path(path)
    stream, reader = _open_reader(path)
    try:
        summary = reader.get_summary()
    except Exception as exc:  # noqa: BLE001
        raise McapFileError(f"cannot read the MCAP summary of {path} ({exc})") from exc
    finally:
        stream.close()
    if summary is None:
        raise McapFileError(f"MCAP file without summary (not closed properly?): {path}")
    return {channel.topic: (summary.schemas[channel.schema_id].name, dict(channel.metadata))
            for channel in summary.channels.values()}


def read_messages(path: str | Path, topics: Iterable[str] | None = None
                  ) -> Iterator[RecordedMessage]:
    """Every CDR message of the file in log-time order (optionally only ``topics``)."""
    path = Path(path)
    stream, reader = _open_reader(path)
    wanted = list(topics) if topics is not None else None
    try:
        for schema, channel, message in reader.iter_messages(topics=wanted, log_time_order=True):
            if channel.message_encoding != MessageEncoding.CDR or schema is None:
                raise McapFileError(f"{path}: topic {channel.topic} is not ROS 2 CDR "
                                    f"({channel.message_encoding})")
            yield RecordedMessage(channel.topic, schema.name, message.data, message.log_time,
                                  message.publish_time, dict(channel.metadata))
    except McapFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt files
        raise McapFileError(f"cannot read {path}: {exc}") from exc
    finally:
        stream.close()
