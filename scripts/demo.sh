#!/usr/bin/env bash
# The main job on the embedded default, from a fresh clone: sets up .venv, then runs the
# demo (synthetic camera -> hand_pose_node -> retarget_node, recorded to MCAP, scored live
# against the synthetic ground truth). Output in demo_out/ (demo.mcap, overlay.mp4,
# overlay.png, summary.json, logs/). Extra arguments go to rejshand-demo, e.g.
#   bash scripts/demo.sh --duration 60 --hands 2
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
export ROS_LOG_DIR="${ROS_LOG_DIR:-$ROOT/build/ros_log}"
exec "$ROOT/.venv/bin/rejshand-demo" "$@"
