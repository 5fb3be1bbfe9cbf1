"""Linear joint regressors: joints = W @ vertices, W of shape (J, V).

The same weights act on x, y and z, so each (sample, coordinate) pair is one equation.
A regressor whose rows sum to 1 commutes with translation (regressing translated
vertices gives translated joints), which is what MANO's J_regressor satisfies.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from scipy.optimize import nnls

from rejshand_ros.geometry.keypoints import (MANO_FINGERTIP_VERTICES, MANO_NUM_JOINTS,
                                             MANO_TO_FREIHAND)


def _design(vertices: np.ndarray, joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stack (N, V, 3) / (N, J, 3) into A (3N, V) and B (3N, J)."""
    v = np.asarray(vertices, dtype=np.float64)
    j = np.asarray(joints, dtype=np.float64)
    if v.ndim != 3 or j.ndim != 3 or v.shape[0] != j.shape[0] or v.shape[2] != j.shape[2]:
        raise ValueError(
            f"expected vertices (N, V, 3) and joints (N, J, 3), got {v.shape} and {j.shape}"
        )
    a = np.transpose(v, (0, 2, 1)).reshape(-1, v.shape[1])
    b = np.transpose(j, (0, 2, 1)).reshape(-1, j.shape[1])
    return a, b


def fit_joint_regressor(
    vertices: np.ndarray,
    joints: np.ndarray,
    ridge: float = 1e-8,
    nonnegative: bool = False,
    rows_sum_to_one: bool = False,
) -> np.ndarray:
    """Fit W (J, V) minimising sum ||W @ vertices_n - joints_n||^2 + lam * ||W||^2.

    Args:
        vertices: (N, V, 3) meshes (metres).
        joints: (N, J, 3) joints of the same meshes (metres).
        ridge: Tikhonov weight *relative* to the mean diagonal of A^T A
            (lam = ridge * mean(diag(A^T A))); keeps under-determined fits (3N < V) finite.
        nonnegative: constrain W >= 0 (scipy NNLS, one solve per joint; ridge is added
            as extra rows).
        rows_sum_to_one: constrain each row to sum to 1 (translation-equivariant
            regressor). Without ``nonnegative`` this is solved exactly through the
            KKT system; with it, the constraint is imposed by a heavily weighted extra
            equation and the rows are then renormalised, so it holds to rounding.
    Returns:
        W, shape (J, V), float64.
    """
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0, got {ridge}")
    a, b = _design(vertices, joints)
    num_v = a.shape[1]
    gram = a.T @ a
    lam = ridge * float(np.mean(np.diag(gram))) if num_v else 0.0

    if not nonnegative:
        lhs = gram + lam * np.eye(num_v)
        rhs = a.T @ b  # (V, J)
        if not rows_sum_to_one:
            return np.linalg.lstsq(lhs, rhs, rcond=None)[0].T
        # KKT: [[lhs, 1], [1^T, 0]] [w; mu] = [rhs; 1]
        kkt = np.zeros((num_v + 1, num_v + 1))
        kkt[:num_v, :num_v] = lhs
        kkt[:num_v, num_v] = 1.0
        kkt[num_v, :num_v] = 1.0
        kkt_rhs = np.vstack([rhs, np.ones((1, rhs.shape[1]))])
        return np.linalg.lstsq(kkt, kkt_rhs, rcond=None)[0][:num_v].T

    rows = [a]
    if lam > 0:
        rows.append(np.sqrt(lam) * np.eye(num_v))
    weight = 0.0
    if rows_sum_to_one:
        weight = 1e3 * np.sqrt(max(float(np.mean(np.diag(gram))), 1e-12))
        rows.append(weight * np.ones((1, num_v)))
    a_aug = np.vstack(rows)
    extra = a_aug.shape[0] - a.shape[0]
    w = np.empty((b.shape[1], num_v))
    for k in range(b.shape[1]):
        target = np.zeros(a_aug.shape[0])
        target[: a.shape[0]] = b[:, k]
        if rows_sum_to_one:
            target[-1] = weight
        w[k] = nnls(a_aug, target, maxiter=50 * num_v + 10 * extra)[0]
    if rows_sum_to_one:
        sums = w.sum(axis=1, keepdims=True)
        if np.any(sums <= 0):
            raise ValueError("non-negative fit gave an all-zero row; cannot make it sum to 1")
        w = w / sums
    return w


def regress_joints(regressor: Any, vertices: Any) -> Any:
    """Joints from vertices: (J, V) @ (..., V, 3) -> (..., J, 3).

    Uses ``@`` only, so it works for numpy arrays and equally for torch tensors
    (regressor and vertices on the same device and dtype).
    """
    if regressor.shape[-1] != vertices.shape[-2]:
        raise ValueError(
            f"regressor {tuple(regressor.shape)} does not match vertices {tuple(vertices.shape)}"
        )
    return regressor @ vertices


def mano_regressor_freihand(
    j_regressor: Any, fingertip_vertices: Sequence[int] = MANO_FINGERTIP_VERTICES
) -> np.ndarray:
    """21-row regressor in FreiHAND order from MANO's (16, 778) J_regressor.

    Rows 0-15 are MANO's joints, then one-hot rows for the 5 fingertip vertices
    (thumb, index, middle, ring, pinky), reordered with MANO_TO_FREIHAND.
    Accepts a dense array or anything with ``toarray()`` (a sparse matrix).
    Returns (21, 778) float64.
    """
    reg = j_regressor.toarray() if hasattr(j_regressor, "toarray") else j_regressor
    reg = np.asarray(reg, dtype=np.float64)
    if reg.ndim != 2 or reg.shape[0] != MANO_NUM_JOINTS:
        raise ValueError(f"expected a ({MANO_NUM_JOINTS}, V) J_regressor, got {reg.shape}")
    tips = np.asarray(fingertip_vertices, dtype=np.int64)
    if tips.shape != (5,) or tips.min() < 0 or tips.max() >= reg.shape[1]:
        raise ValueError(f"need 5 fingertip vertex indices in [0, {reg.shape[1]}), got {tips}")
    one_hot = np.zeros((5, reg.shape[1]))
    one_hot[np.arange(5), tips] = 1.0
    return np.vstack([reg, one_hot])[list(MANO_TO_FREIHAND)]
