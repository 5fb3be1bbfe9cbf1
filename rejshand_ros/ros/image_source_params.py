"""The image source node's parameters, each declared once (``param_specs``).

The fields of :class:`ImageSourceConfig` are the declaration; ``config/image_source.yaml``
and the docs/parameters.md table are checked against it. All are read-only after start-up (the
source is opened once).
"""

from __future__ import annotations

from dataclasses import dataclass

from rejshand_ros.ros.param_specs import NodeConfig, ParamSpec, param
from rejshand_ros.sources.base import SOURCE_KINDS

RELIABILITY_CHOICES = ("best_effort", "reliable")
ENCODINGS = ("rgb8", "bgr8", "mono8")
COMPRESSED_FORMATS = ("", "jpeg", "png")
MOTIONS = ("sequence", "random")
SCENES = ("easy", "full")


@dataclass
class ImageSourceConfig(NodeConfig):
    """image_source_node's parameters (see each description)."""

    source: str = param(
        "synthetic", "where frames come from: camera (OpenCV), video (file), folder (images, "
        "name order) or synthetic (rendered, with ground truth)", choices=SOURCE_KINDS)
    location: str = param(
        "", "camera: OpenCV index or device path (empty = 0); video: the file; folder: the "
        "directory; synthetic: unused")
    rate: float = param(10.0, "Hz, frames published per second", 0.1, 240.0)
    loop: bool = param(True, "video / folder: start again at the end (else the node exits)")
    width: int = param(
        0, "px; camera: requested width (0 = driver default); synthetic: rendered width "
        "(0 = 640)", 0, 8192)
    height: int = param(
        0, "px; camera: requested height (0 = driver default); synthetic: rendered height "
        "(0 = 480)", 0, 8192)
    frame_id: str = param(
        "camera_optical_frame", "header.frame_id of every message (the camera optical "
        "frame: x right, y down, z forward)")
    encoding: str = param("rgb8", "encoding of the published sensor_msgs/Image",
                          choices=ENCODINGS)
    compressed_format: str = param(
        "", "also publish image/compressed in this format (empty = do not)",
        choices=COMPRESSED_FORMATS)
    jpeg_quality: int = param(95, "JPEG quality of image/compressed", 1, 100)
    camera_info_file: str = param(
        "", "camera_info YAML (ROS calibration format) to publish on camera_info; synthetic "
        "frames publish the renderer's K when empty; other sources publish no camera_info "
        "when empty")
    reliability: str = param(
        "best_effort", "QoS reliability of image, image/compressed and camera_info "
        "(best_effort = sensor-data profile)", choices=RELIABILITY_CHOICES)
    qos_depth: int = param(5, "QoS history depth of the image topics", 1, 100)
    synthetic_seed: int = param(
        0, "synthetic: seed of the scene (same seed, same frames)", 0, 2**31 - 1)
    synthetic_frames: int = param(60, "synthetic: frames in one loop of the sequence", 1,
                                  10000)
    synthetic_motion: str = param(
        "sequence", "synthetic: sequence (one scene, hands moving smoothly) or random (an "
        "independent scene per frame)", choices=MOTIONS)
    synthetic_scene: str = param(
        "easy", "synthetic: easy (natural views, nothing in front of the hand) or full (the "
        "training distribution: occluders, extreme views)", choices=SCENES)
    synthetic_hands: int = param(1, "synthetic: hands per scene, 0-2; -1 = random", -1, 2)
    prerender: bool = param(
        True, "synthetic: render the whole loop before publishing (else frames are rendered "
        "on first use, slowing the first loop)")
    publish_ground_truth: bool = param(
        True, "synthetic: publish the true hands as rejshand_ros/HandPoseArray on "
        "hand_poses_gt (same header as the image)")

    def check(self) -> None:
        if self.source in ("video", "folder") and not self.location:
            raise ValueError(f"parameter location must name the {self.source} for "
                             f"source:={self.source}")


#: the parameter table (declaration order)
PARAMETERS: tuple[ParamSpec, ...] = ImageSourceConfig.specs()


def declare_parameters(node) -> ImageSourceConfig:
    """Declare every parameter on ``node`` and return their values.

    Raises:
        ValueError: a value outside its choices (ranges are enforced by rclpy itself).
    """
    return ImageSourceConfig.declare(node)
