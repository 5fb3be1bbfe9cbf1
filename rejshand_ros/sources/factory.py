"""``open_source``: a frame source by kind (camera, video, folder, synthetic).

Kept apart from ``sources.base`` (the interface) so that the sources import the interface
and the factory imports the sources, with no import circle. Each source is imported when
opened (OpenCV, the renderer), so importing ``rejshand_ros.sources`` stays light.
"""

from __future__ import annotations

from pathlib import Path

from rejshand_ros.sources.base import SOURCE_KINDS, FrameSource, SourceError


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
        from rejshand_ros.sources.synthetic import EASY_SCENE, SCENES, SyntheticSource
        from rejshand_ros.synth import SceneConfig

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
