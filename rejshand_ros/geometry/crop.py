"""Crop and uncrop between a full camera image and a square S x S hand crop.

Pixel convention (OpenCV's): integer coordinates are pixel centres, so an S-pixel crop
spans [-0.5, S - 0.5] and its centre is c = (S - 1) / 2. A box (centre, side length in
full-image pixels) is mapped onto the whole crop.

Two kinds of crop:
* affine (:func:`crop_from_box`): scale, in-plane rotation, optional mirror. Its
  ``rotation`` is the in-plane rotation Rz about the optical axis, exact for 3D only
  up to perspective (the box is not moved to the principal point).
* perspective re-crop (:func:`perspective_crop_from_box`): a virtual camera with
  intrinsics K_crop (principal point c) is rotated by R to look at the box centre;
  the image mapping is the homography K_crop R K^-1, so the crop is an undistorted
  pinhole view centred on the hand and 3D in the virtual camera frame is ``R @ X``.

Mirroring (left hands): with ``mirror=True`` the crop is flipped horizontally,
u -> S - 1 - u, so a left hand looks like a right hand. Because c = (S - 1) / 2 this
equals x -> -x in the virtual camera frame (F = diag(-1, 1, 1)). Mapping outputs back:
2D crop points go through :func:`crop_to_full` (the inverse already contains the flip);
3D points in the crop frame go through :func:`crop_to_camera_3d`, X = R^T F X_crop.
F is a reflection: mirrored meshes have reversed triangle winding.

Network 2D coordinates are "unit" crop coordinates: ``uv_unit = (pixel + 0.5) / S`` (0 at
the crop's left/top edge, 1 at its right/bottom edge): :func:`crop_pixels_to_unit`,
:func:`unit_to_crop_pixels`. Projection with intrinsics is ``geometry.camera``'s.

Errors: a box, camera or image that admits no crop (non-finite or non-positive sizes,
a singular K, a transform beyond float64, an empty image) raises ValueError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional

import cv2
import numpy as np

MIRROR_3D: np.ndarray = np.diag([-1.0, 1.0, 1.0])
MIRROR_3D.setflags(write=False)


@dataclass(frozen=True, eq=False)
class CropTransform:
    """Full image -> S x S crop mapping.

    forward: (3, 3) full-image pixels -> crop pixels (last row [0, 0, 1] when affine).
    inverse: (3, 3) crop -> full image.
    size: S, crop side in pixels.
    rotation: (3, 3) R, real camera frame -> virtual crop camera frame (before mirror).
    mirrored: crop flipped horizontally (left hand shown as a right hand).
    K_crop: (3, 3) virtual camera intrinsics, perspective crops only (else None).
    """

    forward: np.ndarray
    inverse: np.ndarray
    size: int
    rotation: np.ndarray
    mirrored: bool = False
    K_crop: Optional[np.ndarray] = None

    @property
    def is_affine(self) -> bool:
        return bool(np.allclose(self.forward[2], [0.0, 0.0, 1.0], atol=1e-12))

    @property
    def affine(self) -> np.ndarray:
        """(2, 3) full -> crop affine matrix, as cv2.warpAffine takes it."""
        if not self.is_affine:
            raise ValueError("perspective crop: use .forward (a homography)")
        return self.forward[:2].copy()

    @property
    def mirror_3d(self) -> np.ndarray:
        """(3, 3) F = diag(-1, 1, 1) when mirrored, else identity."""
        return MIRROR_3D.copy() if self.mirrored else np.eye(3)


class Box(NamedTuple):
    """Square box in full-image pixels: centre (2,) and side length."""

    center: np.ndarray
    size: float


def _rot_z(angle_rad: float) -> np.ndarray:
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _mirror_2d(size: int) -> np.ndarray:
    return np.array([[-1.0, 0.0, size - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def _check_box(center: np.ndarray, box_size: float, out_size: int,
               rotation_rad: float) -> np.ndarray:
    center = np.asarray(center, dtype=np.float64).reshape(-1)
    if center.shape != (2,) or not np.all(np.isfinite(center)):
        raise ValueError(f"box centre must be 2 finite numbers, got {center}")
    if not (np.isfinite(box_size) and box_size > 0):
        raise ValueError(f"box size must be > 0, got {box_size}")
    if int(out_size) != out_size or out_size <= 0:
        raise ValueError(f"crop size must be a positive integer, got {out_size}")
    if not np.isfinite(rotation_rad):
        raise ValueError(f"crop rotation must be finite, got {rotation_rad}")
    return center


def _invertible(forward: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(forward, inverse) with the last entry 1; ValueError when either is not finite
    (a box too small or too large for float64, or a singular camera)."""
    with np.errstate(all="ignore"):
        if np.all(np.isfinite(forward)) and forward[2, 2] != 0:
            forward = forward / forward[2, 2]
            try:
                inverse = np.linalg.inv(forward)
            except np.linalg.LinAlgError:
                inverse = np.full((3, 3), np.nan)
            if np.all(np.isfinite(inverse)) and inverse[2, 2] != 0:
                inverse = inverse / inverse[2, 2]
                if np.all(np.isfinite(inverse)) and np.all(np.isfinite(forward)):
                    return forward, inverse
    raise ValueError(f"{what}: the crop transform is degenerate (not finite or not "
                     "invertible)")


