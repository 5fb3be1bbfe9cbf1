"""Vectorised z-buffer triangle rasteriser (numpy only).

Camera convention (OpenCV pinhole): x right, y down, z forward, metres; pixel (u, v)
has its centre at integer coordinates, u = fx x / z + s y / z + cx, v = fy y / z + cy.
Every (face, pixel) candidate of a face's conservative per-row pixel span is tested at
once; the nearest depth per pixel wins (a true per-pixel depth test, independent of
face order; on an exact depth tie the face listed first wins).
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
    face_id = np.full(height * width, -1, dtype=np.int32)
    bary = np.zeros((height * width, 3), np.float32) if return_barycentrics else None

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
    rows = _row_spans(ids, tri_uv, umin, umax, vmin, vmax)
    bounds = np.searchsorted(np.cumsum(rows[3]), np.arange(chunk_candidates, rows[3].sum(),
                                                           chunk_candidates))
    coeffs = _edge_coefficients(tri_uv, area)
    for part in np.split(np.arange(rows[0].size), np.unique(bounds)):
        if part.size == 0:
            continue
        _raster_rows(tuple(r[part] for r in rows), coeffs, tri_z, width, depth, face_id, bary)
    return _finish(depth, face_id, bary, width, height)


def _row_spans(ids, tri_uv, umin, umax, vmin, vmax):
    """Per (face, pixel row): face, row v, first column and candidate count.

    The column range is a conservative superset of the pixel centres inside the
    triangle on that row (the union over its edges of the edge's x-extent within
    +-0.01 px of the row, widened by one pixel); the exact inside test follows.
    """
    heights = (vmax[ids] - vmin[ids] + 1).astype(np.int64)
    face = np.repeat(ids, heights)
    starts = np.repeat(np.cumsum(heights) - heights, heights)
    row = vmin[face] + (np.arange(face.size) - starts)
    tri = tri_uv[face]  # (R, 3, 2)
    lo = np.full(face.size, np.inf)
    hi = np.full(face.size, -np.inf)
    delta = 0.01
    for i, j in ((0, 1), (1, 2), (2, 0)):
        p, q = tri[:, i], tri[:, j]
        dy = q[:, 1] - p[:, 1]
        flat = np.abs(dy) < 1e-12
        safe = np.where(flat, 1.0, dy)
        s0 = (row - delta - p[:, 1]) / safe
        s1 = (row + delta - p[:, 1]) / safe
        a = np.clip(np.minimum(s0, s1), 0.0, 1.0)
        b = np.clip(np.maximum(s0, s1), 0.0, 1.0)
        valid = np.where(flat, np.abs(p[:, 1] - row) <= delta, np.maximum(s0, s1) >= 0.0)
        valid &= np.where(flat, True, np.minimum(s0, s1) <= 1.0)
        a = np.where(flat, 0.0, a)
        b = np.where(flat, 1.0, b)
        xa = p[:, 0] + a * (q[:, 0] - p[:, 0])
        xb = p[:, 0] + b * (q[:, 0] - p[:, 0])
        lo = np.where(valid, np.minimum(lo, np.minimum(xa, xb)), lo)
        hi = np.where(valid, np.maximum(hi, np.maximum(xa, xb)), hi)
    with np.errstate(invalid="ignore"):
        first = np.maximum(np.floor(lo) - 1.0, umin[face])
        last = np.minimum(np.ceil(hi) + 1.0, umax[face])
    count = np.where(np.isfinite(lo) & (last >= first), last - first + 1.0, 0.0).astype(np.int64)
    keep = count > 0
    return (face[keep], row[keep].astype(np.int64), first[keep].astype(np.int64), count[keep])


def _edge_coefficients(tri_uv, area):
    """Per face (F, 2, 3): screen barycentrics l1, l2 = A u + B v + C of a pixel (u, v)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / area
    a, b, c = tri_uv[:, 0], tri_uv[:, 1], tri_uv[:, 2]
    # l1 = ((u - ax)(cy - ay) - (v - ay)(cx - ax)) / area
    c1 = np.stack([(c[:, 1] - a[:, 1]), -(c[:, 0] - a[:, 0]),
                   -a[:, 0] * (c[:, 1] - a[:, 1]) + a[:, 1] * (c[:, 0] - a[:, 0])], 1)
    # l2 = ((bx - ax)(v - ay) - (by - ay)(u - ax)) / area
    c2 = np.stack([-(b[:, 1] - a[:, 1]), (b[:, 0] - a[:, 0]),
                   -(b[:, 0] - a[:, 0]) * a[:, 1] + (b[:, 1] - a[:, 1]) * a[:, 0]], 1)
    return np.stack([c1, c2], 1) * inv[:, None, None]


def _raster_rows(rows, coeffs, tri_z, width, depth, face_id, bary) -> None:
    """Test the candidate pixels of a chunk of rows and merge into the buffers."""
    face, row, first, count = rows
    co = coeffs[face]  # (R, 2, 3)
    base1 = co[:, 0, 1] * row + co[:, 0, 2]
    base2 = co[:, 1, 1] * row + co[:, 1, 2]
    rid = np.repeat(np.arange(face.size), count)
    starts = np.repeat(np.cumsum(count) - count, count)
    px = first[rid] + (np.arange(rid.size) - starts)
    l1 = co[rid, 0, 0] * px + base1[rid]
    l2 = co[rid, 1, 0] * px + base2[rid]
    l0 = 1.0 - l1 - l2
    eps = -1e-9
    inside = (l0 >= eps) & (l1 >= eps) & (l2 >= eps)
    rid, px = rid[inside], px[inside]
    fid = face[rid]
    lam = np.stack([l0[inside], l1[inside], l2[inside]], 1) / tri_z[fid]
    zinv = lam.sum(1)
    d = 1.0 / zinv
    pix = row[rid] * width + px
    before = depth[pix]
    np.minimum.at(depth, pix, d)
    win = np.flatnonzero((d == depth[pix]) & (d < before))[::-1]  # first candidate wins ties
    pix = pix[win]
    face_id[pix] = fid[win]
    if bary is not None:
        bary[pix] = lam[win] / zinv[win, None]


def _finish(depth, face_id, bary, width, height) -> Raster:
    return Raster(
        depth.reshape(height, width).astype(np.float32),
        face_id.reshape(height, width),
        None if bary is None else bary.reshape(height, width, 3),
    )
