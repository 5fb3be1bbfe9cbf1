"""Frames from OpenCV: a live camera, a video file, a folder of images.

All frames come out as (H, W, 3) uint8 RGB. Opening fails with a SourceError naming the
device or file; so does reading an undecodable image (the folder source then goes on
with the next file).
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np

from rejshand_ros.sources.base import Frame, FrameSource, SourceError, is_image_file

CAMERA_OPEN_TIMEOUT_S = 5.0
CAMERA_FRAME_TIMEOUT_S = 2.0


def read_image_rgb(path: Path) -> np.ndarray:
    """An image file -> (H, W, 3) uint8 RGB (grey and alpha images converted).

    Raises:
        SourceError: the file is missing or not a decodable image.
    """
    data = np.fromfile(str(path), dtype=np.uint8) if path.is_file() else None
    if data is None:
        raise SourceError(f"image not found: {path}")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise SourceError(f"not a readable image: {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder``, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p))


class FolderSource(FrameSource):
    """The images of a folder in name order (looping when asked)."""

    kind = "folder"

    def __init__(self, folder: Path, loop: bool = True) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            raise SourceError(f"not a folder: {folder}")
        self.files = list_images(folder)
        if not self.files:
            raise SourceError(f"no image files (.png, .jpg, ...) in folder: {folder}")
        self.loop = loop
        self._count = 0

    def read(self) -> Frame | None:
        if not self.loop and self._count >= len(self.files):
            return None
        path = self.files[self._count % len(self.files)]
        index = self._count
        self._count += 1
        return Frame(read_image_rgb(path), index, name=path.name)


class VideoSource(FrameSource):
    """The frames of a video file, in order (looping when asked)."""

    kind = "video"

    def __init__(self, path: Path, loop: bool = True) -> None:
        self.path = Path(path)
        self.loop = loop
        self._capture = cv2.VideoCapture(str(self.path))
        if not self._capture.isOpened():
            raise SourceError(f"cannot open video file: {self.path}")
        ok, first = self._capture.read()
        if not ok or first is None:
            self._capture.release()
            raise SourceError(f"no frames in video file: {self.path}")
        self._pending: np.ndarray | None = first
        self._count = 0
        fps = float(self._capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self._fps = fps if 0.0 < fps < 1000.0 else None

    @property
    def native_rate(self) -> float | None:
        return self._fps

    def _next_bgr(self) -> np.ndarray | None:
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        ok, frame = self._capture.read()
        if ok and frame is not None:
            return frame
        if not self.loop or self._count == 0:
            return None
        self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
        ok, frame = self._capture.read()
        if not ok or frame is None:  # some containers cannot seek: reopen
            self._capture.release()
            self._capture = cv2.VideoCapture(str(self.path))
            ok, frame = self._capture.read()
        return frame if ok else None

    def read(self) -> Frame | None:
        bgr = self._next_bgr()
        if bgr is None:
            return None
        index = self._count
        self._count += 1
        return Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), index, name=f"{self.path.name}#{index}")

    def close(self) -> None:
        self._capture.release()


class CameraSource(FrameSource):
    """A live OpenCV camera. A background thread keeps only the newest frame, so a
    slow reader gets the current image instead of a backlog of old ones."""

    kind = "camera"

    def __init__(self, device: str = "0", width: int = 0, height: int = 0) -> None:
        self.device = str(device)
        target = int(self.device) if self.device.isdigit() else self.device
        if hasattr(cv2, "utils") and hasattr(cv2.utils, "logging"):  # our error says it all
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        self._capture = cv2.VideoCapture(target)
        if not self._capture.isOpened():
            raise SourceError(f"cannot open camera {self.device!r} (no such device, busy, "
                              "or no permission)")
        if width > 0:
            self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height > 0:
            self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._lock = threading.Condition()
        self._latest: np.ndarray | None = None
        self._sequence = 0
        self._delivered = 0
        self._running = True
        self._failed = False
        self._thread = threading.Thread(target=self._grab, name="camera-grab", daemon=True)
        self._thread.start()
        with self._lock:
            if not self._lock.wait_for(lambda: self._latest is not None or self._failed,
                                       CAMERA_OPEN_TIMEOUT_S):
                self.close()
                raise SourceError(f"camera {self.device!r} delivered no frame within "
                                  f"{CAMERA_OPEN_TIMEOUT_S:.0f} s")
        if self._latest is None:
            self.close()
            raise SourceError(f"camera {self.device!r} opened but returned no frame")

    def _grab(self) -> None:
        while self._running:
            ok, frame = self._capture.read()
            with self._lock:
                if not ok or frame is None:
                    self._failed = True
                    self._lock.notify_all()
                    return
                self._latest = frame
                self._sequence += 1
                self._lock.notify_all()

    def read(self) -> Frame | None:
        with self._lock:
            fresh = self._lock.wait_for(
                lambda: self._sequence > self._delivered or self._failed, CAMERA_FRAME_TIMEOUT_S)
            if self._failed:
                raise SourceError(f"camera {self.device!r} stopped delivering frames")
            if not fresh:
                raise SourceError(f"camera {self.device!r}: no new frame for "
                                  f"{CAMERA_FRAME_TIMEOUT_S:.0f} s")
            bgr, self._delivered = self._latest, self._sequence
        return Frame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), self._delivered - 1,
                     name=f"camera:{self.device}")

    def close(self) -> None:
        self._running = False
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=1.0)
        self._capture.release()