def crop_from_box(
    center: np.ndarray, box_size: float, out_size: int,
    rotation_rad: float = 0.0, mirror: bool = False,
) -> CropTransform:
    """Affine crop of a square box.

    Args:
        center: (2,) box centre, full-image pixels.
        box_size: box side, full-image pixels; mapped onto the whole crop.
        out_size: S, crop side in pixels.
        rotation_rad: in-plane rotation of the content; positive turns it clockwise
            as displayed (image y points down), i.e. Rz(+angle) in the camera frame.
        mirror: flip the crop horizontally (left hand -> right-looking crop).
    """
    center = _check_box(center, box_size, out_size, rotation_rad)
    with np.errstate(all="ignore"):  # degenerate input: _invertible refuses it
        c = (out_size - 1) / 2.0
        scale = out_size / float(box_size)
        rot2 = _rot_z(rotation_rad)
        to_origin = np.array([[1.0, 0.0, -center[0]], [0.0, 1.0, -center[1]], [0.0, 0.0, 1.0]])
        to_crop = np.array([[scale, 0.0, c], [0.0, scale, c], [0.0, 0.0, 1.0]])
        fwd = to_crop @ rot2 @ to_origin
        if mirror:
            fwd = _mirror_2d(out_size) @ fwd
    fwd, inv = _invertible(fwd, f"box {box_size} px at {center} into {out_size} px")
    return CropTransform(
        forward=fwd, inverse=inv, size=int(out_size),
        rotation=_rot_z(rotation_rad), mirrored=bool(mirror), K_crop=None,
    )


def look_at_rotation(ray: np.ndarray) -> np.ndarray:
    """Smallest rotation R (3, 3) with R @ ray/|ray| = (0, 0, 1) (camera frame -> virtual)."""
    d = np.asarray(ray, dtype=np.float64).reshape(3)
    d = d / np.linalg.norm(d)
    z = np.array([0.0, 0.0, 1.0])
    axis = np.cross(d, z)
    sin_a, cos_a = np.linalg.norm(axis), float(d @ z)
    if sin_a < 1e-12:
        if cos_a > 0:
            return np.eye(3)
        return np.diag([1.0, -1.0, -1.0])  # ray along -z: half turn about x
    k = axis / sin_a
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + sin_a * kx + (1.0 - cos_a) * (kx @ kx)


