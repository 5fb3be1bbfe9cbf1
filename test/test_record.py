"""rejshand-record: full message definitions, MCAP written from real DDS traffic between
processes, every message decoded by rclpy and by mcap_ros2, and a play -> record round trip."""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter, defaultdict

import numpy as np
import pytest

from rejshand_ros.ros.msg_definitions import (SEPARATOR, MessageDefinitionError, dependencies,
                                              field_types, full_definition)


def test_full_definition_has_every_dependency_once_with_separators():
    text = full_definition("rejshand_ros/msg/HandPoseArray")
    blocks = text.split(SEPARATOR + "\n")
    assert blocks[0].startswith("# All hands found in one camera image")
    names = [block.splitlines()[0] for block in blocks[1:]]
    assert names == ["MSG: std_msgs/msg/Header", "MSG: builtin_interfaces/msg/Time",
                     "MSG: rejshand_ros/msg/HandPose", "MSG: sensor_msgs/msg/RegionOfInterest"]
    assert "float32[63] keypoints_3d" in text and "uint8 LEFT=0" in text
    assert dependencies("trajectory_msgs/JointTrajectory") == [
        "std_msgs/msg/Header", "builtin_interfaces/msg/Time",
        "trajectory_msgs/msg/JointTrajectoryPoint", "builtin_interfaces/msg/Duration"]
    assert field_types("string<=5 a\nPoint[<=3] b  # c\nint32 X=1\nfloat64[] d\n"
                       "geometry_msgs/Pose[2] e\n", "geometry_msgs") == [
        "geometry_msgs/msg/Point", "geometry_msgs/msg/Pose"]
    with pytest.raises(MessageDefinitionError, match="no_pkg/msg/Nothing.msg"):
        full_definition("no_pkg/msg/Nothing")


def _sample_messages():
    from builtin_interfaces.msg import Duration
    from sensor_msgs.msg import CameraInfo, Image, JointState
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

    from rejshand_ros.ros.selftest import make_sample_message

    image = Image(height=2, width=3, encoding="rgb8", step=9)
    image.header.stamp.sec, image.header.frame_id = 5, "cam"
    image.data = bytes(range(18))
    info = CameraInfo(header=image.header, width=3, height=2, distortion_model="plumb_bob")
    info.k = [1.0, 0, 1, 0, 1, 1, 0, 0, 1]
    traj = JointTrajectory(joint_names=["a", "b"], points=[JointTrajectoryPoint(
        positions=[0.5, -0.25], time_from_start=Duration(nanosec=100_000_000))])
    state = JointState(header=image.header, name=["a", "b"], position=[0.5, -0.25])
    return {"/image": image, "/camera_info": info, "/hand_poses": make_sample_message(2, 3),
            "/joint_trajectory": traj, "/joint_states": state}


def _same(a, b) -> bool:
    from rejshand_ros.ros.selftest import message_digest

    return message_digest(a) == message_digest(b)


