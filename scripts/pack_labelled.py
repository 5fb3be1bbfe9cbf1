#!/usr/bin/env python3
"""Compact copies of 2D-labelled splits (for moving training data to another machine).

    .venv/bin/python scripts/pack_labelled.py --root data/real --out pack/real \
        --splits subhih_hands_train real_val [--max-hand-px 112] [--context 2.4] [--quality 82]

Each hand's stored crop is cropped again to ``context`` x its keypoint box, shrunk so the
box is at most ``max-hand-px``, and written as WebP (about a third of the JPEG size); the
label files follow (uv moved into the new crop; 3D, handedness and confidence as they are).
The loader reads .webp splits like .jpg ones.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np


def pack_split(root: Path, split: str, out: Path, max_hand_px: float, context: float,
               quality: int) -> tuple[int, int]:
    from rejshand_ros.data.labelled import context_crop, load_labelled_split

    ann = load_labelled_split(root, split)
    rgb = out / split / "rgb"
    if (out / split).exists():
        shutil.rmtree(out / split)
    rgb.mkdir(parents=True)
    uv_out, size = [], 0
    for index in range(ann.num_samples):
        image = cv2.imread(str(ann.image_path(index)), cv2.IMREAD_COLOR)
        if image is None:
            raise SystemExit(f"unreadable image {ann.image_path(index)}")
        crop, uv, _ = context_crop(image, ann.uv[index], context, max_hand_px)
        ok, data = cv2.imencode(".webp", crop, [cv2.IMWRITE_WEBP_QUALITY, quality])
        if not ok:
            raise SystemExit(f"could not encode {ann.image_path(index)} as WebP")
        (rgb / f"{index:08d}.webp").write_bytes(data.tobytes())
        size += len(data)
        uv_out.append(np.round(uv, 3).tolist())
    (out / f"{split}_uv.json").write_text(json.dumps(uv_out, separators=(",", ":")))
    for name in ("xyz_rel", "handedness", "confidence", "labels"):
        path = root / f"{split}_{name}.json"
        if path.exists():
            shutil.copy2(path, out / path.name)
    return ann.num_samples, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--splits", nargs="+", required=True)
    parser.add_argument("--max-hand-px", type=float, default=112.0)
    parser.add_argument("--context", type=float, default=2.4)
    parser.add_argument("--quality", type=int, default=82)
    args = parser.parse_args(argv)
    total = 0
    for split in args.splits:
        count, size = pack_split(args.root, split, args.out, args.max_hand_px, args.context,
                                 args.quality)
        total += size
        print(f"{split}: {count} hands, {size / 1e6:.1f} MB", file=sys.stderr)
    print(f"total {total / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