def perspective_crop_from_box(
    center: np.ndarray, box_size: float, K: np.ndarray, out_size: int,
    rotation_rad: float = 0.0, mirror: bool = False, focal: Optional[float] = None,
) -> CropTransform:
    """Perspective re-crop: a virtual camera turned to look at the box centre.

    Args:
        center: (2,) box centre, full-image pixels (undistorted image).
        box_size: box side, full-image pixels.
        K: (3, 3) real camera intrinsics.
        out_size: S, crop side in pixels.
        rotation_rad: extra roll of the virtual camera (same sense as crop_from_box).
        mirror: flip the crop horizontally (x -> -x in the virtual frame).
        focal: virtual focal length in crop pixels; default mean(fx, fy) * S / box_size.
    Returns:
        CropTransform with forward = [Mirror] K_crop R K^-1 and K_crop set.
    """
    center = _check_box(center, box_size, out_size, rotation_rad)
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3):
        raise ValueError(f"K must be (3, 3), got {K.shape}")
    if not (np.all(np.isfinite(K)) and K[0, 0] > 0 and K[1, 1] > 0):
        raise ValueError(f"K must be finite with focal lengths > 0, got {K.tolist()}")
    if focal is not None and not (np.isfinite(focal) and focal > 0):
        raise ValueError(f"virtual focal length must be > 0, got {focal}")
    with np.errstate(all="ignore"):
        k_inv = np.linalg.inv(K) if abs(np.linalg.det(K)) > 0 else np.full((3, 3), np.nan)
    if not np.all(np.isfinite(k_inv)):
        raise ValueError(f"K is not invertible: {K.tolist()}")
    with np.errstate(all="ignore"):  # degenerate input: _invertible refuses it
        rot = _rot_z(rotation_rad) @ look_at_rotation(k_inv @ np.array([*center, 1.0]))
        f = float(focal) if focal is not None else 0.5 * (K[0, 0] + K[1, 1]) * out_size / box_size
        c = (out_size - 1) / 2.0
        k_crop = np.array([[f, 0.0, c], [0.0, f, c], [0.0, 0.0, 1.0]])
        fwd = k_crop @ rot @ k_inv
        if mirror:
            fwd = _mirror_2d(out_size) @ fwd
    fwd, inv = _invertible(fwd, f"box {box_size} px at {center} into {out_size} px")
    return CropTransform(
        forward=fwd, inverse=inv, size=int(out_size),
        rotation=rot, mirrored=bool(mirror), K_crop=k_crop,
    )


def crop_pixels_to_unit(uv: np.ndarray, size: int) -> np.ndarray:
    """Crop pixel coordinates (pixel centres at integers) -> unit coordinates in [0, 1]."""
    return (np.asarray(uv, dtype=np.float64) + 0.5) / size


def unit_to_crop_pixels(uv_unit: np.ndarray, size: int) -> np.ndarray:
    """Inverse of :func:`crop_pixels_to_unit`."""
    return np.asarray(uv_unit, dtype=np.float64) * size - 0.5


