"""The predictor API: full image + hand boxes (+ intrinsics) -> HandPredictions.

Everything that runs the network (node, CLIs, evaluator, benchmarks) goes through
:class:`Predictor`. Per hand: a perspective re-crop towards the box centre (mirrored for
left hands), one batched forward pass for all hands, then the outputs are mapped back:
2D keypoints into full-image pixels (distortion re-applied), 3D joints and vertices into
the real camera's optical frame (re-crop rotation and mirror undone), root-relative, or
absolute when intrinsics are given (root translation from the 2D/3D correspondence).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from rejshand_ros.geometry.camera import CameraModel, root_translation
from rejshand_ros.geometry.crop import (CropTransform, crop_to_camera_3d, crop_to_full,
                                        perspective_crop_from_box, unit_to_crop_pixels)
from rejshand_ros.perception.inference import DEFAULT_BACKEND, InferenceEngine, select_device
from rejshand_ros.geometry.keypoints import ROOT_JOINT, WRIST_JOINT
from rejshand_ros.model.model_file import POSE_MODEL, load_model_file
from rejshand_ros.perception.hand_prediction import Handedness, HandPrediction
from rejshand_ros.resources import package_data_path

log = logging.getLogger(__name__)

DEFAULT_MODEL_FILE = "weights/rejshand_lite0_real.safetensors"


def default_model_path() -> Path:
    """The model shipped inside the package."""
    return package_data_path(*DEFAULT_MODEL_FILE.split("/"))


@dataclass(frozen=True)
class HandBox:
    """A square region to look for one hand in: centre (u, v) and side, in full-image
    pixels; ``handedness`` decides mirroring (LEFT -> mirrored crop); ``track_id`` is
    carried through to the prediction."""

    center: tuple[float, float]
    size: float
    handedness: Handedness = Handedness.RIGHT
    rotation_rad: float = 0.0
    track_id: int = 0


@dataclass
class PredictorConfig:
    """model_path: model file (None: the shipped default). device: auto | cuda | cpu.
    backend: auto | eager | onnxruntime | compile (``inference.resolve_path``; auto: ONNX
    Runtime on CPU, eager on CUDA). precision: auto | fp32 | fp16 | bf16.
    hand_size: wrist-to-middle-MCP length in metres used to scale the skeleton for
    absolute 3D (None: trust the network's metric scale)."""

    model_path: str | None = None
    device: str = "auto"
    backend: str = DEFAULT_BACKEND
    precision: str = "fp32"
    num_threads: int = 2
    reparameterize: bool = True
    hand_size: float | None = None
    cuda_fallback: str = "warn"
    cache_dir: str | None = None
    extra: dict = field(default_factory=dict)


class Predictor:
    """Runs a ReJSHand model file on hands in full images.

    ``last_timings_ms``: stages of the latest :meth:`predict` with hands, in ms: ``crop``
    (re-crop transforms + one warp per hand), ``normalise`` and ``network`` (the
    engine's), ``uncrop`` (outputs back to image and camera frame)."""

    def __init__(self, config: PredictorConfig = PredictorConfig()) -> None:
        self.config = config
        path = Path(config.model_path) if config.model_path else default_model_path()
        if not path.exists():
            hint = (" (the shipped default model is missing from this install)"
                    if config.model_path is None else "")
            raise FileNotFoundError(f"model file not found: {path}{hint}")
        self.device = select_device(config.device, config.cuda_fallback)
        model, self.metadata = load_model_file(path, "cpu")
        self.model_path = path
        self.input_size = int(self.metadata.input_size)
        self.mesh_id = self.metadata.mesh_id
        self.model_id = self.metadata.model_id or path.stem
        self.faces = None if self.metadata.faces is None else self.metadata.faces.numpy()
        self.engine = InferenceEngine(model, POSE_MODEL, self.device, config.backend,
                                      config.precision, num_threads=config.num_threads,
                                      reparameterize=config.reparameterize,
                                      cache_dir=config.cache_dir, name=path.stem)
        self.last_timings_ms: dict[str, float] = {}

    # -- crops --------------------------------------------------------------------------
    def crop_transform(self, box: HandBox, camera: CameraModel) -> CropTransform:
        return perspective_crop_from_box(np.asarray(box.center, dtype=np.float64), box.size,
                                         camera.K, self.input_size, box.rotation_rad,
                                         box.handedness == Handedness.LEFT)

    def warp(self, image: np.ndarray, transform: CropTransform, camera: CameraModel,
             out: np.ndarray | None = None) -> np.ndarray:
        """One resampling of ``image`` into the crop (undistorting when needed)."""
        size = self.input_size
        if camera.dist is None:
            return cv2.warpPerspective(image, transform.forward, (size, size), dst=out,
                                       flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        grid = np.stack(np.meshgrid(np.arange(size), np.arange(size)), -1).reshape(-1, 2)
        src = camera.distort(crop_to_full(grid.astype(np.float64), transform))
        maps = src.reshape(size, size, 2).astype(np.float32)
        return cv2.remap(image, maps[..., 0], maps[..., 1], cv2.INTER_LINEAR, dst=out,
                         borderMode=cv2.BORDER_CONSTANT)

    def uncrop_uv(self, uv_unit: np.ndarray, transform: CropTransform,
                  camera: CameraModel) -> np.ndarray:
        """(21, 2) unit crop coordinates -> full-image pixels (distortion re-applied)."""
        ideal = crop_to_full(unit_to_crop_pixels(uv_unit, self.input_size), transform)
        return camera.distort(ideal)

    # -- inference ----------------------------------------------------------------------
    def run_crops(self, crops: np.ndarray) -> dict[str, np.ndarray]:
        """(B, S, S, 3) uint8 RGB crops -> raw network outputs as numpy (crop frame)."""
        return self.engine(crops)

    def predict(self, image: np.ndarray, boxes: list[HandBox],
                camera: CameraModel | None = None) -> list[HandPrediction]:
        """Hands in ``image`` (H, W, 3 uint8 RGB) at ``boxes``; one batched forward pass.

        With ``camera`` the 3D outputs are absolute (camera frame); without it a default
        camera is assumed for the re-crop and 3D stays root-relative.
        """
        if not boxes:
            return []
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
        absolute = camera is not None
        cam = camera if camera is not None else CameraModel.default_for(image.shape[1], image.shape[0])
        start = time.perf_counter()
        transforms = [self.crop_transform(box, cam) for box in boxes]
        crops = np.empty((len(boxes), self.input_size, self.input_size, 3), np.uint8)
        for index, transform in enumerate(transforms):
            self.warp(image, transform, cam, out=crops[index])
        cropped = time.perf_counter()
        raw = self.run_crops(crops)
        inferred = time.perf_counter()
        hands = [self._to_prediction(raw, index, box, transform, cam, absolute)
                 for index, (box, transform) in enumerate(zip(boxes, transforms))]
        self.last_timings_ms = {"crop": (cropped - start) * 1e3, **self.engine.last_timings_ms,
                                "uncrop": (time.perf_counter() - inferred) * 1e3}
        return hands

    def _to_prediction(self, raw: dict[str, np.ndarray], index: int, box: HandBox,
                       transform: CropTransform, camera: CameraModel,
                       absolute: bool) -> HandPrediction:
        uv = self.uncrop_uv(raw["uv"][index], transform, camera)
        joints = crop_to_camera_3d(raw["joints"][index], transform)
        vertices = crop_to_camera_3d(raw["vertices"][index], transform)
        root = joints[ROOT_JOINT].copy()
        joints, vertices = joints - root, vertices - root
        if self.config.hand_size:
            palm = np.linalg.norm(joints[ROOT_JOINT] - joints[WRIST_JOINT])
            if palm > 1e-6:
                factor = self.config.hand_size / palm
                joints, vertices = joints * factor, vertices * factor
        if absolute:
            t = root_translation(joints, uv, camera)
            if t is not None:
                joints, vertices = joints + t, vertices + t
            absolute = t is not None
        p_right = float(raw["right"][index])
        if transform.mirrored:  # the network saw a mirrored (left) hand
            p_right = 1.0 - p_right
        handedness = Handedness.RIGHT if p_right >= 0.5 else Handedness.LEFT
        return HandPrediction(
            uv=uv, joints=joints, vertices=vertices, absolute=absolute,
            presence=float(raw["presence"][index]), handedness=handedness,
            handedness_score=max(p_right, 1.0 - p_right),
            roi=(box.center[0] - box.size / 2, box.center[1] - box.size / 2, box.size, box.size),
            mesh_id=self.mesh_id, model_id=self.model_id, track_id=box.track_id,
            extras={"uv_crop_unit": raw["uv"][index], "p_right_crop": float(raw["right"][index])})


# CameraModel is re-exported: ``from rejshand_ros.perception.predictor import CameraModel`` is how
# users have built the camera they pass to predict().
__all__ = ["CameraModel", "HandBox", "Predictor", "PredictorConfig", "default_model_path"]
