"""One training/evaluation sample: the perspective re-crop around a hand and its labels.

Labels are transformed with the image, so they stay consistent under augmentation:
the crop is a virtual camera turned towards the (jittered) box centre, rolled by the
rotation and optionally mirrored (``geometry.crop.perspective_crop_from_box``); 2D
keypoints go through the same homography, 3D keypoints and vertices through the same
rotation (and mirror), then become root-relative (joint 9).

Network 2D coordinates are "unit" crop coordinates: ``uv_unit = (pixel + 0.5) / S`` (0 at
the crop's left/top edge, 1 at its right/bottom edge); see
``geometry.crop.crop_pixels_to_unit``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rejshand_ros.geometry.camera import project
from rejshand_ros.geometry.crop import (CropTransform, box_from_keypoints, camera_to_crop_3d,
                                        crop_from_box, crop_pixels_to_unit, full_to_crop,
                                        perspective_crop_from_box, rolled_box, upright_rotation_rad,
                                        warp_to_crop)
from rejshand_ros.geometry.keypoints import ROOT_JOINT

EVAL_BOX_SCALE = 1.25  # FreiHAND protocol: bbox of the 2D keypoints x 1.25


@dataclass(frozen=True)
class AugmentConfig:
    """Training augmentation (public ReJSHand/SimpleHand code's ranges by default).

    center_jitter: box-centre shift, fraction of the box size (uniform +-).
    scale_range: box size multiplier range applied on top of the 1.25 eval box.
    rotation_deg: in-plane roll range (uniform +-).
    flip_prob: probability of mirroring the crop (labels mirrored, handedness swapped).
    colour: strength of brightness/contrast/per-channel gain noise (0 disables).
    blur_prob: probability of a Gaussian blur.
    roll_reference: "image" (roll about the image axes, axis-aligned box, as before) or
        "upright" (roll about the hand's upright orientation, ``upright_rotation_rad``,
        box tight in the rolled frame: the crops a rotated detector box or a tracker
        that follows the hand's orientation gives, as in MediaPipe).
    any_roll_prob: probability of a uniform roll in (-180, 180] instead (robustness).
    noise_prob, jpeg_prob, lowres_prob, gray_prob: camera realism: Gaussian sensor noise,
        JPEG re-encoding (quality 25-90), down- then up-sampling (1.5-4x), greyscale.
    """

    center_jitter: float = 0.1
    scale_range: tuple[float, float] = (1.0, 1.5)
    rotation_deg: float = 180.0
    flip_prob: float = 0.5
    colour: float = 0.2
    blur_prob: float = 0.1
    roll_reference: str = "image"
    any_roll_prob: float = 0.0
    noise_prob: float = 0.0
    jpeg_prob: float = 0.0
    lowres_prob: float = 0.0
    gray_prob: float = 0.0

    def __post_init__(self) -> None:
        lo, hi = self.scale_range
        probs = (self.flip_prob, self.blur_prob, self.any_roll_prob, self.noise_prob,
                 self.jpeg_prob, self.lowres_prob, self.gray_prob)
        if not (0 < lo <= hi) or not all(0 <= p <= 1 for p in probs) or self.center_jitter < 0:
            raise ValueError(f"augmentation out of range: {self}")
        if self.roll_reference not in ("image", "upright"):
            raise ValueError(f"roll_reference must be image or upright, got "
                             f"{self.roll_reference!r}")


NO_AUGMENT = AugmentConfig(center_jitter=0.0, scale_range=(1.0, 1.0), rotation_deg=0.0,
                           flip_prob=0.0, colour=0.0, blur_prob=0.0)
#: evaluation crops of a model trained with roll_reference "upright"
UPRIGHT_EVAL = AugmentConfig(center_jitter=0.0, scale_range=(1.0, 1.0), rotation_deg=0.0,
                             flip_prob=0.0, colour=0.0, blur_prob=0.0,
                             roll_reference="upright")


def jitter_colour(image: np.ndarray, rng: np.random.Generator, strength: float,
                  blur_prob: float) -> np.ndarray:
    """Brightness, contrast and per-channel gain noise (+ occasional blur) on uint8 RGB."""
    if strength <= 0 and blur_prob <= 0:
        return image
    out = image.astype(np.float32)
    if strength > 0:
        gain = 1.0 + rng.uniform(-strength, strength, size=3).astype(np.float32)
        contrast = 1.0 + rng.uniform(-strength, strength)
        brightness = rng.uniform(-strength, strength) * 255.0 * 0.5
        mean = out.mean()
        out = (out - mean) * contrast + mean + brightness
        out = out * gain
    if rng.uniform() < blur_prob:
        out = cv2.GaussianBlur(out, (0, 0), sigmaX=rng.uniform(0.5, 1.5))
    return np.clip(out, 0, 255).astype(np.uint8)


def camera_realism(image: np.ndarray, rng: np.random.Generator, augment: AugmentConfig
                   ) -> np.ndarray:
    """Low resolution, greyscale, sensor noise and JPEG artefacts on a uint8 RGB crop
    (each with its probability in ``augment``; none drawn when all are 0)."""
    if not (augment.lowres_prob or augment.gray_prob or augment.noise_prob
            or augment.jpeg_prob):
        return image
    out = image
    size = image.shape[1], image.shape[0]
    if rng.uniform() < augment.lowres_prob:
        factor = rng.uniform(1.5, 4.0)
        small = (max(8, round(size[0] / factor)), max(8, round(size[1] / factor)))
        out = cv2.resize(cv2.resize(out, small, interpolation=cv2.INTER_AREA), size,
                         interpolation=cv2.INTER_LINEAR)
    if rng.uniform() < augment.gray_prob:
        gray = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
        out = np.repeat(gray[..., None], 3, axis=2)
    if rng.uniform() < augment.noise_prob:
        sigma = rng.uniform(2.0, 12.0)
        noisy = out.astype(np.float32) + rng.normal(0.0, sigma, out.shape).astype(np.float32)
        out = np.clip(noisy, 0, 255).astype(np.uint8)
    if rng.uniform() < augment.jpeg_prob:
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 91))])
        if ok:
            out = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    return np.ascontiguousarray(out)


def crop_roll_and_box(uv_full: np.ndarray, augment: AugmentConfig, rng: np.random.Generator
                      ) -> tuple[np.ndarray, float, float]:
    """Centre (2,) px, side px and roll (rad) of an augmented crop around keypoints.

    The box is the FreiHAND evaluation box (keypoint bbox x 1.25) with centre jitter and
    scale; with ``roll_reference`` "upright" the bbox is taken in the rolled frame.
    """
    if augment.any_roll_prob > 0 and rng.uniform() < augment.any_roll_prob:
        rotation = rng.uniform(-np.pi, np.pi)
    else:
        rotation = np.deg2rad(rng.uniform(-augment.rotation_deg, augment.rotation_deg)) \
            if augment.rotation_deg > 0 else 0.0
        if augment.roll_reference == "upright":
            rotation += upright_rotation_rad(uv_full)
    if augment.roll_reference == "upright":
        center, box_size = rolled_box(uv_full, rotation, EVAL_BOX_SCALE)
    else:
        box = box_from_keypoints(uv_full, EVAL_BOX_SCALE)
        center, box_size = np.asarray(box.center, dtype=np.float64), box.size
    center, box_size = _jitter_box(center, box_size, augment, rng)
    return center, box_size, float(rotation)


def _jitter_box(center: np.ndarray, box_size: float, augment: AugmentConfig,
                rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Centre shift (fraction of the side) and side scale of ``augment``, in that order."""
    if augment.center_jitter > 0:
        center = center + rng.uniform(-augment.center_jitter, augment.center_jitter, 2) * box_size
    lo, hi = augment.scale_range
    if hi > lo:
        box_size *= rng.uniform(lo, hi)
    elif lo != 1.0:
        box_size *= lo
    return center, float(box_size)


@dataclass
class Sample:
    """A crop and its labels (numpy; the dataset turns them into tensors).

    image: (S, S, 3) uint8 RGB crop.
    uv: (21, 2) unit crop coordinates. joints: (21, 3) metres, root-relative, crop
    camera frame. vertices: (V, 3) same frame or None. presence: 1 hand / 0 none.
    right: 1 when the crop shows a right hand. transform: the crop transform used.
    """

    image: np.ndarray
    uv: np.ndarray
    joints: np.ndarray
    vertices: np.ndarray | None
    presence: float
    right: float
    transform: CropTransform


def make_sample(image: np.ndarray, K: np.ndarray, xyz: np.ndarray, verts: np.ndarray | None,
                right: bool, size: int, augment: AugmentConfig = NO_AUGMENT,
                rng: np.random.Generator | None = None) -> Sample:
    """Crop ``image`` around the hand whose 3D keypoints are ``xyz`` (camera frame, metres).

    Without augmentation this is the FreiHAND evaluation crop (bbox x 1.25, no roll).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    uv_full = project(xyz, K)
    if augment.roll_reference == "upright" or augment.any_roll_prob > 0:
        center, box_size, rotation = crop_roll_and_box(uv_full, augment, rng)
        mirror = bool(augment.flip_prob > 0 and rng.uniform() < augment.flip_prob)
        transform = perspective_crop_from_box(center, box_size, K, size, rotation, mirror)
        return _finish_sample(image, transform, xyz, verts, uv_full, right, mirror, size,
                              augment, rng)
    box = box_from_keypoints(uv_full, EVAL_BOX_SCALE)
    center, box_size = _jitter_box(np.asarray(box.center, dtype=np.float64), box.size,
                                   augment, rng)
    rotation = np.deg2rad(rng.uniform(-augment.rotation_deg, augment.rotation_deg)) \
        if augment.rotation_deg > 0 else 0.0
    mirror = bool(augment.flip_prob > 0 and rng.uniform() < augment.flip_prob)
    transform = perspective_crop_from_box(center, box_size, K, size, rotation, mirror)
    return _finish_sample(image, transform, xyz, verts, uv_full, right, mirror, size, augment,
                          rng)


def _finish_sample(image: np.ndarray, transform: CropTransform, xyz: np.ndarray | None,
                   verts: np.ndarray | None, uv_full: np.ndarray, right: bool, mirror: bool,
                   size: int, augment: AugmentConfig, rng: np.random.Generator) -> Sample:
    """Warp, augment the pixels, and move the labels into the crop (3D root-relative)."""
    crop = warp_to_crop(image, transform, size)
    crop = jitter_colour(crop, rng, augment.colour, augment.blur_prob)
    crop = camera_realism(crop, rng, augment)
    uv = crop_pixels_to_unit(full_to_crop(uv_full, transform), size)
    joints = vertices = None
    if xyz is not None:
        joints = camera_to_crop_3d(xyz, transform)
        root = joints[ROOT_JOINT].copy()
        vertices = None if verts is None else (camera_to_crop_3d(verts, transform) - root
                                               ).astype(np.float32)
        joints = (joints - root).astype(np.float32)
    return Sample(image=crop, uv=uv.astype(np.float32), joints=joints, vertices=vertices,
                  presence=1.0, right=float(right != mirror), transform=transform)


def make_sample_2d(image: np.ndarray, uv_full: np.ndarray, xyz_rel: np.ndarray | None,
                   right: bool, size: int, augment: AugmentConfig = NO_AUGMENT,
                   rng: np.random.Generator | None = None) -> Sample:
    """Crop a photo around 2D keypoints ``uv_full`` (pixels) without camera intrinsics.

    The crop is in-plane (scale, roll, mirror: ``crop_from_box``); 2D targets come from
    ``uv_full`` through the same transform, and the root-relative 3D joints ``xyz_rel``
    (camera axes; may be None) are rolled and mirrored with it. ``joints`` of the result
    is None when ``xyz_rel`` is; ``vertices`` is always None.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    uv_full = np.asarray(uv_full, dtype=np.float64)
    center, box_size, rotation = crop_roll_and_box(uv_full, augment, rng)
    mirror = bool(augment.flip_prob > 0 and rng.uniform() < augment.flip_prob)
    transform = crop_from_box(center, box_size, size, rotation, mirror)
    return _finish_sample(image, transform, xyz_rel, None, uv_full, right, mirror, size,
                          augment, rng)


def make_negative_sample(image: np.ndarray, K: np.ndarray, size: int,
                         rng: np.random.Generator, num_joints: int = 21,
                         num_vertices: int | None = 778) -> Sample:
    """A crop of ``image`` labelled "no hand" (presence 0; pose labels are zeros)."""
    height, width = image.shape[:2]
    box_size = rng.uniform(0.2, 0.6) * min(height, width)
    center = rng.uniform([box_size / 2, box_size / 2],
                         [max(width - box_size / 2, box_size / 2 + 1),
                          max(height - box_size / 2, box_size / 2 + 1)])
    transform = perspective_crop_from_box(center, box_size, K, size,
                                          np.deg2rad(rng.uniform(-180, 180)), False)
    crop = warp_to_crop(image, transform, size)
    vertices = None if num_vertices is None else np.zeros((num_vertices, 3), np.float32)
    return Sample(image=crop, uv=np.zeros((num_joints, 2), np.float32),
                  joints=np.zeros((num_joints, 3), np.float32), vertices=vertices,
                  presence=0.0, right=0.5, transform=transform)
