#!/usr/bin/env bash
# The whole GPU measurement in one call, for a lent GPU machine (its own Python with
# torch, timm, onnxruntime, OpenCV; no ROS wheels, no venv, no pip): the model and
# pipeline suites of rejshand-bench on CUDA, run from this source tree.
#
#   OUT=/path/to/results bash scripts/gpu_bench.sh [extra rejshand-bench options]
#
# Writes $OUT/gpu.json, $OUT/gpu.md, $OUT/gpu.log, $OUT/environment.txt (card, driver,
# versions, which optional modules exist). PYTHON (default python3) and THREADS (CPU
# threads, default 2) can be set. Exit status: rejshand-bench's.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-gpu_bench_out}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv \
    || echo "nvidia-smi not available"
  "$PYTHON" - <<'PY'
import importlib, platform
print("python", platform.python_version())
for name in ("torch", "timm", "onnxruntime", "cv2", "numpy", "safetensors", "scipy", "tqdm",
             "rclpy"):
    try:
        module = importlib.import_module(name)
        print(name, getattr(module, "__version__", "present"))
    except ImportError as exc:
        print(name, "MISSING:", exc)
import torch
print("cuda available", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
PY
} 2>&1 | tee "$OUT/environment.txt"

"$PYTHON" -m rejshand_ros.cli.bench --suite model,pipeline --device cuda \
  --threads "${THREADS:-2}" --no-progress --json "$OUT/gpu.json" --markdown "$OUT/gpu.md" \
  "$@" 2>&1 | tee "$OUT/gpu.log"
exit "${PIPESTATUS[0]}"
