"""``rejshand-demo``: the whole product on synthetic frames, scored live.

Starts, through the bring-up machinery (``launch_spec`` + ``bringup``): the synthetic
``image_source_node`` (ground truth on ``hand_poses_gt``), ``hand_pose_node``,
``retarget_node`` (engaged, following any hand) and the MCAP recorder. Meanwhile a
monitor in this process prints a live line (FPS, latency, hands, 2D / 3D error
against the ground truth, robot commands) and films the overlay. Runs for
``--duration`` seconds once frames flow (start-up not counted), or until Ctrl-C;
leaves in ``--out``: ``demo.mcap``, ``overlay.mp4``, ``overlay.png`` (the last frame
with hands), ``summary.json`` and ``logs/<node>.log``.

Without the pose or detector model (not yet shipped in this install, and none given)
the demo says so and runs on the ground truth only: source -> retargeting -> recorder.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rejshand-demo",
        description="Synthetic camera -> hand_pose_node -> retarget_node, recorded to MCAP, "
        "with a live line of FPS, latency and error against the synthetic ground truth.")
    parser.add_argument("--duration", type=float, default=20.0,
                        help="seconds to run once frames flow (default 20; Ctrl-C stops "
                        "earlier)")
    parser.add_argument("--startup-timeout", type=float, default=90.0,
                        help="give up when no frame is processed within this many seconds "
                        "(default 90)")
    parser.add_argument("--out", default="demo_out", help="output directory (default demo_out)")
    parser.add_argument("--rate", type=float, default=10.0, help="camera rate, Hz (default 10)")
    parser.add_argument("--hands", type=int, default=1, choices=(0, 1, 2),
                        help="hands in the synthetic scene (default 1)")
    parser.add_argument("--seed", type=int, default=3, help="seed of the synthetic scene")
    parser.add_argument("--frames", type=int, default=60,
                        help="frames in one loop of the synthetic sequence (default 60)")
    parser.add_argument("--size", default="640x480", help="image size WxH (default 640x480)")
    parser.add_argument("--model", help="pose model file (default: the shipped one)")
    parser.add_argument("--detector", choices=("palm", "rejshand"), default="palm",
                        help="hand detector: palm (MediaPipe's palm model; default) or "
                        "rejshand (ours, synthetic-trained)")
    parser.add_argument("--detector-model", help="the detector's file (default: the shipped "
                        "one)")
    parser.add_argument("--no-retarget", action="store_true", help="do not start retargeting")
    parser.add_argument("--ground-truth-only", action="store_true",
                        help="no perception node: retarget and record the ground truth")
    parser.add_argument("--verbose", action="store_true", help="show the nodes' output")
    return parser


def _parse_size(parser: argparse.ArgumentParser, text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        parser.error(f"--size must be WIDTHxHEIGHT, got {text!r}")
    if not (32 <= width <= 4096 and 32 <= height <= 4096):
        parser.error(f"--size out of range: {text}")
    return width, height


def missing_models(model: str | None, detector: str | None,
                   kind: str = "palm") -> list[str]:
    """Model files the perception node would not find (empty: all there)."""
    from rejshand_ros.ros.node_params import HandPoseNodeConfig
    from rejshand_ros.perception.predictor import default_model_path

    config = HandPoseNodeConfig(detector=kind, detector_model_path=detector or "")
    wanted = [Path(model) if model else default_model_path(), Path(config.detector_path())]
    return [str(path) for path in wanted if not path.is_file()]


def demo_specs(args: argparse.Namespace, size: tuple[int, int], out: Path, perception: bool):
    """The demo's nodes (launch_spec.node_specs with the demo's overrides)."""
    from rejshand_ros.ros.launch_spec import node_specs

    source = {"synthetic_hands": args.hands, "synthetic_seed": args.seed,
              "synthetic_frames": args.frames, "width": size[0], "height": size[1]}
    perception_params = {"detector": args.detector}
    if args.model:
        perception_params["model_path"] = str(Path(args.model).resolve())
    if args.detector_model:
        perception_params["detector_model_path"] = str(Path(args.detector_model).resolve())
    return node_specs(
        source="synthetic", rate=args.rate, perception=perception,
        hand_poses="hand_poses" if perception else "hand_poses_gt",
        retarget=not args.no_retarget, record=str(out / "demo.mcap"),
        overrides={"image_source_node": source, "hand_pose_node": perception_params,
                   "retarget_node": {"engaged_on_start": True, "follow_handedness": "any"}})


def _fmt(value, unit: str, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f} {unit}".strip()


def run(args: argparse.Namespace, size: tuple[int, int]) -> int:
    from rejshand_ros.ros.runtime import prepare_environment, require_rclpy, ros_session

    require_rclpy()
    prepare_environment()
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    from rejshand_ros.ros.bringup import Bringup, BringupError, install_signal_handlers
    from rejshand_ros.ros.demo_monitor import DemoMonitor

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    perception = not args.ground_truth_only
    if perception:
        missing = missing_models(args.model, args.detector_model, args.detector)
        if missing:
            print("rejshand-demo: perception model(s) not found: " + ", ".join(missing)
                  + "\n  -> running on the ground truth only (synthetic source -> retargeting "
                  "-> recorder); pass --model / --detector-model to use your own files.",
                  file=sys.stderr, flush=True)
            perception = False
    specs = demo_specs(args, size, out, perception)
    say = lambda text: print(f"[demo] {text}", file=sys.stderr, flush=True)  # noqa: E731
    if (out / "demo.mcap").exists():  # the demo's own output directory: said, not silent
        say(f"replacing {out / 'demo.mcap'} of an earlier run")
        (out / "demo.mcap").unlink()
    bringup = Bringup(specs, sink=sys.stdout if args.verbose else None,
                      log_dir=out / "logs", say=say)
    stop_event = threading.Event()
    install_signal_handlers(stop_event)
    try:
        bringup.start()
    except BringupError as exc:
        print(f"rejshand-demo: error: {exc}", file=sys.stderr)
        return 2
    tty = sys.stdout.isatty()
    started = time.monotonic()
    code, summary = 1, {}
    with ros_session(signal_handler_options=SignalHandlerOptions.NO):
        monitor = DemoMonitor(out / "overlay.mp4", out / "overlay.png", args.rate,
                              "hand_poses" if perception else "hand_poses_gt")
        next_line = [started + 1.0]
        first_frame: list[float] = []
        timed_out = []

        def tick() -> str | None:
            end = time.monotonic() + 0.1
            while time.monotonic() < end:
                rclpy.spin_once(monitor, timeout_sec=0.02)
            now = time.monotonic()
            if not first_frame and monitor.poses.total:
                first_frame.append(now)
            if now >= next_line[0]:
                next_line[0] += 1.0
                line = (monitor.status_line(now - first_frame[0]) if first_frame else
                        f"starting the nodes ... {now - started:.0f} s")
                print(("\r" + line + "   ") if tty else line, end="" if tty else "\n",
                      flush=True)
            if first_frame and now - first_frame[0] >= args.duration:
                return f"duration of {args.duration:g} s reached"
            if not first_frame and now - started > args.startup_timeout:
                timed_out.append(True)
                return f"no frame processed within {args.startup_timeout:g} s"
            return None

        try:
            code = bringup.run(None, stop_event, tick=tick)
            code = code or (1 if timed_out else 0)
        finally:
            if tty:
                print()
            monitor.close()
            summary = monitor.summary()
            monitor.destroy_node()
    summary.update({"perception": perception, "seconds": round(time.monotonic() - started, 2),
                    "exit_code": code, "source_rate_hz": args.rate,
                    "files": {"mcap": str(out / "demo.mcap"),
                              "video": str(out / "overlay.mp4"),
                              "snapshot": str(out / "overlay.png"), "logs": str(out / "logs")}})
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    rate = summary.get("detection_rate")
    files = [f"  recording: {out / 'demo.mcap'}"]
    if summary["video_frames"]:
        files.append(f"  overlay:   {out / 'overlay.mp4'} ({summary['video_frames']} frames), "
                     f"{out / 'overlay.png'}")
    files.append(f"  logs:      {out / 'logs'}")
    print(f"rejshand-demo: {summary['frames_processed']} frames processed; hands found "
          f"{_fmt(None if rate is None else 100.0 * rate, '%', 0)}; latency p50 "
          f"{_fmt(summary['latency_ms_p50'], 'ms', 0)}; 2D error "
          f"{_fmt(summary['error_2d_px_median'], 'px')}; 3D error "
          f"{_fmt(summary['error_3d_mm_median'], 'mm')}; {summary['robot_commands']} robot "
          "commands\n" + "\n".join(files), flush=True)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if min(args.duration, args.rate, args.startup_timeout) <= 0 or args.frames < 1:
        parser.error("--duration, --rate and --startup-timeout must be > 0, --frames >= 1")
    for option, path in (("--model", args.model), ("--detector-model", args.detector_model)):
        if path and not Path(path).is_file():
            parser.error(f"{option}: file not found: {path}")
    return run(args, _parse_size(parser, args.size))


if __name__ == "__main__":
    sys.exit(main())
