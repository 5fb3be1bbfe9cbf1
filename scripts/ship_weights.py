"""Copy trained model files into the package as the shipped defaults, stored as fp16.

usage: python scripts/ship_weights.py --pose runs/real_hands/model_best.safetensors \
           [--training-data-id ID] --detector runs/detector/model_best.safetensors
Writes the files rejshand_ros.perception.predictor.default_model_path() and
rejshand_ros.detection.detector.default_detector_path() name.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pose", help="trained pose model file")
    parser.add_argument("--detector", help="trained detector model file")
    parser.add_argument("--training-data-id", help="replace the pose model's training_data_id")
    parser.add_argument("--crop-roll", choices=("image", "upright"),
                        help="replace the pose model's crop_roll (the crops it was trained on)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from rejshand_ros.detection.detector import default_detector_path
    from rejshand_ros.detection.model import load_detector_file, save_detector_file
    from rejshand_ros.model.model_file import load_model_file, save_model_file
    from rejshand_ros.perception.predictor import default_model_path

    if args.pose:
        model, meta = load_model_file(args.pose)
        faces = None if meta.faces is None else meta.faces.numpy()
        out = default_model_path()
        save_model_file(out, model, mesh_id=meta.mesh_id, keypoint_order=meta.keypoint_order,
                        training_data_id=args.training_data_id or meta.training_data_id,
                        model_id=meta.model_id,
                        faces=faces, fp16=True, crop_roll=args.crop_roll or meta.crop_roll)
        print(f"{args.pose} -> {out} ({out.stat().st_size / 1e6:.1f} MB)")
    if args.detector:
        model, meta = load_detector_file(args.detector)
        out = default_detector_path()
        save_detector_file(out, model, model_id=meta.model_id,
                           training_data_id=meta.training_data_id, fp16=True)
        print(f"{args.detector} -> {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
