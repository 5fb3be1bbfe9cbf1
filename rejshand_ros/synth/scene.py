"""Random scenes: camera, posed hands (pose, shape, side, skin, placement), props,
lights, background (a seed for the procedural one, or a crop of a real photo) and
camera effects. Sampling only; ``render.py`` draws them.

Camera frame: OpenCV pinhole (x right, y down, z forward), metres; K is (3, 3) with
the pixel centre convention of ``hand_model.rasterizer`` (pixel (u, v) centred at
integer coordinates). Every random draw comes from the generator passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np

from rejshand_ros.hand_model._rotations import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    random_rotation,
    rot_z,
)
from rejshand_ros.hand_model.kinematics import POSE_MODES, HandPose, sample_pose
from rejshand_ros.hand_model.mesh import joint_regressor
from rejshand_ros.hand_model.model import HandModel
from rejshand_ros.hand_model.rasterizer import project
from rejshand_ros.hand_model.render_preview import look_rotation
from rejshand_ros.hand_model.shape import HandShape, sample_shape
from rejshand_ros.synth.lighting import Lighting, sample_lighting
from rejshand_ros.synth.photos import PhotoBackground, sample_photo_background
from rejshand_ros.synth.props import Prop, sample_forearm, sample_free_occluder, sample_hand_occluder
from rejshand_ros.synth.skin import SkinMaterial, sample_skin

#: rest meshes kept by the module's HandModel (also the largest shape pool)
SHAPE_CACHE: int = 128
_MODEL = HandModel(cache_size=SHAPE_CACHE)
_SHAPE_POOL_SEED = 7_340_033


def _check_range(name: str, value: Tuple[float, float], lo: float, hi: float) -> None:
    if len(value) != 2 or not lo <= value[0] <= value[1] <= hi:
        raise ValueError(f"{name} must be (low, high) with {lo} <= low <= high <= {hi}, got {value}")


@dataclass(frozen=True)
class SceneConfig:
    """Distribution of the synthetic scenes (validated on construction).

    Attributes:
        left_ratio: probability that a hand is a left hand.
        distance_m: range of the hand's distance from the camera, metres.
        fov_deg: horizontal field of view range of full frames, degrees.
        crop_fill: range of the hand's 2-D extent / crop size in crop mode.
        crop_jitter: max offset of the hand centre from the crop centre / crop size.
        extreme_view_prob: probability of a uniformly random hand orientation (else
            palm or back towards the camera, tilted, any in-plane roll).
        back_view_prob: probability of the back (vs the palm) in a natural view.
        tilt_sigma_deg: spread of the out-of-plane tilt of natural views, degrees.
        roll_deg: in-plane roll of natural views, uniform in [-roll_deg, roll_deg]
            degrees from fingers-up (180: any roll).
        pose_modes: hand-pose modes (``hand_model.kinematics.POSE_MODES``) drawn with
            equal probability; empty: ``sample_pose``'s default mix of all modes.
        occluder_prob: probability that an object partly covers a hand.
        forearm_prob: probability that a hand has a forearm.
        sleeve_prob: probability that a forearm wears a sleeve.
        free_occluders: mean number of objects placed anywhere in a full frame.
        skin_distractor_prob: probability of skin-coloured blobs in the background.
        clutter: background clutter multiplier.
        hands_per_frame: probabilities of 0, 1 and 2 hands in a full frame.
        min_joints_in_frame: fraction of a hand's 21 keypoints that must project into
            a full frame (the rest may lie outside).
        shape_pool: N > 0 draws hand shapes from a fixed pool of N shapes whose rest
            meshes stay cached (~6 ms less per hand: live rendering); 0 draws a fresh
            shape for every hand (what the dataset writer uses).
        backgrounds: a folder of real photos (``synth.photos``); None: procedural
            backgrounds only (and the same draws, so the same images, as before).
        real_background_prob: with ``backgrounds``, probability that an image's
            background is a crop of one of its photos instead of a procedural one.
    """

    left_ratio: float = 0.5
    distance_m: Tuple[float, float] = (0.3, 0.8)
    fov_deg: Tuple[float, float] = (40.0, 90.0)
    crop_fill: Tuple[float, float] = (0.6, 0.8)
    crop_jitter: float = 0.08
    extreme_view_prob: float = 0.2
    back_view_prob: float = 0.45
    tilt_sigma_deg: float = 30.0
    roll_deg: float = 180.0
    pose_modes: Tuple[str, ...] = ()
    occluder_prob: float = 0.3
    forearm_prob: float = 0.9
    sleeve_prob: float = 0.5
    free_occluders: float = 0.7
    skin_distractor_prob: float = 0.5
    clutter: float = 1.0
    hands_per_frame: Tuple[float, float, float] = (0.1, 0.5, 0.4)
    min_joints_in_frame: float = 0.6
    shape_pool: int = 64
    backgrounds: Optional[str] = None
    real_background_prob: float = 0.8

    def __post_init__(self) -> None:
        if self.backgrounds is not None:
            object.__setattr__(self, "backgrounds", str(self.backgrounds))
        for name in ("left_ratio", "extreme_view_prob", "back_view_prob", "occluder_prob",
                     "forearm_prob", "sleeve_prob", "skin_distractor_prob",
                     "min_joints_in_frame", "real_background_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {value}")
        _check_range("distance_m", self.distance_m, 0.15, 5.0)
        _check_range("fov_deg", self.fov_deg, 5.0, 150.0)
        _check_range("crop_fill", self.crop_fill, 0.05, 1.5)
        if not 0.0 <= self.crop_jitter <= 0.5:
            raise ValueError(f"crop_jitter must lie in [0, 0.5], got {self.crop_jitter}")
        if not 0 <= self.shape_pool <= SHAPE_CACHE:
            raise ValueError(f"shape_pool must lie in [0, {SHAPE_CACHE}], got {self.shape_pool}")
        if self.tilt_sigma_deg < 0 or self.clutter < 0 or self.free_occluders < 0:
            raise ValueError("tilt_sigma_deg, clutter and free_occluders must be >= 0")
        if not 0.0 <= self.roll_deg <= 180.0:
            raise ValueError(f"roll_deg must lie in [0, 180], got {self.roll_deg}")
        unknown = sorted(set(self.pose_modes) - set(POSE_MODES))
        if isinstance(self.pose_modes, str) or unknown:
            raise ValueError(f"pose_modes must be a tuple of {POSE_MODES}, got {self.pose_modes}")
        probs = np.asarray(self.hands_per_frame, dtype=np.float64)
        if probs.shape != (3,) or np.any(probs < 0) or not np.isclose(probs.sum(), 1.0):
            raise ValueError(f"hands_per_frame must be 3 probabilities summing to 1, got "
                             f"{self.hands_per_frame}")


@dataclass
class HandInstance:
    """One posed hand in the camera frame.

    Attributes:
        side: "right" or "left".
        pose: joint angles and global rotation (canonical hand -> camera orientation).
        shape: hand shape.
        skin: skin material.
        translation: (3,) wrist position in the camera frame, metres.
        verts: (778, 3) posed vertices, camera frame, metres.
        rest: (778, 3) rest (flat right-hand) vertices of this shape, for texturing.
    """

    side: str
    pose: HandPose
    shape: HandShape
    skin: SkinMaterial
    translation: np.ndarray
    verts: np.ndarray
    rest: np.ndarray

    @property
    def joints(self) -> np.ndarray:
        """(21, 3) keypoints = joint_regressor @ verts, camera frame, metres."""
        return joint_regressor() @ self.verts

    def moved(self, delta: np.ndarray) -> None:
        """Translate the hand by ``delta`` (3,) metres, in place."""
        self.translation = self.translation + delta
        self.verts = self.verts + delta


@dataclass(frozen=True)
class PostFx:
    """Camera effects applied to the composited image (sRGB, 0-255 scale)."""

    blur_sigma: float = 0.0          # optical blur, pixels
    motion_px: float = 0.0           # motion blur length, pixels (0: none)
    motion_angle: float = 0.0        # motion direction, radians
    noise_sigma: float = 0.0         # Gaussian sensor noise, 0-255 units
    gain: Tuple[float, float, float] = (1.0, 1.0, 1.0)  # white balance x exposure
    jpeg_quality: int = 92


@dataclass
class Scene:
    """Everything ``render.render_scene`` needs, nothing random left."""

    K: np.ndarray
    width: int
    height: int
    hands: List[HandInstance]
    props: List[Prop]
    lighting: Lighting
    background_seed: int
    post: PostFx = field(default_factory=PostFx)
    clutter: float = 1.0
    skin_distractor_prob: float = 0.5
    photo: Optional[PhotoBackground] = None  # None: the procedural background


def sample_view_rotation(rng: np.random.Generator, config: SceneConfig) -> np.ndarray:
    """Orientation (3, 3) of the canonical hand in the camera frame."""
    if rng.random() < config.extreme_view_prob:
        return random_rotation(rng)
    base = look_rotation("back" if rng.random() < config.back_view_prob else "palm")
    angle = min(abs(rng.normal(0.0, config.tilt_sigma_deg)), 75.0)
    phi = rng.uniform(0, 2 * np.pi)
    tilt = axis_angle_to_matrix(np.deg2rad(angle) * np.array([np.cos(phi), np.sin(phi), 0.0]))
    if config.roll_deg >= 180.0:  # any roll (the original draw: same seed, same scene)
        roll = rng.uniform(0, 2 * np.pi)
    else:
        roll = np.deg2rad(rng.uniform(-config.roll_deg, config.roll_deg))
    return rot_z(roll) @ tilt @ base


def sample_hand_pose(rng: np.random.Generator, config: SceneConfig) -> HandPose:
    """Joint angles of a hand (zero global rotation) from ``config.pose_modes``."""
    if not config.pose_modes:
        return sample_pose(rng)
    return sample_pose(rng, mode=config.pose_modes[int(rng.integers(len(config.pose_modes)))])


def sample_hand(rng: np.random.Generator, config: SceneConfig, side: Optional[str] = None
                ) -> HandInstance:
    """A random hand with its wrist at the camera origin (place it afterwards)."""
    if side is None:
        side = "left" if rng.random() < config.left_ratio else "right"
    pose = sample_hand_pose(rng, config)
    rotation = sample_view_rotation(rng, config)
    pose = HandPose(pose.angles, matrix_to_axis_angle(rotation))
    if config.shape_pool:
        member = int(rng.integers(config.shape_pool))
        shape = sample_shape(np.random.default_rng((_SHAPE_POOL_SEED, member)))
    else:
        shape = sample_shape(rng)
    verts, _ = _MODEL(pose, shape, side)
    return HandInstance(side=side, pose=pose, shape=shape, skin=sample_skin(rng),
                        translation=np.zeros(3), verts=verts,
                        rest=_MODEL.rest_vertices(shape))


def _forearm(rng: np.random.Generator, hand: HandInstance, config: SceneConfig,
             K: np.ndarray, width: int, height: int) -> Optional[Prop]:
    rotation = axis_angle_to_matrix(hand.pose.global_rot)
    return sample_forearm(rng, hand.shape, hand.side, rotation, hand.translation,
                          (hand.skin.base, hand.skin.palm), config.sleeve_prob, K, width,
                          height)


def sample_post(rng: np.random.Generator) -> PostFx:
    """Random camera effects."""
    blur = rng.uniform(0.3, 1.1) if rng.random() < 0.5 else 0.0
    motion = rng.uniform(2.0, 7.0) if rng.random() < 0.1 else 0.0
    gain = rng.uniform(0.85, 1.12) * rng.normal(1.0, 0.04, 3)
    return PostFx(blur_sigma=float(blur), motion_px=float(motion),
                  motion_angle=float(rng.uniform(0, np.pi)),
                  noise_sigma=float(rng.uniform(0.5, 4.0)),
                  gain=tuple(float(g) for g in gain), jpeg_quality=int(rng.integers(75, 96)))


def _finish(rng: np.random.Generator, config: SceneConfig, K: np.ndarray, width: int,
            height: int, hands: List[HandInstance], props: List[Prop]) -> Scene:
    lighting = sample_lighting(rng)
    background_seed = int(rng.integers(2 ** 62))
    post = sample_post(rng)
    photo = None
    # drawn last and only with backgrounds: without them every seed keeps its scene,
    # with them a seed keeps its hands, props, lights and camera effects
    if config.backgrounds is not None and rng.random() < config.real_background_prob:
        photo = sample_photo_background(rng, config.backgrounds, width, height)
    return Scene(K=K, width=width, height=height, hands=hands, props=props,
                 lighting=lighting, background_seed=background_seed, post=post,
                 clutter=config.clutter, skin_distractor_prob=config.skin_distractor_prob,
                 photo=photo)


def _hand_props(rng: np.random.Generator, hand: HandInstance, config: SceneConfig,
                K: np.ndarray, width: int, height: int) -> List[Prop]:
    props = []
    if rng.random() < config.forearm_prob:
        arm = _forearm(rng, hand, config, K, width, height)
        if arm is not None:
            props.append(arm)
    if rng.random() < config.occluder_prob:
        for _ in range(1 if rng.random() < 0.75 else 2):
            props.append(sample_hand_occluder(rng, hand.verts))
    return props


def sample_crop_scene(rng: np.random.Generator, size: int = 224,
                      config: SceneConfig = SceneConfig(), presence: bool = True) -> Scene:
    """A FreiHAND-like square crop: one hand centred, filling ``crop_fill`` of it.

    The hand is placed at a random distance; the focal length is then chosen so that
    the hand's projected extent is ``crop_fill`` of ``size`` (principal point near the
    centre). With ``presence=False`` the crop shows background and objects only.
    """
    center = (size - 1) / 2.0 + rng.normal(0.0, 0.01 * size, 2)
    if not presence:
        focal = size * rng.uniform(1.5, 3.5)
        K = np.array([[focal, 0, center[0]], [0, focal, center[1]], [0, 0, 1.0]])
        props = [sample_free_occluder(rng, K, size, size, config.distance_m)
                 for _ in range(int(rng.integers(0, 3)))]
        return _finish(rng, config, K, size, size, [], props)
    hand = sample_hand(rng, config)
    z = rng.uniform(*config.distance_m)
    fill = rng.uniform(*config.crop_fill)
    offset = rng.uniform(-1.0, 1.0, 2) * config.crop_jitter * size
    hand.moved(np.array([0.0, 0.0, z]) - 0.5 * (hand.verts.min(0) + hand.verts.max(0)))
    focal = 1.0
    for _ in range(4):  # perspective makes extent and centre depend on the shift
        n = hand.verts[:, :2] / hand.verts[:, 2:]
        lo, hi = n.min(0), n.max(0)
        focal = fill * size / float((hi - lo).max())
        target = ((size - 1) / 2.0 + offset - center) / focal
        shift = (target - 0.5 * (lo + hi)) * float(np.median(hand.verts[:, 2]))
        hand.moved(np.array([shift[0], shift[1], 0.0]))
    K = np.array([[focal, 0, center[0]], [0, focal, center[1]], [0, 0, 1.0]])
    return _finish(rng, config, K, size, size, [hand],
                   _hand_props(rng, hand, config, K, size, size))


def _joint_box(uv: np.ndarray) -> np.ndarray:
    return np.concatenate([uv.min(0), uv.max(0)])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None).prod()
    union = np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter
    return float(inter / max(union, 1e-9))


def sample_frame_scene(rng: np.random.Generator, width: int = 640, height: int = 480,
                       config: SceneConfig = SceneConfig(), num_hands: Optional[int] = None
                       ) -> Scene:
    """A full camera frame with 0-2 hands anywhere (partly outside the image allowed).

    Args:
        num_hands: 0, 1 or 2; None draws it from ``config.hands_per_frame``.
    """
    fov = np.deg2rad(rng.uniform(*config.fov_deg))
    focal = (width / 2.0) / np.tan(fov / 2.0)
    center = np.array([(width - 1) / 2.0, (height - 1) / 2.0]) + rng.normal(0, 0.01 * width, 2)
    K = np.array([[focal, 0, center[0]], [0, focal, center[1]], [0, 0, 1.0]])
    if num_hands is None:
        num_hands = int(rng.choice(3, p=config.hands_per_frame))
    if num_hands not in (0, 1, 2):
        raise ValueError(f"num_hands must be 0, 1 or 2, got {num_hands}")
    hands: List[HandInstance] = []
    boxes: List[np.ndarray] = []
    first_side = None
    for index in range(num_hands):
        side = None
        if index == 1 and rng.random() < 0.8:  # usually a person's other hand
            side = "left" if first_side == "right" else "right"
        hand = sample_hand(rng, config, side)
        first_side = first_side or hand.side
        base = hand.verts.copy()
        mid = 0.5 * (base.min(0) + base.max(0))
        for _ in range(30):
            z = rng.uniform(*config.distance_m)
            uv = rng.uniform([-0.1 * width, -0.1 * height], [1.1 * width, 1.1 * height])
            ray = np.linalg.solve(K, np.array([uv[0], uv[1], 1.0]))
            hand.verts, hand.translation = base, np.zeros(3)
            hand.moved(ray * z - mid)
            juv = project(hand.joints, K)
            inside = (juv[:, 0] >= 0) & (juv[:, 0] <= width - 1) & \
                (juv[:, 1] >= 0) & (juv[:, 1] <= height - 1)
            box = _joint_box(juv)
            if inside.mean() >= config.min_joints_in_frame and \
                    all(_iou(box, other) < 0.3 for other in boxes):
                break
        hands.append(hand)
        boxes.append(_joint_box(project(hand.joints, K)))
    props: List[Prop] = []
    for hand in hands:
        props.extend(_hand_props(rng, hand, config, K, width, height))
    for _ in range(int(rng.poisson(config.free_occluders))):
        props.append(sample_free_occluder(rng, K, width, height, config.distance_m))
    return _finish(rng, config, K, width, height, hands, props)
