"""Lights and the shading model: ambient + directional wrapped Lambert + Blinn-Phong.

Directions are unit vectors in the camera frame (OpenCV: x right, y down, z forward)
pointing from the surface TOWARDS the light. Shading works in linear RGB; images are
sRGB (``srgb_to_linear`` / ``linear_to_srgb``, values in [0, 1]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] -> linear RGB (gamma 2.2 approximation)."""
    return np.power(np.clip(c, 0.0, 1.0), 2.2)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    """Linear RGB -> sRGB in [0, 1] (gamma 1/2.2), clipped."""
    return np.power(np.clip(c, 0.0, 1.0), 1.0 / 2.2)


@dataclass(frozen=True)
class Lighting:
    """Scene lights.

    Attributes:
        ambient: (3,) linear RGB ambient irradiance.
        directions: (L, 3) unit directions towards each light, camera frame.
        colors: (L, 3) linear RGB intensity of each light.
        wrap: diffuse wrap in [0, 1) (soft, skin-like terminator).
    """

    ambient: np.ndarray
    directions: np.ndarray
    colors: np.ndarray
    wrap: float = 0.25


def _tint(rng: np.random.Generator, strength: float) -> np.ndarray:
    """A light colour (3,) near white: warm or cool by ``strength``."""
    warm = rng.normal(0.0, strength)
    return np.clip(np.array([1.0 + warm, 1.0, 1.0 - warm]) + rng.normal(0, 0.02, 3), 0.5, 1.5)


def sample_lighting(rng: np.random.Generator) -> Lighting:
    """Ambient plus a key light from the camera's side, sometimes a second light."""
    key = np.array([rng.normal(0.0, 0.6), rng.normal(-0.4, 0.6), -rng.uniform(0.3, 1.2)])
    dirs = [key / np.linalg.norm(key)]
    key_power = rng.uniform(0.5, 1.0)
    colors = [key_power * _tint(rng, 0.08)]
    if rng.random() < 0.5:  # fill / rim light from anywhere
        second = rng.standard_normal(3)
        dirs.append(second / np.linalg.norm(second))
        colors.append(rng.uniform(0.15, 0.5) * key_power * _tint(rng, 0.12))
    ambient = rng.uniform(0.1, 0.4) * _tint(rng, 0.06)
    return Lighting(ambient=ambient, directions=np.array(dirs), colors=np.array(colors),
                    wrap=float(rng.uniform(0.1, 0.45)))


def shade(lighting: Lighting, normals: np.ndarray, view: np.ndarray, albedo: np.ndarray,
          specular: np.ndarray, shininess: np.ndarray | float) -> np.ndarray:
    """Linear RGB radiance (P, 3) of surface points.

    Args:
        lighting: the scene's Lighting.
        normals: (P, 3) unit normals, camera frame.
        view: (P, 3) unit directions from the surface towards the camera.
        albedo: (P, 3) linear RGB albedo.
        specular: (P,) specular strength.
        shininess: Blinn-Phong exponent, scalar or (P,).
    """
    diffuse = np.empty(albedo.shape, np.float32)
    diffuse[:] = lighting.ambient
    spec = np.zeros(albedo.shape, np.float32)
    w = np.float32(lighting.wrap)
    shininess = np.asarray(shininess, np.float32)
    for direction, color in zip(lighting.directions.astype(np.float32),
                                lighting.colors.astype(np.float32)):
        ndl = normals @ direction
        diffuse += np.maximum((ndl + w) / (1.0 + w), 0.0)[:, None] * color
        half = view + direction
        half_norm = np.sqrt(np.einsum("ij,ij->i", half, half))
        nh = np.clip(np.einsum("ij,ij->i", normals, half) / np.maximum(half_norm, 1e-9), 0.0, 1.0)
        spec += (np.power(nh, shininess) * (ndl > 0.0))[:, None] * color
    return albedo * diffuse + specular[:, None] * spec
