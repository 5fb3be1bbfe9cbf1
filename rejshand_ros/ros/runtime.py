"""Process-level ROS set-up shared by every executable this package starts."""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rejshand_ros.resources import config_path

if TYPE_CHECKING:  # pragma: no cover
    from rclpy.node import Node

#: Where Fast DDS looks for its XML profiles: Fast DDS 3 (Kilted) reads the first, Fast DDS
#: 2 (Jazzy's 2.14) only the second. Set one alone and the other distro ignores the profile
#: (on Jazzy, best-effort 640x480 images then lose most frames).
FASTDDS_PROFILE_ENVS = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")
FASTDDS_PROFILE_ENV = FASTDDS_PROFILE_ENVS[0]


def prepare_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """Point Fast DDS at the package's participant profile unless the user chose one.

    Sets both variables of :data:`FASTDDS_PROFILE_ENVS` (each Fast DDS version reads one): to
    the profile the user gave in either of them, else to ``config/fastdds_profile.xml``.
    Modifies ``env`` (default: ``os.environ``) in place and returns it. Must run before
    the first DDS participant is created (before ``rclpy.init``).
    """
    env = os.environ if env is None else env
    chosen = next((env[key] for key in FASTDDS_PROFILE_ENVS if env.get(key)), None)
    for key in FASTDDS_PROFILE_ENVS:
        if not env.get(key):
            env[key] = chosen or str(config_path("fastdds_profile.xml"))
    return env


#: The signal on which every process of this package writes all its threads' Python stacks
#: to stderr (``rejshand-bringup`` sends it to a node that ignores SIGINT before killing it).
STACK_DUMP_SIGNAL = signal.SIGUSR1
STDERR_FD = 2


def dump_stacks_on_request() -> None:
    """Write every thread's stack to stderr on :data:`STACK_DUMP_SIGNAL`, even while a
    thread is stuck in native code holding the GIL (``faulthandler`` works at C level).

    Writes to file descriptor 2, not ``sys.stderr``: the process's stderr is what a launcher
    collects, and a replaced ``sys.stderr`` (pytest's capture, an IDE console) has no file
    descriptor for the C-level handler to write to."""
    faulthandler.register(STACK_DUMP_SIGNAL, file=STDERR_FD, all_threads=True)


def require_rclpy() -> None:
    """Exit with a clear message when the ROS 2 Python client library is missing."""
    try:
        import rclpy  # noqa: F401
    except ImportError as exc:
        sys.exit(
            f"error: this command needs ROS 2 (rclpy), which failed to import: {exc}. "
            "Run `bash scripts/setup_env.sh` and use .venv/bin, or source your ROS 2 install."
        )


@contextmanager
def ros_session(args: list[str] | None = None, **init_kwargs: Any) -> Iterator[None]:
    """``rclpy.init(args=args, **init_kwargs)`` ... ``rclpy.try_shutdown()``, on every distro.

    Kilted's ``rclpy.init`` (rclpy 9) returns a context manager; Jazzy's (rclpy 7.1) returns
    None, so ``with rclpy.init():`` dies there with a TypeError. ``try_shutdown`` (both
    distros) tolerates a context already shut down by Ctrl-C. ``init_kwargs``: ``context``,
    ``domain_id``, ``signal_handler_options`` (keyword-only in both).
    """
    import rclpy

    rclpy.init(args=args, **init_kwargs)
    try:
        yield
    finally:
        rclpy.try_shutdown(context=init_kwargs.get("context"))


@contextmanager
def stopping_cleanly() -> Iterator[None]:
    """Around a spin loop: Ctrl-C and an external shutdown end it without an error.

    rclpy shuts the context down from its signal-handling thread, so a callback that is
    publishing (or a wait set being built) at that moment fails with ``RCLError: context is
    invalid``; once the context is down such an error is the shutdown itself, not a fault.
    Errors while the context is still up propagate.
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException

    try:
        yield
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if rclpy.ok():
            raise


def run_node(name: str, usage: str, make_node: Callable[[], "Node"],
             startup_errors: Callable[[], tuple[type[BaseException], ...]] = tuple,
             argv: list[str] | None = None,
             spin: Callable[["Node"], None] | None = None) -> int:
    """The ``main`` of every node executable: ``--help``, environment, ``rclpy.init``,
    clean exit on Ctrl-C / shutdown.

    ``startup_errors`` returns (lazily imported) exception types that mean "refuse to
    start": they are printed as ``<name>: error: ...`` and give exit code 2. ``spin``
    replaces ``rclpy.spin`` (e.g. a loop that ends when a source is exhausted).
    """
    argv = list(sys.argv if argv is None else argv)
    user_args = argv[1:argv.index("--ros-args")] if "--ros-args" in argv else argv[1:]
    if "-h" in user_args or "--help" in user_args:
        print(usage)
        return 0
    require_rclpy()
    prepare_environment()
    dump_stacks_on_request()
    import rclpy
    from rclpy.exceptions import ParameterException

    errors = (ParameterException, ValueError, *startup_errors())
    with ros_session(args=argv):
        try:
            node = make_node()
        except errors as exc:
            print(f"{name}: error: {exc}", file=sys.stderr, flush=True)
            return 2
        try:
            with stopping_cleanly():
                (spin or rclpy.spin)(node)
        finally:
            node.destroy_node()
    return 0
