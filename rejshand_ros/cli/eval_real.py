"""rejshand-eval-real: score a hand pipeline on the real-photo yardstick (teacher labels).

    rejshand-eval-real data/real_yardstick [--model FILE] [--estimator mediapipe] [--json OUT]

Per image (a hand-centred 256 px photo, ``rejshand_ros.data.yardstick``) the whole
pipeline runs from a cold start (detector -> pose network), as ``rejshand-predict`` does on
a folder of photos. Reported: hands found (%), mean 2D error (px) and PA-MPJPE (mm)
against the teacher where found, handedness agreement; for our network also the pose
network alone on the true box (upright, 1.5 x the keypoint box, the tracker's crop); and
the mean-pose baselines (a constant hand: the mean 2D pose placed in the true box, the
mean 3D pose) on the same images. Teacher labels carry the teacher's own error (MediaPipe
Hands: about 7 px / 11 mm against true labels on real photos).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

TRUE_BOX_SCALE = 1.5  # the tracker's crop: keypoint box x 1.5 (TrackerConfig.track_box_scale)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rejshand-eval-real",
        description="Hands found, 2D error and PA-MPJPE against teacher labels on the real-photo "
        "yardstick (hand-centred 256 px photos), beside the mean-pose baselines.")
    parser.add_argument("yardstick", help="folder with labels.json and images/")
    parser.add_argument("--estimator", choices=("rejshand", "mediapipe"), default="rejshand")
    parser.add_argument("--model", help="pose model file (default: the shipped model)")
    parser.add_argument("--detector", choices=("palm", "rejshand"), default="palm",
                        help="hand detector (default palm)")
    parser.add_argument("--detector-model", help="hand detector file (default: the shipped one)")
    parser.add_argument("--detector-threshold", type=float,
                        help="detector score threshold (default: rejshand-predict's)")
    parser.add_argument("--mediapipe-python", default="")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-images", type=int, help="score the first N images only")
    parser.add_argument("--json", help="write the report (and per-image numbers) here")
    return parser


def mean_pose_2d(uv: np.ndarray) -> np.ndarray:
    """The constant-hand 2D baseline: the mean pose in upright, box-normalised coordinates,
    placed into each image's true box and orientation. uv (N, 21, 2) -> (N, 21, 2)."""
    import numpy as np

    from rejshand_ros.geometry.crop import upright_rotation_rad

    normalised, frames = [], []
    for points in uv:
        angle = upright_rotation_rad(points)
        c, s = np.cos(angle), np.sin(angle)
        roll = np.array([[c, -s], [s, c]])
        rolled = points @ roll.T
        lo, hi = rolled.min(axis=0), rolled.max(axis=0)
        side, center = float((hi - lo).max()), (lo + hi) / 2.0
        normalised.append((rolled - center) / side)
        frames.append((roll, center, side))
    mean = np.mean(normalised, axis=0)
    return np.stack([((mean * side) + center) @ roll for roll, center, side in frames])


