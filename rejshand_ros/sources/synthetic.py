"""Synthetic camera frames with exact ground truth, from ``rejshand_ros.synth``.

Two motions:
  * ``sequence`` (default): one sampled scene (background, hands, forearms, objects)
    in which every hand, with the objects attached to it, moves smoothly along a closed
    path (figure-eight across the image, a little depth change and rotation), so the
    sequence loops seamlessly after ``num_frames`` frames and a tracker can follow it;
  * ``random``: every frame is an independent ``render_frame`` scene (the detector's
    cold-start case).

Rendering costs ~0.1-0.2 s per 640x480 frame on one core, so frames are rendered once
and cached; ``prerender`` renders the whole loop up front. Ground truth comes out as
:class:`HandPrediction` (absolute 3D in the camera optical frame, metres).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rejshand_ros.hand_model.mesh import MESH_ID
from rejshand_ros.perception.hand_prediction import Handedness, HandPrediction
from rejshand_ros.sources.base import Frame, FrameSource
from rejshand_ros.synth import SceneConfig, SynthSample, render_frame, sample_frame_scene
from rejshand_ros.synth.primitives import transform
from rejshand_ros.synth.scene import Scene

try:  # the renderer's public name for "render this Scene with ground truth"
    from rejshand_ros.synth import render_sample
except ImportError:  # pragma: no cover - older name
    from rejshand_ros.synth.generate import render as render_sample

MOTIONS: tuple[str, ...] = ("sequence", "random")
SCENES: tuple[str, ...] = ("easy", "full")
#: "easy": palm or back towards the camera, nothing in front of the hand, 0.3-0.6 m away
#: (the live demo); "full": the training distribution (occluders, extreme views)
EASY_SCENE = SceneConfig(occluder_prob=0.0, free_occluders=0.0, extreme_view_prob=0.0,
                         tilt_sigma_deg=20.0, distance_m=(0.3, 0.6))
GROUND_TRUTH_MODEL_ID = "synthetic_ground_truth"
ATTACH_DISTANCE_M = 0.03  # a prop this close to a hand moves with it (forearm, occluder)


def sample_to_ground_truth(sample: SynthSample) -> list[HandPrediction]:
    """The rendered hands as HandPredictions (track ids 1, 2, ... in scene order).

    uv: pixels; joints / vertices: absolute, metres, camera optical frame; roi: the box
    of the hand's visible pixels; presence 1 when any pixel of the hand is visible, else 0.
    """
    hands = []
    for index, hand in enumerate(sample.hands):
        hands.append(HandPrediction(
            uv=hand.uv, joints=hand.xyz, vertices=hand.verts, absolute=True,
            presence=1.0 if hand.visible_pixels > 0 else 0.0,
            handedness=Handedness.RIGHT if hand.is_right else Handedness.LEFT,
            handedness_score=1.0, roi=tuple(float(v) for v in hand.box), mesh_id=MESH_ID,
            model_id=GROUND_TRUTH_MODEL_ID, track_id=index + 1))
    return hands


def _rotation(roll: float, yaw: float) -> np.ndarray:
    cz, sz, cy, sy = np.cos(roll), np.sin(roll), np.cos(yaw), np.sin(yaw)
    rz = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
    ry = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    return rz @ ry


class _MovingScene:
    """A scene whose hands (with attached props) follow a closed path of ``period`` frames."""

    def __init__(self, scene: Scene, period: int) -> None:
        self.period = period
        K = scene.K
        self.focal = float(K[0, 0])
        self.size = np.array([scene.width, scene.height], dtype=np.float64)
        hands = []
        for hand in scene.hands:  # bring each hand's centre into the middle of the image
            center = 0.5 * (hand.verts.min(0) + hand.verts.max(0))
            uv = (K @ center)[:2] / center[2]
            target = np.clip(uv, 0.3 * self.size, 0.7 * self.size)
            shift = np.append((target - uv) * center[2] / self.focal, 0.0)
            hands.append(replace(hand, verts=hand.verts + shift,
                                 translation=hand.translation + shift))
        owner = []
        for prop in scene.props:
            dists = [np.min(np.linalg.norm(prop.mesh.vertices[:, None, :] - h.verts[None, ::4, :],
                                           axis=-1)) for h in scene.hands]
            near = int(np.argmin(dists)) if dists else -1
            owner.append(near if near >= 0 and dists[near] < ATTACH_DISTANCE_M else -1)
        shifts = {k: hands[k].verts[0] - scene.hands[k].verts[0] for k in range(len(hands))}
        props = [prop if k < 0 else replace(prop, mesh=transform(prop.mesh, np.eye(3), shifts[k]))
                 for prop, k in zip(scene.props, owner)]
        self.scene = replace(scene, hands=hands, props=props)
        self.owner = owner

    def at(self, index: int) -> Scene:
        """The scene at frame ``index`` (periodic)."""
        hands, moves = [], []
        for k, hand in enumerate(self.scene.hands):
            phase = 2.0 * np.pi * (index % self.period) / self.period + k * np.pi
            center = 0.5 * (hand.verts.min(0) + hand.verts.max(0))
            offset_px = np.array([0.12 * self.size[0] * np.sin(phase),
                                  0.08 * self.size[1] * np.sin(2.0 * phase)])
            delta = np.append(offset_px * center[2] / self.focal,
                              0.04 * np.sin(phase + np.pi / 3.0))
            rotation = _rotation(0.3 * np.sin(phase), 0.25 * np.sin(phase + 1.0))
            translation = center + delta - rotation @ center
            moves.append((rotation, translation))
            hands.append(replace(hand, verts=hand.verts @ rotation.T + translation,
                                 translation=rotation @ hand.translation + translation))
        props = [prop if k < 0 else replace(prop, mesh=transform(prop.mesh, *moves[k]))
                 for prop, k in zip(self.scene.props, self.owner)]
        return replace(self.scene, hands=hands, props=props)


class SyntheticSource(FrameSource):
    """Rendered frames with ground truth, looping over ``num_frames`` frames.

    Args:
        seed: seed of the scene(s); the same seed gives the same frames.
        width, height: image size, pixels.
        num_frames: frames in one loop (>= 1).
        motion: "sequence" (one scene in smooth motion) or "random" (independent scenes).
        num_hands: 0, 1 or 2 hands; None draws it from the scene distribution.
        config: the scene distribution (default: EASY_SCENE; SceneConfig() for the
            training distribution).
    """

    kind = "synthetic"

    def __init__(self, seed: int = 0, width: int = 640, height: int = 480, num_frames: int = 30,
                 motion: str = "sequence", num_hands: int | None = 1,
                 config: SceneConfig = EASY_SCENE) -> None:
        if motion not in MOTIONS:
            raise ValueError(f"motion must be one of {MOTIONS}, got {motion!r}")
        if num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {num_frames}")
        if width < 32 or height < 32:
            raise ValueError(f"synthetic frames must be at least 32x32, got {width}x{height}")
        if num_hands is not None and num_hands not in (0, 1, 2):
            raise ValueError(f"num_hands must be 0, 1, 2 or None, got {num_hands}")
        self.seed, self.width, self.height = int(seed), int(width), int(height)
        self.num_frames, self.motion, self.num_hands = int(num_frames), motion, num_hands
        self.config = config
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, list[HandPrediction]]] = {}
        self._moving: _MovingScene | None = None
        if motion == "sequence":
            rng = np.random.default_rng(self.seed)
            self._moving = _MovingScene(
                sample_frame_scene(rng, self.width, self.height, config, num_hands), num_frames)
        self._count = 0

    def render(self, index: int) -> tuple[np.ndarray, np.ndarray, list[HandPrediction]]:
        """(image, K, ground truth) of loop position ``index % num_frames`` (cached)."""
        key = index % self.num_frames
        if key not in self._cache:
            if self._moving is not None:
                sample = render_sample(self._moving.at(key))
            else:
                sample = render_frame((self.seed, key), self.width, self.height,
                                      self.num_hands, self.config)
            self._cache[key] = (sample.image, sample.K.copy(), sample_to_ground_truth(sample))
        return self._cache[key]

    def prerender(self) -> None:
        """Render the whole loop now (later reads cost nothing)."""
        for index in range(self.num_frames):
            self.render(index)

    def read(self) -> Frame:
        index = self._count
        self._count += 1
        image, K, truth = self.render(index)
        truth = [replace(hand) for hand in truth]  # callers may modify their copy
        return Frame(image, index, K=K.copy(), ground_truth=truth,
                     name=f"synthetic:{self.seed}:{index % self.num_frames}")
