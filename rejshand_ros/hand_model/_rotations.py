"""Small rotation helpers (numpy only) used by the hand model."""

from __future__ import annotations

import numpy as np


def rot_x(angle: float) -> np.ndarray:
    """Rotation (3, 3) by ``angle`` radians about +x (right-hand rule)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(angle: float) -> np.ndarray:
    """Rotation (3, 3) by ``angle`` radians about +y."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(angle: float) -> np.ndarray:
    """Rotation (3, 3) by ``angle`` radians about +z."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def axis_angle_to_matrix(rotvec: np.ndarray) -> np.ndarray:
    """Rodrigues: axis-angle vector (3,) (radians * unit axis) -> rotation (3, 3)."""
    v = np.asarray(rotvec, dtype=np.float64).reshape(3)
    theta = float(np.linalg.norm(v))
    if theta < 1e-12:
        return np.eye(3)
    k = v / theta
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + np.sin(theta) * kx + (1.0 - np.cos(theta)) * (kx @ kx)


def matrix_to_axis_angle(rot: np.ndarray) -> np.ndarray:
    """Rotation (3, 3) -> axis-angle vector (3,), angle in [0, pi]."""
    r = np.asarray(rot, dtype=np.float64)
    cos_t = np.clip((np.trace(r) - 1.0) / 2.0, -1.0, 1.0)
    theta = float(np.arccos(cos_t))
    if theta < 1e-9:
        return np.zeros(3)
    if np.pi - theta < 1e-6:
        # axis from the symmetric part: R = 2 k k^T - I
        m = (r + np.eye(3)) / 2.0
        k = m[int(np.argmax(np.diag(m)))]
        return theta * k / np.linalg.norm(k)
    w = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    return theta * w / (2.0 * np.sin(theta))


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniformly distributed rotation (3, 3) (from a random unit quaternion)."""
    q = rng.standard_normal(4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def rigid(rot: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Homogeneous transform (4, 4) from rotation (3, 3) and translation (3,)."""
    out = np.eye(4)
    out[:3, :3] = rot
    out[:3, 3] = trans
    return out