def _apply_homography(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape[-1] != 2:
        raise ValueError(f"expected (..., 2) points, got {pts.shape}")
    out = pts @ h[:2, :2].T + h[:2, 2]
    w = pts @ h[2, :2] + h[2, 2]
    return out / w[..., None]


def full_to_crop(points: np.ndarray, transform: CropTransform) -> np.ndarray:
    """(..., 2) full-image pixels -> crop pixels."""
    return _apply_homography(transform.forward, points)


def crop_to_full(points: np.ndarray, transform: CropTransform) -> np.ndarray:
    """(..., 2) crop pixels -> full-image pixels (undoes any mirror)."""
    return _apply_homography(transform.inverse, points)


def camera_to_crop_3d(points: np.ndarray, transform: CropTransform) -> np.ndarray:
    """(..., 3) real camera frame -> virtual crop frame: F R X (metres)."""
    m = transform.mirror_3d @ transform.rotation
    return np.asarray(points, dtype=np.float64) @ m.T


def crop_to_camera_3d(points: np.ndarray, transform: CropTransform) -> np.ndarray:
    """(..., 3) virtual crop frame -> real camera frame: R^T F X (metres).

    Works on absolute points and on root-relative offsets alike (it is linear).
    """
    m = transform.rotation.T @ transform.mirror_3d
    return np.asarray(points, dtype=np.float64) @ m.T


def mirror_x_points(points: np.ndarray, width: int) -> np.ndarray:
    """Mirror (..., 2) pixel points horizontally in an image ``width`` wide: u -> width-1-u."""
    out = np.array(points, dtype=np.float64, copy=True)
    out[..., 0] = (width - 1) - out[..., 0]
    return out


def mirror_x_3d(points: np.ndarray) -> np.ndarray:
    """Mirror (..., 3) points in a camera frame: x -> -x."""
    out = np.array(points, dtype=np.float64, copy=True)
    out[..., 0] = -out[..., 0]
    return out


def upright_rotation_rad(uv: np.ndarray, root: int = 0, tip: int = 9) -> float:
    """Crop roll (``rotation_rad`` of the crop functions) that turns the hand upright.

    Upright, as in MediaPipe's hand crops: the vector from the wrist (joint ``root``) to
    the middle-finger MCP (joint ``tip``) points up (-y) in the crop. ``uv``: (21, 2)
    full-image pixels. Returns an angle in (-pi, pi]; 0.0 when the two points coincide
    or are not finite.
    """
    pts = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    v = pts[tip] - pts[root]
    if not np.all(np.isfinite(v)) or not np.any(v):
        return 0.0
    angle = -np.pi / 2.0 - np.arctan2(v[1], v[0])
    return float(np.pi - (np.pi - angle) % (2.0 * np.pi))


def rolled_box(points: np.ndarray, rotation_rad: float, scale: float
               ) -> tuple[np.ndarray, float]:
    """Square box around (K, 2) pixel keypoints taken in a frame rolled by
    ``rotation_rad`` (the crop roll): (centre (2,) in the image, side = the larger extent of
    the rolled bounding box x ``scale``, at least ``scale`` px). Non-finite points are
    ignored; raises ValueError when none is left."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if pts.shape[0] == 0:
        raise ValueError("rolled_box: no finite keypoints")
    cos, sin = np.cos(rotation_rad), np.sin(rotation_rad)
    roll = np.array([[cos, -sin], [sin, cos]])  # image -> crop axes (crop convention)
    rolled = pts @ roll.T
    lo, hi = rolled.min(axis=0), rolled.max(axis=0)
    return roll.T @ ((lo + hi) / 2.0), float(max((hi - lo).max(), 1.0) * scale)


def upright_box(points: np.ndarray, scale: float) -> tuple[np.ndarray, float, float]:
    """The upright crop of a hand's (21, 2) keypoints: (centre (2,), side, rotation_rad),
    rotation from :func:`upright_rotation_rad`, box from :func:`rolled_box`."""
    rotation = upright_rotation_rad(points)
    center, side = rolled_box(points, rotation, scale)
    return center, side, rotation


def box_from_keypoints(uv: np.ndarray, scale: float = 1.25) -> Box:
    """Square box around (K, 2) pixel keypoints: bbox centre, side = max(w, h) * scale.

    Non-finite keypoints are ignored; raises ValueError if none is left or the box
    would be empty.
    """
    pts = np.asarray(uv, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if pts.shape[0] == 0:
        raise ValueError("box_from_keypoints: no finite keypoints")
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    size = float(np.max(hi - lo)) * scale
    if not size > 0:
        raise ValueError(f"box_from_keypoints: degenerate box (size {size})")
    return Box(center=(lo + hi) / 2.0, size=size)


def warp_to_crop(
    image: np.ndarray, transform: CropTransform, size: Optional[int] = None,
    interpolation: int = cv2.INTER_LINEAR, border_value: float = 0.0,
) -> np.ndarray:
    """Resample ``image`` (H, W[, C]) into the (S, S[, C]) crop; outside pixels = border_value.

    Raises ValueError for an empty image.
    """
    s = int(size if size is not None else transform.size)
    if image.size == 0:
        raise ValueError(f"cannot crop an empty image (shape {image.shape})")
    if transform.is_affine:
        return cv2.warpAffine(
            image, transform.affine, (s, s), flags=interpolation,
            borderMode=cv2.BORDER_CONSTANT, borderValue=border_value,
        )
    return cv2.warpPerspective(
        image, transform.forward, (s, s), flags=interpolation,
        borderMode=cv2.BORDER_CONSTANT, borderValue=border_value,
    )
