"""Similarity Procrustes alignment as in the official FreiHAND evaluation.

Both point sets are centred and divided by their Frobenius norms, the orthogonal
Procrustes rotation is found by SVD (reflections are NOT excluded, as in the official
code), its scale is the sum of the singular values, and the prediction is mapped back
into the ground truth's scale and centre. Everything is vectorised over a leading batch
axis: (K, 3) or (N, K, 3), with one np.linalg.svd call on the stacked 3x3 matrices.

Convention for the returned transform: ``aligned = s * pred @ R.T + t``, i.e. for
column vectors ``aligned_k = s * R @ pred_k + t``. ``R`` may have det = -1.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

#: added to each Frobenius norm before dividing, as the official code does
NORM_EPS: float = 1e-8


def _as_batch(points: np.ndarray, name: str) -> Tuple[np.ndarray, bool]:
    arr = np.asarray(points, dtype=np.float64)
    if arr.ndim == 2:
        return arr[None], True
    if arr.ndim != 3:
        raise ValueError(f"{name}: expected (K, D) or (N, K, D) points, got {arr.shape}")
    return arr, False


def procrustes_transform(
    pred: np.ndarray, gt: np.ndarray
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Similarity transform taking ``pred`` onto ``gt`` in the least-squares sense.

    Args:
        pred: (K, D) or (N, K, D) predicted points (any unit, usually metres).
        gt: same shape, ground truth.
    Returns:
        R: (D, D) or (N, D, D) orthogonal matrix (reflections allowed),
        s: () or (N,) scale, t: (D,) or (N, D) translation (unit of ``gt``),
        so that ``s * pred @ R.T + t`` is the aligned prediction.
    """
    p, single = _as_batch(pred, "pred")
    g, _ = _as_batch(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred {p.shape} and gt {g.shape} must have the same shape")

    mu_p = p.mean(axis=1, keepdims=True)
    mu_g = g.mean(axis=1, keepdims=True)
    p0 = p - mu_p
    g0 = g - mu_g
    norm_p = np.sqrt(np.einsum("nkd,nkd->n", p0, p0)) + NORM_EPS
    norm_g = np.sqrt(np.einsum("nkd,nkd->n", g0, g0)) + NORM_EPS
    p0 = p0 / norm_p[:, None, None]
    g0 = g0 / norm_g[:, None, None]

    # R' minimising ||p0 R' - g0||_F: SVD of the cross-covariance p0^T g0.
    cov = np.einsum("nki,nkj->nij", p0, g0)
    u, sing, vt = np.linalg.svd(cov)
    r_right = u @ vt  # acts on row vectors: p0 @ r_right ~ g0
    rot = np.swapaxes(r_right, 1, 2)  # acts on column vectors
    scale = sing.sum(axis=1) * norm_g / norm_p
    trans = mu_g[:, 0, :] - scale[:, None] * np.einsum("nij,nj->ni", rot, mu_p[:, 0, :])

    if single:
        return rot[0], scale[0], trans[0]
    return rot, scale, trans


def apply_similarity(
    points: np.ndarray, rot: np.ndarray, scale: np.ndarray, trans: np.ndarray
) -> np.ndarray:
    """Apply ``s * points @ R.T + t``.

    Args:
        points: (P, D) with a single (R, s, t), or (N, P, D) with batched (N, ...) ones.
            P need not equal the K the transform was estimated on (e.g. vertices
            transformed with the joints' transform).
    Returns:
        Transformed points, same shape as ``points``.
    """
    pts = np.asarray(points, dtype=np.float64)
    rot = np.asarray(rot, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    trans = np.asarray(trans, dtype=np.float64)
    if rot.ndim == 2:
        return scale * pts @ rot.T + trans
    if pts.ndim != 3 or pts.shape[0] != rot.shape[0]:
        raise ValueError(f"batched transform {rot.shape} needs (N, P, D) points, got {pts.shape}")
    out = np.einsum("nij,npj->npi", rot, pts)
    return scale[:, None, None] * out + trans[:, None, :]


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Align ``pred`` onto ``gt`` with a similarity transform (official FreiHAND way).

    Args:
        pred: (K, D) or (N, K, D); gt: same shape.
    Returns:
        The aligned prediction, same shape, in the unit and frame of ``gt``.
    """
    rot, scale, trans = procrustes_transform(pred, gt)
    return apply_similarity(pred, rot, scale, trans)
