"""Real-photo backgrounds: a folder of photos and a random crop of one of them.

A folder (searched recursively for .jpg/.jpeg/.png/.bmp/.webp, in sorted relative-path
order) is listed once per process. ``sample_photo_background`` draws which photo and
how to cut it (scale, position, mirror, colour, defocus) without opening it, so scene
sampling stays cheap; ``render_photo_background`` opens the photo (decoded photos are
kept per process in a least-recently-used cache of about ``CACHE_BYTES``) and draws the
crop at the output size. The same folder contents and the same draws give the same
bytes. A photo that cannot be decoded, or is smaller than ``MIN_PHOTO_SIDE`` pixels,
raises :class:`BackgroundError` naming the file.

Images are RGB uint8 (H, W, 3).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Tuple

import cv2
import numpy as np

PHOTO_SUFFIXES: Tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
#: photos with a side shorter than this (pixels) are refused
MIN_PHOTO_SIDE: int = 32
#: decoded photos kept per process (bytes of their pixels)
CACHE_BYTES: int = 256 * 2 ** 20
#: smallest crop, as a fraction of the largest crop of the output's aspect in the photo
MIN_SCALE: float = 0.3
#: a crop is not enlarged more than this (larger crops instead) unless the photo is too small
MAX_ZOOM: float = 2.0
_GREY = np.array([0.299, 0.587, 0.114])


class BackgroundError(ValueError):
    """A background folder with no photos, or an unreadable/unusable photo (named)."""


@dataclass(frozen=True)
class PhotoBackground:
    """How to cut one background out of one photo (all drawn by the scene sampler).

    Attributes:
        path: the photo file.
        scale: crop size / the largest crop of the output's aspect ratio that fits in
            the photo, in [MIN_SCALE, 1] (raised where it would enlarge the crop more
            than MAX_ZOOM times).
        position: (x, y) of the crop's top-left corner as a fraction of the free range
            (photo size - crop size), each in [0, 1].
        flip: mirror left-right.
        brightness: multiplies every channel (exposure).
        contrast: stretch about the crop's mean grey (1: unchanged).
        saturation: 0 grey, 1 unchanged.
        channel_gain: RGB gains (white balance), around 1.
        blur_sigma: Gaussian defocus at the output size, pixels (0: none).
    """

    path: str
    scale: float
    position: Tuple[float, float]
    flip: bool
    brightness: float
    contrast: float
    saturation: float
    channel_gain: Tuple[float, float, float]
    blur_sigma: float


@lru_cache(maxsize=16)
def list_photos(folder: str) -> Tuple[str, ...]:
    """The photo files under ``folder`` (recursive), sorted by relative path.

    Listed once per process: files added later are not seen. Raises BackgroundError
    when the folder is missing or holds no photo.
    """
    root = Path(folder)
    if not root.is_dir():
        raise BackgroundError(f"backgrounds {folder}: not a folder")
    files = sorted((p for p in root.rglob("*")
                    if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES),
                   key=lambda p: p.relative_to(root).as_posix())
    if not files:
        raise BackgroundError(f"backgrounds {folder}: no photos ({', '.join(PHOTO_SUFFIXES)})")
    return tuple(str(p) for p in files)


def decode_photo(path: str, reduced: bool = False) -> np.ndarray:
    """Decode one photo -> (H, W, 3) uint8 RGB (grey and RGBA become RGB).

    Args:
        path: the file.
        reduced: decode at 1/8 size (a fast check that the file is readable).
    Raises:
        BackgroundError naming the file when it cannot be read or decoded, or is smaller
        than MIN_PHOTO_SIDE pixels.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise BackgroundError(f"background photo {path}: cannot read ({exc.strerror or exc})")
    flags = cv2.IMREAD_REDUCED_COLOR_8 if reduced else cv2.IMREAD_COLOR
    image = cv2.imdecode(data, flags) if data.size else None
    if image is None:
        raise BackgroundError(f"background photo {path}: not a decodable image")
    if not reduced and min(image.shape[:2]) < MIN_PHOTO_SIDE:
        raise BackgroundError(f"background photo {path}: {image.shape[1]}x{image.shape[0]} px, "
                              f"smaller than {MIN_PHOTO_SIDE} px")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def check_photos(folder: str) -> int:
    """Check that every photo under ``folder`` decodes (at 1/8 size); returns the count.

    Raises BackgroundError naming the folder or the first bad file.
    """
    files = list_photos(str(folder))
    for path in files:
        decode_photo(path, reduced=True)
    return len(files)


