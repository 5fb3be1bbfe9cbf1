"""HandDetector: find hands in full RGB frames with a trained detector model file.

    detector = HandDetector("detector.safetensors")
    for d in detector.detect(frame):          # frame: (H, W, 3) uint8 RGB
        print(d.center, d.size, d.score, d.handedness)

Each ``Detection`` is a square box sized like the FreiHAND crop (the 21-keypoint
bounding box's larger side x 1.25, see ``DetectorConfig.box_scale``), so it can be fed to
the pose network's cropper directly.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from rejshand_ros.detection.letterbox import Letterbox, letterbox_image
from rejshand_ros.detection.model import (DETECTOR_MODEL, DetectorMetadata, HandDetectorNet,
                                          load_detector_file)
from rejshand_ros.detection.result import Detection
from rejshand_ros.detection.targets import decode_peaks, select_detections
from rejshand_ros.perception.inference import DEFAULT_BACKEND, InferenceEngine, resolve_path, select_device
from rejshand_ros.perception.hand_prediction import Handedness
from rejshand_ros.resources import package_data_path

DEFAULT_DETECTOR_FILE = "weights/hand_detector_fastvit_t8_synth.safetensors"


def default_detector_path() -> Path:
    """The detector shipped inside the package."""
    return package_data_path(*DEFAULT_DETECTOR_FILE.split("/"))


def detector_backend(pose_backend: str) -> str:
    """The detector's backend for a pose-network ``backend`` setting (the detector has no
    torch.compile path: compile runs it eagerly)."""
    return "eager" if pose_backend == "compile" else pose_backend


def detections_from_rows(rows: np.ndarray, letterbox: Letterbox) -> list[Detection]:
    """Decoded rows (N, 5) (cx, cy, side in input px, score, right prob) -> Detections
    in the image the letterbox was made for."""
    out = []
    for cx, cy, side, score, right in np.asarray(rows, dtype=np.float64).reshape(-1, 5):
        u, v = letterbox.to_image(np.array([cx, cy]))
        is_right = right >= 0.5
        out.append(Detection(center=(float(u), float(v)), size=float(side / letterbox.side_scale),
                             score=float(score),
                             handedness=Handedness.RIGHT if is_right else Handedness.LEFT,
                             handedness_score=float(right if is_right else 1.0 - right)))
    return out


class HandDetector:
    """Loads a ``rejshand-detector`` model file and detects hands in full frames.

    Args:
        model_path: the .safetensors detector file (``ModelFileError`` naming it when
            missing, corrupt or not a detector).
        device: auto | cpu | cuda | cuda:N (``inference.select_device``).
        score_threshold: minimum centre probability of a detection.
        max_hands: most detections returned per frame (highest scores first).
        nms_iou: a box overlapping a higher-scoring one by more than this is dropped.
        num_threads: CPU threads for torch / ONNX Runtime (0: leave torch's setting; ONNX
            Runtime then uses 2).
        reparameterize: fuse the backbone's re-parameterisable branches (faster).
        backend: auto | eager | onnxruntime (``inference.resolve_path``: auto is ONNX
            Runtime on CPU, eager on CUDA); the network always runs in fp32, through
            ``inference.InferenceEngine``.
        cache_dir: where the ONNX export is cached (``inference.export_onnx_cached``).
    """

    def __init__(self, model_path: str | os.PathLike, device: str = "auto",
                 score_threshold: float = 0.3, max_hands: int = 2, nms_iou: float = 0.5,
                 num_threads: int = 0, reparameterize: bool = True,
                 backend: str = DEFAULT_BACKEND,
                 cache_dir: str | None = None) -> None:
        if not 0.0 <= score_threshold <= 1.0:
            raise ValueError(f"score_threshold must be in [0, 1], got {score_threshold}")
        if max_hands < 1:
            raise ValueError(f"max_hands must be >= 1, got {max_hands}")
        self.device = select_device(device)
        self.model_path = Path(model_path)
        model, meta = load_detector_file(model_path, device=self.device)
        self.model: HandDetectorNet = model
        self.metadata: DetectorMetadata = meta
        self.config = self.metadata.config
        self.score_threshold = float(score_threshold)
        self.max_hands = int(max_hands)
        self.nms_iou = float(nms_iou)
        if not reparameterize and resolve_path(backend, "fp32", self.device)[0] == "onnxruntime":
            raise ValueError("backend onnxruntime exports the reparameterised detector")
        self.engine = InferenceEngine(self.model, DETECTOR_MODEL, self.device, backend, "fp32",
                                      num_threads=num_threads, reparameterize=reparameterize,
                                      cache_dir=cache_dir, name=self.model_path.stem)
        self.backend = self.engine.backend

    def preprocess(self, image: np.ndarray) -> tuple[torch.Tensor, Letterbox]:
        """(H, W, 3) uint8 RGB -> (normalised input (1, 3, S, S) on the device, letterbox)."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got "
                             f"{image.shape} {image.dtype}")
        inp, letterbox = letterbox_image(image, self.config.input_size, self.config.pad_rgb)
        tensor = torch.from_numpy(inp).to(self.device).permute(2, 0, 1)[None].float() / 255.0
        return self.model.normalize(tensor), letterbox

    @torch.inference_mode()
    def detect(self, image: np.ndarray) -> list[Detection]:
        """Hands in ``image`` ((H, W, 3) uint8 RGB), best first; empty when none."""
        tensor, letterbox = self.preprocess(image)
        outputs = self.engine.run(tensor)
        peaks = decode_peaks(outputs, self.config.stride, self.config.input_size,
                             top_k=max(4 * self.max_hands, 8))[0].cpu().numpy()
        rows = select_detections(peaks, self.score_threshold, self.max_hands, self.nms_iou)
        return detections_from_rows(rows, letterbox)
