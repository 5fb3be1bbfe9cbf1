#!/usr/bin/env bash
# The peers' venv for `rejshand-bench --suite peers`: .venv-peers/ at the repo root with
# MediaPipe Hands 0.10.14 (palm detector + hand landmark TFLite models inside the wheel,
# so it runs offline). A separate venv because mediapipe 0.10.14 needs protobuf < 5 and
# numpy < 2, and ours has protobuf 7 and numpy 2. Idempotent: reinstalls only when
# requirements/peers-lock.txt (or this script) changed.
#
#   bash scripts/setup_peers.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-peers"
PYTHON="${REJSHAND_PYTHON:-python3.11}"
LOCK="$ROOT/requirements/peers-lock.txt"

log() { printf '[setup-peers] %s\n' "$*" >&2; }

command -v "$PYTHON" >/dev/null || { log "error: $PYTHON not found (mediapipe 0.10.14 has cp311 wheels)"; exit 1; }

mkdir -p "$ROOT/build"
exec 9>"$ROOT/build/.setup-peers.lock"
flock 9

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

stamp="$VENV/.peers-lock.sha256"
want="$(cat "$LOCK" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing requirements/peers-lock.txt (--no-deps)"
  start=$SECONDS
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$LOCK"
  "$VENV/bin/python" -c "import mediapipe, cv2, numpy, tflite_runtime.interpreter" \
    || { log "error: mediapipe does not import in $VENV"; exit 1; }
  echo "$want" > "$stamp"
  log "installed in $((SECONDS - start)) s"
else
  log "up to date"
fi
echo "$VENV/bin/python"
