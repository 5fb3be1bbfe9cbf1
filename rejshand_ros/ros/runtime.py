"""Process-level ROS set-up shared by every executable this package starts."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from rejshand_ros.resources import config_path

if TYPE_CHECKING:  # pragma: no cover
    from rclpy.node import Node

FASTDDS_PROFILE_ENV = "FASTDDS_DEFAULT_PROFILES_FILE"


def prepare_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """Point Fast DDS at the package's participant profile unless the user chose one.

    Modifies ``env`` (default: ``os.environ``) in place and returns it. Must run before
    the first DDS participant is created (before ``rclpy.init``).
    """
    env = os.environ if env is None else env
    if not env.get(FASTDDS_PROFILE_ENV):
        env[FASTDDS_PROFILE_ENV] = str(config_path("fastdds_profile.xml"))
    return env


def require_rclpy() -> None:
    """Exit with a clear message when the ROS 2 Python client library is missing."""
    try:
        import rclpy  # noqa: F401
    except ImportError as exc:
        sys.exit(
            f"error: this command needs ROS 2 (rclpy), which failed to import: {exc}. "
            "Run `bash scripts/setup_env.sh` and use .venv/bin, or source your ROS 2 install."
        )


def spin_node(make_node: Callable[[], "Node"], args: list[str] | None = None) -> int:
    """Create a node inside ``rclpy.init()``, spin it until Ctrl-C or shutdown.

    ``make_node`` runs after rclpy is initialised. Returns a process exit code.
    """
    require_rclpy()
    prepare_environment()
    import rclpy
    from rclpy.executors import ExternalShutdownException

    with rclpy.init(args=args):
        node = make_node()
        try:
            rclpy.spin(node)
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        finally:
            node.destroy_node()
    return 0
