"""Choose and build the hand detector: ``palm`` (default) or ``rejshand``.

- ``palm``: MediaPipe's palm detection model (TFLite, trained on real photos), rotated
  hand boxes, no handedness (``detection.palm``); shipped as
  ``weights/palm_detection_full.tflite``.
- ``rejshand``: our CenterNet-style detector trained on synthetic frames only, upright
  boxes with handedness (``detection.detector``); shipped as
  ``weights/hand_detector_fastvit_t8_synth.safetensors``.

The node, ``rejshand-predict`` and the benchmarks all build theirs here, so a setting
means the same everywhere. Every failure to load is a ``ModelFileError`` naming the file
and saying which kind of file was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rejshand_ros.perception.inference import DEFAULT_BACKEND
from rejshand_ros.model.model_file import ModelFileError

DETECTORS = ("palm", "rejshand")
DEFAULT_DETECTOR = "palm"
EXPECTED_FILE = {
    "palm": "MediaPipe's palm detection model (.tflite: palm_detection_full or _lite)",
    "rejshand": "a rejshand-detector file (.safetensors written by rejshand-train with "
                "task: detector)",
}


def check_detector_kind(kind: str) -> str:
    """``kind`` if it is one of :data:`DETECTORS`, else ValueError naming the choices."""
    if kind not in DETECTORS:
        raise ValueError(f"unknown detector {kind!r} (choose from {', '.join(DETECTORS)})")
    return kind


def default_detector_file(kind: str) -> Path:
    """The file shipped in the package for detector ``kind``."""
    check_detector_kind(kind)
    if kind == "palm":
        from rejshand_ros.detection.palm import default_palm_path

        return default_palm_path()
    from rejshand_ros.detection.detector import default_detector_path

    return default_detector_path()


@dataclass
class DetectorSettings:
    """kind: palm | rejshand. model_path: its file ("" = the shipped one).
    score_threshold: minimum detection score. max_hands: most detections per frame.
    num_threads: CPU threads. device / backend: where and how the rejshand detector runs
    (the palm model always runs on the CPU with XNNPACK)."""

    kind: str = DEFAULT_DETECTOR
    model_path: str = ""
    score_threshold: float = 0.5
    max_hands: int = 2
    num_threads: int = 2
    device: str = "cpu"
    backend: str = DEFAULT_BACKEND

    def __post_init__(self) -> None:
        check_detector_kind(self.kind)

    def path(self) -> Path:
        """The file this setting loads."""
        return Path(self.model_path) if self.model_path else default_detector_file(self.kind)


def build_detector(settings: DetectorSettings):
    """The detector named by ``settings`` (``PalmDetector`` or ``HandDetector``).

    Raises:
        ModelFileError: the file is missing, corrupt or not of the expected kind (the
            message names the file, the detector kind and what was expected).
        ValueError: settings out of range.
    """
    path = settings.path()
    shipped = "" if settings.model_path else " (the shipped default is missing from this " \
        "install)"
    if not path.is_file():
        raise ModelFileError(path, f"detector {settings.kind}: file not found{shipped}; "
                             f"expected {EXPECTED_FILE[settings.kind]}")
    try:
        if settings.kind == "palm":
            from rejshand_ros.detection.palm import PalmDetector

            return PalmDetector(path if settings.model_path else None,
                                score_threshold=settings.score_threshold,
                                max_hands=settings.max_hands,
                                num_threads=settings.num_threads or 2)
        from rejshand_ros.detection.detector import HandDetector, detector_backend

        return HandDetector(path, device=settings.device,
                            score_threshold=settings.score_threshold,
                            max_hands=settings.max_hands, num_threads=settings.num_threads,
                            backend=detector_backend(settings.backend))
    except ModelFileError as exc:
        raise ModelFileError(path, f"detector {settings.kind}: {_problem(exc)}; expected "
                             f"{EXPECTED_FILE[settings.kind]}") from exc


def _problem(exc: ModelFileError) -> str:
    """The message of ``exc`` without its leading ``<path>: ``."""
    text = str(exc)
    return text[len(exc.path) + 2:] if text.startswith(exc.path + ": ") else text


def detector_model_id(detector) -> str:
    """A short name of the loaded detector (for logs, diagnostics and JSON output)."""
    model_id = getattr(detector, "model_id", "")
    if not model_id and hasattr(detector, "metadata"):
        model_id = detector.metadata.model_id
    return model_id or Path(getattr(detector, "model_path", "detector")).stem
