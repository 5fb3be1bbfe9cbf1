"""Vectorised z-buffer triangle rasteriser (numpy only).

Camera convention (OpenCV pinhole): x right, y down, z forward, metres; pixel (u, v)
has its centre at integer coordinates, u = fx x / z + s y / z + cx, v = fy y / z + cy.
Every (face, pixel) candidate inside a face's bounding box is tested at once; the
nearest depth per pixel wins (a true per-pixel depth test, independent of face order).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np


class Raster(NamedTuple):
    """Rasteriser output.

    depth: (H, W) float32, camera z (metres) of the nearest surface, inf background.
    face_id: (H, W) int32, index of the visible face, -1 background.
    barycentrics: (H, W, 3) float32 perspective-correct barycentric coordinates of the
        pixel centre in its face (zeros on background), or None when not requested.
    """

    depth: np.ndarray
    face_id: np.ndarray
    barycentrics: Optional[np.ndarray]


def project(vertices_cam: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pinhole projection (V, 3) camera-frame points -> (V, 2) pixel coordinates."""
    v = np.asarray(vertices_cam, dtype=np.float64)
    p = v @ np.asarray(K, dtype=np.float64).T
    with np.errstate(divide="ignore", invalid="ignore"):
        return p[:, :2] / p[:, 2:3]


def rasterize(
    vertices_cam: np.ndarray,
    faces: np.ndarray,
    K: np.ndarray,
    width: int,
    height: int,
    near: float = 1e-3,
    cull_backfaces: bool = False,
    return_barycentrics: bool = False,
    chunk_candidates: int = 2_000_000,
) -> Raster:
    """Rasterise a triangle mesh with a per-pixel depth test.

    Args:
        vertices_cam: (V, 3) vertices in the camera frame, metres.
        faces: (F, 3) vertex indices.
        K: (3, 3) intrinsics.
        width, height: image size, pixels.
        near: faces with any vertex at z < near are skipped (no clipping).
        cull_backfaces: skip faces whose front (counter-clockwise, outward normal)
            side points away from the camera.
        return_barycentrics: also return per-pixel perspective-correct barycentrics.
        chunk_candidates: cap on (face, pixel) pairs processed at once (memory bound).
    Returns:
        Raster(depth, face_id, barycentrics).
    """
    v = np.asarray(vertices_cam, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    depth = np.full(height * width, np.inf)
    face_id = np.full(height * width, -1, dtype=np.int64)
    bary = np.zeros((height * width, 3)) if return_barycentrics else None

    z = v[:, 2]
    uv = project(v, K)
    tri_uv = uv[f]  # (F, 3, 2)
    tri_z = z[f]  # (F, 3)
    ok = np.all(tri_z >= near, axis=1)
    e1 = tri_uv[:, 1] - tri_uv[:, 0]
    e2 = tri_uv[:, 2] - tri_uv[:, 0]
    area = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]  # twice the signed pixel area
    ok &= np.abs(area) > 1e-12
    if cull_backfaces:
        tri = v[f]
        normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        ok &= np.einsum("ij,ij->i", normal, tri.mean(1)) < 0.0
    with np.errstate(invalid="ignore"):
        umin = np.clip(np.ceil(tri_uv[..., 0].min(1)), 0, width - 1)
        umax = np.clip(np.floor(tri_uv[..., 0].max(1)), 0, width - 1)
        vmin = np.clip(np.ceil(tri_uv[..., 1].min(1)), 0, height - 1)
        vmax = np.clip(np.floor(tri_uv[..., 1].max(1)), 0, height - 1)
    ok &= (tri_uv[..., 0].max(1) >= 0) & (tri_uv[..., 0].min(1) <= width - 1)
    ok &= (tri_uv[..., 1].max(1) >= 0) & (tri_uv[..., 1].min(1) <= height - 1)
    ok &= (umax >= umin) & (vmax >= vmin)
    ids = np.flatnonzero(ok)
    if ids.size == 0:
        return _finish(depth, face_id, bary, width, height)
    bw = (umax[ids] - umin[ids] + 1).astype(np.int64)
    sizes = bw * (vmax[ids] - vmin[ids] + 1).astype(np.int64)
    bounds = np.searchsorted(np.cumsum(sizes), np.arange(chunk_candidates, sizes.sum(),
                                                         chunk_candidates))
    for part in np.split(np.arange(ids.size), np.unique(bounds)):
        if part.size == 0:
            continue
        _raster_chunk(ids[part], bw[part], sizes[part], umin, vmin, tri_uv, tri_z, area,
                      width, depth, face_id, bary)
    return _finish(depth, face_id, bary, width, height)


def _raster_chunk(ids, bw, sizes, umin, vmin, tri_uv, tri_z, area, width, depth, face_id,
                  bary) -> None:
    """Test every pixel of the chunk's bounding boxes and merge into the buffers."""
    fid = np.repeat(ids, sizes)
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    off = np.arange(fid.size) - starts
    w = np.repeat(bw, sizes)
    px = umin[fid] + off % w
    py = vmin[fid] + off // w
    a, b, c = tri_uv[fid, 0], tri_uv[fid, 1], tri_uv[fid, 2]
    inv = 1.0 / area[fid]
    # screen-space barycentrics of the pixel centre
    l1 = ((px - a[:, 0]) * (c[:, 1] - a[:, 1]) - (py - a[:, 1]) * (c[:, 0] - a[:, 0])) * inv
    l2 = ((b[:, 0] - a[:, 0]) * (py - a[:, 1]) - (b[:, 1] - a[:, 1]) * (px - a[:, 0])) * inv
    l0 = 1.0 - l1 - l2
    eps = -1e-9
    inside = (l0 >= eps) & (l1 >= eps) & (l2 >= eps)
    fid, px, py = fid[inside], px[inside], py[inside]
    lam = np.stack([l0[inside], l1[inside], l2[inside]], 1) / tri_z[fid]
    zinv = lam.sum(1)
    d = 1.0 / zinv
    pix = (py * width + px).astype(np.int64)
    order = np.lexsort((d, pix))
    first = np.ones(order.size, dtype=bool)
    first[1:] = pix[order][1:] != pix[order][:-1]
    win = order[first]
    pix, d = pix[win], d[win]
    better = d < depth[pix]
    pix, win = pix[better], win[better]
    depth[pix] = d[better]
    face_id[pix] = fid[win]
    if bary is not None:
        bary[pix] = lam[win] / zinv[win, None]


def _finish(depth, face_id, bary, width, height) -> Raster:
    return Raster(
        depth.reshape(height, width).astype(np.float32),
        face_id.reshape(height, width).astype(np.int32),
        None if bary is None else bary.reshape(height, width, 3).astype(np.float32),
    )
