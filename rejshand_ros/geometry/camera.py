"""The camera model: pinhole intrinsics K with OpenCV distortion, and what needs them.

One type, :class:`CameraModel`, is what every part takes for intrinsics (predictor,
MediaPipe conversion, markers, CLIs). It is built from K (``CameraModel(K, dist)``), from
the fields of a CameraInfo message or a camera_info YAML file
(:meth:`CameraModel.from_camera_info`, which checks them: the ROS shell's
``camera_model_from_info`` and ``CameraCalibration.camera_model`` both go through it), or
as a plausible default for crops only (:meth:`CameraModel.default_for`).

Frames and units: points are in the camera's optical frame (x right, y down, z forward),
metres; pixels follow OpenCV (integer coordinates are pixel centres). ``dist`` holds
OpenCV's coefficients (k1, k2, p1, p2[, k3, ...]), i.e. CameraInfo's ``plumb_bob`` and
``rational_polynomial`` models; None means an ideal pinhole camera.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

#: CameraInfo.distortion_model values whose D are OpenCV's (k1, k2, p1, p2[, k3, ...])
OPENCV_DISTORTION_MODELS = ("plumb_bob", "rational_polynomial")
MIN_ROOT_DEPTH_M = 0.05  # a solved root closer than this is rejected
# cv2.undistortPoints defaults to 5 iterations (~1e-3 px off near image corners)
_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-12)


@dataclass(frozen=True)
class CameraModel:
    """Pinhole intrinsics K (3x3, pixels) and optional OpenCV distortion coefficients
    (all-zero coefficients are stored as None)."""

    K: np.ndarray
    dist: np.ndarray | None = None

    def __post_init__(self) -> None:
        K = np.asarray(self.K, dtype=np.float64).reshape(3, 3)
        if not np.isfinite(K).all() or K[0, 0] <= 0 or K[1, 1] <= 0:
            raise ValueError(f"invalid camera intrinsics K={K.tolist()}")
        object.__setattr__(self, "K", K)
        if self.dist is not None:
            dist = np.asarray(self.dist, dtype=np.float64).ravel()
            if not np.isfinite(dist).all():
                raise ValueError("distortion coefficients must be finite")
            object.__setattr__(self, "dist", dist if np.any(dist) else None)

    @staticmethod
    def default_for(width: int, height: int) -> "CameraModel":
        """A plausible camera (60 deg horizontal field of view) for crops only."""
        focal = 0.5 * width / np.tan(np.deg2rad(30.0))
        return CameraModel(np.array([[focal, 0, (width - 1) / 2], [0, focal, (height - 1) / 2],
                                     [0, 0, 1]]))

    @staticmethod
    def from_camera_info(k, d, distortion_model: str, width: int, height: int,
                         where: str = "camera_info") -> "CameraModel":
        """The fields of a CameraInfo (or camera_info file) -> CameraModel, in pixels of the
        *unrectified* image: ``k`` 9 numbers (row-major K), ``d`` the coefficients of
        ``distortion_model``, ``width`` x ``height`` the image size.

        Raises:
            ValueError (messages start with ``where``): zero/NaN/negative focal length,
                non-finite K or D, a K that is not an intrinsic matrix, a zero image
                size, a distortion model other than plumb_bob / rational_polynomial with
                non-zero coefficients, or a coefficient count OpenCV does not take.
        """
        K = np.asarray(k, dtype=np.float64).reshape(3, 3)
        if not np.isfinite(K).all():
            raise ValueError(f"{where} K is not finite: {K.ravel().tolist()}")
        if K[0, 0] <= 0 or K[1, 1] <= 0:
            raise ValueError(f"{where} focal length must be > 0, got fx={K[0, 0]}, "
                             f"fy={K[1, 1]}")
        if K[2, 2] != 1.0 or K[1, 0] != 0 or K[2, 0] != 0 or K[2, 1] != 0:
            raise ValueError(f"{where} K is not an intrinsic matrix: {K.ravel().tolist()}")
        if width == 0 or height == 0:
            raise ValueError(f"{where} image size is {width}x{height}")
        dist = np.asarray(d, dtype=np.float64).ravel()
        if not np.isfinite(dist).all():
            raise ValueError(f"{where} D is not finite: {dist.tolist()}")
        if dist.size and np.any(dist) and distortion_model not in OPENCV_DISTORTION_MODELS:
            raise ValueError(f"{where} distortion model {distortion_model!r} is not "
                             f"supported (use {' or '.join(OPENCV_DISTORTION_MODELS)})")
        if dist.size not in (0, 4, 5, 8, 12, 14):
            raise ValueError(f"{where} D has {dist.size} coefficients (OpenCV takes 4, 5, "
                             f"8, 12 or 14)")
        return CameraModel(K, dist if dist.size else None)

    def distort(self, ideal: np.ndarray) -> np.ndarray:
        """(N, 2) pixels of the ideal pinhole camera -> where they appear in the distorted
        image (``ideal`` itself without distortion)."""
        if self.dist is None:
            return ideal
        rays = np.concatenate([(ideal - self.K[:2, 2]) / np.diag(self.K)[:2],
                               np.ones((ideal.shape[0], 1))], 1)
        src, _ = cv2.projectPoints(rays, np.zeros(3), np.zeros(3), self.K, self.dist)
        return src.reshape(-1, 2)


def solve_root_translation(joints_rel: np.ndarray, uv: np.ndarray,
                           camera: CameraModel) -> np.ndarray:
    """Translation t (3,) m such that ``joints_rel`` (N, 3) m + t projects onto ``uv``
    (N, 2) pixels, in the least-squares sense.

    Linear in t with normalised image coordinates (x_i, y_i):
    (X_i + t_x) - x_i (Z_i + t_z) = 0 and (Y_i + t_y) - y_i (Z_i + t_z) = 0.
    (Undistorted with OpenCV's default 5 iterations, as the node always has.)
    """
    if camera.dist is not None:
        norm = cv2.undistortPoints(uv.reshape(-1, 1, 2).astype(np.float64), camera.K,
                                   camera.dist).reshape(-1, 2)
    else:
        norm = (uv - camera.K[:2, 2]) / np.diag(camera.K)[:2]
    x, y = norm[:, 0], norm[:, 1]
    X, Y, Z = joints_rel[:, 0], joints_rel[:, 1], joints_rel[:, 2]
    ones, zeros = np.ones_like(x), np.zeros_like(x)
    A = np.concatenate([np.stack([ones, zeros, -x], 1), np.stack([zeros, ones, -y], 1)])
    b = np.concatenate([x * Z - X, y * Z - Y])
    t, *_ = np.linalg.lstsq(A, b, rcond=None)
    return t


def root_translation(joints_rel: np.ndarray, uv: np.ndarray,
                     camera: CameraModel) -> np.ndarray | None:
    """:func:`solve_root_translation`, or None when the 2D/3D fit is degenerate (not
    finite, or the root nearer than ``MIN_ROOT_DEPTH_M``: e.g. a collapsed skeleton);
    the caller then keeps the hand root-relative."""
    t = solve_root_translation(joints_rel, uv, camera)
    return t if np.isfinite(t).all() and t[2] > MIN_ROOT_DEPTH_M else None


def project(points: np.ndarray, K: np.ndarray, dist: Optional[np.ndarray] = None) -> np.ndarray:
    """(..., 3) camera-frame points (metres, z > 0) -> (..., 2) pixels, optional distortion."""
    pts = np.asarray(points, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    if dist is None or not np.any(dist):
        xy = pts[..., :2] / pts[..., 2:3]
        return xy @ K[:2, :2].T + K[:2, 2]
    flat = pts.reshape(-1, 1, 3)
    uv, _ = cv2.projectPoints(flat, np.zeros(3), np.zeros(3), K,
                              np.asarray(dist, dtype=np.float64))
    return uv.reshape(*pts.shape[:-1], 2)


def normalized_coords(uv: np.ndarray, K: np.ndarray, dist: Optional[np.ndarray] = None) -> np.ndarray:
    """(..., 2) pixels -> (..., 2) normalised image coordinates x/z, y/z (undistorted)."""
    pts = np.asarray(uv, dtype=np.float64)
    K = np.asarray(K, dtype=np.float64)
    if dist is None or not np.any(dist):
        return (pts - K[:2, 2]) @ np.linalg.inv(K[:2, :2]).T
    src, dist = pts.reshape(-1, 1, 2), np.asarray(dist, dtype=np.float64)
    if hasattr(cv2, "undistortPointsIter"):  # OpenCV 4.x
        und = cv2.undistortPointsIter(src, K, dist, None, None, _UNDISTORT_CRITERIA)
    else:  # OpenCV 5 folded the criteria into undistortPoints
        und = cv2.undistortPoints(src, K, dist, R=None, P=None, criteria=_UNDISTORT_CRITERIA)
    return und.reshape(pts.shape)


def undistort_points(uv: np.ndarray, K: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """(..., 2) distorted pixels -> pixels of the ideal pinhole camera with the same K."""
    xy = normalized_coords(uv, K, dist)
    return xy @ np.asarray(K, dtype=np.float64)[:2, :2].T + np.asarray(K)[:2, 2]


def unproject(
    uv: np.ndarray, K: np.ndarray, depth: Optional[np.ndarray] = None,
    dist: Optional[np.ndarray] = None,
) -> np.ndarray:
    """(..., 2) pixels -> (..., 3) rays with z = 1, or points at ``depth`` (z, metres)."""
    xy = normalized_coords(uv, K, dist)
    rays = np.concatenate([xy, np.ones(xy.shape[:-1] + (1,))], axis=-1)
    if depth is None:
        return rays
    return rays * np.asarray(depth, dtype=np.float64)[..., None]
