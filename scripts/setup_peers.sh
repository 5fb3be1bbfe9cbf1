#!/usr/bin/env bash
# The peers' venv for `rejshand-bench --suite peers`: .venv-peers/ at the repo root with
# MediaPipe Hands 0.10.14 (palm detector + hand landmark TFLite models inside the wheel,
# so it runs offline). A separate venv because mediapipe 0.10.14 needs protobuf < 5 and
# numpy < 2, and ours has protobuf 7 and numpy 2. Idempotent: reinstalls only when
# requirements/peers-lock.txt (or this script) changed.
#
#   bash scripts/setup_peers.sh
#   REJSHAND_PYTHON=python3.10 bash scripts/setup_peers.sh
#   bash scripts/setup_peers.sh --which   # print the interpreter it would use, change nothing
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-peers"
LOCK="$ROOT/requirements/peers-lock.txt"

log() { printf '[setup-peers] %s\n' "$*" >&2; }

# The first of python3.12 / 3.11 / 3.10 (Ubuntu 24.04 / Debian 12 / Ubuntu 22.04 have one
# of them; the lock pins per version); REJSHAND_PYTHON overrides. This venv needs no ROS.
if [ -n "${REJSHAND_PYTHON:-}" ]; then
  PYTHON="$REJSHAND_PYTHON"
else
  PYTHON=""
  for candidate in python3.12 python3.11 python3.10; do
    # runs, not only exists: a pyenv shim of an inactive version is on PATH but fails
    if "$candidate" -c 'import sys' >/dev/null 2>&1; then PYTHON="$candidate"; break; fi
  done
  [ -n "$PYTHON" ] || { log "error: none of python3.12, python3.11, python3.10 found (mediapipe 0.10.14 has wheels for those; set REJSHAND_PYTHON)"; exit 1; }
fi
version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" \
  || { log "error: $PYTHON does not run (REJSHAND_PYTHON: a Python 3.10, 3.11 or 3.12)"; exit 1; }
case "$version" in
  3.10|3.11|3.12) ;;
  *) log "error: $PYTHON is Python $version; mediapipe 0.10.14 needs 3.10, 3.11 or 3.12"; exit 1 ;;
esac
if [ "${1:-}" = "--which" ]; then  # only say which interpreter would be used
  echo "$PYTHON"
  exit 0
fi

mkdir -p "$ROOT/build"
exec 9>"$ROOT/build/.setup-peers.lock"
flock 9

if [ -x "$VENV/bin/python" ] && [ "$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$version" ]; then
  log "recreating $VENV for Python $version"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV with $PYTHON (Python $version)"
  "$PYTHON" -m venv "$VENV"
fi

stamp="$VENV/.peers-lock.sha256"
want="$(cat "$LOCK" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing requirements/peers-lock.txt (--no-deps)"
  start=$SECONDS
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$LOCK"
  "$VENV/bin/python" -c "import mediapipe, cv2, numpy
try:
    import tflite_runtime.interpreter
except ModuleNotFoundError:
    import ai_edge_litert.interpreter" \
    || { log "error: mediapipe does not import in $VENV"; exit 1; }
  echo "$want" > "$stamp"
  log "installed in $((SECONDS - start)) s"
else
  log "up to date"
fi
echo "$VENV/bin/python"
