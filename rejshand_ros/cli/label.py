"""rejshand-label: pseudo-label real hand photos and videos with a teacher (MediaPipe Hands).

    rejshand-label photos/ clip.mp4 --out data/real --split mine

The teacher runs in its own venv (``bash scripts/setup_peers.sh`` makes ``.venv-peers``),
twice per image (image and mirror image, ``rejshand_ros.data.teacher``); kept hands are
written as a 2D-labelled split (``rejshand_ros.data.labelled``), one context crop per hand.
Unconfident hands are left out and counted by reason in the summary and in
``NAME_labels.json``. Folders are searched recursively; videos give every ``--video-step``-th
frame.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Iterator

# numpy, OpenCV and the package's data modules are imported where they are used, so
# `rejshand-label --help` works in a bare install

log = logging.getLogger("rejshand-label")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rejshand-label",
        description="Pseudo-label hands in images, folders (recursive) and videos with "
        "MediaPipe Hands as the teacher, into a 2D-labelled training split.")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image files, video files or folders of them")
    parser.add_argument("--out", required=True, help="dataset directory")
    parser.add_argument("--split", required=True, help="split name (files NAME_*.json)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing split")
    parser.add_argument("--mediapipe-python", default="",
                        help="Python with mediapipe==0.10.14 (default: .venv-peers/bin/python, "
                        "made by bash scripts/setup_peers.sh)")
    parser.add_argument("--max-hands", type=int, default=2, help="hands per image (default 2)")
    parser.add_argument("--min-score", type=float, default=0.8,
                        help="teacher handedness probability to keep a hand (default 0.8)")
    parser.add_argument("--max-disagreement", type=float, default=0.06,
                        help="image vs mirror-image keypoints, mean distance / hand box side "
                        "(default 0.06)")
    parser.add_argument("--min-hand-px", type=float, default=24.0,
                        help="smallest hand box side in pixels (default 24)")
    parser.add_argument("--video-step", type=int, default=5,
                        help="videos: label every N-th frame (default 5)")
    parser.add_argument("--limit", type=int, help="stop after N images/frames")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def find_inputs(paths: list[str]) -> list[tuple[Path, Path]]:
    """(file, root it is named relative to) for every image/video; folders recursive.
    The root is the folder above all inputs (for one input, the folder holding it).

    Raises:
        ValueError: a path does not exist, is not an image/video, or a folder holds none.
    """
    from rejshand_ros.sources.base import is_image_file, is_video_file

    found = []
    for text in paths:
        path = Path(text).expanduser()
        if not path.exists():
            raise ValueError(f"input not found: {path}")
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*")
                            if p.is_file() and (is_image_file(p) or is_video_file(p)))
            if not inside:
                raise ValueError(f"no images or videos in folder: {path}")
            found += [(p, path.parent) for p in inside]
        elif is_image_file(path) or is_video_file(path):
            found.append((path, path.parent))
        else:
            raise ValueError(f"not an image or video file (by its extension): {path}")
    common = Path(os.path.commonpath([str(root.resolve()) for _, root in found]))
    return [(path, common) for path, _ in found]


def frames_of(path: Path, video_step: int) -> Iterator[tuple]:
    """(frame index or None for a still image, RGB image (H, W, 3) uint8 or None when
    unreadable)."""
    import cv2

    from rejshand_ros.sources.base import is_image_file

    if is_image_file(path):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        yield None, None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        return
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        yield 0, None
        return
    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            if index % video_step == 0:
                yield index, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        capture.release()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.max_hands < 1 or args.video_step < 1 or (args.limit is not None and args.limit < 1):
        parser.error("--max-hands, --video-step and --limit must be >= 1")
    from rejshand_ros.data.labelled import (CONTEXT, MAX_HAND_PX, LabelledSplitWriter,
                                            context_crop)
    from rejshand_ros.data.teacher import LabelCounts, LabelPolicy, label_image

    try:
        policy = LabelPolicy(args.min_score, args.max_disagreement, args.min_hand_px)
        inputs = find_inputs(args.inputs)
    except ValueError as exc:
        parser.error(str(exc))
    from rejshand_ros.mediapipe_hands.client import (MediaPipeHandsWorker,
                                                    default_mediapipe_python)
    python = Path(args.mediapipe_python) if args.mediapipe_python else default_mediapipe_python()
    try:
        writer = LabelledSplitWriter(args.out, args.split, overwrite=args.overwrite)
        teacher = MediaPipeHandsWorker(python, max_hands=args.max_hands, static=True)
    except (FileExistsError, FileNotFoundError) as exc:
        print(f"rejshand-label: {exc}", file=sys.stderr)
        return 2
    counts, unreadable, start = LabelCounts(), [], time.perf_counter()
    bar = None
    if not args.no_progress:
        from tqdm import tqdm
        bar = tqdm(total=len(inputs), desc="label", unit="file", dynamic_ncols=True)
    try:
        for path, root in inputs:
            for frame, image in frames_of(path, args.video_step):
                if image is None:
                    log.warning("unreadable image or video, skipped: %s", path)
                    unreadable.append(str(path))
                    break
                hands, seen = label_image(image, lambda im: teacher.process(im)[0], policy)
                counts.add(seen)
                for hand in hands:
                    crop, uv, crop_box = context_crop(image, hand.uv)
                    writer.add(crop, uv, hand.xyz_rel, hand.right, hand.score, {
                        "file": str(path.resolve().relative_to(root)), "frame": frame, "crop": crop_box,
                        "disagreement": round(hand.disagreement, 4)})
                if args.limit and counts.images >= args.limit:
                    break
            if bar is not None:
                bar.update(1)
                bar.set_postfix(hands=counts.kept)
            if args.limit and counts.images >= args.limit:
                break
    finally:
        if bar is not None:
            bar.close()
        teacher.close()
    info = {"teacher": {"name": "mediapipe_hands", **teacher.versions, "mode": "static_image",
                        "model_complexity": 1, "flip_test": True},
            "policy": dataclasses.asdict(policy),
            "context": CONTEXT, "max_hand_px": MAX_HAND_PX, **counts.summary(),
            "unreadable": unreadable, "seconds": round(time.perf_counter() - start, 1)}
    writer.close(info)
    print(json.dumps({"split": args.split, "out": str(args.out), **counts.summary(),
                      "unreadable": len(unreadable), "seconds": info["seconds"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
