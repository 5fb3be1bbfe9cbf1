"""Build a HandPipeline (or the MediaPipe one) from :class:`PipelineSettings`, or say
clearly why it cannot start.

ROS-free: hand_pose_node maps its parameters onto :class:`PipelineSettings`
(``HandPoseNodeConfig.pipeline_settings``), calls :func:`build_pipeline` and turns a
:class:`StartupError` into a message on stderr and a non-zero exit code; rejshand-predict
builds its MediaPipe pipeline here too. Every message names the file (or setting) and what
was expected there.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from rejshand_ros.detection.factory import DetectorSettings, build_detector, detector_model_id
from rejshand_ros.mediapipe_hands.line_worker import WorkerError
from rejshand_ros.mediapipe_hands.client import (MediaPipeHandsWorker, default_mediapipe_python,
                                                 missing_interpreter_message)
from rejshand_ros.mediapipe_hands.pipeline import MediaPipePipeline
from rejshand_ros.model.model_file import ModelFileError
from rejshand_ros.perception.pipeline import HandPipeline, PipelineConfig
from rejshand_ros.perception.predictor import Predictor, PredictorConfig, default_model_path

ESTIMATORS = ("rejshand", "mediapipe")


class StartupError(RuntimeError):
    """The pipeline cannot start with these settings (the message says why)."""


@dataclass
class PipelineSettings:
    """What :func:`build_pipeline` builds. estimator: rejshand | mediapipe.
    mediapipe_python: the interpreter of the MediaPipe worker ("": the default
    .venv-peers one). The MediaPipe estimator takes max_hands from
    ``pipeline.tracker`` and hand_size from ``predictor``; the detector's ``device`` is
    replaced by the predictor's choice."""

    estimator: str = "rejshand"
    predictor: PredictorConfig = field(default_factory=PredictorConfig)
    detector: DetectorSettings = field(default_factory=DetectorSettings)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    mediapipe_python: str = ""


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

    def retune(self, settings: PipelineSettings) -> None:
        """Apply ``settings``' run-time tunable parts (tracking, smoothing, detection
        cadence, the detector's threshold and max_hands) between two frames.

        Raises:
            ValueError: a change this estimator cannot take while running.
        """
        self.pipeline.configure(settings.pipeline)
        if self.detector is not None:
            self.detector.score_threshold = float(settings.detector.score_threshold)
            self.detector.max_hands = int(settings.detector.max_hands)

    def close(self) -> None:
        """Stop what runs outside this process (the MediaPipe worker)."""
        if isinstance(self.pipeline, MediaPipePipeline):
            self.pipeline.close()


def check_estimator(estimator: str) -> None:
    """Raise StartupError unless ``estimator`` is one this version knows."""
    if estimator not in ESTIMATORS:
        raise StartupError(f"unknown estimator {estimator!r} ({', '.join(ESTIMATORS)})")


def mediapipe_python_path(settings: PipelineSettings) -> Path:
    """The setting mediapipe_python, or the default .venv-peers interpreter."""
    return (Path(settings.mediapipe_python) if settings.mediapipe_python
            else default_mediapipe_python())


def _load_predictor(config: PredictorConfig) -> Predictor:
    path = Path(config.model_path) if config.model_path else default_model_path()
    what = ("expected a pose model file (.safetensors of format 'rejshand-model', "
            "written by rejshand-train); set the parameter model_path")
    if not path.is_file():
        shipped = "" if config.model_path else " (the shipped default model is missing from "\
            "this install)"
        raise StartupError(f"pose model file not found: {path}{shipped}; {what}")
    try:
        return Predictor(config)
    except ModelFileError as exc:
        raise StartupError(f"cannot load the pose model ({exc}); {what}") from exc
    except (RuntimeError, ValueError) as exc:  # cuda refused, fp16 on CPU, no onnxruntime
        raise StartupError(f"cannot start the pose model {path}: {exc}") from exc


def _load_detector(settings: DetectorSettings, device: str):
    try:
        return build_detector(replace(settings, device=device))
    except ModelFileError as exc:
        raise StartupError(f"cannot load the hand detector ({exc}); set the parameters "
                           "detector (palm | rejshand) and detector_model_path") from exc
    except ValueError as exc:
        raise StartupError(f"invalid detector settings: {exc}") from exc


def build_mediapipe_pipeline(settings: PipelineSettings) -> PipelineParts:
    """Start the MediaPipe worker in its interpreter and warm it up.

    Raises:
        StartupError: the interpreter is missing or the worker does not start there.
    """
    python = mediapipe_python_path(settings)
    if not python.is_file():
        raise StartupError(f"estimator 'mediapipe': {missing_interpreter_message(python)}")
    try:
        worker = MediaPipeHandsWorker(python, settings.pipeline.tracker.max_hands)
    except WorkerError as exc:
        raise StartupError(f"estimator 'mediapipe': the MediaPipe worker does not start "
                           f"with {python} ({exc}); recreate .venv-peers with "
                           "`bash scripts/setup_peers.sh`") from exc
    try:
        pipeline = MediaPipePipeline(worker, settings.pipeline,
                                     hand_size=settings.predictor.hand_size or None)
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


def build_pipeline(settings: PipelineSettings) -> PipelineParts:
    """Load the models named by ``settings``, wire the pipeline and warm it up (the first
    frame then runs at steady-state speed).

    Raises:
        StartupError: estimator unavailable, a model file missing, truncated, corrupt
            or of another architecture, CUDA refused, the MediaPipe interpreter missing,
            or invalid settings.
    """
    check_estimator(settings.estimator)
    if settings.estimator == "mediapipe":
        return build_mediapipe_pipeline(settings)
    predictor = _load_predictor(settings.predictor)
    detector = _load_detector(settings.detector, str(predictor.device))
    try:
        pipeline = HandPipeline(predictor, detector, settings.pipeline)
    except ValueError as exc:
        raise StartupError(f"invalid tracking/smoothing settings: {exc}") from exc
    pipeline.warm_up()
    detector_path = settings.detector.path()
    info = EstimatorInfo(
        model_id=predictor.model_id, model_file=str(predictor.model_path),
        device=str(predictor.device), backend=predictor.engine.backend,
        precision=predictor.engine.precision, mesh_id=predictor.mesh_id,
        faces=predictor.faces,
        summary=f"pose model {predictor.model_path} ({predictor.model_id}, "
                f"{predictor.input_size} px), detector {settings.detector.kind} "
                f"{detector_path}; device {predictor.device}, backend "
                f"{predictor.engine.backend}, {predictor.engine.precision}")
    return PipelineParts(pipeline=pipeline, info=info, predictor=predictor, detector=detector,
                         detector_path=detector_path,
                         detector_model_id=detector_model_id(detector))
