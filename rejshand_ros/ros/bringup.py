"""``rejshand-bringup``: start the package's nodes without ``ros2 launch``.

The node list is ``launch_spec.specs_from_arguments`` (the launch file's too); every
node runs as ``<prefix>/lib/rejshand_ros/<node> [args] --ros-args -r __node:=<name>
--params-file ... -p ... -r from:=to``, in its own session, with the Fast DDS profile
set. Ctrl-C / SIGTERM are forwarded as SIGINT (escalating to SIGTERM, then SIGKILL,
for a node that does not stop); the bring-up ends when ``--duration`` has passed, on a
signal, or when a node exits, and returns non-zero when a node failed.
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

STOP_TIMEOUT_S = 10.0
#: Lines of each node's output kept to report when it has to be killed (its stack dump
#: included).
LAST_LINES = 120


class BringupError(RuntimeError):
    """The bring-up cannot start (missing executable or parameters file)."""


def find_prefix(executable: str = "", package: str = "rejshand_ros") -> Path:
    """The install prefix holding ``lib/<package>/`` (this install first, then
    AMENT_PREFIX_PATH)."""
    here = Path(__file__).resolve()
    candidates = [here.parents[5]] if len(here.parents) > 5 else []
    candidates.append(Path(sys.prefix))
    candidates += [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    for prefix in candidates:
        if (prefix / "lib" / package / executable).exists():
            return prefix
    return Path(sys.prefix)


def _die_with_parent() -> None:
    """In the child (Linux): get SIGTERM when the bring-up dies, even by SIGKILL, so no
    node outlives it. Elsewhere a no-op."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass


class NodeProcess:
    """One running node: its process and the thread that forwards its output."""

    def __init__(self, spec, command: list[str], env: dict[str, str], sink: IO[str] | None,
                 log_file: Path | None) -> None:
        self.spec = spec
        self.name = spec.name
        self.command = command
        self.log_file = log_file
        self.last_lines: collections.deque[str] = collections.deque(maxlen=LAST_LINES)
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        text=True, bufsize=1, start_new_session=True,
                                        preexec_fn=_die_with_parent)
        self._thread = threading.Thread(target=self._forward, args=(sink,), daemon=True,
                                        name=f"output-{self.name}")
        self._thread.start()

    def _forward(self, sink: IO[str] | None) -> None:
        log = open(self.log_file, "a", buffering=1) if self.log_file else None
        try:
            for line in self.process.stdout:
                self.last_lines.append(line)
                if log is not None:
                    log.write(line)
                if sink is not None:
                    sink.write(f"[{self.name}] {line}")
                    sink.flush()
        finally:
            if log is not None:
                log.close()

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            try:
                self.process.send_signal(signum)
            except ProcessLookupError:
                pass

    def join_output(self, timeout: float = 2.0) -> None:
        self._thread.join(timeout)


