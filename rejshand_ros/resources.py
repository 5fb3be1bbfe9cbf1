"""Locate the package's installed data: config files (share/rejshand_ros) and weights.

Three layouts are supported, tried in this order:
  1. an install prefix (CMake/colcon or ``pip install``): ``<prefix>/share/rejshand_ros``,
     where <prefix> is derived from this file's location (``<prefix>/lib/pythonX.Y/
     site-packages/rejshand_ros``) or is ``sys.prefix``;
  2. the source tree (this file's ``../config``), for a checkout used in place.
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE_NAME = "rejshand_ros"
_PACKAGE_DIR = Path(__file__).resolve().parent


def _candidate_share_dirs() -> list[Path]:
    site_prefix = _PACKAGE_DIR.parents[3] if len(_PACKAGE_DIR.parents) > 3 else None
    candidates = []
    if site_prefix is not None:
        candidates.append(site_prefix / "share" / PACKAGE_NAME)
    candidates.append(Path(sys.prefix) / "share" / PACKAGE_NAME)
    candidates.append(_PACKAGE_DIR.parent)  # source checkout: <repo>/config
    return candidates


def share_dir() -> Path:
    """Directory holding ``config/`` (and ``launch/`` for a ROS install)."""
    for candidate in _candidate_share_dirs():
        if (candidate / "config").is_dir():
            return candidate
    searched = ", ".join(str(c) for c in _candidate_share_dirs())
    raise FileNotFoundError(f"rejshand_ros data directory not found (searched {searched})")


def config_path(*parts: str) -> Path:
    """Path of a file under the package's ``config/`` directory; raises if missing."""
    path = share_dir().joinpath("config", *parts)
    if not path.exists():
        raise FileNotFoundError(f"rejshand_ros config file not found: {path}")
    return path


def package_data_path(*parts: str) -> Path:
    """Path of a file shipped inside the Python package (e.g. the default model)."""
    return _PACKAGE_DIR.joinpath(*parts)
