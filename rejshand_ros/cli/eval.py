"""rejshand-eval: run a model on a FreiHAND-layout split, or score an existing pred.json."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rejshand-eval",
        description="Evaluate with the official FreiHAND protocol. Either run a model: "
        "--data DIR --split NAME --out OUTDIR [--model FILE]; or score predictions: "
        "--pred FILE --gt-dir DIR --split evaluation (DIR needs only SPLIT_xyz.json, "
        "and SPLIT_verts.json for the mesh metrics). Prints the metrics as one JSON "
        "object on stdout and the paper's Table I row on stderr.")
    parser.add_argument("--split", default="evaluation", help="split name (default evaluation)")
    parser.add_argument("--data", help="dataset directory to run the model on")
    parser.add_argument("--out", help="output directory for pred.json and plots")
    parser.add_argument("--model", help="model file (default: the shipped model)")
    parser.add_argument("--pred", help="an existing pred.json to score")
    parser.add_argument("--gt-dir", help="ground-truth directory for --pred")
    parser.add_argument("--device", default="auto", help="auto | cuda | cpu")
    parser.add_argument("--backend", default="auto",
                        help="auto | eager | onnxruntime | compile (auto: ONNX Runtime on CPU, "
                             "eager on CUDA)")
    parser.add_argument("--precision", default="fp32", help="fp32 | fp16 | bf16")
    parser.add_argument("--threads", type=int, default=2,
                        help="CPU threads for the model (default 2; 1 on a shared machine)")
    parser.add_argument("--max-samples", type=int, help="evaluate only the first N samples")
    parser.add_argument("--baseline-train-split",
                        help="also report the mean-pose baseline of this training split")
    return parser


def run_model(args) -> tuple:
    import numpy as np
    from tqdm import tqdm

    from rejshand_ros.data.dataset import read_rgb
    from rejshand_ros.data.freihand import DatasetError, load_split
    from rejshand_ros.data.sample import EVAL_BOX_SCALE, UPRIGHT_EVAL, crop_roll_and_box
    from rejshand_ros.evaluation.freihand import write_pred_json
    from rejshand_ros.geometry.camera import CameraModel, project
    from rejshand_ros.geometry.crop import box_from_keypoints
    from rejshand_ros.perception.hand_prediction import Handedness
    from rejshand_ros.perception.predictor import HandBox, Predictor, PredictorConfig

    ann = load_split(args.data, args.split, require_xyz=False)
    predictor = Predictor(PredictorConfig(model_path=args.model, device=args.device,
                                          backend=args.backend, precision=args.precision,
                                          num_threads=args.threads))
    # the FreiHAND box (keypoint bbox x 1.25); for a model trained on upright crops
    # (model file crop_roll) the same box taken in the hand's upright frame
    upright = predictor.metadata.crop_roll == "upright"
    count = ann.num_samples if args.max_samples is None else min(args.max_samples, ann.num_samples)
    xyz = np.zeros((count, 21, 3))
    verts = None
    for index in tqdm(range(count), desc=f"eval {args.split}", unit="img"):
        if not ann.presence[index]:  # hand-free image: nothing to predict, not scored
            continue
        image = read_rgb(ann.image_path(index))
        if image is None:
            raise DatasetError(f"missing or unreadable image {ann.image_path(index)} "
                               f"(index {index})")
        camera = CameraModel(ann.K[index])
        roll = 0.0
        if ann.xyz is not None and upright:  # the box a model trained upright expects
            uv = project(ann.xyz[index], ann.K[index])
            center, size, roll = crop_roll_and_box(uv, UPRIGHT_EVAL, np.random.default_rng(0))
            center = tuple(center)
        elif ann.xyz is not None:  # benchmark protocol: box from the ground-truth keypoints
            box = box_from_keypoints(project(ann.xyz[index], ann.K[index]), EVAL_BOX_SCALE)
            center, size = tuple(box.center), box.size
        else:
            center = ((image.shape[1] - 1) / 2, (image.shape[0] - 1) / 2)
            size = float(max(image.shape[:2]))
        side = Handedness.RIGHT if ann.handedness[index] else Handedness.LEFT
        hand = predictor.predict(image, [HandBox(center, size, side, rotation_rad=roll)],
                                 camera)[0]
        xyz[index] = hand.joints
        if hand.vertices is not None:
            if verts is None:
                verts = np.zeros((count, hand.vertices.shape[0], 3))
            verts[index] = hand.vertices
    out = Path(args.out)
    write_pred_json(out / "pred.json", xyz, verts)
    return ann, xyz, verts, out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.pred) == bool(args.data):
        parser.error("give either --data (run a model) or --pred (score a pred.json)")
    if args.pred and not args.gt_dir:
        parser.error("--pred needs --gt-dir")
    if args.data and not args.out:
        parser.error("--data needs --out")
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    from rejshand_ros.data.freihand import DatasetError, load_split
    from rejshand_ros.evaluation.freihand import (mean_pose_baseline, read_pred_json, save_plots,
                                                  score, summary, table_row)
    from rejshand_ros.model.model_file import ModelFileError

    try:
        if args.pred:
            xyz, verts = read_pred_json(args.pred)
            gt = load_split(args.gt_dir, args.split, labels_only=True)
            out = Path(args.out) if args.out else Path(args.pred).parent
        else:
            gt, xyz, verts, out = run_model(args)
            if gt.xyz is None:
                print(f"wrote {out / 'pred.json'} (no ground truth in {args.data}: "
                      "nothing to score)", file=sys.stderr)
                return 0
            if args.max_samples is not None:
                gt = _first(gt, xyz.shape[0])
        metrics = score(xyz, verts, gt)
        report = summary(metrics)
        if args.baseline_train_split:
            train = load_split(gt.root, args.baseline_train_split, labels_only=True)
            report["mean_pose_pa_mpjpe_mm"] = round(
                float(mean_pose_baseline(train, gt)["pa_mpjpe_mm"]), 4)
        save_plots(metrics, out, title=f"{Path(gt.root).name}/{gt.split}")
    except (DatasetError, ModelFileError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report))
    print(table_row(metrics), file=sys.stderr)
    return 0


def _first(ann, count: int):
    """The first ``count`` samples of a split (for --max-samples)."""
    from dataclasses import replace

    def cut(array):
        return None if array is None else array[:count]

    return replace(ann, K=ann.K[:count], xyz=cut(ann.xyz), verts=cut(ann.verts),
                   scale=cut(ann.scale), handedness=ann.handedness[:count],
                   presence=ann.presence[:count], valid=ann.valid[:count])


if __name__ == "__main__":
    sys.exit(main())
