"""False hands and found hands of the default pipeline on synthetic camera sequences.

    .venv/bin/python scripts/synthetic_false_hands.py [--seeds 0-10] [--frames 120] [--hands 1]

Each seed is one SyntheticSource sequence (the demo's camera, 640x480, one moving hand
by default) run offline, frame by frame at 30 fps stamps, through hand_pose_node's
default pipeline (shipped models, CPU). Frames are scored as the demo scores them
(``evaluation.live_scoring.score_frame``: a predicted hand matches a true one within
the demo's 2D distance): a frame has a false hand when it reports more hands than it
matched. Prints one line per seed and the totals.
"""

from __future__ import annotations

import argparse
import sys

from rejshand_ros.evaluation.live_scoring import score_frame
from rejshand_ros.geometry.camera import CameraModel
from rejshand_ros.perception.pipeline_setup import PipelineSettings, build_pipeline
from rejshand_ros.sources.synthetic import SyntheticSource


def seed_range(text: str) -> list[int]:
    """'0-10' or '3' or '1,4,7' -> seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds.extend(range(int(low), int(high or low) + 1))
    return seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0-10", help="seeds: 0-10, 3 or 1,4,7")
    parser.add_argument("--frames", type=int, default=120, help="frames per sequence")
    parser.add_argument("--hands", type=int, default=1, help="hands per sequence")
    args = parser.parse_args(argv)
    try:
        seeds = seed_range(args.seeds)
    except ValueError:
        parser.error(f"argument --seeds: expected e.g. 0-10 or 1,4,7, got {args.seeds!r}")
    parts = build_pipeline(PipelineSettings())
    total = {"frames": 0, "false": 0, "true_hands": 0, "found": 0}
    for seed in seeds:
        parts.pipeline.reset()
        source = SyntheticSource(seed=seed, num_frames=args.frames, num_hands=args.hands)
        counts = {"frames": 0, "false": 0, "true_hands": 0, "found": 0}
        for index in range(args.frames):
            frame = source.read()
            hands = parts.pipeline.process(frame.image, index / 30.0,
                                           CameraModel(frame.K)).hands
            score = score_frame(hands, frame.ground_truth)
            counts["frames"] += 1
            counts["false"] += score.predicted_hands > score.matched
            counts["true_hands"] += score.true_hands
            counts["found"] += score.matched
        for key, value in counts.items():
            total[key] += value
        print(f"seed {seed}: false-hand frames {counts['false']}/{counts['frames']}, "
              f"hands found {counts['found']}/{counts['true_hands']}", flush=True)
    print(f"all: false-hand frames {total['false']}/{total['frames']} "
          f"({100.0 * total['false'] / max(1, total['frames']):.1f} %), hands found "
          f"{total['found']}/{total['true_hands']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
