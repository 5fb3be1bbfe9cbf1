"""Message round trip across two processes over real DDS.

``rejshand-selftest`` publishes a HandPoseArray with two fully populated hands (778-vertex
meshes) from this process and starts a subscriber in a second process; the subscriber
reports the SHA-256 of the serialized message it received, which must equal the
publisher's. It proves that the generated messages, the middleware and the Fast DDS
profile work on this machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time

DEFAULT_TOPIC = "hand_poses_selftest"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rejshand-selftest",
        description="Exchange a HandPoseArray between two processes over DDS and check "
        "that it arrives bit-exactly.",
    )
    parser.add_argument("--role", choices=("both", "pub", "sub"), default="both",
                        help="both (default): publish here and subscribe in a child process")
    parser.add_argument("--topic", default=DEFAULT_TOPIC, help="topic name (relative)")
    parser.add_argument("--hands", type=int, default=2, help="hands in the message (>= 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the message contents")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds to wait for the message (default 30)")
    return parser


def make_sample_message(num_hands: int, seed: int):
    """A HandPoseArray with every field set from a seeded RNG (deterministic)."""
    import numpy as np
    from sensor_msgs.msg import RegionOfInterest

    from rejshand_ros.msg import HandPose, HandPoseArray

    rng = np.random.default_rng(seed)
    msg = HandPoseArray()
    msg.header.stamp.sec = 1_700_000_000
    msg.header.stamp.nanosec = 123_456_789
    msg.header.frame_id = "camera_color_optical_frame"
    for index in range(num_hands):
        hand = HandPose()
        hand.header = msg.header
        hand.track_id = 7 + index
        hand.handedness = HandPose.RIGHT if index % 2 == 0 else HandPose.LEFT
        hand.handedness_score = float(rng.uniform(0.5, 1.0))
        hand.score = float(rng.uniform(0.5, 1.0))
        hand.roi = RegionOfInterest(x_offset=10 * index, y_offset=20, height=200, width=200,
                                    do_rectify=False)
        hand.keypoints_2d = rng.uniform(0, 640, 42).astype(np.float32)
        hand.keypoints_3d = rng.normal(0, 0.05, 63).astype(np.float32)
        hand.absolute = index % 2 == 1
        hand.vertices = rng.normal(0, 0.05, 778 * 3).astype(np.float32)
        hand.mesh_id = "rejshand_open_hand_v1"
        hand.model_id = "selftest"
        msg.hands.append(hand)
    return msg


def message_digest(msg) -> str:
    """SHA-256 over every field's value at its wire precision (float32 fields as float32).

    Serialized CDR bytes are not comparable: their alignment padding is uninitialised.
    """
    import numpy as np

    digest = hashlib.sha256()

    def visit(message) -> None:
        for name, type_name in message.get_fields_and_field_types().items():
            value = getattr(message, name)
            digest.update(name.encode())
            if hasattr(value, "get_fields_and_field_types"):
                visit(value)
            elif isinstance(value, list) and value and hasattr(value[0], "get_fields_and_field_types"):
                digest.update(len(value).to_bytes(4, "little"))
                for item in value:
                    visit(item)
            elif type_name == "float":
                digest.update(np.float32(value).tobytes())
            elif hasattr(value, "tobytes"):  # numpy arrays, array.array
                digest.update(value.tobytes())
            else:
                digest.update(repr(value).encode())

    visit(msg)
    return digest.hexdigest()


def _qos():
    from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy

    return QoSProfile(depth=1, reliability=QoSReliabilityPolicy.RELIABLE,
                      durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)


def run_subscriber(topic: str, timeout: float) -> int:
    """Wait for one message and print a JSON line with its digest and a summary."""
    import rclpy

    from rejshand_ros.msg import HandPoseArray
    from rejshand_ros.ros.runtime import ros_session

    received = []
    with ros_session():
        node = rclpy.create_node("rejshand_selftest_sub")
        node.create_subscription(HandPoseArray, topic, received.append, _qos())
        deadline = time.monotonic() + timeout
        while not received and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.1)
        node.destroy_node()
    digest = message_digest(received[0]) if received else None
    if not received:
        print(json.dumps({"received": False}), flush=True)
        return 1
    msg = received[0]
    print(json.dumps({
        "received": True,
        "digest": digest,
        "hands": len(msg.hands),
        "vertices": [len(hand.vertices) for hand in msg.hands],
        "frame_id": msg.header.frame_id,
    }), flush=True)
    return 0


def run_publisher(topic: str, num_hands: int, seed: int, until: subprocess.Popen | None,
                  timeout: float) -> str:
    """Publish the sample message (latched) until ``until`` exits or the timeout passes."""
    import rclpy

    from rejshand_ros.msg import HandPoseArray
    from rejshand_ros.ros.runtime import ros_session

    msg = make_sample_message(num_hands, seed)
    digest = message_digest(msg)
    with ros_session():
        node = rclpy.create_node("rejshand_selftest_pub")
        publisher = node.create_publisher(HandPoseArray, topic, _qos())
        publisher.publish(msg)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (until is None or until.poll() is None):
            rclpy.spin_once(node, timeout_sec=0.1)
        node.destroy_node()
    return digest


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.hands < 0:
        sys.exit("error: --hands must be >= 0")
    from rejshand_ros.ros.runtime import prepare_environment, require_rclpy

    require_rclpy()
    prepare_environment()
    if args.role == "sub":
        return run_subscriber(args.topic, args.timeout)
    if args.role == "pub":
        print(run_publisher(args.topic, args.hands, args.seed, None, args.timeout))
        return 0

    child = subprocess.Popen(
        [sys.executable, "-m", "rejshand_ros.ros.selftest", "--role", "sub",
         "--topic", args.topic, "--timeout", str(args.timeout)],
        stdout=subprocess.PIPE, text=True)
    started = time.monotonic()
    sent = run_publisher(args.topic, args.hands, args.seed, child, args.timeout + 5.0)
    out, _ = child.communicate(timeout=10)
    report = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"received": False}
    ok = report.get("received") and report.get("digest") == sent
    print(json.dumps({"ok": bool(ok), "sent_digest": sent, "subscriber": report,
                      "seconds": round(time.monotonic() - started, 3)}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
