"""Image sources without ROS: camera, video file, image folder, synthetic renderer.

``open_source(kind, location, ...)`` returns a :class:`FrameSource` whose ``read()``
gives :class:`Frame` objects (RGB image, intrinsics when known, ground truth for
synthetic frames). ``CameraCalibration`` reads and writes ROS camera_info YAML files.
Used by ``image_source_node`` and the offline CLIs; numpy / OpenCV only.
"""

from rejshand_ros.sources.base import (IMAGE_EXTENSIONS, SOURCE_KINDS, VIDEO_EXTENSIONS, Frame,
                                       FrameSource, SourceError, is_image_file, is_video_file)
from rejshand_ros.sources.camera_info import CalibrationError, CameraCalibration
from rejshand_ros.sources.factory import open_source

__all__ = [
    "IMAGE_EXTENSIONS", "SOURCE_KINDS", "VIDEO_EXTENSIONS", "Frame", "FrameSource",
    "SourceError", "is_image_file", "is_video_file", "open_source", "CalibrationError",
    "CameraCalibration",
]
