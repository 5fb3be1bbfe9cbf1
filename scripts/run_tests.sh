#!/usr/bin/env bash
# The whole test suite, from a fresh clone: sets up .venv (scripts/setup_env.sh), runs
# pytest against the INSTALLED package (test/ is collected with --import-mode=importlib,
# so the source tree is not put on sys.path), then the ROS-facing tests on ROS 2 Jazzy
# (scripts/test_distro.sh jazzy: its own venv from PyPI's Jazzy wheels, numpy 1).
# Extra arguments go to the first pytest only, and skip the Jazzy run (targeted runs).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
export ROS_LOG_DIR="${ROS_LOG_DIR:-$ROOT/build/ros_log}"
if [ "$#" -gt 0 ]; then
  exec "$ROOT/.venv/bin/pytest" "$@"
fi
status=0
"$ROOT/.venv/bin/pytest" || status=$?
bash "$ROOT/scripts/test_distro.sh" jazzy || status=$?
exit "$status"
