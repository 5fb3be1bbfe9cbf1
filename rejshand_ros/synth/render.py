"""Draw a sampled Scene: one z-buffer for hands and props, smooth shading, anti-aliased
compositing over the background (procedural, or a crop of a real photo), camera effects.

All hands and props are rasterised together by ``hand_model.rasterizer.rasterize``
(exact per-pixel depth test; back faces culled, which is exact for closed meshes seen
from outside). Shading interpolates vertex normals with the perspective-correct
barycentrics (Phong-style per-pixel lighting, view along each pixel's ray); the albedo
follows the skin tone interpolated from the vertices plus nails and creases evaluated
per pixel in the hand's rest frame (``skin.py``). Outlines against the
background are anti-aliased (``composite.py``). Images are RGB uint8; masks refer to
the exact (non-anti-aliased) raster.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple, Tuple

import cv2
import numpy as np
import scipy.sparse

from rejshand_ros.hand_model.mesh import faces_for_side
from rejshand_ros.hand_model.rasterizer import project, rasterize
from rejshand_ros.synth.background import render_background
from rejshand_ros.synth.composite import composite
from rejshand_ros.synth.lighting import linear_to_srgb, shade
from rejshand_ros.synth.photos import render_photo_background
from rejshand_ros.synth.scene import PostFx, Scene
from rejshand_ros.synth.skin import add_details, base_albedo

_NOISE_TILE = 1024


@dataclass
class RenderedScene:
    """Result of ``render_scene``.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        hand_index: (H, W) int8, k where hand k is the visible surface, -1 elsewhere.
        depth: (H, W) float32 camera z (metres) of the visible surface, inf if none.
        silhouette_pixels: (num_hands,) pixels inside the image covered by each hand's
            own silhouette, ignoring anything in front of it (same raster rule).
    """

    image: np.ndarray
    hand_index: np.ndarray
    depth: np.ndarray
    silhouette_pixels: np.ndarray


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit area-weighted vertex normals (V, 3) of an outward-wound mesh."""
    tri = vertices[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n = vertices.shape[0]
    idx = faces.ravel()
    out = np.stack([np.bincount(idx, np.repeat(fn[:, c], 3), minlength=n) for c in range(3)], 1)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-20)


@lru_cache(maxsize=1)
def _noise_tile() -> np.ndarray:
    """Fixed unit-variance Gaussian noise (1024, 1024, 3) float32 (sliced per image)."""
    rng = np.random.default_rng(20240601)
    return rng.standard_normal((_NOISE_TILE, _NOISE_TILE, 3), dtype=np.float32)


class _Batch(NamedTuple):
    """All hands then all props, concatenated.

    verts (V, 3) float64 camera frame; faces (F, 3) int64; owner (F,) object index
    (hands first); attrs (V, 12) float32 per-vertex shading inputs: camera-frame
    normal, albedo (the smooth skin tone on hands), rest position and rest normal
    (zeros on props).
    """

    verts: np.ndarray
    faces: np.ndarray
    owner: np.ndarray
    attrs: np.ndarray


def _assemble(scene: Scene) -> _Batch:
    """Concatenate the scene's meshes and their per-vertex shading attributes."""
    verts, faces, owner, attrs = [], [], [], []
    count = 0
    for index, hand in enumerate(scene.hands):
        f = faces_for_side(hand.side).astype(np.int64)
        rest_n = vertex_normals(hand.rest, faces_for_side("right").astype(np.int64))
        tone = base_albedo(hand.skin, hand.shape, hand.rest, rest_n)
        attrs.append(np.concatenate([vertex_normals(hand.verts, f), tone, hand.rest, rest_n], 1))
        verts.append(hand.verts)
        faces.append(f + count)
        owner.append(np.full(f.shape[0], index, np.int32))
        count += hand.verts.shape[0]
    for index, prop in enumerate(scene.props, start=len(scene.hands)):
        v, f = prop.mesh
        attrs.append(np.concatenate([vertex_normals(v, f), prop.albedo, np.zeros((v.shape[0], 6))],
                                    1))
        verts.append(v)
        faces.append(f + count)
        owner.append(np.full(f.shape[0], index, np.int32))
        count += v.shape[0]
    if not verts:
        return _Batch(np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros(0, np.int32),
                      np.zeros((0, 12), np.float32))
    return _Batch(np.concatenate(verts), np.concatenate(faces), np.concatenate(owner),
                  np.concatenate(attrs).astype(np.float32))


