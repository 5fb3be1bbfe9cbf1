"""Skin materials of the procedural hand: tones, palms, nails, creases, blotches.

The albedo is evaluated per pixel in the hand's REST frame (canonical right hand of
``hand_model.kinematics``: +x radial, +y distal, +z palmar, metres), from the rest
position and rest normal of the surface point under the pixel. Details such as nails
and creases therefore stay sharp whatever the mesh resolution, and follow the pose.
Colours are linear RGB in [0, 1] (see ``lighting.srgb_to_linear``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rejshand_ros.hand_model._skeleton_constants import FINGER_JOINTS
from rejshand_ros.hand_model.kinematics import articulate
from rejshand_ros.hand_model.shape import HandShape
from rejshand_ros.synth.lighting import srgb_to_linear

#: sRGB (0-255) anchors from very light to very dark skin; tones interpolate them
SKIN_TONES_SRGB: np.ndarray = np.array([
    [247, 222, 204], [238, 200, 172], [226, 178, 146], [205, 150, 112],
    [170, 118, 82], [128, 86, 60], [92, 62, 46], [66, 45, 36],
], dtype=np.float64)
#: sRGB colour the palm moves towards (palms are lighter and pinker than the back)
PALM_TARGET_SRGB: np.ndarray = np.array([236, 178, 162], dtype=np.float64)
NAIL_SRGB: np.ndarray = np.array([236, 196, 188], dtype=np.float64)

#: palm creases as polylines in (x / palm_width, y / palm_length) of the rest palm
_PALM_CREASES = (
    np.array([[-0.52, 0.80], [-0.25, 0.83], [0.0, 0.86], [0.12, 0.93]]),   # distal transverse
    np.array([[0.50, 0.64], [0.25, 0.66], [0.0, 0.69], [-0.30, 0.74]]),    # proximal transverse
    np.array([[0.50, 0.66], [0.32, 0.55], [0.22, 0.38], [0.18, 0.18], [0.16, 0.04]]),  # thenar
)


@dataclass(frozen=True)
class SkinMaterial:
    """Appearance of one hand's skin.

    Attributes:
        base: (3,) linear RGB albedo of the back of the hand.
        palm: (3,) linear RGB albedo of the palmar side.
        nail: (3,) linear RGB albedo of the nails.
        blotch_waves: (K, 3) wave vectors (rad/m) of low-frequency tone variation.
        blotch_phase: (K,) phases, radians.
        blotch_amp: relative amplitude of that variation.
        crease: darkening of creases, 0..1.
        specular: specular strength of skin (nails get 3x).
        shininess: Blinn-Phong exponent.
    """

    base: np.ndarray
    palm: np.ndarray
    nail: np.ndarray
    blotch_waves: np.ndarray
    blotch_phase: np.ndarray
    blotch_amp: float
    crease: float
    specular: float
    shininess: float


def sample_skin_srgb(rng: np.random.Generator) -> np.ndarray:
    """A random realistic skin tone, sRGB (3,) in 0-255 (also used for distractors)."""
    t = rng.uniform(0.0, len(SKIN_TONES_SRGB) - 1.0)
    i = min(int(t), len(SKIN_TONES_SRGB) - 2)
    rgb = SKIN_TONES_SRGB[i] + (t - i) * (SKIN_TONES_SRGB[i + 1] - SKIN_TONES_SRGB[i])
    rgb = rgb * rng.uniform(0.93, 1.06) + np.array([1.0, 0.0, -0.6]) * rng.normal(0.0, 6.0)
    return np.clip(rgb, 20.0, 252.0)


def sample_skin(rng: np.random.Generator) -> SkinMaterial:
    """Draw a skin material: tone, palm and nail tint, blotches, creases, gloss."""
    base_srgb = sample_skin_srgb(rng)
    lum = float(base_srgb @ [0.2126, 0.7152, 0.0722]) / 255.0
    amount = np.clip(0.1 + 0.6 * (1.0 - lum) ** 1.5 + rng.normal(0.0, 0.04), 0.05, 0.7)
    palm_srgb = base_srgb + amount * (PALM_TARGET_SRGB - base_srgb)
    nail_srgb = 0.55 * NAIL_SRGB + 0.45 * palm_srgb
    k = 4
    direction = rng.standard_normal((k, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    wavelength = rng.uniform(0.015, 0.06, k)
    return SkinMaterial(
        base=srgb_to_linear(base_srgb / 255.0),
        palm=srgb_to_linear(palm_srgb / 255.0),
        nail=srgb_to_linear(nail_srgb / 255.0),
        blotch_waves=direction * (2.0 * np.pi / wavelength)[:, None],
        blotch_phase=rng.uniform(0.0, 2.0 * np.pi, k),
        blotch_amp=float(rng.uniform(0.02, 0.08)),
        crease=float(rng.uniform(0.15, 0.45)),
        specular=float(rng.uniform(0.02, 0.12)),
        shininess=float(rng.uniform(8.0, 30.0)),
    )


@dataclass(frozen=True)
class _RestGeometry:
    """Rest skeleton facts of one shape used by the texture functions."""

    frames: np.ndarray        # (21, 4, 4) rest bone frames
    lengths: np.ndarray       # (5, 3) segment lengths
    widths: np.ndarray        # (5,) proximal finger widths
    palm_width: float
    palm_length: float


@lru_cache(maxsize=64)
def _rest_geometry(shape: HandShape) -> _RestGeometry:
    _, frames = articulate(np.zeros(21), shape)
    return _RestGeometry(frames, shape.segment_lengths(), shape.finger_widths(),
                         shape.palm_width, shape.palm_length)


def _smooth(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _segment_distance(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance (P,) from 2-D points (P, 2) to a polyline (L, 2)."""
    best = np.full(points.shape[0], np.inf)
    for a, b in zip(line[:-1], line[1:]):
        ab = b - a
        t = np.clip(((points - a) @ ab) / (ab @ ab), 0.0, 1.0)
        best = np.minimum(best, np.linalg.norm(points - a - t[:, None] * ab, axis=1))
    return best


