"""hand_pose_node's parameters, each declared once (``param_specs``), and the mappings
onto the core's configs (PredictorConfig, PipelineConfig, the detector's arguments,
and all of them as the PipelineSettings that ``rejshand_ros.perception.pipeline_setup`` builds).

The fields of :class:`HandPoseNodeConfig` are the declaration: default, description,
range or choices, and whether the parameter may change at run time (tunable: tracking,
detection cadence and smoothing; the models, device and topics are read-only).
``config/hand_pose.yaml`` and the docs/parameters.md table are checked against it. No rclpy
import at module level: the mappings are tested without ROS.
"""

from __future__ import annotations

from dataclasses import dataclass

from rejshand_ros.detection.factory import DetectorSettings
from rejshand_ros.perception.pipeline import PipelineConfig
from rejshand_ros.perception.pipeline_setup import PipelineSettings
from rejshand_ros.perception.predictor import PredictorConfig
from rejshand_ros.ros.param_specs import NodeConfig, ParamSpec, param
from rejshand_ros.perception.tracking.tracks import SmoothingConfig, TrackerConfig


@dataclass
class HandPoseNodeConfig(NodeConfig):
    """hand_pose_node's parameters (see each description)."""

    # -- models and compute ---------------------------------------------------------
    model_path: str = param(
        "", "pose model file (.safetensors, rejshand-model); empty: the model shipped in "
        "the package")
    detector: str = param(
        "palm", "hand detector: palm (MediaPipe's palm detection model, trained on real "
        "photos: rotated boxes, no handedness) or rejshand (ours, trained on synthetic frames "
        "only)", choices=("palm", "rejshand"))
    detector_model_path: str = param(
        "", "the detector's file (palm: .tflite, rejshand: .safetensors); empty: the one "
        "shipped in the package")
    estimator: str = param(
        "rejshand", "pose estimator: rejshand (the ReJSHand network, with mesh) or mediapipe "
        "(MediaPipe Hands 0.10.14 in a worker process: 21 keypoints and world landmarks, no "
        "mesh; see the README)", choices=("rejshand", "mediapipe"))
    mediapipe_python: str = param(
        "", "Python interpreter with mediapipe==0.10.14 for estimator mediapipe; empty: "
        ".venv-peers/bin/python beside this install's venv or in a folder above the package "
        "(bash scripts/setup_peers.sh)")
    device: str = param("auto", "auto (CUDA when available), cuda or cpu",
                        choices=("auto", "cuda", "cpu"))
    cuda_fallback: str = param(
        "warn", "device cuda without a GPU: warn (run on CPU) or refuse (do not start)",
        choices=("warn", "refuse"))
    backend: str = param(
        "auto", "inference backend; auto: the measured fast path, ONNX Runtime on CPU "
        "(agrees with eager within 0.01 px / 0.01 mm), eager on CUDA; the node warms the "
        "models up before it subscribes", choices=("auto", "eager", "onnxruntime", "compile"))
    precision: str = param(
        "auto", "inference precision (fp16 needs CUDA); auto: fp16 on CUDA, fp32 on CPU",
        choices=("auto", "fp32", "fp16", "bf16"))
    num_threads: int = param(2, "CPU threads for inference (0: torch's default)", 0, 256)
    # -- detection and tracking -----------------------------------------------------
    max_hands: int = param(2, "most hands tracked at once (estimator mediapipe: fixed at "
                           "start-up)", 1, 16, tunable=True)
    detector_score_threshold: float = param(
        0.5, "minimum detector score to start a track (palm: MediaPipe's 0.5; rejshand is "
        "calibrated for 0.3)", 0.0, 1.0, tunable=True)
    detect_interval: int = param(
        4, "while some but fewer than max_hands hands are tracked, run the detector every "
        "N-th frame (with none: every frame)", 1, 1000, tunable=True)
    presence_threshold: float = param(
        0.5, "a track ends when the hand presence score falls below this", 0.0, 1.0,
        tunable=True)
    track_box_scale: float = param(
        1.5, "tracking crop side / side of the previous keypoints' bounding box", 1.0, 4.0,
        tunable=True)
    crop_roll: str = param(
        "auto", "roll of the pose crops: upright (wrist -> middle MCP points up: the palm "
        "detector's roll, then the previous keypoints', as MediaPipe does), image (never "
        "rolled) or auto (as the pose model was trained: its model file's crop_roll; the "
        "shipped model: upright)", choices=("auto", "image", "upright"))
    # -- smoothing ------------------------------------------------------------------
    smoothing: bool = param(True, "One-Euro smoothing of each tracked hand over time",
                            tunable=True)
    smoothing_min_cutoff: float = param(
        1.0, "One-Euro minimum cut-off, Hz (lower: smoother at rest)", 0.001, 1000.0,
        tunable=True)
    smoothing_beta: float = param(
        0.05, "One-Euro speed coefficient (higher: less lag when moving)", 0.0, 1000.0,
        tunable=True)
    smoothing_d_cutoff: float = param(
        1.0, "One-Euro cut-off of the speed estimate, Hz", 0.001, 1000.0, tunable=True)
    # -- geometry -------------------------------------------------------------------
    hand_size: float = param(
        0.0, "m, wrist to middle-MCP length used to scale the skeleton for absolute 3D "
        "(typical adult: 0.09); 0: the network's scale", 0.0, 0.5)
    use_camera_info: bool = param(
        True, "use K and distortion from camera_info: absolute 3D in the camera frame "
        "(without it 3D is root-relative)")
    # -- input ----------------------------------------------------------------------
    image_transport: str = param(
        "raw", "raw: sensor_msgs/Image on `image`; compressed: sensor_msgs/CompressedImage "
        "on `image/compressed`", choices=("raw", "compressed"))
    qos_reliability: str = param(
        "best_effort", "QoS reliability of the image subscription (camera drivers publish "
        "best_effort)", choices=("best_effort", "reliable"))
    default_frame_id: str = param(
        "", "frame id used for images with an empty header.frame_id; empty: such images "
        "are rejected")
    camera_timeout: float = param(
        2.0, "s without an image after which the tracks are reset (camera stopped or "
        "restarted)", 0.01, 3600.0)
    # -- outputs --------------------------------------------------------------------
    publish_tf: bool = param(True, "publish each tracked wrist on /tf (orientation always; "
                             "position absolute with camera_info, else root-relative)",
                             tunable=True)
    tf_prefix: str = param(
        "hand", "TF child frames are <tf_prefix>_left_wrist and <tf_prefix>_right_wrist")
    tf_relative_frame: str = param(
        "", "parent frame of the wrist TF of root-relative hands (no camera_info): the wrist "
        "relative to the middle knuckle, axes as the camera's; empty: the image frame, the "
        "hand placed marker_display_depth along its ray as the markers draw it")
    mesh_marker_rate: float = param(
        2.0, "Hz, most mesh TRIANGLE_LIST markers per second per hand (only while `markers` "
        "has subscribers); 0: never", 0.0, 1000.0)
    marker_display_depth: float = param(
        0.5, "m, depth at which root-relative hands (no camera_info) are drawn in RViz",
        0.01, 100.0, tunable=True)
    diagnostics_period: float = param(1.0, "s between /diagnostics messages", 0.01, 60.0)

    def check(self) -> None:
        if self.precision == "fp16" and self.device == "cpu":
            raise ValueError("parameter precision fp16 needs device cuda (use bf16 or fp32 "
                             "on CPU)")
        if self.backend == "onnxruntime" and self.precision not in ("fp32", "auto"):
            raise ValueError("parameter backend onnxruntime runs precision fp32 only")

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
        upright = None if self.crop_roll == "auto" else self.crop_roll == "upright"
        tracker = TrackerConfig(max_hands=self.max_hands,
                                presence_threshold=self.presence_threshold,
                                track_box_scale=self.track_box_scale, upright_crops=upright)
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

    def pipeline_settings(self) -> PipelineSettings:
        """Everything ``build_pipeline`` needs (the detector's device: the predictor's
        choice, set there)."""
        return PipelineSettings(estimator=self.estimator, predictor=self.predictor_config(),
                                detector=self.detector_settings(),
                                pipeline=self.pipeline_config(),
                                mediapipe_python=self.mediapipe_python)

    def detector_path(self) -> str:
        """The detector file to load (the shipped one of ``detector`` when the parameter
        is empty)."""
        return str(self.detector_settings().path())


#: the parameter table (declaration order)
PARAMETERS: tuple[ParamSpec, ...] = HandPoseNodeConfig.specs()


def declare_parameters(node) -> HandPoseNodeConfig:
    """Declare every parameter on ``node`` once and return the validated config.

    Raises:
        ValueError: a value outside its choices (rclpy itself refuses out-of-range
            numbers with ``InvalidParameterValueException``).
    """
    return HandPoseNodeConfig.declare(node)