def _decode_both(path):
    """Every message of ``path`` decoded by rclpy and by mcap_ros2: [(topic, rclpy msg)]."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory
    from rclpy.serialization import deserialize_message

    from rejshand_ros.ros.recorder import message_class

    decoded = []
    with open(path, "rb") as stream:
        reader = make_reader(stream, decoder_factories=[DecoderFactory()])
        for schema, channel, message, dynamic in reader.iter_decoded_messages():
            msg = deserialize_message(message.data, message_class(schema.name))
            assert schema.encoding == "ros2msg" and channel.message_encoding == "cdr"
            if hasattr(msg, "header"):
                assert dynamic.header.stamp.sec == msg.header.stamp.sec
                assert dynamic.header.stamp.nanosec == msg.header.stamp.nanosec
                assert dynamic.header.frame_id == msg.header.frame_id
            if schema.name == "sensor_msgs/msg/Image":
                assert bytes(dynamic.data) == bytes(msg.data)
            if schema.name == "rejshand_ros/msg/HandPoseArray":
                for a, b in zip(dynamic.hands, msg.hands):
                    np.testing.assert_array_equal(np.float32(a.keypoints_3d), b.keypoints_3d)
                    np.testing.assert_array_equal(np.float32(a.vertices), b.vertices)
                    assert a.handedness == b.handedness and a.track_id == b.track_id
            if schema.name == "trajectory_msgs/msg/JointTrajectory":
                assert list(dynamic.joint_names) == list(msg.joint_names)
                assert list(dynamic.points[0].positions) == list(msg.points[0].positions)
            decoded.append((channel.topic, msg, message.log_time))
    return decoded


def test_writer_round_trip_without_dds(tmp_path):
    from rclpy.serialization import serialize_message

    from rejshand_ros.ros.mcap_io import McapRecordWriter, channels_of

    messages = _sample_messages()
    with McapRecordWriter(tmp_path / "a.mcap") as writer:
        for index, (topic, msg) in enumerate(messages.items()):
            writer.add_topic(topic, type(msg).__module__.split(".")[0] + "/msg/"
                             + type(msg).__name__, {"rejshand.reliability": "reliable"})
            writer.write(topic, serialize_message(msg), 1_000 + index)
    channels = channels_of(tmp_path / "a.mcap")
    assert channels["/hand_poses"] == ("rejshand_ros/msg/HandPoseArray",
                                       {"rejshand.reliability": "reliable"})
    decoded = _decode_both(tmp_path / "a.mcap")
    assert [topic for topic, _, _ in decoded] == list(messages)
    for topic, msg, _ in decoded:
        assert _same(msg, messages[topic]), topic


def test_summary_metadata_and_unique_names(tmp_path):
    from mcap.reader import make_reader
    from rclpy.serialization import serialize_message

    from rejshand_ros.ros.mcap_io import McapRecordWriter
    from rejshand_ros.ros.recorder import recording_report, unique_path

    messages = _sample_messages()
    path = tmp_path / "s.mcap"
    with McapRecordWriter(path) as writer:
        for index, (topic, msg) in enumerate(messages.items()):
            writer.add_topic(topic, type(msg).__module__.split(".")[0] + "/msg/"
                             + type(msg).__name__)
            for repeat in range(index + 1):
                writer.write(topic, serialize_message(msg), 10**9 * (index + repeat))
        summary = writer.summary(9.5)
        writer.add_metadata("rejshand.recording", {"messages": summary["messages"]})
    assert summary["messages"] == 15 and summary["span_s"] == 8.0
    assert summary["topics"]["/joint_states"] == {"type": "sensor_msgs/msg/JointState",
                                                  "count": 5, "rate_hz": 5 / 8.0}
    with open(path, "rb") as stream:
        (record,) = make_reader(stream).iter_metadata()
    assert record.name == "rejshand.recording" and record.metadata == {"messages": "15"}
    report = recording_report(path, summary)
    assert "wrote 15 messages" in report and "recorded 9.5 s" in report
    assert re.search(r"/hand_poses\s+rejshand_ros/msg/HandPoseArray\s+3 msgs", report)
    assert unique_path(tmp_path / "free.mcap") == tmp_path / "free.mcap"
    taken = unique_path(path, now=0.0)
    assert taken != path and taken.name.startswith("s_19") and taken.suffix == ".mcap"
    taken.write_bytes(b"")
    assert unique_path(path, now=0.0) == taken.with_name(taken.stem + "_1.mcap")


def test_cli_errors(venv_bin, tmp_path):
    record = str(venv_bin / "rejshand-record")
    (tmp_path / "old.mcap").write_bytes(b"x")
    for args, text in (([], "give either"), ([str(tmp_path)], "is a directory"),
                       ([str(tmp_path / "old.mcap")], "exists (use --overwrite"),
                       ([str(tmp_path / "old.mcap"), "--overwrite", "--unique"], "not both"),
                       (["--play", str(tmp_path / "none.mcap")], "MCAP file not found")):
        result = subprocess.run([record, *args], capture_output=True, text=True, timeout=60)
        assert result.returncode == 2 and text in result.stderr, result.stderr
    (tmp_path / "junk.mcap").write_bytes(b"\x00" * 64)
    result = subprocess.run([record, "--play", str(tmp_path / "junk.mcap")], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "junk.mcap" in result.stderr


@pytest.mark.ros
def test_record_real_traffic_decode_everything_then_play_it_back(venv_bin, ros_env, tmp_path):
    """Source + retargeting (on the ground truth) as processes over DDS, recorded; then
    the file is played while a second recorder records it: same messages, same spacing."""
    first, second = tmp_path / "first.mcap", tmp_path / "second.mcap"
    result = subprocess.run(
        [str(venv_bin / "rejshand-bringup"), "--source", "synthetic", "--no-perception",
         "--retarget", "--hand-poses", "hand_poses_gt", "--record", str(first), "--duration",
         "14", "--set", "image_source_node.width=320", "--set", "image_source_node.height=240",
         "--set", "image_source_node.synthetic_frames=10", "--set",
         "retarget_node.engaged_on_start=true", "--set", "retarget_node.follow_handedness=any"],
        env=ros_env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    decoded = _decode_both(first)
    by_topic = defaultdict(list)
    for topic, msg, log_time in decoded:
        by_topic[topic].append((msg, log_time))
    assert set(by_topic) == {"/image", "/camera_info", "/hand_poses_gt", "/joint_trajectory",
                             "/joint_commands"}  # nothing of ours on /joint_states
    stamps = {topic: {(m.header.stamp.sec, m.header.stamp.nanosec) for m, _ in items}
              for topic, items in by_topic.items() if topic != "/joint_trajectory"}
    common = stamps["/image"] & stamps["/camera_info"] & stamps["/hand_poses_gt"]
    assert len(common) >= 20
    for topic in ("/image", "/camera_info", "/hand_poses_gt"):  # one stamp per frame; only
        extra = stamps[topic] - common  # the first / last frame may miss a late subscription
        assert all(s < min(common) or s > max(common) for s in extra), topic
    frames = stamps["/image"] | stamps["/camera_info"] | stamps["/hand_poses_gt"]
    assert stamps["/joint_commands"] <= frames  # stamped with the image time by retargeting
    assert len(by_topic["/joint_trajectory"]) >= 5
    assert len(by_topic["/joint_trajectory"][0][0].joint_names) == 16

    recorder = subprocess.Popen([str(venv_bin / "rejshand-record"), str(second), "--topics",
                                 "image", "camera_info", "hand_poses_gt", "joint_trajectory",
                                 "joint_commands", "--duration", "25"],
                                env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
    time.sleep(2.0)
    played = subprocess.run([str(venv_bin / "rejshand-record"), "--play", str(first), "--delay",
                             "2.0"], env=ros_env, capture_output=True, text=True, timeout=60)
    assert played.returncode == 0, played.stderr[-3000:]
    assert f"played {len(decoded)} messages" in played.stdout
    recorder.send_signal(2)
    out, _ = recorder.communicate(timeout=30)
    assert recorder.returncode == 0, out[-3000:]
    # the summary at the end: every topic with its type and count, and the duration
    replay_counts = Counter(t for t, _, _ in _decode_both(second))
    report = out[out.index("rejshand-record: wrote"):]
    assert f"wrote {sum(replay_counts.values())} messages to {second}" in report
    for topic, count in replay_counts.items():
        assert re.search(rf"{re.escape(topic)}\s+\S+\s+{count} msgs", report), (topic, report)
    assert re.search(r"messages spanning \d+\.\d s", report)
    replay = _decode_both(second)
    counts, counts_replay = Counter(t for t, _, _ in decoded), Counter(t for t, _, _ in replay)
    for topic in ("/hand_poses_gt", "/joint_trajectory", "/joint_commands"):  # reliable
        assert counts_replay[topic] == counts[topic], topic
    for topic in ("/image", "/camera_info"):  # best effort: allow a rare loss
        assert counts_replay[topic] >= 0.9 * counts[topic], topic
    originals = {(t, m.header.stamp.sec, m.header.stamp.nanosec): m
                 for t, m, _ in decoded if hasattr(m, "header") and t != "/joint_trajectory"}
    for topic, msg, _ in replay:
        if topic != "/joint_trajectory":
            assert _same(msg, originals[(topic, msg.header.stamp.sec, msg.header.stamp.nanosec)])
    span = [max(t for _, _, t in d) - min(t for _, _, t in d) for d in (decoded, replay)]
    assert abs(span[1] - span[0]) < 0.1 * span[0] + 0.3e9  # the original timing