class _PhotoCache:
    """Decoded photos by path, least recently used dropped beyond ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: "OrderedDict[str, np.ndarray]" = OrderedDict()
        self.bytes = 0

    def get(self, path: str) -> np.ndarray:
        image = self.items.get(path)
        if image is not None:
            self.items.move_to_end(path)
            return image
        image = decode_photo(path)
        image.setflags(write=False)
        self.items[path] = image
        self.bytes += image.nbytes
        while self.bytes > self.limit and len(self.items) > 1:
            _, old = self.items.popitem(last=False)
            self.bytes -= old.nbytes
        return image


_CACHE = _PhotoCache(CACHE_BYTES)


def load_photo(path: str) -> np.ndarray:
    """The decoded photo (read-only (H, W, 3) uint8 RGB), from this process's cache."""
    return _CACHE.get(path)


def sample_photo_background(rng: np.random.Generator, folder: str, width: int, height: int
                            ) -> PhotoBackground:
    """Draw a photo of ``folder`` and how to cut a ``width`` x ``height`` background from it.

    Defocus is drawn in proportion to the output size (0.2-1 % of its longer side).
    """
    files = list_photos(str(folder))
    path = files[int(rng.integers(len(files)))]
    scale = float(np.exp(rng.uniform(np.log(MIN_SCALE), 0.0)))
    position = (float(rng.random()), float(rng.random()))
    flip = bool(rng.random() < 0.5)
    brightness = float(rng.uniform(0.7, 1.2))
    contrast = float(rng.uniform(0.7, 1.15))
    saturation = float(rng.uniform(0.5, 1.2))
    gain = np.clip(rng.normal(1.0, 0.05, 3), 0.85, 1.15)
    blur = float(rng.uniform(0.002, 0.01) * max(width, height)) if rng.random() < 0.4 else 0.0
    return PhotoBackground(path=path, scale=scale, position=position, flip=flip,
                           brightness=brightness, contrast=contrast, saturation=saturation,
                           channel_gain=(float(gain[0]), float(gain[1]), float(gain[2])),
                           blur_sigma=blur)


def crop_box(photo_width: int, photo_height: int, width: int, height: int, scale: float,
             position: Tuple[float, float]) -> Tuple[int, int, int, int]:
    """Integer crop (x, y, w, h) in the photo of the output's aspect ratio (pixels).

    ``scale`` is raised where needed so that the crop is enlarged at most MAX_ZOOM times.
    """
    aspect = width / height
    full_w = min(float(photo_width), photo_height * aspect)
    scale = max(scale, min(1.0, width / (MAX_ZOOM * full_w)))
    cw = max(1, min(photo_width, int(round(scale * full_w))))
    ch = max(1, min(photo_height, int(round(scale * full_w / aspect))))
    x = int(round(position[0] * (photo_width - cw)))
    y = int(round(position[1] * (photo_height - ch)))
    return x, y, cw, ch


def colour_matrix(spec: PhotoBackground, mean_grey: float) -> np.ndarray:
    """(3, 4) affine RGB transform: saturation, contrast about ``mean_grey``, gains."""
    s = spec.saturation
    mix = s * np.eye(3) + (1.0 - s) * np.tile(_GREY, (3, 1))  # keeps grey values
    gain = spec.brightness * np.asarray(spec.channel_gain)
    linear = gain[:, None] * spec.contrast * mix
    offset = gain * (1.0 - spec.contrast) * mean_grey
    return np.concatenate([linear, offset[:, None]], axis=1)


def render_photo_background(spec: PhotoBackground, width: int, height: int) -> np.ndarray:
    """The background ``spec`` describes, (height, width, 3) uint8 RGB."""
    photo = load_photo(spec.path)
    x, y, cw, ch = crop_box(photo.shape[1], photo.shape[0], width, height, spec.scale,
                            spec.position)
    roi = photo[y:y + ch, x:x + cw]
    shrink = cw > width or ch > height
    image = cv2.resize(roi, (width, height),
                       interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    if spec.flip:
        image = cv2.flip(image, 1)
    mean_grey = float(np.dot(cv2.mean(image)[:3], _GREY))
    image = cv2.transform(image, colour_matrix(spec, mean_grey))  # saturating uint8
    if spec.blur_sigma > 0.2:
        image = cv2.GaussianBlur(image, (0, 0), spec.blur_sigma)
    return image
