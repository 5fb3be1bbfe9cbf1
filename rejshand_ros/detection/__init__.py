"""Learned hand detection on full frames (CenterNet-style head on a timm backbone).

``HandDetector(model_path).detect(rgb)`` -> ``Detection``s (square FreiHAND-sized boxes,
score, handedness); trained with ``rejshand-train`` on ``task: detector`` configs
(``config/train/detector_*.yaml``) from ``rejshand-synth --full-frame`` data. No ROS.
"""

from rejshand_ros.detection.config import DetectorConfig, DetectorTrainSettings
from rejshand_ros.detection.detector import (Detection, HandDetector, default_detector_path,
                                             detector_backend)
from rejshand_ros.detection.letterbox import Letterbox, letterbox_image
from rejshand_ros.detection.model import (DETECTOR_MODEL, DetectorMetadata, HandDetectorNet,
                                          load_detector_file, read_detector_metadata,
                                          save_detector_file)

__all__ = [
    "DetectorConfig", "DetectorTrainSettings", "Detection", "HandDetector",
    "default_detector_path", "detector_backend", "Letterbox", "letterbox_image",
    "HandDetectorNet", "DETECTOR_MODEL", "DetectorMetadata", "load_detector_file",
    "read_detector_metadata", "save_detector_file",
]
