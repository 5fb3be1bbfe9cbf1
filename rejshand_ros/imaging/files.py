"""Writing RGB frames to files: PNG images and MP4 videos (overlays of rejshand-predict
and of the demo monitor).

ROS-free. Frames are (H, W, 3) uint8 RGB; OpenCV writes BGR, so each frame is converted
here. A file that cannot be written raises OSError naming it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


class VideoOverlayWriter:
    """Writes RGB frames to an MP4 file (MPEG-4 Part 2, 'mp4v': OpenCV's codec that is
    always available; VLC, ffmpeg and most players open it)."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"),
                                       float(fps), (int(size[0]), int(size[1])))
        if not self._writer.isOpened():
            raise OSError(f"cannot write video {path} (OpenCV without an MP4 encoder?)")
        self.size = (int(size[0]), int(size[1]))
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            rgb = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA)
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        self._writer.release()


def write_png(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f"cannot write image {path}")
