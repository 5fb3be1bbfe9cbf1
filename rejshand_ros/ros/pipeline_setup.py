"""Build the node's HandPipeline from its config, or say clearly why it cannot start.

ROS-free: the node calls :func:`build_pipeline` and turns a :class:`StartupError` into a
message on stderr and a non-zero exit code. Every message names the file (or setting)
and what was expected there.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from rejshand_ros.detection import HandDetector
from rejshand_ros.model.model_file import ModelFileError
from rejshand_ros.pipeline import HandPipeline
from rejshand_ros.predictor import Predictor, default_model_path
from rejshand_ros.ros.node_params import HandPoseNodeConfig

MEDIAPIPE_INSTALL = ("pip install --no-deps mediapipe==0.10.14 absl-py attrs flatbuffers "
                     "'protobuf<5'")


class StartupError(RuntimeError):
    """The node cannot start with this configuration (message says why)."""


@dataclass
class PipelineParts:
    """What the node runs, and what it reports about it."""

    pipeline: HandPipeline
    predictor: Predictor
    detector: HandDetector
    detector_path: Path
    detector_model_id: str


def check_estimator(estimator: str) -> None:
    """Raise StartupError unless ``estimator`` can run in this installation."""
    if estimator == "rejshand":
        return
    if estimator == "mediapipe":
        if importlib.util.find_spec("mediapipe") is None:
            raise StartupError(
                "estimator 'mediapipe' needs the optional mediapipe package, which is not "
                f"installed ({MEDIAPIPE_INSTALL}); or set estimator:=rejshand")
        raise StartupError("estimator 'mediapipe' is reserved and not implemented in this "
                           "version; set estimator:=rejshand")
    raise StartupError(f"unknown estimator {estimator!r} (rejshand, mediapipe)")


def _load_predictor(cfg: HandPoseNodeConfig) -> Predictor:
    path = Path(cfg.model_path) if cfg.model_path else default_model_path()
    what = ("expected a pose model file (.safetensors of format 'rejshand-model', "
            "written by rejshand-train); set the parameter model_path")
    if not path.is_file():
        shipped = "" if cfg.model_path else " (the shipped default model is missing from "\
            "this install)"
        raise StartupError(f"pose model file not found: {path}{shipped}; {what}")
    try:
        return Predictor(cfg.predictor_config())
    except ModelFileError as exc:
        raise StartupError(f"cannot load the pose model ({exc}); {what}") from exc
    except (RuntimeError, ValueError) as exc:  # cuda refused, fp16 on CPU, no onnxruntime
        raise StartupError(f"cannot start the pose model {path}: {exc}") from exc


def _load_detector(cfg: HandPoseNodeConfig, device: str) -> HandDetector:
    path = Path(cfg.detector_path())
    what = ("expected a hand detector file (.safetensors of format 'rejshand-detector', "
            "written by rejshand-train with task: detector); set the parameter "
            "detector_model_path")
    if not path.is_file():
        shipped = "" if cfg.detector_model_path else " (the shipped default detector is "\
            "missing from this install)"
        raise StartupError(f"detector model file not found: {path}{shipped}; {what}")
    try:
        return HandDetector(**cfg.detector_kwargs(device))
    except ModelFileError as exc:
        raise StartupError(f"cannot load the detector ({exc}); {what}") from exc


def build_pipeline(cfg: HandPoseNodeConfig) -> PipelineParts:
    """Load the models named by ``cfg``, wire the pipeline and warm it up (the first
    frame then runs at steady-state speed).

    Raises:
        StartupError: estimator unavailable, a model file missing, truncated, corrupt
            or of another architecture, CUDA refused, or invalid settings.
    """
    check_estimator(cfg.estimator)
    predictor = _load_predictor(cfg)
    detector = _load_detector(cfg, str(predictor.device))
    try:
        pipeline = HandPipeline(predictor, detector, cfg.pipeline_config())
    except ValueError as exc:
        raise StartupError(f"invalid tracking/smoothing settings: {exc}") from exc
    pipeline.warm_up()
    return PipelineParts(pipeline=pipeline, predictor=predictor, detector=detector,
                         detector_path=Path(cfg.detector_path()),
                         detector_model_id=detector.metadata.model_id
                         or Path(cfg.detector_path()).stem)
