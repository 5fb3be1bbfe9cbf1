#!/usr/bin/env bash
# Test the package on another ROS 2 distro than .venv's Kilted: builds .venv-<distro>/ from
# that distro's PyPI wheels, builds the messages and the package there with colcon, and
# runs the ROS-facing tests and the installed hand_pose_node --help in it.
#
#   bash scripts/test_distro.sh jazzy                 # set up (idempotent) and test
#   bash scripts/test_distro.sh jazzy -k retarget     # extra arguments go to pytest
#
# jazzy: rclpy 7.1 and the Jazzy message packages (requirements/lock-jazzy.txt) with the
# numpy-1 stack an apt Jazzy workstation has (requirements/constraints-apt-ros-numpy1.txt:
# numpy 1.26, OpenCV 4.10, ONNX Runtime 1.19, dex-retargeting 0.4.6). torch, torchvision
# and CUDA libraries are not copied: scripts/share_packages.py links them from .venv
# (created first by scripts/setup_env.sh). The wheels are cp311, like Kilted's.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DISTRO="${1:-}"
[ "$#" -gt 0 ] && shift
log() { printf '[test-distro] %s\n' "$*" >&2; }

case "$DISTRO" in
  jazzy) ;;
  *) log "error: unknown distro '${DISTRO}' (known: jazzy)"; exit 2 ;;
esac

VENV="$ROOT/.venv-$DISTRO"
BUILD="$ROOT/build/$DISTRO"
LOCK="$ROOT/requirements/lock-$DISTRO.txt"
CONSTRAINTS="$ROOT/requirements/constraints-apt-ros-numpy1.txt"
TESTS=(test/test_messages.py test/test_node_integration.py test/test_retarget_node.py
       test/test_retarget_core.py test/test_sources.py test/test_record.py test/test_launch.py
       test/test_parameters.py test/test_distro_compat.py
       # a latency check under 4x overload: machine load, not the distro, decides it (the
       # Kilted run keeps it)
       --deselect test/test_node_integration.py::test_overload_keeps_frame_age_under_two_inference_periods)

# Start clean of any other venv's ROS set-up: ros_wheels_bootstrapper marks its process
# tree (LD_LIBRARY_PATH + guard variable); Kilted's libraries must not leak in here.
if [ -n "${_ROS_WHEELS_BOOTSTRAP_COMPLETE:-}" ]; then
  unset _ROS_WHEELS_BOOTSTRAP_COMPLETE LD_LIBRARY_PATH
fi
unset VIRTUAL_ENV PYTHONPATH AMENT_PREFIX_PATH CMAKE_PREFIX_PATH COLCON_PREFIX_PATH

total_start=$SECONDS
bash "$ROOT/scripts/setup_env.sh"  # .venv: the shared torch and the Kilted reference

mkdir -p "$BUILD"
exec 9>"$BUILD/.setup.lock"
flock 9

start=$SECONDS
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$ROOT/.venv/bin/python" -c 'import sys; print(sys._base_executable)' > "$BUILD/python"
  "$(cat "$BUILD/python")" -m venv "$VENV"
fi
stamp="$VENV/.rejshand-lock.sha256"
want="$(cat "$LOCK" "$CONSTRAINTS" "${BASH_SOURCE[0]}" "$ROOT/scripts/share_packages.py" \
        "$ROOT/requirements/lock.txt" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing requirements/lock-$DISTRO.txt (numpy-1 constraints; torch shared with .venv)"
  "$VENV/bin/python" "$ROOT/scripts/share_packages.py" "$ROOT/.venv" "$VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --no-compile -c "$CONSTRAINTS" -r "$LOCK"
  "$VENV/bin/python" -m pip check >&2 || { log "error: inconsistent $VENV"; exit 1; }
  echo "$want" > "$stamp"
  log "dependencies installed in $((SECONDS - start)) s"
else
  log "dependencies up to date"
fi

# Messages + package: tf2_msgs (vendored; apt has it, PyPI not) with CMake, rejshand_ros
# with colcon as on a workstation, both installed into the venv (merged install).
start=$SECONDS
export AMENT_PREFIX_PATH="$VENV"
if ! "$VENV/bin/python" -c "import tf2_msgs.msg" 2>/dev/null; then
  cmake -S "$ROOT/vendor/tf2_msgs" -B "$BUILD/tf2_msgs" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_TESTING=OFF -DCMAKE_INSTALL_PREFIX="$VENV" -DPython3_EXECUTABLE="$VENV/bin/python" \
    -DPython3_FIND_VIRTUALENV=ONLY > "$BUILD/tf2_msgs.log" 2>&1 \
    && cmake --build "$BUILD/tf2_msgs" -j "$(nproc)" >> "$BUILD/tf2_msgs.log" 2>&1 \
    && cmake --install "$BUILD/tf2_msgs" >> "$BUILD/tf2_msgs.log" 2>&1 \
    || { tail -40 "$BUILD/tf2_msgs.log" >&2; log "error: building tf2_msgs failed"; exit 1; }
fi
"$VENV/bin/colcon" --log-base "$BUILD/log" build --base-paths "$ROOT" \
  --build-base "$BUILD/colcon" --install-base "$VENV" --merge-install \
  --cmake-args -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DPython3_EXECUTABLE="$VENV/bin/python" -DPython3_FIND_VIRTUALENV=ONLY \
  > "$BUILD/colcon.log" 2>&1 \
  || { tail -60 "$BUILD/colcon.log" >&2; log "error: colcon build failed (log: $BUILD/log)"; exit 1; }
"$VENV/bin/python" "$ROOT/scripts/prune_install.py" "$ROOT/rejshand_ros" "$VENV"
log "package built with colcon in $((SECONDS - start)) s"

"$VENV/bin/python" - <<'EOF' >&2
from importlib.metadata import version
import numpy
assert numpy.__version__.startswith("1."), numpy.__version__
print(f"[test-distro] rclpy {version('ros-rclpy')}, numpy {numpy.__version__}, "
      f"dex-retargeting {version('dex_retargeting')}, opencv {version('opencv-python-headless')}")
EOF
help="$(env -i PATH=/usr/bin:/bin HOME="${HOME:-/tmp}" "$VENV/lib/rejshand_ros/hand_pose_node" --help)" \
  || { log "error: the installed hand_pose_node --help failed"; exit 1; }
grep -q "usage: hand_pose_node" <<< "$help" \
  || { log "error: unexpected hand_pose_node --help: $help"; exit 1; }
log "installed hand_pose_node --help answers (its launcher finds $VENV/bin/python)"
log "set-up took $((SECONDS - total_start)) s; $(du -sh "$VENV" | cut -f1) in $VENV (shared torch not counted)"

cd "$ROOT"
export ROS_LOG_DIR="${ROS_LOG_DIR:-$ROOT/build/ros_log}"
start=$SECONDS
set +e
"$VENV/bin/pytest" "${TESTS[@]}" "$@"
code=$?
set -e
log "ROS-facing tests on $DISTRO: exit $code in $((SECONDS - start)) s"
exit $code
