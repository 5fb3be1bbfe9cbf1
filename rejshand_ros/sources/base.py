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

from rejshand_ros.prediction import HandPrediction

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


def open_source(kind: str, location: str = "", *, loop: bool = True, width: int = 0,
                height: int = 0, seed: int = 0, num_frames: int = 30,
                motion: str = "sequence", num_hands: int = -1, scene: str = "easy"
                ) -> FrameSource:
    """Open a source by kind.

    Args:
        kind: camera | video | folder | synthetic.
        location: camera: the OpenCV index ("0") or a device path; video: the file;
            folder: the directory of images; synthetic: ignored.
        loop: start again at the end (video, folder; synthetic always loops).
        width, height: camera: requested size (0: the driver's default); synthetic: the
            rendered size (0: 640 x 480).
        seed, num_frames, motion, num_hands: synthetic only (see SyntheticSource).
        scene: synthetic only: "easy" (no occluders, natural views) or "full" (the
            training distribution).
    Raises:
        SourceError: the file, folder or camera cannot be opened (the message names it).
        ValueError: an unknown kind or a bad option.
    """
    if kind == "camera":
        from rejshand_ros.sources.capture import CameraSource

        return CameraSource(location or "0", width, height)
    if kind == "video":
        from rejshand_ros.sources.capture import VideoSource

        return VideoSource(_existing(location, "video file"), loop=loop)
    if kind == "folder":
        from rejshand_ros.sources.capture import FolderSource

        return FolderSource(_existing(location, "image folder"), loop=loop)
    if kind == "synthetic":
        from rejshand_ros.synth import SceneConfig
        from rejshand_ros.sources.synthetic import EASY_SCENE, SCENES, SyntheticSource

        if scene not in SCENES:
            raise ValueError(f"synthetic scene must be one of {SCENES}, got {scene!r}")
        return SyntheticSource(seed=seed, width=width or 640, height=height or 480,
                               num_frames=num_frames, motion=motion,
                               num_hands=None if num_hands < 0 else num_hands,
                               config=EASY_SCENE if scene == "easy" else SceneConfig())
    raise ValueError(f"unknown source kind {kind!r} (one of: {', '.join(SOURCE_KINDS)})")


def _existing(location: str, what: str) -> Path:
    if not location:
        raise SourceError(f"no {what} given")
    path = Path(location).expanduser()
    if not path.exists():
        raise SourceError(f"{what} not found: {path}")
    return path
