#!/usr/bin/env bash
# The whole test suite, from a fresh clone: sets up .venv (scripts/setup_env.sh), then runs
# pytest against the INSTALLED package (test/ is collected with --import-mode=importlib,
# so the source tree is not put on sys.path). Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
export ROS_LOG_DIR="${ROS_LOG_DIR:-$ROOT/build/ros_log}"
exec "$ROOT/.venv/bin/pytest" "$@"
