"""The image source node's parameters: declared once (descriptions, ranges), read into a
dataclass. ``config/image_source.yaml`` carries the same names and defaults (a test keeps
them equal). All parameters are read-only after start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from rejshand_ros.ros.param_specs import ParamSpec, check_value, declare_all
from rejshand_ros.sources.base import SOURCE_KINDS

RELIABILITY_CHOICES = ("best_effort", "reliable")
ENCODINGS = ("rgb8", "bgr8", "mono8")
COMPRESSED_FORMATS = ("", "jpeg", "png")
MOTIONS = ("sequence", "random")
SCENES = ("easy", "full")


PARAMETERS: tuple[ParamSpec, ...] = (
    ParamSpec("source", "synthetic", "where frames come from: camera (OpenCV), video (file), "
              "folder (images, name order) or synthetic (rendered, with ground truth)",
              choices=SOURCE_KINDS),
    ParamSpec("location", "", "camera: OpenCV index or device path (empty = 0); video: the "
              "file; folder: the directory; synthetic: unused"),
    ParamSpec("rate", 10.0, "Hz, frames published per second", 0.1, 240.0),
    ParamSpec("loop", True, "video / folder: start again at the end (else the node exits)"),
    ParamSpec("width", 0, "px; camera: requested width (0 = driver default); synthetic: "
              "rendered width (0 = 640)", 0, 8192),
    ParamSpec("height", 0, "px; camera: requested height (0 = driver default); synthetic: "
              "rendered height (0 = 480)", 0, 8192),
    ParamSpec("frame_id", "camera_optical_frame", "header.frame_id of every message (the "
              "camera optical frame: x right, y down, z forward)"),
    ParamSpec("encoding", "rgb8", "encoding of the published sensor_msgs/Image",
              choices=ENCODINGS),
    ParamSpec("compressed_format", "", "also publish image/compressed in this format "
              "(empty = do not)", choices=COMPRESSED_FORMATS),
    ParamSpec("jpeg_quality", 95, "JPEG quality of image/compressed", 1, 100),
    ParamSpec("camera_info_file", "", "camera_info YAML (ROS calibration format) to publish "
              "on camera_info; synthetic frames publish the renderer's K when empty; other "
              "sources publish no camera_info when empty"),
    ParamSpec("reliability", "best_effort", "QoS reliability of image, image/compressed "
              "and camera_info (best_effort = sensor-data profile)",
              choices=RELIABILITY_CHOICES),
    ParamSpec("qos_depth", 5, "QoS history depth of the image topics", 1, 100),
    ParamSpec("synthetic_seed", 0, "synthetic: seed of the scene (same seed, same frames)",
              0, 2**31 - 1),
    ParamSpec("synthetic_frames", 60, "synthetic: frames in one loop of the sequence", 1, 10000),
    ParamSpec("synthetic_motion", "sequence", "synthetic: sequence (one scene, hands moving "
              "smoothly) or random (an independent scene per frame)", choices=MOTIONS),
    ParamSpec("synthetic_scene", "easy", "synthetic: easy (natural views, nothing in front "
              "of the hand) or full (the training distribution: occluders, extreme views)",
              choices=SCENES),
    ParamSpec("synthetic_hands", 1, "synthetic: hands per scene, 0-2; -1 = random", -1, 2),
    ParamSpec("prerender", True, "synthetic: render the whole loop before publishing "
              "(else frames are rendered on first use, slowing the first loop)"),
    ParamSpec("publish_ground_truth", True, "synthetic: publish the true hands as "
              "rejshand_ros/HandPoseArray on hand_poses_gt (same header as the image)"),
)


@dataclass
class ImageSourceConfig:
    """Values of :data:`PARAMETERS` (see their descriptions)."""

    source: str = "synthetic"
    location: str = ""
    rate: float = 10.0
    loop: bool = True
    width: int = 0
    height: int = 0
    frame_id: str = "camera_optical_frame"
    encoding: str = "rgb8"
    compressed_format: str = ""
    jpeg_quality: int = 95
    camera_info_file: str = ""
    reliability: str = "best_effort"
    qos_depth: int = 5
    synthetic_seed: int = 0
    synthetic_frames: int = 60
    synthetic_motion: str = "sequence"
    synthetic_scene: str = "easy"
    synthetic_hands: int = 1
    prerender: bool = True
    publish_ground_truth: bool = True

    def __post_init__(self) -> None:
        for spec in PARAMETERS:
            check_value(spec, getattr(self, spec.name))
        if self.source in ("video", "folder") and not self.location:
            raise ValueError(f"parameter location must name the {self.source} for "
                             f"source:={self.source}")


def declare_parameters(node) -> ImageSourceConfig:
    """Declare every parameter on ``node`` and return their values.

    Raises:
        ValueError: a value outside its choices (ranges are enforced by rclpy itself).
    """
    values = declare_all(node, PARAMETERS)
    names = {f.name for f in fields(ImageSourceConfig)}
    return ImageSourceConfig(**{k: v for k, v in values.items() if k in names})
