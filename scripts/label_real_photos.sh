#!/usr/bin/env bash
# Pseudo-label the real photos of scripts/real_photos.py with the teacher (MediaPipe Hands in
# .venv-peers): one split per source and side, e.g. data/real/sign_digits_train_*.json.
#   bash scripts/label_real_photos.sh [RAW=data/real_raw] [OUT=data/real]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RAW="${1:-$ROOT/data/real_raw}"
OUT="${2:-$ROOT/data/real}"
bash "$ROOT/scripts/setup_peers.sh"
for dir in "$RAW"/*/; do
  source="$(basename "$dir")"
  for side in train val; do
    [ -d "$dir/$side" ] || continue
    "$ROOT/.venv/bin/rejshand-label" "$dir/$side" --out "$OUT" --split "${source}_${side}" \
      --overwrite --no-progress
  done
done
cp "$RAW/SOURCES.json" "$OUT/SOURCES.json"
