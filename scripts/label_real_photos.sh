#!/usr/bin/env bash
# Pseudo-label the real photos of scripts/real_photos.py with the teacher (MediaPipe Hands in
# .venv-peers): one training split per source (e.g. data/real/sign_digits_train_*.json) and
# one validation split of all sources' held-out photos (real_val), sources whose licence is
# doubtful (SOURCES.json "train_on": false) left out of both.
#   bash scripts/label_real_photos.sh [RAW=data/real_raw] [OUT=data/real]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RAW="${1:-$ROOT/data/real_raw}"
OUT="${2:-$ROOT/data/real}"
bash "$ROOT/scripts/setup_peers.sh" >/dev/null
mapfile -t SOURCES < <("$ROOT/.venv/bin/python" -c "
import json, sys
for name, info in json.load(open(sys.argv[1])).items():
    if info.get('train_on', True):
        print(name)" "$RAW/SOURCES.json")
val=()
for source in "${SOURCES[@]}"; do
  "$ROOT/.venv/bin/rejshand-label" "$RAW/$source/train" --out "$OUT" \
    --split "${source}_train" --overwrite --no-progress
  val+=("$RAW/$source/val")
done
"$ROOT/.venv/bin/rejshand-label" "${val[@]}" --out "$OUT" --split real_val --overwrite \
  --no-progress
cp "$RAW/SOURCES.json" "$OUT/SOURCES.json"
