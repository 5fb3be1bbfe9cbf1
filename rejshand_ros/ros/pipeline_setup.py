"""Build the node's HandPipeline from its config, or say clearly why it cannot start.

ROS-free: the node calls :func:`build_pipeline` and turns a :class:`StartupError` into a
message on stderr and a non-zero exit code. Every message names the file (or setting)
and what was expected there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rejshand_ros.detection.factory import build_detector, detector_model_id
from rejshand_ros.line_worker import WorkerError
from rejshand_ros.mediapipe_hands.client import (MediaPipeHandsWorker,
                                                 default_mediapipe_python,
                                                 missing_interpreter_message)
from rejshand_ros.mediapipe_hands.pipeline import MediaPipePipeline
from rejshand_ros.model.model_file import ModelFileError
from rejshand_ros.pipeline import HandPipeline
from rejshand_ros.predictor import Predictor, default_model_path
from rejshand_ros.ros.node_params import HandPoseNodeConfig

ESTIMATORS = ("rejshand", "mediapipe")


class StartupError(RuntimeError):
    """The node cannot start with this configuration (message says why)."""


@dataclass
class EstimatorInfo:
    """What the node reports about its estimator: start-up log line, diagnostics, and
    the mesh faces it publishes (None: no mesh)."""

    model_id: str
    model_file: str
    device: str
    backend: str
    precision: str
    summary: str
    mesh_id: str = ""
    faces: np.ndarray | None = None


@dataclass
class PipelineParts:
    """What the node runs, and what it reports about it. ``predictor`` and ``detector``
    are None for the MediaPipe estimator (MediaPipe detects and tracks by itself)."""

    pipeline: HandPipeline | MediaPipePipeline
    info: EstimatorInfo
    predictor: Predictor | None = None
    detector: object | None = None
    detector_path: Path | None = None
    detector_model_id: str = ""

    def retune(self, cfg: HandPoseNodeConfig) -> None:
        """Apply ``cfg``'s run-time tunable settings (tracking, smoothing, detection
        cadence and threshold) between two frames.

        Raises:
            ValueError: a change this estimator cannot take while running.
        """
        self.pipeline.configure(cfg.pipeline_config())
        if self.detector is not None:
            self.detector.score_threshold = float(cfg.detector_score_threshold)
            self.detector.max_hands = int(cfg.max_hands)

    def close(self) -> None:
        """Stop what runs outside this process (the MediaPipe worker)."""
        if isinstance(self.pipeline, MediaPipePipeline):
            self.pipeline.close()


def check_estimator(estimator: str) -> None:
    """Raise StartupError unless ``estimator`` is one this version knows."""
    if estimator not in ESTIMATORS:
        raise StartupError(f"unknown estimator {estimator!r} ({', '.join(ESTIMATORS)})")


def mediapipe_python_path(cfg: HandPoseNodeConfig) -> Path:
    """The parameter mediapipe_python, or the default .venv-peers interpreter."""
    return Path(cfg.mediapipe_python) if cfg.mediapipe_python else default_mediapipe_python()


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


def _load_detector(cfg: HandPoseNodeConfig, device: str):
    try:
        return build_detector(cfg.detector_settings(device))
    except ModelFileError as exc:
        raise StartupError(f"cannot load the hand detector ({exc}); set the parameters "
                           "detector (palm | rejshand) and detector_model_path") from exc
    except ValueError as exc:
        raise StartupError(f"invalid detector settings: {exc}") from exc


def build_mediapipe_pipeline(cfg: HandPoseNodeConfig) -> PipelineParts:
    """Start the MediaPipe worker in its interpreter and warm it up.

    Raises:
        StartupError: the interpreter is missing or the worker does not start there.
    """
    python = mediapipe_python_path(cfg)
    if not python.is_file():
        raise StartupError(f"estimator 'mediapipe': {missing_interpreter_message(python)}")
    try:
        worker = MediaPipeHandsWorker(python, cfg.max_hands)
    except WorkerError as exc:
        raise StartupError(f"estimator 'mediapipe': the MediaPipe worker does not start "
                           f"with {python} ({exc}); recreate .venv-peers with "
                           "`bash scripts/setup_peers.sh`") from exc
    try:
        pipeline = MediaPipePipeline(worker, cfg.pipeline_config(),
                                     hand_size=cfg.hand_size or None)
        pipeline.warm_up()
    except (ValueError, WorkerError) as exc:
        worker.close()
        raise StartupError(f"estimator 'mediapipe' failed to start: {exc}") from exc
    version = worker.versions.get("mediapipe", "?")
    info = EstimatorInfo(
        model_id=pipeline.model_id, model_file=str(python), device="cpu",
        backend=f"mediapipe {version}", precision="fp32",
        summary=f"MediaPipe Hands {version} (model_complexity 1, tracking mode) in a "
                f"worker process of {python}; no mesh")
    return PipelineParts(pipeline=pipeline, info=info)


def build_pipeline(cfg: HandPoseNodeConfig) -> PipelineParts:
    """Load the models named by ``cfg``, wire the pipeline and warm it up (the first
    frame then runs at steady-state speed).

    Raises:
        StartupError: estimator unavailable, a model file missing, truncated, corrupt
            or of another architecture, CUDA refused, the MediaPipe interpreter missing,
            or invalid settings.
    """
    check_estimator(cfg.estimator)
    if cfg.estimator == "mediapipe":
        return build_mediapipe_pipeline(cfg)
    predictor = _load_predictor(cfg)
    detector = _load_detector(cfg, str(predictor.device))
    try:
        pipeline = HandPipeline(predictor, detector, cfg.pipeline_config())
    except ValueError as exc:
        raise StartupError(f"invalid tracking/smoothing settings: {exc}") from exc
    pipeline.warm_up()
    detector_path = Path(cfg.detector_path())
    info = EstimatorInfo(
        model_id=predictor.model_id, model_file=str(predictor.model_path),
        device=str(predictor.device), backend=predictor.engine.backend,
        precision=predictor.engine.precision, mesh_id=predictor.mesh_id,
        faces=predictor.faces,
        summary=f"pose model {predictor.model_path} ({predictor.model_id}, "
                f"{predictor.input_size} px), detector {cfg.detector} {detector_path}; device "
                f"{predictor.device}, backend {predictor.engine.backend}, "
                f"{predictor.engine.precision}")
    return PipelineParts(pipeline=pipeline, info=info, predictor=predictor, detector=detector,
                         detector_path=detector_path,
                         detector_model_id=detector_model_id(detector))