def _front_facing(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    tri = verts[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    return np.einsum("ij,ij->i", normal, tri.mean(1)) < 0.0


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.sqrt(np.einsum("ij,ij->i", v, v)), 1e-12)[:, None]


def _shade_pixels(scene: Scene, raster, batch: _Batch) -> Tuple[np.ndarray, np.ndarray]:
    """sRGB colours (P, 3) in [0, 255] of the covered pixels, and their flat indices."""
    face_id = raster.face_id.ravel()
    idx = np.flatnonzero(face_id >= 0)
    fid = face_id[idx]
    tri = batch.faces[fid]
    # per-pixel attributes = barycentric blend of the face's vertices: a sparse product
    weights = scipy.sparse.csr_matrix(
        (raster.barycentrics.reshape(-1, 3)[idx].ravel(), tri.ravel(),
         np.arange(0, 3 * idx.size + 1, 3)), shape=(idx.size, batch.attrs.shape[0]))
    attrs = np.asarray(weights @ batch.attrs)
    n = _unit(attrs[:, 0:3])
    # the surface point of a pixel lies on that pixel centre's ray: view = -ray
    v, u = np.divmod(idx, scene.width)
    kinv = np.linalg.inv(scene.K)
    ray = np.empty((idx.size, 3), np.float32)
    ray[:, 0] = kinv[0, 0] * u + kinv[0, 1] * v + kinv[0, 2]
    ray[:, 1] = kinv[1, 1] * v + kinv[1, 2]
    ray[:, 2] = 1.0
    view = -_unit(ray)
    obj = batch.owner[fid]
    albedo = np.ascontiguousarray(attrs[:, 3:6])
    spec = np.zeros(idx.size, np.float32)
    shin = np.ones(idx.size, np.float32)
    num_hands = len(scene.hands)
    for k, hand in enumerate(scene.hands):
        sel = np.flatnonzero(obj == k)
        if sel.size:
            albedo[sel], spec[sel] = add_details(hand.skin, hand.shape, albedo[sel],
                                                 attrs[sel, 6:9], _unit(attrs[sel, 9:12]))
            shin[sel] = hand.skin.shininess
    for j, prop in enumerate(scene.props):
        sel = obj == num_hands + j
        spec[sel] = prop.specular
        shin[sel] = prop.shininess
    radiance = shade(scene.lighting, n, view, albedo, spec, shin)
    return 255.0 * linear_to_srgb(radiance), idx


def _post(image: np.ndarray, post: PostFx, rng: np.random.Generator) -> np.ndarray:
    """Camera effects on a float32 sRGB image (0-255) -> uint8."""
    if post.motion_px >= 1.5:
        k = int(np.ceil(post.motion_px)) | 1
        kernel = np.zeros((k, k), np.float32)
        c = k // 2
        d = np.array([np.cos(post.motion_angle), np.sin(post.motion_angle)]) * c
        cv2.line(kernel, (int(round(c - d[0])), int(round(c - d[1]))),
                 (int(round(c + d[0])), int(round(c + d[1]))), 1.0, 1, cv2.LINE_AA)
        image = cv2.filter2D(image, -1, kernel / kernel.sum())
    if post.blur_sigma > 0.2:
        image = cv2.GaussianBlur(image, (0, 0), post.blur_sigma)
    image = cv2.multiply(image, (*post.gain, 0.0))
    if post.noise_sigma > 0:
        height, width = image.shape[:2]
        if height <= _NOISE_TILE and width <= _NOISE_TILE:
            oy = rng.integers(0, _NOISE_TILE - height + 1)
            ox = rng.integers(0, _NOISE_TILE - width + 1)
            noise = _noise_tile()[oy:oy + height, ox:ox + width]
        else:
            noise = rng.standard_normal(image.shape, dtype=np.float32)
        image = cv2.scaleAdd(noise, float(post.noise_sigma), image)
    return cv2.convertScaleAbs(cv2.max(image, 0.0))


def _silhouette_pixels(scene: Scene, k: int, obj: np.ndarray, uv: np.ndarray) -> int:
    """Pixels of hand k's own silhouette in the image, as if nothing were in front.

    Anything hiding part of the hand is visible there, inside the hand's projected
    bounding box; when nothing else is, the silhouette is the visible part itself.
    Otherwise the hand is rasterised alone over that box.
    """
    height, width = obj.shape
    x0, y0 = np.clip(np.floor(uv.min(0)), 0, [width, height]).astype(int)
    x1, y1 = np.clip(np.ceil(uv.max(0)) + 1, 0, [width, height]).astype(int)
    region = obj[y0:y1, x0:x1]
    if region.size == 0 or not np.any((region >= 0) & (region != k)):
        return int(np.count_nonzero(region == k))
    hand = scene.hands[k]
    K = scene.K.copy()
    K[0, 2] -= x0
    K[1, 2] -= y0
    alone = rasterize(hand.verts, faces_for_side(hand.side), K, x1 - x0, y1 - y0,
                      cull_backfaces=True)
    return int(np.count_nonzero(alone.face_id >= 0))


def render_scene(scene: Scene) -> RenderedScene:
    """Render ``scene`` (deterministic: all randomness lives in the scene)."""
    width, height = scene.width, scene.height
    rng = np.random.default_rng(scene.background_seed)
    if scene.photo is not None:
        background = render_photo_background(scene.photo, width, height)
    else:
        background = render_background(rng, width, height, scene.clutter,
                                       scene.skin_distractor_prob)
    batch = _assemble(scene)
    verts, faces, owner = batch.verts, batch.faces, batch.owner
    hand_index = np.full((height, width), -1, np.int8)
    silhouettes = np.zeros(len(scene.hands), np.int64)
    if faces.shape[0] == 0:
        image = _post(background.astype(np.float32), scene.post, rng)
        return RenderedScene(image, hand_index, np.full((height, width), np.inf, np.float32),
                             silhouettes)
    raster = rasterize(verts, faces, scene.K, width, height, cull_backfaces=True,
                       return_barycentrics=True)
    colors, idx = _shade_pixels(scene, raster, batch)
    covered = raster.face_id >= 0
    front = _front_facing(verts, faces)
    uv = project(verts, scene.K)
    image = composite(background, colors.astype(np.float32), idx, covered, uv[faces[front]])
    obj = np.full((height, width), -1, np.int32)
    obj.ravel()[idx] = owner[raster.face_id.ravel()[idx]]
    visible_hand = (obj >= 0) & (obj < len(scene.hands))
    hand_index[visible_hand] = obj[visible_hand]
    for k in range(len(scene.hands)):
        silhouettes[k] = _silhouette_pixels(scene, k, obj, uv[778 * k:778 * (k + 1)])
    return RenderedScene(_post(image, scene.post, rng), hand_index, raster.depth, silhouettes)
