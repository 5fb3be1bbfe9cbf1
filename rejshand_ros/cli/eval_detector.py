"""Score a hand-detector model file on annotated full frames (rejshand-synth --full-frame).

    python -m rejshand_ros.cli.eval_detector --model runs/detector_t8/model_best.safetensors \
        --data data/synth_frames --split validation --threads 2

Prints one JSON object: recall / miss_rate at IoU 0.5, precision, mean IoU, handedness
accuracy, false alarms, frames_all_found and the mean detect() latency per frame.
"""

from __future__ import annotations

import argparse
import json
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rejshand-eval-detector",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="detector .safetensors file")
    parser.add_argument("--data", required=True, help="directory with NAME_frames.json")
    parser.add_argument("--split", default="validation", help="NAME (default validation)")
    parser.add_argument("--limit", type=int, help="only the first N frames")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--score-threshold", type=float, default=0.3)
    parser.add_argument("--max-hands", type=int, default=2)
    parser.add_argument("--min-visible-fraction", type=float, default=0.25,
                        help="hands less visible than this need not be found")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from rejshand_ros.data.freihand import DatasetError
    from rejshand_ros.detection.detector import HandDetector
    from rejshand_ros.detection.frame_eval import evaluate_on_frames
    from rejshand_ros.detection.annotations import load_frames
    from rejshand_ros.model.model_file import ModelFileError

    try:
        detector = HandDetector(args.model, device=args.device,
                                score_threshold=args.score_threshold,
                                max_hands=args.max_hands, num_threads=args.threads)
        frames = load_frames(args.data, args.split)[:args.limit]
        metrics = evaluate_on_frames(detector, frames, detector.config.box_scale,
                                     args.min_visible_fraction)
    except (ValueError, DatasetError, ModelFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({k: round(v, 4) for k, v in metrics.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
