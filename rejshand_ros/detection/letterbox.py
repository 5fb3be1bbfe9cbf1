"""Letterbox: a full frame resized (aspect kept) and padded into the square network input.

Pixel convention everywhere: pixel centres at integer coordinates (u right, v down), so a
pixel's area spans ``[u - 0.5, u + 0.5)``. Resizing by ``s`` maps ``u -> (u + 0.5) * s - 0.5``;
the resized image is pasted at an integer offset ``(pad_x, pad_y)``, centred.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Letterbox:
    """Mapping between full-image pixels and letterboxed-input pixels.

    scale_x, scale_y: resize factors (equal up to rounding of the resized size);
    pad_x, pad_y: offset of the resized image in the input, px; size: input side, px;
    image_width, image_height: the full image's size, px.
    """

    scale_x: float
    scale_y: float
    pad_x: int
    pad_y: int
    size: int
    image_width: int
    image_height: int

    @classmethod
    def fit(cls, width: int, height: int, size: int) -> "Letterbox":
        """The letterbox of a ``width`` x ``height`` image into a ``size`` square."""
        if width < 1 or height < 1 or size < 1:
            raise ValueError(f"letterbox of a {width}x{height} image into {size} px")
        scale = size / max(width, height)
        new_w = min(size, max(1, int(round(width * scale))))
        new_h = min(size, max(1, int(round(height * scale))))
        return cls(scale_x=new_w / width, scale_y=new_h / height,
                   pad_x=(size - new_w) // 2, pad_y=(size - new_h) // 2, size=size,
                   image_width=int(width), image_height=int(height))

    @property
    def resized_size(self) -> tuple[int, int]:
        """(width, height) of the resized image inside the input, px."""
        return (int(round(self.image_width * self.scale_x)),
                int(round(self.image_height * self.scale_y)))

    @property
    def side_scale(self) -> float:
        """Factor from a length in image px to input px (geometric mean of the axes)."""
        return float(np.sqrt(self.scale_x * self.scale_y))

    def to_input(self, uv: np.ndarray) -> np.ndarray:
        """(..., 2) image pixel coordinates -> input pixel coordinates."""
        uv = np.asarray(uv, dtype=np.float64)
        scale = np.array([self.scale_x, self.scale_y])
        return (uv + 0.5) * scale - 0.5 + np.array([self.pad_x, self.pad_y])

    def to_image(self, uv: np.ndarray) -> np.ndarray:
        """(..., 2) input pixel coordinates -> image pixel coordinates."""
        uv = np.asarray(uv, dtype=np.float64)
        scale = np.array([self.scale_x, self.scale_y])
        return (uv - np.array([self.pad_x, self.pad_y]) + 0.5) / scale - 0.5

    def apply(self, image: np.ndarray, pad_rgb: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
        """(H, W, 3) uint8 image -> (size, size, 3) uint8 input (area filter when shrinking)."""
        height, width = image.shape[:2]
        if (width, height) != (self.image_width, self.image_height):
            raise ValueError(f"letterbox made for {self.image_width}x{self.image_height}, "
                             f"image is {width}x{height}")
        new_w, new_h = self.resized_size
        shrinking = new_w < width or new_h < height
        resized = image if (new_w, new_h) == (width, height) else cv2.resize(
            image, (new_w, new_h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
        out = np.empty((self.size, self.size, 3), dtype=np.uint8)
        out[:] = np.asarray(pad_rgb, dtype=np.uint8)
        out[self.pad_y:self.pad_y + new_h, self.pad_x:self.pad_x + new_w] = resized
        return out


def letterbox_image(image: np.ndarray, size: int,
                    pad_rgb: tuple[int, int, int] = (0, 0, 0)) -> tuple[np.ndarray, Letterbox]:
    """(H, W, 3) uint8 RGB -> ((size, size, 3) uint8 input, its Letterbox)."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
    box = Letterbox.fit(image.shape[1], image.shape[0], size)
    return box.apply(image, pad_rgb), box
