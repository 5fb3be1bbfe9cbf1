"""``rejshand-bench-retarget``: retargeting time per frame over a sequence of human poses.

    rejshand-bench-retarget [--robot rejshand_hand] [--side right] [--type vector]
                            [--config FILE] [--urdf-dir DIR] [--frames 300]

Two rows: the core ``Retargeter`` alone, and the retarget node's whole message callback
(HandPoseArray -> HandPrediction -> hand selection -> retargeting -> velocity limit ->
JointTrajectory + JointState published), run in this process without DDS transport.
The second row needs ROS (rclpy); without it only the first is measured. Prints a
markdown table: wall-clock median, p90 and max (checked against the 30 Hz camera
period, 33.3 ms), and the CPU time of the calling thread (what the frame costs when
other processes share the cores).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

CAMERA_PERIOD_MS = 1000.0 / 30.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rejshand-bench-retarget",
        description="Measure retargeting time per frame (median, p90) on a teleoperation-like "
        "sequence from the open hand model (open, fist, pinch, point; turning wrist).")
    parser.add_argument("--robot", default="rejshand_hand",
                        help="robot config name in config/retargeting (default rejshand_hand)")
    parser.add_argument("--side", choices=("right", "left"), default="right",
                        help="robot hand side (default right)")
    parser.add_argument("--type", dest="kind", choices=("vector", "dexpilot", "position"),
                        default="vector", help="optimiser (default vector)")
    parser.add_argument("--config", type=Path, help="explicit retargeting YAML")
    parser.add_argument("--urdf-dir", type=Path, help="folder of user-supplied URDFs")
    parser.add_argument("--frames", type=int, default=300, help="timed frames (default 300)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed frames first (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="sequence seed")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch intra-op threads (default 1, as retarget_node sets)")
    parser.add_argument("--core-only", action="store_true",
                        help="skip the node row (no ROS needed)")
    return parser


def _row(name: str, times: tuple[list[float], list[float]]) -> str:
    """Markdown row from (wall-clock seconds, CPU seconds of this thread) per frame."""
    import numpy as np

    ms, cpu = (np.asarray(t) * 1000.0 for t in times)
    median, p90, worst = np.median(ms), np.percentile(ms, 90), ms.max()
    verdict = "yes" if p90 < CAMERA_PERIOD_MS else "no"
    return (f"| {name} | {len(ms)} | {median:.2f} | {p90:.2f} | {worst:.2f} | "
            f"{np.median(cpu):.2f} | {np.percentile(cpu, 90):.2f} | {verdict} |")


class _Timer:
    """Collects wall-clock and thread CPU time of timed blocks (after ``warmup`` blocks)."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.count, self.wall, self.cpu = warmup, 0, [], []

    def __enter__(self):
        self.start = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *exc) -> None:
        wall, cpu = time.perf_counter() - self.start[0], time.thread_time() - self.start[1]
        if self.count >= self.warmup:
            self.wall.append(wall)
            self.cpu.append(cpu)
        self.count += 1

    @property
    def times(self) -> tuple[list[float], list[float]]:
        return self.wall, self.cpu


def bench_core(config, frames, warmup: int) -> tuple[list[float], list[float]]:
    from rejshand_ros.retarget.retargeter import Retargeter

    retargeter = Retargeter(config)
    timer = _Timer(warmup)
    for keypoints in frames:
        with timer:
            result = retargeter.retarget_keypoints(keypoints, config.side)
        if result is None:
            raise RuntimeError("a sequence frame was rejected; see the warnings above")
    return timer.times


def bench_node(args, config, frames, warmup: int) -> tuple[list[float], list[float]]:
    from std_msgs.msg import Header

    from rejshand_ros.perception.hand_prediction import HandPrediction
    from rejshand_ros.ros.conversions import predictions_to_array
    from rejshand_ros.ros.retarget_node import make_node
    from rejshand_ros.ros.runtime import ros_session

    ros_args = ["--ros-args", "-p", "engaged_on_start:=true", "-p", "max_rate:=0.0",
                "-p", "max_input_age:=0.0",
                "-p", f"config_file:={config.source}", "-p", f"robot_side:={config.side.value}"]
    if args.urdf_dir:
        ros_args += ["-p", f"urdf_dir:={args.urdf_dir}"]
    messages = []
    for i, keypoints in enumerate(frames):
        header = Header(frame_id="camera_color_optical_frame")
        header.stamp.sec, header.stamp.nanosec = 1_700_000_000 + i // 30, (i % 30) * 33_333_333
        hand = HandPrediction(uv=[[0.0, 0.0]] * 21, joints=keypoints, absolute=True,
                              presence=0.99, handedness=config.side, handedness_score=0.99,
                              track_id=1)
        messages.append(predictions_to_array([hand], header, 640, 480))
    timer = _Timer(warmup)
    with ros_session(args=["rejshand-bench-retarget"] + ros_args):
        node = make_node()
        try:
            for msg in messages:
                sent = node.controller.commands
                with timer:
                    node._on_hands(msg)
                if node.controller.commands != sent + 1:
                    raise RuntimeError("the node did not produce a command for a frame")
        finally:
            node.destroy_node()
    return timer.times


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.frames < 1 or args.warmup < 0 or args.torch_threads < 1:
        sys.exit("error: --frames and --torch-threads must be >= 1, --warmup >= 0")
    import torch

    torch.set_num_threads(args.torch_threads)

    from rejshand_ros.retarget.config import (RobotConfigError, UrdfNotFoundError,
                                              load_robot_config, robot_config_path)
    from rejshand_ros.retarget.human_poses import pose_sequence

    try:
        path = args.config or robot_config_path(args.robot, args.side, args.kind)
        config = load_robot_config(path, urdf_dir=args.urdf_dir)
    except (FileNotFoundError, RobotConfigError, UrdfNotFoundError) as exc:
        sys.exit(f"error: {exc}")
    frames = pose_sequence(args.frames + args.warmup, seed=args.seed, handedness=config.side)

    rows = [_row("retarget (core)", bench_core(config, frames, args.warmup))]
    node_note = ""
    if not args.core_only:
        try:
            import rclpy  # noqa: F401
        except ImportError:
            node_note = "node row skipped: rclpy not importable"
        else:
            from rejshand_ros.ros.runtime import prepare_environment

            prepare_environment()
            rows.append(_row("node callback (msg in -> msgs out)",
                             bench_node(args, config, frames, args.warmup)))

    affinity = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                else os.cpu_count())
    print(f"retargeting {config.name} ({config.side.value}, {config.type}), "
          f"{args.frames} frames after {args.warmup} warm-up; "
          f"{platform.processor() or platform.machine()}, {affinity} usable cores "
          f"({os.cpu_count()} total), torch threads {torch.get_num_threads()}")
    print()
    print(f"| stage | frames | median ms | p90 ms | max ms | CPU median ms | CPU p90 ms | "
          f"p90 < {CAMERA_PERIOD_MS:.1f} ms |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    if node_note:
        print(f"\n{node_note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
