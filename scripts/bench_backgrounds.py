#!/usr/bin/env python3
"""Render speed with and without real-photo backgrounds, side by side (one process).

    .venv/bin/python scripts/bench_backgrounds.py --backgrounds data/backgrounds --num 200
    .venv/bin/python scripts/bench_backgrounds.py --backgrounds data/backgrounds --num 40 \\
        --full-frame

Sample i of the same split is rendered both ways, alternating which goes first, so load
from other processes hits both alike; JPEG writing is left out (the same for both).
Prints images/s each way and their ratio. The photo folder is checked first (timed
apart: ``rejshand-synth`` does it once per run).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from rejshand_ros.synth.photos import check_photos
from rejshand_ros.synth.writer import SplitSpec, make_sample


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backgrounds", required=True, help="folder of photos")
    parser.add_argument("--num", type=int, default=200, help="samples each way")
    parser.add_argument("--size", type=int, default=224, help="crop side, px")
    parser.add_argument("--full-frame", action="store_true", help="640x480 frames")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    photos = check_photos(args.backgrounds)
    check_s = time.perf_counter() - start
    shape = {"full_frame": True} if args.full_frame else {"size": args.size}
    plain = SplitSpec("unused", "bench", args.num, seed=1, **shape)
    photo = SplitSpec("unused", "bench", args.num, seed=1, backgrounds=args.backgrounds, **shape)
    times: dict[str, list[float]] = {"procedural": [], "photos": []}
    for index in range(args.num):
        order = (("procedural", plain), ("photos", photo))
        for name, spec in order if index % 2 else order[::-1]:
            start = time.perf_counter()
            make_sample(spec, index)
            times[name].append(time.perf_counter() - start)
    rate = {name: len(t) / float(np.sum(t)) for name, t in times.items()}
    what = "640x480 frames" if args.full_frame else f"{args.size} px crops"
    print(f"{what}, {args.num} each, one process; {photos} photos checked in {check_s:.1f} s")
    for name, t in times.items():
        print(f"  {name:<10} {rate[name]:6.2f} images/s (median {1000 * np.median(t):.0f} ms)")
    print(f"  photos / procedural: {rate['photos'] / rate['procedural']:.2f}x images/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
