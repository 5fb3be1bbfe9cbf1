"""Frames from anywhere: the common type of every image source, and the factory.

A :class:`FrameSource` yields :class:`Frame` objects (RGB image, optional intrinsics,
optional ground truth) until it ends. The ROS ``image_source_node`` and the offline
tools both read frames through this interface; nothing here imports ROS.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rejshand_ros.perception.hand_prediction import HandPrediction

SOURCE_KINDS: tuple[str, ...] = ("camera", "video", "folder", "synthetic")
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg",
                                     ".mpeg", ".wmv")


class SourceError(RuntimeError):
    """A source cannot be opened or read (missing file, no camera, undecodable data).

    The message names the file or device.
    """


@dataclass
class Frame:
    """One image of a source.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        index: running number of the frame in this source (0, 1, ...; keeps counting when
            a source loops).
        K: (3, 3) pinhole intrinsics in pixels when the source knows them (synthetic),
            else None.
        ground_truth: the hands really in the image (synthetic: absolute 3D, metres,
            camera optical frame), or None when unknown. An empty list means "no hand".
        name: where the frame came from (file name, "camera:0", "synthetic:<seed>:<i>").
    """

    image: np.ndarray
    index: int
    K: np.ndarray | None = None
    ground_truth: list[HandPrediction] | None = None
    name: str = ""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])


class FrameSource(ABC):
    """An iterator over frames; ``read`` returns None when the source has ended."""

    kind: str = ""

    @abstractmethod
    def read(self) -> Frame | None:
        """The next frame, or None at the end (never for looping or live sources).

        Raises:
            SourceError: this frame could not be read (the source may still go on).
        """

    def close(self) -> None:
        """Release the device or file (idempotent)."""

    @property
    def native_rate(self) -> float | None:
        """Frames per second the source itself runs at, when it has one (video files)."""
        return None

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self):
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def is_video_file(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_EXTENSIONS