def _nails_and_finger_creases(p: np.ndarray, n: np.ndarray, geo: _RestGeometry
                              ) -> tuple[np.ndarray, np.ndarray]:
    """Nail weight (P,) and finger flexion-crease weight (P,) in [0, 1].

    Each finger is only evaluated on the points within a sphere around its two
    distal segments (a cheap pre-filter; the result is the same).
    """
    nail = np.zeros(p.shape[0], np.float32)
    crease = np.zeros(p.shape[0], np.float32)
    start = geo.frames[[chain[1] for chain in FINGER_JOINTS], :3, 3]
    tip = geo.frames[[chain[3] for chain in FINGER_JOINTS], :3, 3]
    centres = 0.5 * (start + tip)  # (5, 3)
    radii = 0.5 * np.linalg.norm(tip - start, axis=1) + geo.widths + 0.004
    # squared distances of every point to the five sphere centres, one product
    d2 = (np.einsum("ij,ij->i", p, p)[:, None] - 2.0 * (p @ centres.T.astype(p.dtype))
          + (centres ** 2).sum(1).astype(p.dtype))
    for f in range(5):
        chain = FINGER_JOINTS[f]
        near_finger = np.flatnonzero(d2[:, f] < radii[f] ** 2)
        if near_finger.size == 0:
            continue
        q_all, nf = p[near_finger].astype(np.float64), n[near_finger].astype(np.float64)
        frame = geo.frames[chain[2]]
        rot, origin = frame[:3, :3], frame[:3, 3]
        q = (q_all - origin) @ rot  # (x flexion axis, y along the bone, z palmar / pad)
        nz = nf @ rot[:, 2]
        length = geo.lengths[f, 2]
        half_width = 0.5 * geo.widths[f] * (0.95 if f else 0.9)
        t = q[:, 1] / length
        lateral = np.abs(q[:, 0]) / half_width
        along = _smooth((t - 0.32) / 0.08) * _smooth((1.02 - t) / 0.06)
        nail[near_finger] = along * _smooth((0.72 - lateral) / 0.12) \
            * _smooth((-nz - 0.35) / 0.25) * (q[:, 2] < 0)
        fc = np.zeros(near_finger.size)
        for joint in (1, 2):  # palmar flexion creases at PIP and DIP (IP, MCP for thumb)
            jf = geo.frames[chain[joint]]
            qj = (q_all - jf[:3, 3]) @ jf[:3, :3]
            near = np.exp(-(qj[:, 1] / 0.0012) ** 2) * (np.abs(qj[:, 0]) < 0.8 * half_width)
            fc = np.maximum(fc, near * _smooth((nf @ jf[:3, 2] - 0.2) / 0.3))
        crease[near_finger] = np.maximum(crease[near_finger], fc)
    return nail, crease