def _score(uv_pred: list, xyz_pred: list, yard, keep: np.ndarray) -> dict:
    import numpy as np

    from rejshand_ros.evaluation.metrics import evaluate

    found = np.array([p is not None for p in uv_pred])
    out = {"images": int(keep.sum()), "found_pct": 100.0 * found[keep].mean()}
    sel = keep & found
    if sel.any():
        pred = np.stack([uv_pred[i] for i in np.flatnonzero(sel)])
        out["uv_error_px"] = float(np.linalg.norm(pred - yard.uv[sel], axis=-1).mean())
        with3d = sel & np.isfinite(yard.xyz_rel).all(axis=(1, 2))
        if with3d.any():
            pred3 = np.stack([xyz_pred[i] for i in np.flatnonzero(with3d)])
            out["pa_mpjpe_mm"] = float(evaluate(pred3, yard.xyz_rel[with3d])["pa_mpjpe_mm"])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    import numpy as np

    import cv2

    from rejshand_ros.data.freihand import DatasetError
    from rejshand_ros.data.yardstick import load_yardstick
    from rejshand_ros.evaluation.metrics import evaluate

    try:
        yard = load_yardstick(args.yardstick)
    except DatasetError as exc:
        parser.error(str(exc))
    count = len(yard) if args.max_images is None else min(args.max_images, len(yard))
    keep = np.arange(len(yard)) < count

    from rejshand_ros.cli.predict import Runner, build_parser as predict_parser
    predict_args = predict_parser().parse_args(
        ["x", "--out", "unused", "--estimator", args.estimator, "--device", args.device,
         "--threads", str(args.threads), "--max-hands", "1", "--no-smoothing",
         "--detector", args.detector]
        + (["--detector-threshold", str(args.detector_threshold)]
           if args.detector_threshold is not None else [])
        + (["--model", args.model] if args.model else [])
        + (["--detector-model", args.detector_model] if args.detector_model else [])
        + (["--mediapipe-python", args.mediapipe_python] if args.mediapipe_python else []))
    try:
        runner = Runner(predict_args)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"rejshand-eval-real: error: {exc}", file=sys.stderr)
        return 2
    uv_pipe, xyz_pipe, uv_box, xyz_box, right_pipe = [], [], [], [], []
    start = time.perf_counter()
    try:
        for index in range(len(yard)):
            if not keep[index]:
                uv_pipe.append(None), xyz_pipe.append(None)
                uv_box.append(None), xyz_box.append(None), right_pipe.append(None)
                continue
            image = cv2.cvtColor(cv2.imread(str(yard.images[index])), cv2.COLOR_BGR2RGB)
            runner.pipeline.reset()
            hands = runner.pipeline.process(image, 0.0, None).hands
            best = min(hands, key=lambda h: np.linalg.norm(h.uv - yard.uv[index], axis=1).mean(),
                       default=None)
            uv_pipe.append(None if best is None else best.uv)
            xyz_pipe.append(None if best is None else best.joints - best.joints[9])
            right_pipe.append(None if best is None else best.handedness.value == "right")
            if args.estimator == "rejshand":
                hand = _true_box_prediction(runner.predictor, image, yard.uv[index],
                                            bool(yard.right[index]))
                uv_box.append(hand.uv)
                xyz_box.append(hand.joints - hand.joints[9])
    finally:
        runner.close()
    seconds = time.perf_counter() - start
    report = {"yardstick": str(args.yardstick), "estimator": args.estimator,
              "model": runner.model_file, "model_id": runner.model_id,
              "detector_model_id": runner.detector_id, "seconds": round(seconds, 1),
              "pipeline": _score(uv_pipe, xyz_pipe, yard, keep)}
    agree = [r == bool(yard.right[i]) for i, r in enumerate(right_pipe) if r is not None]
    report["pipeline"]["handedness_agreement_pct"] = 100.0 * float(np.mean(agree)) if agree \
        else float("nan")
    if args.estimator == "rejshand":
        report["pose_on_true_box"] = _score(uv_box, xyz_box, yard, keep)
    baseline_uv = mean_pose_2d(yard.uv[keep])
    report["mean_pose_baseline"] = {
        "uv_error_px": float(np.linalg.norm(baseline_uv - yard.uv[keep], axis=-1).mean())}
    with3d = keep & np.isfinite(yard.xyz_rel).all(axis=(1, 2))
    if with3d.any():
        mean3 = np.repeat(yard.xyz_rel[with3d].mean(axis=0, keepdims=True), with3d.sum(), 0)
        report["mean_pose_baseline"]["pa_mpjpe_mm"] = float(
            evaluate(mean3, yard.xyz_rel[with3d])["pa_mpjpe_mm"])
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


def _true_box_prediction(predictor, image: np.ndarray, uv: np.ndarray, right: bool):
    """The pose network alone on the tracker's crop of the true keypoints."""
    from rejshand_ros.geometry.crop import upright_box
    from rejshand_ros.perception.hand_prediction import Handedness
    from rejshand_ros.perception.predictor import HandBox

    center, side, angle = upright_box(uv, TRUE_BOX_SCALE)
    box = HandBox((float(center[0]), float(center[1])), side,
                  Handedness.RIGHT if right else Handedness.LEFT, rotation_rad=angle)
    return predictor.predict(image, [box], None)[0]


if __name__ == "__main__":
    sys.exit(main())
