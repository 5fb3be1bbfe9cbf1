"""rejshand-predict: hands in image files, folders and videos, without ROS.

Runs the node's pipeline (hand detector, ``--detector palm|rejshand`` -> tracking -> ReJSHand -> One-Euro
smoothing for videos) and writes, under ``--out``:
    <image stem>.json + <image stem>.png           one per image (overlay PNG)
    <video stem>/frame_NNNNNN.json + <video stem>.mp4   one JSON per frame + overlay MP4
    mesh_<mesh_id>.json                            the mesh faces (once per topology)
    summary.json                                   inputs, frames, hands, models, units
Zero hands is a valid result (a JSON with "hands": []). The JSON layout is described
in ``rejshand_ros.cli.predict_io``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rejshand-predict",
        description="3D hand poses and meshes for images, folders and videos (no ROS): one "
        "JSON per frame and an overlay PNG per image / MP4 per video.")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="image files, video files or folders of them")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--estimator", choices=("rejshand", "mediapipe"), default="rejshand",
                        help="rejshand (our network, with mesh; default) or mediapipe "
                        "(MediaPipe Hands 0.10.14 in .venv-peers: keypoints, no mesh)")
    parser.add_argument("--mediapipe-python", default="",
                        help="--estimator mediapipe: Python with mediapipe==0.10.14 "
                        "(default: .venv-peers/bin/python, made by bash scripts/setup_peers.sh)")
    parser.add_argument("--model", help="pose model file (default: the shipped model)")
    parser.add_argument("--detector", choices=("palm", "rejshand"), default="palm",
                        help="palm (MediaPipe's palm detection model, trained on real "
                        "photos; default) or rejshand (ours, trained on synthetic frames)")
    parser.add_argument("--detector-model",
                        help="the detector's file (palm: .tflite, rejshand: .safetensors; "
                        "default: the shipped one)")
    parser.add_argument("--camera-info", metavar="YAML",
                        help="camera_info YAML of the camera (ROS format): 3D in the camera "
                        "frame instead of root-relative")
    parser.add_argument("--device", default="auto", help="auto | cuda | cpu (default auto)")
    parser.add_argument("--backend", default="auto",
                        help="auto | eager | onnxruntime | compile (auto: ONNX Runtime on CPU, "
                             "eager on CUDA)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--max-hands", type=int, default=2, help="hands per frame (default 2)")
    parser.add_argument("--detector-threshold", type=float, default=0.5,
                        help="detector score threshold, [0, 1] (default 0.5)")
    parser.add_argument("--presence-threshold", type=float, default=0.5,
                        help="hands with a lower presence score are dropped (default 0.5)")
    parser.add_argument("--no-smoothing", action="store_true",
                        help="videos: no One-Euro smoothing over time")
    parser.add_argument("--max-frames", type=int, help="videos: process at most N frames each")
    parser.add_argument("--no-vertices", action="store_true", help="leave mesh vertices out")
    parser.add_argument("--no-overlay", action="store_true", help="write JSON only")
    return parser


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.max_hands < 1:
        parser.error("--max-hands must be >= 1")
    if not 0.0 <= args.detector_threshold <= 1.0 or not 0.0 <= args.presence_threshold <= 1.0:
        parser.error("--detector-threshold and --presence-threshold must be in [0, 1]")
    if args.max_frames is not None and args.max_frames < 1:
        parser.error("--max-frames must be >= 1")
    for option, path in (("--model", args.model), ("--detector-model", args.detector_model),
                         ("--camera-info", args.camera_info)):
        if path and not Path(path).is_file():
            parser.error(f"{option}: file not found: {path}")


class Runner:
    """Loads the models once and processes every input."""

    def __init__(self, args: argparse.Namespace) -> None:
        from rejshand_ros.detection.factory import (DetectorSettings, build_detector,
                                                    detector_model_id)
        from rejshand_ros.perception.pipeline import HandPipeline, PipelineConfig
        from rejshand_ros.perception.predictor import Predictor, PredictorConfig
        from rejshand_ros.sources import CameraCalibration
        from rejshand_ros.perception.tracking.tracks import SmoothingConfig, TrackerConfig

        self.args = args
        self.out = Path(args.out)
        self.stats = {"images": 0, "videos": 0, "frames": 0, "hands": 0, "failed": []}
        self.calibration = CameraCalibration.load(args.camera_info) if args.camera_info else None
        self.camera = (self.calibration.camera_model()
                       if self.calibration is not None else None)
        if args.estimator == "mediapipe":
            self._build_mediapipe(args)
            return
        self.predictor = Predictor(PredictorConfig(model_path=args.model, device=args.device,
                                                   backend=args.backend,
                                                   num_threads=args.threads))
        self.detector = build_detector(DetectorSettings(
            kind=args.detector, model_path=args.detector_model or "",
            score_threshold=args.detector_threshold, max_hands=args.max_hands,
            num_threads=args.threads, device=str(self.predictor.device),
            backend=args.backend))
        self.detector_id = detector_model_id(self.detector)
        tracker = TrackerConfig(max_hands=args.max_hands,
                                presence_threshold=args.presence_threshold)
        self.smoothing = SmoothingConfig(enabled=not args.no_smoothing)
        self.pipeline = HandPipeline(self.predictor, self.detector,
                                     PipelineConfig(tracker=tracker, smoothing=self.smoothing))
        self.model_file, self.model_id = str(self.predictor.model_path), self.predictor.model_id
        self.mesh_id, self.faces = self.predictor.mesh_id, self.predictor.faces
        self.parts = None

    def _build_mediapipe(self, args: argparse.Namespace) -> None:
        """The node's MediaPipe pipeline (same factory, the node's default settings)."""
        from rejshand_ros.perception.pipeline import PipelineConfig
        from rejshand_ros.perception.pipeline_setup import PipelineSettings, build_mediapipe_pipeline
        from rejshand_ros.perception.tracking.tracks import SmoothingConfig, TrackerConfig

        tracker = TrackerConfig(max_hands=args.max_hands,
                                presence_threshold=args.presence_threshold)
        settings = PipelineSettings(
            estimator="mediapipe", mediapipe_python=args.mediapipe_python,
            pipeline=PipelineConfig(tracker=tracker,
                                    smoothing=SmoothingConfig(enabled=not args.no_smoothing)))
        self.parts = build_mediapipe_pipeline(settings)
        self.pipeline = self.parts.pipeline
        self.model_file, self.model_id = self.parts.info.model_file, self.parts.info.model_id
        self.mesh_id, self.faces, self.detector_id = "", None, ""

    def close(self) -> None:
        """Stop the MediaPipe worker, if one runs."""
        if self.parts is not None:
            self.parts.close()

    def _process(self, image, index: int, time_s: float, source: Path, json_path: Path):
        if self.calibration is not None:
            self.calibration.check_size(image.shape[1], image.shape[0], self.args.camera_info)
        result = self.pipeline.process(image, time_s, self.camera)
        from rejshand_ros.cli.predict_io import frame_to_json, write_json

        write_json(json_path, frame_to_json(
            source, index, time_s, (image.shape[1], image.shape[0]), result.hands,
            result.timings_ms, self.camera is not None, self.model_id,
            self.detector_id, vertices=not self.args.no_vertices))
        self.stats["frames"] += 1
        self.stats["hands"] += len(result.hands)
        return result.hands

    def image(self, item) -> str:
        from rejshand_ros.imaging.files import write_png
        from rejshand_ros.imaging.overlay import draw_hands
        from rejshand_ros.sources.capture import read_image_rgb

        image = read_image_rgb(item.path)
        self.pipeline.reset()  # independent images: fresh detection, no smoothing across
        hands = self._process(image, 0, 0.0, item.path, self.out / f"{item.stem}.json")
        if not self.args.no_overlay:
            write_png(self.out / f"{item.stem}.png", draw_hands(image, hands))
        self.stats["images"] += 1
        return f"{len(hands)} hand(s)"

    def video(self, item) -> str:
        from rejshand_ros.imaging.files import VideoOverlayWriter
        from rejshand_ros.imaging.overlay import draw_hands
        from rejshand_ros.sources import SourceError
        from rejshand_ros.sources.capture import VideoSource

        source = VideoSource(item.path, loop=False)
        fps = source.native_rate or 30.0
        self.pipeline.reset()
        writer, frames, hands_total = None, 0, 0
        try:
            for frame in source:
                if self.args.max_frames is not None and frames >= self.args.max_frames:
                    break
                hands = self._process(frame.image, frame.index, frame.index / fps, item.path,
                                      self.out / item.stem / f"frame_{frame.index:06d}.json")
                if not self.args.no_overlay:
                    if writer is None:
                        writer = VideoOverlayWriter(self.out / f"{item.stem}.mp4", fps,
                                                    frame.size)
                    writer.write(draw_hands(frame.image, hands))
                frames += 1
                hands_total += len(hands)
        except SourceError as exc:
            raise SourceError(f"{exc} (after {frames} frames)") from exc
        finally:
            source.close()
            if writer is not None:
                writer.close()
        self.stats["videos"] += 1
        return f"{frames} frames, {hands_total} hand(s) in all"

    def write_summary(self, seconds: float) -> None:
        from rejshand_ros.cli.predict_io import write_json

        if self.faces is not None and self.mesh_id:
            write_json(self.out / f"mesh_{self.mesh_id}.json",
                       {"mesh_id": self.mesh_id, "faces": self.faces.tolist()})
        write_json(self.out / "summary.json", {
            **self.stats, "seconds": round(seconds, 3), "estimator": self.args.estimator,
            "model": self.model_file, "model_id": self.model_id,
            "detector_model_id": self.detector_id, "mesh_id": self.mesh_id,
            "units": {"keypoints_2d": "pixels (u right, v down)",
                      "joints_3d": "metres, camera optical frame; root-relative to joint 9 "
                                   "unless absolute",
                      "box": "pixels [x, y, width, height] of the network's crop"}})


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    from rejshand_ros.cli.predict_io import InputError, collect_inputs

    try:
        items = collect_inputs(args.inputs)
    except InputError as exc:
        parser.error(str(exc))
    from rejshand_ros.model.model_file import ModelFileError
    from rejshand_ros.perception.pipeline_setup import StartupError
    from rejshand_ros.sources import CalibrationError, SourceError

    start = time.monotonic()
    try:
        runner = Runner(args)
    except (FileNotFoundError, ModelFileError, CalibrationError, ValueError,
            StartupError) as exc:
        print(f"rejshand-predict: error: {exc}", file=sys.stderr)
        return 2
    try:
        for item in items:
            try:
                what = runner.image(item) if item.kind == "image" else runner.video(item)
                print(f"{item.path}: {what}", file=sys.stderr, flush=True)
            except (SourceError, CalibrationError) as exc:
                runner.stats["failed"].append(str(item.path))
                print(f"rejshand-predict: error: {exc}", file=sys.stderr, flush=True)
    finally:
        runner.close()
    runner.write_summary(time.monotonic() - start)
    stats = runner.stats
    print(f"rejshand-predict: {stats['frames']} frame(s) from {stats['images']} image(s) and "
          f"{stats['videos']} video(s), {stats['hands']} hand(s); results in {args.out}",
          file=sys.stderr)
    if stats["failed"]:
        print(f"rejshand-predict: failed: {', '.join(stats['failed'])}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
