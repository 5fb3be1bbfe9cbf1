"""In-memory synthetic samples with ground truth: ``render_frame`` and ``render_crop``.

Ground truth per hand, camera frame (OpenCV, metres): verts (778, 3) of the open hand
model, xyz (21, 3) = joint_regressor @ verts (FreiHAND order), uv = project(xyz, K)
(pixels, centre convention of ``hand_model.rasterizer``), handedness, and the box of
the hand's VISIBLE pixels [x, y, w, h] (clipped to the image by construction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Union

import numpy as np

from rejshand_ros.hand_model.rasterizer import project
from rejshand_ros.synth.render import render_scene
from rejshand_ros.synth.scene import (
    Scene,
    SceneConfig,
    sample_crop_scene,
    sample_frame_scene,
)

SeedLike = Union[int, np.random.Generator, tuple, list]


@dataclass
class HandAnnotation:
    """Ground truth of one rendered hand.

    Attributes:
        handedness: "right" or "left".
        xyz: (21, 3) keypoints, camera frame, metres (regressor @ verts).
        verts: (778, 3) mesh vertices, camera frame, metres.
        uv: (21, 2) projected keypoints, pixels (may lie outside the image).
        box: (4,) [x, y, w, h] of the visible hand pixels; zeros when none are visible.
        visible_pixels: number of pixels where this hand is the nearest surface.
        visible_fraction: visible_pixels / pixels of its unoccluded silhouette in the
            image (1.0 = nothing in front of it).
        pose: (24,) [global_rot (3), joint angles (21)], radians.
        shape: (8,) hand_length, palm_width, finger_width, 5 finger-length factors.
    """

    handedness: str
    xyz: np.ndarray
    verts: np.ndarray
    uv: np.ndarray
    box: np.ndarray
    visible_pixels: int
    visible_fraction: float
    pose: np.ndarray
    shape: np.ndarray

    @property
    def is_right(self) -> bool:
        return self.handedness == "right"

    def to_json(self, decimals: int = 6) -> dict:
        """A JSON-serialisable dict (metres / pixels rounded to ``decimals``)."""
        return {
            "handedness": self.handedness,
            "box": [round(float(v), 2) for v in self.box],
            "visible_pixels": int(self.visible_pixels),
            "visible_fraction": round(float(self.visible_fraction), 4),
            "uv": np.round(self.uv, 3).tolist(),
            "xyz": np.round(self.xyz, decimals).tolist(),
            "verts": np.round(self.verts, decimals).tolist(),
        }


@dataclass
class SynthSample:
    """A rendered image and its ground truth.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        K: (3, 3) camera intrinsics.
        hands: one HandAnnotation per rendered hand (may be empty).
        hand_index: (H, W) int8, index into ``hands`` of the visible hand, -1 elsewhere.
        depth: (H, W) float32 depth of the visible surface (hands and props), inf if none.
        jpeg_quality: the quality this sample asks to be saved with.
        background_photo: the real photo the background was cut from (None: procedural).
    """

    image: np.ndarray
    K: np.ndarray
    hands: List[HandAnnotation] = field(default_factory=list)
    hand_index: Optional[np.ndarray] = None
    depth: Optional[np.ndarray] = None
    jpeg_quality: int = 92
    background_photo: Optional[str] = None

    @property
    def presence(self) -> bool:
        return bool(self.hands)


def as_generator(rng_or_seed: SeedLike) -> np.random.Generator:
    """A Generator from a seed, a (seed, index) tuple, or a Generator (used as is)."""
    if isinstance(rng_or_seed, np.random.Generator):
        return rng_or_seed
    return np.random.default_rng(rng_or_seed)


def annotate(scene: Scene, hand_index: np.ndarray, silhouette_pixels: np.ndarray
             ) -> List[HandAnnotation]:
    """Ground truth of every hand of a rendered scene."""
    out = []
    for k, hand in enumerate(scene.hands):
        xyz = hand.joints
        ys, xs = np.nonzero(hand_index == k)
        if xs.size:
            box = np.array([xs.min(), ys.min(), xs.max() - xs.min() + 1,
                            ys.max() - ys.min() + 1], dtype=np.float64)
        else:
            box = np.zeros(4)
        shape = hand.shape
        out.append(HandAnnotation(
            handedness=hand.side, xyz=xyz, verts=hand.verts.copy(), uv=project(xyz, scene.K),
            box=box, visible_pixels=int(xs.size),
            visible_fraction=float(xs.size / max(int(silhouette_pixels[k]), 1)),
            pose=hand.pose.as_vector(),
            shape=np.array([shape.hand_length, shape.palm_width, shape.finger_width,
                            *shape.finger_length_factors])))
    return out


def render_sample(scene: Scene) -> SynthSample:
    """Render a sampled scene and attach its ground truth."""
    rendered = render_scene(scene)
    hands = annotate(scene, rendered.hand_index, rendered.silhouette_pixels)
    return SynthSample(image=rendered.image, K=scene.K.copy(), hands=hands,
                       hand_index=rendered.hand_index, depth=rendered.depth,
                       jpeg_quality=scene.post.jpeg_quality,
                       background_photo=scene.photo.path if scene.photo else None)


def render_frame(rng_or_seed: SeedLike, width: int = 640, height: int = 480,
                 num_hands: Optional[int] = None, config: SceneConfig = SceneConfig()
                 ) -> SynthSample:
    """A full camera frame with 0-2 hands anywhere, either side, with clutter.

    Args:
        rng_or_seed: a Generator (advanced), or a seed / (seed, index) tuple.
        width, height: frame size in pixels.
        num_hands: 0, 1 or 2; None draws it from ``config.hands_per_frame``.
        config: scene distribution.
    Returns:
        SynthSample; hands may be partly outside the frame (their boxes are clipped).
    """
    rng = as_generator(rng_or_seed)
    return render_sample(sample_frame_scene(rng, int(width), int(height), config, num_hands))


def render_crop(rng_or_seed: SeedLike, size: int = 224, presence: bool = True,
                config: SceneConfig = SceneConfig()) -> SynthSample:
    """A FreiHAND-like hand-centred square crop (or a hand-free one).

    Args:
        rng_or_seed: a Generator (advanced), or a seed / (seed, index) tuple.
        size: crop side, pixels.
        presence: False renders background and objects only (no hand).
        config: scene distribution.
    """
    rng = as_generator(rng_or_seed)
    return render_sample(sample_crop_scene(rng, int(size), config, presence))
