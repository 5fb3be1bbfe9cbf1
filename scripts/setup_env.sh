#!/usr/bin/env bash
# One-command set-up: creates .venv/ at the repo root, installs the pinned dependencies
# (ROS 2 Kilted wheels, torch, timm, ...), builds the messages with CMake into the venv and
# installs the package (Python modules, node executables in .venv/lib/rejshand_ros, CLIs in
# .venv/bin). Idempotent: a second run only rebuilds what changed (a few seconds).
#
#   bash scripts/setup_env.sh            # set up or update
#   REJSHAND_PYTHON=python3.11 bash scripts/setup_env.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
BUILD="$ROOT/build/venv"
PYTHON="${REJSHAND_PYTHON:-python3.11}"
LOCK="$ROOT/requirements/lock.txt"

log() { printf '[setup] %s\n' "$*" >&2; }

"$PYTHON" -c 'import sys' >/dev/null 2>&1 || { log "error: $PYTHON not found (or does not run). This venv needs Python 3.11: PyPI's ROS 2 wheels (Kilted and Jazzy) are built for CPython 3.11 only. Install it (apt-get install python3.11 python3.11-venv python3.11-dev; on Ubuntu 24.04 from the deadsnakes PPA) or set REJSHAND_PYTHON to a Python 3.11; with ROS 2 from apt, follow README \"Workstation with ROS 2 from apt\" instead"; exit 1; }
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { log "error: $PYTHON is Python $("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])'), not 3.11: PyPI's ROS 2 wheels are cp311 only (README \"Workstation with ROS 2 from apt\" works with the distro's Python)"; exit 1; }
command -v cmake >/dev/null || { log "error: cmake not found (apt-get install cmake)"; exit 1; }
command -v c++ >/dev/null || { log "error: a C/C++ compiler is needed (apt-get install build-essential)"; exit 1; }

# Concurrent runs (several shells, parallel CI jobs) would race on .venv and build/.
mkdir -p "$ROOT/build"
exec 9>"$ROOT/build/.setup.lock"
flock 9

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

# Dependencies: reinstall only when the lock file (or this script) changed.
stamp="$VENV/.rejshand-lock.sha256"
want="$(cat "$LOCK" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing pinned dependencies from requirements/lock.txt (first run: ~2 min, ~6 GB)"
  start=$SECONDS
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$LOCK"
  echo "$want" > "$stamp"
  log "dependencies installed in $((SECONDS - start)) s"
else
  log "dependencies up to date"
fi

# Messages + package: CMake against the wheels' ament prefix, installed into the venv.
start=$SECONDS
mkdir -p "$BUILD"
export AMENT_PREFIX_PATH="$VENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
# cmake_package SOURCE_DIR BUILD_DIR NAME: configure (once), build and install into the venv.
cmake_package() {
  local src="$1" bld="$2" name="$3"
  if [ ! -f "$bld/CMakeCache.txt" ]; then
    cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
      -DCMAKE_INSTALL_PREFIX="$VENV" -DPython3_EXECUTABLE="$VENV/bin/python" \
      -DPython3_FIND_VIRTUALENV=ONLY > "$ROOT/build/$name-configure.log" 2>&1 \
      || { cat "$ROOT/build/$name-configure.log" >&2; log "error: cmake configure of $name failed"; exit 1; }
  fi
  cmake --build "$bld" -j "$(nproc)" > "$ROOT/build/$name-build.log" 2>&1 \
    || { tail -50 "$ROOT/build/$name-build.log" >&2; log "error: build of $name failed"; exit 1; }
  cmake --install "$bld" > "$ROOT/build/$name-install.log" 2>&1 \
    || { tail -50 "$ROOT/build/$name-install.log" >&2; log "error: install of $name failed"; exit 1; }
}

# tf2_msgs has no PyPI wheel: build the vendored TFMessage when it is missing.
if ! "$VENV/bin/python" -c "import tf2_msgs.msg" 2>/dev/null || [ -f "$ROOT/build/tf2_msgs/CMakeCache.txt" ]; then
  cmake_package "$ROOT/vendor/tf2_msgs" "$ROOT/build/tf2_msgs" tf2_msgs
fi
# ah_messages (PSYONIC's Ability Hand driver message): only for testing that driver output.
if ! "$VENV/bin/python" -c "import ah_messages.msg" 2>/dev/null || [ -f "$ROOT/build/ah_messages/CMakeCache.txt" ]; then
  cmake_package "$ROOT/vendor/ah_messages" "$ROOT/build/ah_messages" ah_messages
fi
cmake_package "$ROOT" "$BUILD" rejshand_ros
# Sources removed from the checkout must not linger in the installed copy.
"$VENV/bin/python" "$ROOT/scripts/prune_install.py" "$ROOT/rejshand_ros" "$VENV"
log "package built and installed in $((SECONDS - start)) s"
