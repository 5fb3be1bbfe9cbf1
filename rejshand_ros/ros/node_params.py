"""hand_pose_node's parameters: one table, one config dataclass, and the mappings onto the
core's configs (PredictorConfig, PipelineConfig, the detector's arguments).

``PARAMETERS`` is the single declaration (description, range, choices);
``config/hand_pose.yaml`` carries the same names and defaults (a test keeps them equal).
All parameters are read-only after start-up. No rclpy import at module level: the
mappings are tested without ROS.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from rejshand_ros.detection.factory import DetectorSettings
from rejshand_ros.pipeline import PipelineConfig
from rejshand_ros.predictor import PredictorConfig
from rejshand_ros.ros.param_specs import ParamSpec, check_value, declare_all
from rejshand_ros.tracking.tracks import SmoothingConfig, TrackerConfig

PARAMETERS: tuple[ParamSpec, ...] = (
    # -- models and compute ---------------------------------------------------------
    ParamSpec("model_path", "", "pose model file (.safetensors, rejshand-model); empty: "
              "the model shipped in the package"),
    ParamSpec("detector", "palm", "hand detector: palm (MediaPipe's palm detection "
              "model, trained on real photos: rotated boxes, no handedness) or rejshand "
              "(ours, trained on synthetic frames only)", choices=("palm", "rejshand")),
    ParamSpec("detector_model_path", "", "the detector's file (palm: .tflite, rejshand: "
              ".safetensors); empty: the one shipped in the package"),
    ParamSpec("estimator", "rejshand", "pose estimator: rejshand (the ReJSHand network, "
              "with mesh) or mediapipe (MediaPipe Hands 0.10.14 in a worker process: "
              "21 keypoints, no mesh)", choices=("rejshand", "mediapipe")),
    ParamSpec("mediapipe_python", "", "Python interpreter with mediapipe==0.10.14 for "
              "estimator mediapipe; empty: .venv-peers/bin/python beside this install's "
              "venv or in a folder above the package (bash scripts/setup_peers.sh)"),
    ParamSpec("device", "auto", "auto (CUDA when available), cuda or cpu",
              choices=("auto", "cuda", "cpu")),
    ParamSpec("cuda_fallback", "warn", "device cuda without a GPU: warn (run on CPU) or "
              "refuse (do not start)", choices=("warn", "refuse")),
    ParamSpec("backend", "auto", "inference backend; auto: onnxruntime on CPU, eager on "
              "CUDA (the measured fast paths)",
              choices=("auto", "eager", "onnxruntime", "compile")),
    ParamSpec("precision", "auto", "inference precision (fp16 needs CUDA); auto: fp16 on "
              "CUDA, fp32 on CPU", choices=("auto", "fp32", "fp16", "bf16")),
    ParamSpec("num_threads", 2, "CPU threads for inference (0: torch's default)", 0, 256),
    # -- detection and tracking -----------------------------------------------------
    ParamSpec("max_hands", 2, "most hands tracked at once", 1, 16),
    ParamSpec("detector_score_threshold", 0.5, "minimum detector score to start a track",
              0.0, 1.0),
    ParamSpec("detect_interval", 4, "while some but fewer than max_hands hands are "
              "tracked, run the detector every N-th frame (with none: every frame)", 1, 1000),
    ParamSpec("presence_threshold", 0.5, "a track ends when the hand presence score "
              "falls below this", 0.0, 1.0),
    ParamSpec("track_box_scale", 1.5, "tracking crop side / side of the previous "
              "keypoints' bounding box", 1.0, 4.0),
    ParamSpec("upright_crops", False, "roll each pose crop so wrist -> middle MCP points "
              "up (MediaPipe's convention; the palm detector's roll, then the previous "
              "keypoints'), for pose models trained on upright-aligned crops; false: "
              "unrolled crops (the shipped pose model)"),
    # -- smoothing ------------------------------------------------------------------
    ParamSpec("smoothing", True, "One-Euro smoothing of each tracked hand over time"),
    ParamSpec("smoothing_min_cutoff", 1.0, "One-Euro minimum cut-off, Hz (lower: "
              "smoother at rest)", 0.001, 1000.0),
    ParamSpec("smoothing_beta", 0.05, "One-Euro speed coefficient (higher: less lag when "
              "moving)", 0.0, 1000.0),
    ParamSpec("smoothing_d_cutoff", 1.0, "One-Euro cut-off of the speed estimate, Hz",
              0.001, 1000.0),
    # -- geometry -------------------------------------------------------------------
    ParamSpec("hand_size", 0.0, "wrist to middle-MCP length in metres used to scale the "
              "skeleton for absolute 3D (typical adult: 0.09); 0: the network's scale",
              0.0, 0.5),
    ParamSpec("use_camera_info", True, "use K and distortion from camera_info: absolute "
              "3D in the camera frame (without it 3D is root-relative)"),
    # -- input ----------------------------------------------------------------------
    ParamSpec("image_transport", "raw", "raw: sensor_msgs/Image on `image`; compressed: "
              "sensor_msgs/CompressedImage on `image/compressed`",
              choices=("raw", "compressed")),
    ParamSpec("qos_reliability", "best_effort", "QoS reliability of the image "
              "subscription (camera drivers publish best_effort)",
              choices=("best_effort", "reliable")),
    ParamSpec("default_frame_id", "", "frame id used for images with an empty "
              "header.frame_id; empty: such images are rejected"),
    ParamSpec("camera_timeout", 2.0, "s without an image after which the tracks are "
              "reset (camera stopped or restarted)", 0.01, 3600.0),
    # -- outputs --------------------------------------------------------------------
    ParamSpec("publish_tf", True, "publish each tracked wrist on /tf when 3D is absolute"),
    ParamSpec("tf_prefix", "hand", "TF child frames are <tf_prefix>_left_wrist and "
              "<tf_prefix>_right_wrist"),
    ParamSpec("mesh_marker_rate", 2.0, "Hz, most mesh TRIANGLE_LIST markers per second "
              "per hand (only while `markers` has subscribers); 0: never", 0.0, 1000.0),
    ParamSpec("marker_display_depth", 0.5, "m, depth at which root-relative hands (no "
              "camera_info) are drawn in RViz", 0.01, 100.0),
    ParamSpec("diagnostics_period", 1.0, "s between /diagnostics messages", 0.01, 60.0),
)


@dataclass
class HandPoseNodeConfig:
    """Values of :data:`PARAMETERS` (see their descriptions)."""

    model_path: str = ""
    detector: str = "palm"
    detector_model_path: str = ""
    estimator: str = "rejshand"
    mediapipe_python: str = ""
    device: str = "auto"
    cuda_fallback: str = "warn"
    backend: str = "auto"
    precision: str = "auto"
    num_threads: int = 2
    max_hands: int = 2
    detector_score_threshold: float = 0.5
    detect_interval: int = 4
    presence_threshold: float = 0.5
    track_box_scale: float = 1.5
    upright_crops: bool = False
    smoothing: bool = True
    smoothing_min_cutoff: float = 1.0
    smoothing_beta: float = 0.05
    smoothing_d_cutoff: float = 1.0
    hand_size: float = 0.0
    use_camera_info: bool = True
    image_transport: str = "raw"
    qos_reliability: str = "best_effort"
    default_frame_id: str = ""
    camera_timeout: float = 2.0
    publish_tf: bool = True
    tf_prefix: str = "hand"
    mesh_marker_rate: float = 2.0
    marker_display_depth: float = 0.5
    diagnostics_period: float = 1.0

    def __post_init__(self) -> None:
        for spec in PARAMETERS:
            check_value(spec, getattr(self, spec.name))
        if self.precision == "fp16" and self.device == "cpu":
            raise ValueError("parameter precision fp16 needs device cuda (use bf16 or fp32 "
                             "on CPU)")
        if self.backend == "onnxruntime" and self.precision not in ("fp32", "auto"):
            raise ValueError("parameter backend onnxruntime runs precision fp32 only")

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> "HandPoseNodeConfig":
        """From ``{name: value}`` (unknown names raise ValueError naming them)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown hand_pose_node parameter(s): {unknown}")
        return cls(**values)

    # -- mappings onto the core's configs ---------------------------------------------
    def predictor_config(self) -> PredictorConfig:
        """The predictor (pose network) part."""
        return PredictorConfig(model_path=self.model_path or None, device=self.device,
                               backend=self.backend, precision=self.precision,
                               num_threads=self.num_threads,
                               hand_size=self.hand_size or None,
                               cuda_fallback=self.cuda_fallback)

    def pipeline_config(self) -> PipelineConfig:
        """Tracking, smoothing and detection cadence."""
        tracker = TrackerConfig(max_hands=self.max_hands,
                                presence_threshold=self.presence_threshold,
                                track_box_scale=self.track_box_scale,
                                upright_crops=self.upright_crops)
        smoothing = SmoothingConfig(enabled=self.smoothing,
                                    min_cutoff=self.smoothing_min_cutoff,
                                    beta=self.smoothing_beta, d_cutoff=self.smoothing_d_cutoff)
        return PipelineConfig(tracker=tracker, smoothing=smoothing,
                              detect_interval=self.detect_interval)

    def detector_settings(self, device: str = "cpu") -> DetectorSettings:
        """The detector part (``device``: the predictor's choice)."""
        return DetectorSettings(kind=self.detector, model_path=self.detector_model_path,
                                score_threshold=self.detector_score_threshold,
                                max_hands=self.max_hands, num_threads=self.num_threads,
                                device=device, backend=self.backend)

    def detector_path(self) -> str:
        """The detector file to load (the shipped one of ``detector`` when the parameter
        is empty)."""
        return str(self.detector_settings().path())


def declare_parameters(node) -> HandPoseNodeConfig:
    """Declare every parameter on ``node`` once and return the validated config.

    Raises:
        ValueError: a value outside its choices (rclpy itself refuses out-of-range
            numbers with ``InvalidParameterValueException``).
    """
    return HandPoseNodeConfig.from_values(declare_all(node, PARAMETERS))
