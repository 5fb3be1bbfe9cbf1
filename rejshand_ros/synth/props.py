"""Objects rendered with the hands: forearms (skin or sleeve) and occluders.

Everything is built directly in the camera frame (OpenCV: x right, y down, z forward,
metres) as closed meshes, so the one z-buffer that renders the hands decides what
occludes what. Colours are linear RGB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rejshand_ros.hand_model._rotations import random_rotation, rot_x, rot_z
from rejshand_ros.hand_model.shape import HandShape
from rejshand_ros.synth import primitives
from rejshand_ros.synth.background import random_color
from rejshand_ros.synth.lighting import srgb_to_linear

#: nearest camera depth any prop vertex may have, metres
MIN_PROP_DEPTH: float = 0.08


@dataclass
class Prop:
    """A non-hand object.

    Attributes:
        mesh: closed mesh in the camera frame.
        albedo: (V, 3) per-vertex linear RGB albedo.
        specular: specular strength; shininess: Blinn-Phong exponent.
        kind: "forearm" or the occluder's primitive name.
    """

    mesh: primitives.Mesh
    albedo: np.ndarray
    specular: float
    shininess: float
    kind: str


def _arm_length(wrist: np.ndarray, direction: np.ndarray, K: np.ndarray, width: int,
                height: int) -> float | None:
    """Forearm length that carries it out of the image, or None if it would end visibly
    in front of the camera (an arm pointing at the lens)."""
    s = np.linspace(0.05, 0.6, 23)
    pts = wrist[None] + s[:, None] * direction[None]
    if np.any(pts[:, 2] < MIN_PROP_DEPTH + 0.05):
        first_near = int(np.argmax(pts[:, 2] < MIN_PROP_DEPTH + 0.05))
    else:
        first_near = s.size
    uvw = pts @ K.T
    uv = uvw[:, :2] / np.maximum(uvw[:, 2:], 1e-6)
    margin = 0.1 * max(width, height)
    out = (uv[:, 0] < -margin) | (uv[:, 0] > width + margin) | \
        (uv[:, 1] < -margin) | (uv[:, 1] > height + margin)
    first_out = int(np.argmax(out)) if np.any(out) else s.size
    if first_near < s.size and first_near <= first_out:
        return None
    if first_out < s.size:
        return float(max(s[first_out] + 0.05, 0.2))
    return 0.6


def sample_forearm(rng: np.random.Generator, shape: HandShape, side: str,
                   hand_rotation: np.ndarray, wrist: np.ndarray, skin: tuple,
                   sleeve_prob: float, K: np.ndarray, width: int, height: int
                   ) -> Prop | None:
    """A forearm attached at the wrist, bent by a random wrist flexion / deviation.

    The arm is made long enough to leave the image (no visible stump); bends that
    would point it at the lens are redrawn, and after 6 tries the hand gets no arm.

    Args:
        shape: the hand's shape (wrist section).
        side: "right" / "left".
        hand_rotation: (3, 3) rotation of the canonical hand into the camera frame.
        wrist: (3,) wrist position in the camera frame, metres.
        skin: (back, palm) linear RGB (3,) albedos; the arm's palmar side is lighter.
        sleeve_prob: probability of a sleeve starting somewhere along the arm.
        K, width, height: the camera, to size the arm.
    Returns:
        The forearm Prop, or None.
    """
    mirror = np.diag([-1.0, 1.0, 1.0])
    for _ in range(6):
        bend = rot_z(np.deg2rad(rng.uniform(-20, 15))) @ rot_x(np.deg2rad(rng.uniform(-35, 35)))
        if side == "left":
            bend = mirror @ bend @ mirror
        rotation = hand_rotation @ bend
        length = _arm_length(wrist, -rotation[:, 1], K, width, height)
        if length is not None:
            break
    else:
        return None
    sleeve = rng.uniform(0.03, length) if rng.random() < sleeve_prob else None
    mesh, cloth = primitives.forearm(shape.wrist_width, shape.wrist_thickness, length,
                                     sleeve_start=sleeve, sleeve_bulge=rng.uniform(1.1, 1.5))
    z = mesh.vertices[:, 2] / np.maximum(np.abs(mesh.vertices[:, 2]).max(), 1e-9)
    palmar = np.clip(z, 0.0, 1.0)[:, None] * rng.uniform(0.15, 0.4)
    back, palm = (np.asarray(c, dtype=np.float64) for c in skin)
    skin_albedo = back[None] + palmar * (palm - back)[None]
    mesh = primitives.transform(mesh, rotation, wrist)
    cloth_color = srgb_to_linear(random_color(rng) / 255.0)
    albedo = skin_albedo * (1.0 - cloth[:, None]) + cloth_color[None] * cloth[:, None]
    return Prop(mesh, albedo, float(rng.uniform(0.02, 0.08)), 12.0, "forearm")


def _occluder_mesh(rng: np.random.Generator, size: float) -> tuple[primitives.Mesh, str]:
    """A random primitive about ``size`` metres across, in its own frame."""
    kind = str(rng.choice(["box", "plate", "cylinder", "stick", "ellipsoid"],
                          p=[0.2, 0.15, 0.25, 0.2, 0.2]))
    if kind == "box":
        mesh = primitives.box(size * rng.uniform(0.4, 1.0, 3))
    elif kind == "plate":
        mesh = primitives.box([size, size * rng.uniform(0.5, 1.2), size * 0.06])
    elif kind == "cylinder":
        mesh = primitives.cylinder(size * rng.uniform(0.2, 0.4), size * rng.uniform(0.8, 1.6),
                                   taper=rng.uniform(0.7, 1.2))
    elif kind == "stick":
        mesh = primitives.cylinder(size * rng.uniform(0.04, 0.1), size * rng.uniform(1.2, 2.5),
                                   segments=10)
    else:
        mesh = primitives.ellipsoid(size * rng.uniform(0.25, 0.55, 3))
    return mesh, kind


def make_occluder(rng: np.random.Generator, center: np.ndarray, size: float) -> Prop:
    """A randomly oriented, coloured primitive centred at ``center`` (camera frame).

    The object is pushed back if any vertex would come closer than MIN_PROP_DEPTH.
    """
    mesh, kind = _occluder_mesh(rng, size)
    mesh = primitives.transform(mesh, random_rotation(rng), center)
    nearest = float(mesh.vertices[:, 2].min())
    if nearest < MIN_PROP_DEPTH:
        mesh = primitives.Mesh(mesh.vertices + [0.0, 0.0, MIN_PROP_DEPTH - nearest], mesh.faces)
    color = srgb_to_linear(random_color(rng) / 255.0)
    albedo = np.repeat(color[None], mesh.vertices.shape[0], axis=0)
    return Prop(mesh, albedo, float(rng.uniform(0.0, 0.5)), float(rng.uniform(8, 80)), kind)


def sample_hand_occluder(rng: np.random.Generator, hand_vertices: np.ndarray) -> Prop:
    """An occluder that covers part of a hand: in front of it or cutting through it.

    Args:
        hand_vertices: (778, 3) camera-frame vertices of the hand, metres.
    """
    extent = float(np.ptp(hand_vertices[:, :2], axis=0).max())
    size = extent * rng.uniform(0.3, 0.9)
    anchor = hand_vertices[int(rng.integers(hand_vertices.shape[0]))]
    angle = rng.uniform(0, 2 * np.pi)
    lateral = size * rng.uniform(0.1, 0.8) * np.array([np.cos(angle), np.sin(angle), 0.0])
    depth = -rng.uniform(0.0, 0.12) if rng.random() < 0.8 else rng.uniform(0.0, 0.02)
    return make_occluder(rng, anchor + lateral + np.array([0.0, 0.0, depth]), size)


def sample_free_occluder(rng: np.random.Generator, K: np.ndarray, width: int, height: int,
                         distance: tuple[float, float]) -> Prop:
    """An occluder anywhere in the view, at a depth within ``distance`` (metres)."""
    z = rng.uniform(*distance)
    uv = rng.uniform([0.0, 0.0], [width, height])
    ray = np.linalg.solve(K, np.array([uv[0], uv[1], 1.0]))
    size = rng.uniform(0.04, 0.2)
    return make_occluder(rng, ray * z, size)

