"""Anti-aliased compositing of rendered pixels over a background.

The exact raster decides which pixel centres are covered. Only pixels within one pixel
of the silhouette boundary (the "band") are anti-aliased: their coverage is measured on
a 4x4 supersampled drawing (cv2.fillConvexPoly with sub-pixel precision) of the
triangles that touch the band, and pixels whose centre is just outside borrow the
colour of their covered neighbours. Pixel centres are at integer coordinates.
"""

from __future__ import annotations

from typing import Tuple

import cv2
import numpy as np

#: supersampling factor (per axis) of the boundary coverage
AA_FACTOR: int = 4
_SHIFT = 4  # fractional bits of the cv2 polygon coordinates


def fill_triangles(shape: Tuple[int, int], tri_uv: np.ndarray, factor: int,
                   origin: Tuple[int, int] = (0, 0)) -> np.ndarray:
    """Union of triangles (T, 3, 2) (full-resolution pixels) drawn at ``factor`` x.

    Args:
        shape: (h, w) of the full-resolution region.
        tri_uv: triangle corners, full-resolution pixel coordinates.
        factor: supersampling per axis.
        origin: full-resolution pixel (x, y) at the region's top-left corner.
    Returns:
        (h * factor, w * factor) uint8 mask, 255 inside.
    """
    mask = np.zeros((shape[0] * factor, shape[1] * factor), np.uint8)
    pts = (tri_uv - np.asarray(origin, np.float64) + 0.5) * factor - 0.5
    pts = np.round(pts * (1 << _SHIFT)).astype(np.int32)
    for tri in pts:
        cv2.fillConvexPoly(mask, tri, 255, cv2.LINE_8, _SHIFT)
    return mask


def _touching(tri_uv: np.ndarray, band: np.ndarray, origin: Tuple[int, int]) -> np.ndarray:
    """Mask (T,) of triangles whose (1-px padded) bounding box contains a band pixel."""
    h, w = band.shape
    integral = cv2.integral(band.astype(np.uint8))
    lo = np.floor(tri_uv.min(1) - np.asarray(origin)) - 1
    hi = np.ceil(tri_uv.max(1) - np.asarray(origin)) + 1
    x0 = np.clip(lo[:, 0], 0, w).astype(np.int64)
    y0 = np.clip(lo[:, 1], 0, h).astype(np.int64)
    x1 = np.clip(hi[:, 0] + 1, 0, w).astype(np.int64)
    y1 = np.clip(hi[:, 1] + 1, 0, h).astype(np.int64)
    total = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
    return total > 0


def composite(background: np.ndarray, colors: np.ndarray, idx: np.ndarray,
              covered: np.ndarray, tri_uv: np.ndarray) -> np.ndarray:
    """Composite shaded pixels over ``background`` with anti-aliased outlines.

    Args:
        background: (H, W, 3) uint8 or float image.
        colors: (P, 3) colours of the covered pixels (same scale as the background).
        idx: (P,) flat indices of the covered pixels.
        covered: (H, W) bool, the exact raster coverage (idx's pixels).
        tri_uv: (T, 3, 2) projected front-facing triangles of everything rendered.
    Returns:
        (H, W, 3) float32 image.
    """
    height, width = covered.shape
    out = background.astype(np.float32)
    out.reshape(-1, 3)[idx] = colors
    if idx.size == 0:
        return out
    ys, xs = np.divmod(idx, width)
    x0, y0 = max(int(xs.min()) - 2, 0), max(int(ys.min()) - 2, 0)
    x1, y1 = min(int(xs.max()) + 3, width), min(int(ys.max()) + 3, height)
    inside = covered[y0:y1, x0:x1].astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    band = cv2.dilate(inside, kernel) != cv2.erode(inside, kernel)
    by, bx = np.nonzero(band)
    if by.size == 0:
        return out
    keep = _touching(tri_uv, band, (x0, y0))
    hi = fill_triangles((y1 - y0, x1 - x0), tri_uv[keep], AA_FACTOR, (x0, y0))
    f = AA_FACTOR
    coverage = hi.reshape(y1 - y0, f, x1 - x0, f)[by, :, bx, :].mean(axis=(1, 2)) / 255.0
    roi = out[y0:y1, x0:x1]
    own = roi[by, bx]
    # uncovered centres take the mean colour of their covered 8-neighbours
    total = np.zeros_like(own)
    count = np.zeros(by.size, np.float32)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            ny = np.clip(by + dy, 0, y1 - y0 - 1)
            nx = np.clip(bx + dx, 0, x1 - x0 - 1)
            w = inside[ny, nx].astype(np.float32)
            total += w[:, None] * roi[ny, nx]
            count += w
    is_in = inside[by, bx] > 0
    fg = np.where(is_in[:, None], own, total / np.maximum(count, 1.0)[:, None])
    alpha = np.where(is_in, np.maximum(coverage, 0.5), np.where(count > 0, coverage, 0.0))
    bg = background[y0:y1, x0:x1][by, bx].astype(np.float32)
    roi[by, bx] = bg + alpha[:, None].astype(np.float32) * (fg - bg)
    return out
