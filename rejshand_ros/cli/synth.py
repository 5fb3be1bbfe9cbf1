"""rejshand-synth: render a synthetic hand dataset in the FreiHAND layout.

    rejshand-synth --out DIR --split NAME --num N --seed S [--size 224]
                   [--left-ratio 0.5] [--negative-ratio 0.05] [--workers 2]
                   [--full-frame --width 640 --height 480] [--overwrite]
                   [--scene KEY=VALUE ...] [--backgrounds DIR]

``--scene`` overrides a field of the scene distribution (``synth.scene.SceneConfig``;
value in YAML), e.g. an easy set of upright, open-or-fist hands on plain backgrounds:
``--scene roll_deg=30 --scene "pose_modes=[open, fist]" --scene clutter=0``.

``--backgrounds DIR`` draws most backgrounds (``--scene real_background_prob=P``,
default 0.8) as random crops of the photos under DIR (scaled, mirrored, colour-jittered,
sometimes defocused; e.g. ``data/backgrounds`` from ``scripts/real_backgrounds.py``)
instead of procedural ones; hands, forearms, objects, lights and camera effects are
drawn on top as before. Every photo is checked before rendering; an unreadable one stops
the run with its name.

Prints a one-line JSON summary (counts, seconds, images/s) on stdout. Exit status 2
for bad arguments or an unusable output directory, 1 for a failure while writing.
Arguments are checked before numpy / OpenCV are imported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rejshand-synth",
        description="Render synthetic hands (open procedural hand model) with exact ground "
        "truth into DIR/NAME/rgb/%%08d.jpg and DIR/NAME_{K,xyz,verts,scale,handedness,"
        "presence}.json (FreiHAND layout); --full-frame also writes DIR/NAME_frames.json. "
        "Same seed, same bytes, for any --workers.")
    parser.add_argument("--out", required=True, help="dataset directory (created if missing)")
    parser.add_argument("--split", required=True, help="split name, e.g. training")
    parser.add_argument("--num", type=int, required=True, help="number of images")
    parser.add_argument("--seed", type=int, required=True, help="random seed (>= 0)")
    parser.add_argument("--size", type=int, default=None,
                        help="crop side in pixels (crop mode; default 224)")
    parser.add_argument("--left-ratio", type=float, default=0.5,
                        help="probability of a left hand (default 0.5)")
    parser.add_argument("--negative-ratio", type=float, default=0.05,
                        help="fraction of hand-free crops, presence 0 (crop mode; default 0.05)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                        help="worker processes (default min(2, CPUs))")
    parser.add_argument("--full-frame", action="store_true",
                        help="render WxH frames with 0-2 hands anywhere instead of crops")
    parser.add_argument("--width", type=int, default=None, help="frame width (default 640)")
    parser.add_argument("--height", type=int, default=None, help="frame height (default 480)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing split of the same name")
    parser.add_argument("--scene", action="append", default=[], metavar="KEY=VALUE",
                        help="override a scene-distribution option (a SceneConfig field, "
                        "value in YAML), e.g. roll_deg=30 or 'pose_modes=[open, fist]'; "
                        "repeatable")
    parser.add_argument("--backgrounds", metavar="DIR", default=None,
                        help="folder of real photos (searched recursively): most backgrounds "
                        "become random crops of them (probability: --scene "
                        "real_background_prob=P, default 0.8)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def parse_scene(items: list[str]) -> dict:
    """``["key=value", ...]`` -> {key: YAML-parsed value}; ValueError names a bad item."""
    import yaml

    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--scene {item!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ValueError(f"--scene {item!r}: value is not valid YAML ({exc})") from exc
    return out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.full_frame and args.size is not None:
        parser.error("--size applies to crops; use --width/--height with --full-frame")
    if not args.full_frame and (args.width is not None or args.height is not None):
        parser.error("--width/--height need --full-frame")
    if args.num < 1:
        parser.error(f"--num must be >= 1, got {args.num}")
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    if args.full_frame and args.negative_ratio != parser.get_default("negative_ratio"):
        parser.error("--negative-ratio applies to crops (full frames draw 0-2 hands)")
    try:
        scene = parse_scene(args.scene)
    except ValueError as exc:
        parser.error(str(exc))

    from rejshand_ros.synth.photos import BackgroundError
    from rejshand_ros.synth.writer import SplitSpec, SynthError, write_split

    try:
        spec = SplitSpec(out=args.out, split=args.split, num=args.num, seed=args.seed,
                         size=args.size or 224, left_ratio=args.left_ratio,
                         negative_ratio=args.negative_ratio, full_frame=args.full_frame,
                         width=args.width or 640, height=args.height or 480, scene=scene,
                         backgrounds=args.backgrounds)
        summary = write_split(spec, workers=args.workers, progress=not args.no_progress,
                              overwrite=args.overwrite)
    except (SynthError, BackgroundError) as exc:
        parser.error(str(exc))
    except KeyboardInterrupt:
        print("rejshand-synth: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"rejshand-synth: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
