"""Shared fixtures. Tests run against the installed package (see pytest.ini)."""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

# Each test that talks DDS gets its own domain so tests (or parallel CI jobs) never hear
# each other. Domains 100-199 are left to this suite.
_domains = itertools.count(100 + (os.getpid() % 50))


@pytest.fixture
def ros_env(tmp_path) -> dict[str, str]:
    """Environment for a child process that uses ROS: own domain, logs in tmp_path."""
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(next(_domains) % 200 or 100)
    env["ROS_LOG_DIR"] = str(tmp_path / "ros_log")
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def venv_bin() -> Path:
    """Directory of the venv's executables (console scripts)."""
    return VENV_BIN