class Bringup:
    """Starts, watches and stops a list of NodeSpecs.

    Args:
        specs: the nodes, started in order.
        prefix: install prefix (``<prefix>/lib/<package>/<executable>``).
        env: environment of the nodes (default: this one, with the Fast DDS profile).
        sink: stream for the nodes' output lines, prefixed ``[name]`` (None: not shown).
        log_dir: also write each node's output to ``<log_dir>/<name>.log``.
        say: where the bring-up's own messages go.
    """

    def __init__(self, specs: Sequence, prefix: str | Path | None = None,
                 env: dict[str, str] | None = None, sink: IO[str] | None = sys.stdout,
                 log_dir: str | Path | None = None,
                 say: Callable[[str], None] | None = None) -> None:
        from rejshand_ros.ros.runtime import prepare_environment

        self.specs = list(specs)
        self.prefix = Path(prefix) if prefix else find_prefix()
        self.env = prepare_environment(dict(os.environ if env is None else env))
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.sink = sink
        self.log_dir = Path(log_dir) if log_dir else None
        self.say = say or (lambda text: print(f"[bringup] {text}", file=sys.stderr, flush=True))
        self.nodes: list[NodeProcess] = []
        self.failed: list[tuple[str, int]] = []

    def command(self, spec) -> list[str]:
        """The spec's command line: this package's nodes under ``prefix``, other packages'
        (robot_state_publisher, rviz2) under the first install prefix that has them."""
        from rejshand_ros.ros.launch_spec import PACKAGE, install_prefixes

        if spec.package == PACKAGE:
            return spec.command(self.prefix)
        for prefix in install_prefixes():
            if (prefix / "lib" / spec.package / spec.executable).is_file():
                return spec.command(prefix)
        return spec.command(self.prefix)  # reported as not installed by check()

    def check(self) -> None:
        """Raise BringupError listing every missing executable or parameters file."""
        problems = []
        for spec in self.specs:
            executable = Path(self.command(spec)[0])
            if not executable.is_file():
                problems.append(f"{spec.name}: executable not installed: {executable}")
            for path in spec.params_files:
                if not Path(path).is_file():
                    problems.append(f"{spec.name}: parameters file not found: {path}")
        if problems:
            raise BringupError("; ".join(problems))

    def start(self) -> None:
        self.check()
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        for spec in self.specs:
            command = self.command(spec)
            log_file = self.log_dir / f"{spec.name}.log" if self.log_dir else None
            try:
                self.nodes.append(NodeProcess(spec, command, self.env, self.sink, log_file))
            except OSError as exc:
                self.stop()
                raise BringupError(f"{spec.name}: cannot start {command[0]}: {exc}") from exc
            self.say(f"started {spec.name} (pid {self.nodes[-1].process.pid})")

    def exited(self) -> list[NodeProcess]:
        """Nodes that have exited on their own."""
        return [node for node in self.nodes if node.returncode is not None]

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> dict[str, int]:
        """SIGINT every running node, then SIGTERM / SIGKILL the ones still running.

        Returns name -> exit code; a node that had to be killed counts as failed.
        """
        for node in reversed(self.nodes):
            node.signal(signal.SIGINT)
        for signum, wait in ((None, timeout), (signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            if signum == signal.SIGTERM:
                self._ask_for_stacks()
            if signum is not None:
                for node in self.nodes:
                    if node.returncode is None:
                        self.say(f"{node.name} did not stop; sending {signal.Signals(signum).name}")
                        node.signal(signum)
                        self.failed.append((node.name, -int(signum)))
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and any(n.returncode is None for n in self.nodes):
                time.sleep(0.05)
        for node in self.nodes:
            node.join_output()
        for name in dict.fromkeys(name for name, code in self.failed if code < 0):
            node = next(n for n in self.nodes if n.name == name)
            # where a node hung is in its last words (the log file may live in a temp dir)
            self.say(f"{name} had to be killed; its last output:\n"
                     + "".join(node.last_lines).rstrip())
        return {node.name: node.returncode for node in self.nodes}

    def _ask_for_stacks(self, wait: float = 0.5) -> None:
        """Ask the package's nodes still running for their threads' stacks
        (``runtime.STACK_DUMP_SIGNAL``; other packages' nodes are not sent it: it would
        kill them), so a node that ignored SIGINT shows where it hung."""
        from rejshand_ros.ros.launch_spec import PACKAGE
        from rejshand_ros.ros.runtime import STACK_DUMP_SIGNAL

        stuck = [node for node in self.nodes if node.returncode is None
                 and getattr(node.spec, "package", None) == PACKAGE]
        for node in stuck:
            node.signal(STACK_DUMP_SIGNAL)
        if stuck:
            time.sleep(wait)

    def run(self, duration: float | None, stop_event: threading.Event,
            tick: Callable[[], str | None] | None = None, tick_period: float = 0.1) -> int:
        """Watch the nodes until ``duration`` s, ``stop_event`` or a node exits; stop all.

        ``tick``, when given, is called in the loop instead of sleeping ``tick_period``
        (the demo spins its monitor node there); when it returns a text, the bring-up
        stops with that reason.
        Returns 0 when every node ended cleanly, 1 otherwise.
        """
        try:
            reason = self._watch(duration, stop_event, tick, tick_period)
        except BaseException:
            self.stop()
            raise
        self.say(f"{reason}; stopping {len(self.nodes)} node(s)")
        codes = self.stop()
        for name, code in codes.items():
            if code not in (0, None) and (name, code) not in self.failed:
                self.failed.append((name, code))
        if self.failed:
            self.say("failed: " + ", ".join(f"{name} (exit {code})" for name, code in self.failed))
            return 1
        return 0

    def _watch(self, duration: float | None, stop_event: threading.Event,
               tick: Callable[[], str | None] | None, tick_period: float) -> str:
        """Wait for a reason to stop; returns it."""
        deadline = None if duration is None else time.monotonic() + duration
        reason = "stopped"
        while True:
            if stop_event.is_set():
                reason = "interrupted"
                break
            if deadline is not None and time.monotonic() >= deadline:
                reason = f"duration of {duration:g} s reached"
                break
            gone = self.exited()
            if gone:
                for node in gone:
                    code = node.returncode
                    self.say(f"{node.name} exited with code {code}")
                    if code != 0:
                        self.failed.append((node.name, code))
                reason = "a node exited"
                break
            if tick is not None:
                stop_reason = tick()  # the caller's work (it takes about tick_period)
                if stop_reason:
                    reason = stop_reason
                    break
            else:
                stop_event.wait(tick_period)
        return reason


def install_signal_handlers(stop_event: threading.Event) -> None:
    """SIGINT / SIGTERM set ``stop_event`` (the bring-up then stops its nodes)."""
    def handler(signum, frame) -> None:  # noqa: ARG001
        stop_event.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def parse_overrides(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """["node.param=value", ...] -> {node: {param: value}} (values parsed as YAML scalars)."""
    import yaml

    overrides: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        node, dot, param = key.partition(".")
        if not sep or not dot or not node or not param:
            raise ValueError(f"--set expects NODE.PARAM=VALUE, got {item!r}")
        try:
            value = yaml.safe_load(text) if text else ""
        except yaml.YAMLError as exc:
            raise ValueError(f"--set {item!r}: bad value ({exc})") from exc
        overrides.setdefault(node, {})[param] = value
    return overrides


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rejshand-bringup",
        description="Start hand_pose_node (and optionally an image source, retargeting and "
        "an MCAP recorder) as hand_pose.launch.py would, without ros2 launch.")
    parser.add_argument("--source", default="none",
                        choices=("none", "camera", "video", "folder", "synthetic"),
                        help="image source to start (default: none, use your camera driver)")
    parser.add_argument("--location", default="",
                        help="camera index/device, video file or image folder of the source")
    parser.add_argument("--rate", type=float, help="Hz, frame rate of the source")
    parser.add_argument("--image", default="image", help="image topic (default: image)")
    parser.add_argument("--camera-info", default="camera_info", help="camera_info topic")
    parser.add_argument("--hand-poses", default="hand_poses", help="hand poses topic")
    parser.add_argument("--no-perception", action="store_true",
                        help="do not start hand_pose_node")
    parser.add_argument("--retarget", action="store_true", help="start retarget_node")
    parser.add_argument("--record", default="", metavar="FILE.mcap",
                        help="record to this MCAP file (rejshand-record)")
    parser.add_argument("--robot-state-publisher", default="auto",
                        choices=("auto", "true", "false"),
                        help="with --retarget: robot_state_publisher with the robot's URDF "
                        "(auto: when installed)")
    parser.add_argument("--camera-to-robot", default="", metavar="'X Y Z R P Y'",
                        help="with --retarget: camera frame -> robot base transform on "
                        "/tf_static (m, rad)")
    parser.add_argument("--rviz", action="store_true", help="start rviz2 (when installed)")
    parser.add_argument("--fixed-frame", default="camera_optical_frame",
                        help="RViz fixed frame (default camera_optical_frame)")
    parser.add_argument("--namespace", default="", help="namespace of every node")
    parser.add_argument("--hand-pose-params", default="", metavar="YAML",
                        help="parameters file of hand_pose_node")
    parser.add_argument("--retarget-params", default="", metavar="YAML",
                        help="parameters file of retarget_node")
    parser.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE",
                        help="override one parameter (repeatable; the value is YAML, so "
                        "write floats with a decimal point), e.g. "
                        "image_source_node.synthetic_hands=2 image_source_node.rate=5.0")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--log-dir", help="also write each node's output to DIR/<node>.log")
    parser.add_argument("--quiet", action="store_true", help="do not print the nodes' output")
    parser.add_argument("--prefix", help="install prefix of the nodes (default: this install)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the node command lines and exit")
    return parser


def launch_values(args: argparse.Namespace) -> dict[str, str]:
    """The parsed options as launch-argument strings (for specs_from_arguments)."""
    return {"source": args.source, "location": args.location,
            "rate": "" if args.rate is None else repr(float(args.rate)), "image": args.image,
            "camera_info": args.camera_info, "hand_poses": args.hand_poses,
            "perception": str(not args.no_perception).lower(),
            "retarget": str(args.retarget).lower(), "record": args.record,
            "namespace": args.namespace, "hand_pose_params": args.hand_pose_params,
            "retarget_params": args.retarget_params,
            "robot_state_publisher": args.robot_state_publisher,
            "camera_to_robot": args.camera_to_robot, "rviz": str(args.rviz).lower(),
            "fixed_frame": args.fixed_frame}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.duration is not None and args.duration <= 0:
        parser.error("--duration must be > 0")
    from rejshand_ros.ros.launch_spec import specs_from_arguments

    try:
        overrides = parse_overrides(args.set)
        specs = specs_from_arguments(launch_values(args), overrides)
    except ValueError as exc:
        parser.error(str(exc))
    if args.record:
        Path(args.record).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
    bringup = Bringup(specs, prefix=args.prefix, sink=None if args.quiet else sys.stdout,
                      log_dir=args.log_dir)
    if args.dry_run:
        import shlex

        for spec in specs:
            print(shlex.join(bringup.command(spec)))
        return 0
    if not specs:
        parser.error("nothing to start (no source, --no-perception, no --retarget/--record)")
    stop_event = threading.Event()
    install_signal_handlers(stop_event)
    try:
        bringup.start()
    except BringupError as exc:
        print(f"rejshand-bringup: error: {exc}", file=sys.stderr)
        return 2
    return bringup.run(args.duration, stop_event)


if __name__ == "__main__":
    sys.exit(main())
