"""Closed triangle meshes of simple objects: forearms, sleeves and occluders.

Every mesh is closed and wound outwards (counter-clockwise seen from outside, the
convention of ``hand_model.rasterizer``), so back-face culling stays exact for it.
Lengths are metres in the object's own frame; callers rotate and translate them.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np


class Mesh(NamedTuple):
    """vertices (V, 3) float64 metres; faces (F, 3) int64, wound outwards."""

    vertices: np.ndarray
    faces: np.ndarray


def lathe(y: Sequence[float], radius_x: Sequence[float], radius_z: Sequence[float],
          segments: int = 16) -> Mesh:
    """Tube of elliptical rings along +y, closed by a centre vertex at each end.

    Args:
        y: (R,) increasing ring positions along +y, metres (R >= 2).
        radius_x, radius_z: (R,) semi-axes of each ring along x and z, metres.
        segments: vertices per ring.
    Returns:
        Mesh with R * segments + 2 vertices.
    """
    y = np.asarray(y, dtype=np.float64)
    rx = np.asarray(radius_x, dtype=np.float64)
    rz = np.asarray(radius_z, dtype=np.float64)
    rings = y.size
    if rings < 2 or not (rx.size == rz.size == rings) or np.any(np.diff(y) <= 0):
        raise ValueError("lathe needs >= 2 rings with increasing y and one radius pair each")
    theta = np.arange(segments) * (2.0 * np.pi / segments)
    ring = np.stack([np.cos(theta), np.zeros(segments), np.sin(theta)], axis=1)
    verts = (ring[None] * np.stack([rx, np.ones(rings), rz], 1)[:, None]).reshape(-1, 3)
    verts[:, 1] = np.repeat(y, segments)
    bottom, top = rings * segments, rings * segments + 1
    verts = np.concatenate([verts, [[0.0, y[0], 0.0], [0.0, y[-1], 0.0]]])
    j = np.arange(segments)
    k = (j + 1) % segments
    faces = []
    for r in range(rings - 1):
        a, b = r * segments + j, r * segments + k
        c, d = a + segments, b + segments
        # ring angle runs from +x towards +z; with +y up, (a, c, b) faces outwards
        faces.append(np.stack([a, c, b], 1))
        faces.append(np.stack([b, c, d], 1))
    faces.append(np.stack([np.full(segments, bottom), j, k], 1))
    last = (rings - 1) * segments
    faces.append(np.stack([np.full(segments, top), last + k, last + j], 1))
    return Mesh(verts, np.concatenate(faces).astype(np.int64))


def box(size: Sequence[float]) -> Mesh:
    """Axis-aligned box centred at the origin; 4 vertices per side (flat normals).

    Args:
        size: (3,) edge lengths along x, y, z, metres.
    """
    half = 0.5 * np.asarray(size, dtype=np.float64)
    verts, faces = [], []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            u, v = (axis + 1) % 3, (axis + 2) % 3
            corners = np.zeros((4, 3))
            corners[:, axis] = sign
            corners[:, u] = [-1, 1, 1, -1]
            corners[:, v] = [-1, -1, 1, 1]
            base = 4 * len(verts)
            quad = [[0, 1, 2], [0, 2, 3]] if sign > 0 else [[0, 2, 1], [0, 3, 2]]
            faces.extend([[base + i for i in tri] for tri in quad])
            verts.append(corners * half)
    return Mesh(np.concatenate(verts), np.asarray(faces, dtype=np.int64))


def ellipsoid(radii: Sequence[float], rings: int = 8, segments: int = 14) -> Mesh:
    """Ellipsoid centred at the origin (a lathe along y with a round profile)."""
    rx, ry, rz = (float(r) for r in radii)
    phi = np.linspace(0.0, np.pi, rings + 2)[1:-1]
    y = -ry * np.cos(phi)
    s = np.sin(phi)
    mesh = lathe(y, rx * s, rz * s, segments)
    verts = mesh.vertices.copy()
    verts[-2, 1], verts[-1, 1] = -ry, ry  # poles on the surface
    return Mesh(verts, mesh.faces)


def cylinder(radius: float, length: float, segments: int = 16,
             taper: float = 1.0) -> Mesh:
    """Cylinder (or truncated cone with ``taper`` = top / bottom radius) centred on y."""
    half = 0.5 * float(length)
    return lathe([-half, half], [radius, radius * taper], [radius, radius * taper], segments)


def forearm(wrist_width: float, wrist_thickness: float, length: float,
            sleeve_start: float | None = None, sleeve_bulge: float = 1.25,
            segments: int = 16) -> tuple[Mesh, np.ndarray]:
    """Forearm from just inside the wrist (y = +3 mm) down along -y, optional sleeve.

    Args:
        wrist_width, wrist_thickness: the hand's wrist section (x and z extent), metres.
        length: forearm length from the wrist, metres.
        sleeve_start: distance from the wrist where a sleeve begins (None: bare arm).
        sleeve_bulge: sleeve radius relative to the arm under it.
    Returns:
        (mesh, cloth) where cloth (V,) is 1.0 on sleeve vertices, 0.0 on skin.
    """
    # ellipse inside the wrist's superellipse, widening to the mid forearm
    d = np.array([-0.003, 0.02, 0.06, 0.12, 0.2, 0.3, 0.45])
    d = d[d < length]
    d = np.append(d, length)
    grow = np.interp(d, [0.0, 0.06, 0.3], [1.0, 1.12, 1.0])
    rx = 0.5 * wrist_width * grow
    rz = 0.5 * wrist_thickness * np.interp(d, [0.0, 0.06, 0.3], [1.0, 1.35, 1.25])
    cloth = np.zeros(d.size)
    if sleeve_start is not None and sleeve_start < length - 0.01:
        s = float(sleeve_start)
        keep = (d < s - 0.002) | (d > s + 0.01)
        d, rx, rz, cloth = d[keep], rx[keep], rz[keep], cloth[keep]
        at_x, at_z = np.interp(s, d, rx), np.interp(s, d, rz)
        cut = np.array([s - 0.001, s, s + 0.004])
        d = np.concatenate([d, cut])
        rx = np.concatenate([rx, [at_x, at_x * sleeve_bulge, at_x * sleeve_bulge]])
        rz = np.concatenate([rz, [at_z, at_z * sleeve_bulge, at_z * sleeve_bulge]])
        cloth = np.concatenate([cloth, [0.0, 1.0, 1.0]])
        order = np.argsort(d)
        d, rx, rz, cloth = d[order], rx[order], rz[order], cloth[order]
        beyond = d > s + 0.004
        rx[beyond] *= sleeve_bulge
        rz[beyond] *= sleeve_bulge
        cloth[beyond] = 1.0
    # lathe runs along +y with increasing y: reverse so y = -d increases
    mesh = lathe(-d[::-1], rx[::-1], rz[::-1], segments)
    ring_cloth = np.repeat(cloth[::-1], segments)
    vertex_cloth = np.concatenate([ring_cloth, [cloth[-1], cloth[0]]])
    return mesh, vertex_cloth


def transform(mesh: Mesh, rotation: np.ndarray, translation: np.ndarray) -> Mesh:
    """Mesh with vertices mapped to rotation @ v + translation (proper rotation)."""
    return Mesh(mesh.vertices @ np.asarray(rotation).T + np.asarray(translation),
                mesh.faces)