def base_albedo(material: SkinMaterial, shape: HandShape, rest_points: np.ndarray,
                rest_normals: np.ndarray) -> np.ndarray:
    """The smooth part of the skin colour: back / palm tone and blotches.

    Varies slowly over the surface, so it can be evaluated at the vertices and
    interpolated. Args as ``skin_albedo``. Returns (P, 3) linear RGB, float32.
    """
    geo = _rest_geometry(shape)
    p = np.asarray(rest_points, dtype=np.float32)
    n = np.asarray(rest_normals, dtype=np.float32)
    base = material.base.astype(np.float32)
    # the palm's lighter tone fades out towards the wrist crease
    palmar = (_smooth((n[:, 2] + 0.15) / 0.6)
              * _smooth((p[:, 1] - 0.05 * geo.palm_length) / (0.3 * geo.palm_length)))[:, None]
    albedo = base + palmar * (material.palm.astype(np.float32) - base)
    phase = p @ material.blotch_waves.T.astype(np.float32) + material.blotch_phase.astype(np.float32)
    return albedo * (1.0 + material.blotch_amp * np.sin(phase).mean(1))[:, None]


def add_details(material: SkinMaterial, shape: HandShape, albedo: np.ndarray,
                rest_points: np.ndarray, rest_normals: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Sharp details on top of ``base_albedo``: palm and finger creases, nails.

    Evaluated per pixel. Args as ``skin_albedo`` plus ``albedo`` (P, 3), the base
    colour there. Returns albedo (P, 3) and specular strength (P,).
    """
    geo = _rest_geometry(shape)
    p = np.asarray(rest_points, dtype=np.float32)
    n = np.asarray(rest_normals, dtype=np.float32)
    albedo = np.array(albedo, dtype=np.float32)
    nail, crease = _nails_and_finger_creases(p, n, geo)
    on_palm = np.flatnonzero((n[:, 2] > 0.5) & (p[:, 1] < geo.palm_length * 1.02))
    if on_palm.size:
        palm_xy = np.stack([p[on_palm, 0] / geo.palm_width, p[on_palm, 1] / geo.palm_length], 1)
        d = np.full(on_palm.size, np.inf)
        reach = 0.004 / geo.palm_width  # beyond 4 mm a crease no longer darkens
        for line in _PALM_CREASES:
            lo, hi = line.min(0) - reach, line.max(0) + reach
            near = np.flatnonzero(np.all((palm_xy >= lo) & (palm_xy <= hi), axis=1))
            d[near] = np.minimum(d[near], _segment_distance(palm_xy[near], line))
        crease[on_palm] = np.maximum(crease[on_palm], np.exp(-(d * geo.palm_width / 0.0009) ** 2))
    albedo *= (1.0 - material.crease * crease)[:, None]
    albedo += nail[:, None] * (material.nail.astype(np.float32) - albedo)
    specular = material.specular * (1.0 + 2.0 * nail)
    return np.clip(albedo, 0.0, 1.0), specular


def skin_albedo(material: SkinMaterial, shape: HandShape, rest_points: np.ndarray,
                rest_normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-point albedo and specular strength of the hand skin (base + details).

    Args:
        material: the hand's SkinMaterial.
        shape: the hand's shape (for the rest skeleton).
        rest_points: (P, 3) surface points in the rest (flat, right-hand) frame, metres.
        rest_normals: (P, 3) unit rest normals there.
    Returns:
        albedo (P, 3) linear RGB and specular strength (P,).
    """
    base = base_albedo(material, shape, rest_points, rest_normals)
    return add_details(material, shape, base, rest_points, rest_normals)
