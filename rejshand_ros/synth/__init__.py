"""Synthetic hand images with exact ground truth, rendered with the open hand model.

``render_frame`` / ``render_crop`` return one sample in memory; ``writer.write_split``
(CLI ``rejshand-synth``) writes FreiHAND-layout datasets. numpy / scipy / cv2 only.
"""

from rejshand_ros.synth.generate import (
    HandAnnotation,
    SynthSample,
    annotate,
    render_sample,
    render_crop,
    render_frame,
)
from rejshand_ros.synth.scene import Scene, SceneConfig, sample_crop_scene, sample_frame_scene

__all__ = [
    "HandAnnotation", "SynthSample", "annotate", "render_sample", "render_crop", "render_frame",
    "Scene", "SceneConfig", "sample_crop_scene", "sample_frame_scene",
]
