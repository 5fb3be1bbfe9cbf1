#!/usr/bin/env bash
# The main job on the embedded default, from a fresh clone: sets up .venv, then runs the
# demo. Extra arguments go to the demo command.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/rejshand-selftest" "$@"
