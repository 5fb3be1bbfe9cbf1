"""Procedural cluttered backgrounds (numpy + cv2), RGB uint8 (H, W, 3).

A base layer (gradient, multi-scale noise, stripes, checks or wood-like grain), then
clutter: rectangles, ellipses, lines, polygons, text, some with soft shadows or
textures, some skin-coloured blobs (so a detector must learn hand shape, not colour),
then optional defocus blur and an uneven illumination field. Everything is drawn from
the given generator, so the same generator state gives the same image.
"""

from __future__ import annotations

import cv2
import numpy as np

from rejshand_ros.synth.skin import sample_skin_srgb

_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
          cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_PLAIN)


def random_color(rng: np.random.Generator) -> np.ndarray:
    """A random RGB colour (3,) float 0-255, mostly muted, sometimes saturated."""
    hue = rng.uniform(0, 180)
    sat = rng.choice([rng.uniform(0, 60), rng.uniform(60, 255)], p=[0.55, 0.45])
    val = rng.uniform(30, 250)
    hsv = np.array([[[hue, sat, val]]], dtype=np.float32)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)[0, 0].astype(np.float64)


def value_noise(rng: np.random.Generator, height: int, width: int, cell: float,
                octaves: int = 3) -> np.ndarray:
    """Smooth multi-octave noise (H, W) float32 in [0, 1]; ``cell`` = largest feature px."""
    out = np.zeros((height, width), np.float32)
    total = 0.0
    for o in range(octaves):
        size = max(cell / (2 ** o), 1.5)
        gh, gw = int(np.ceil(height / size)) + 2, int(np.ceil(width / size)) + 2
        grid = rng.random((gh, gw), dtype=np.float32)
        up = cv2.resize(grid, (int(gw * size), int(gh * size)), interpolation=cv2.INTER_CUBIC)
        weight = 0.5 ** o
        out += weight * up[:height, :width]
        total += weight
    out /= total
    lo, hi = float(out.min()), float(out.max())
    return (out - lo) / max(hi - lo, 1e-6)


def _two_color(field: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Blend colours a and b (3,) by ``field`` (H, W) in [0, 1] -> (H, W, 3) float32."""
    m = np.stack([b - a, a], axis=1).astype(np.float32)  # (3, 2): out = (b - a) f + a
    return cv2.transform(field.astype(np.float32)[..., None], m)


def _texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A full-size base texture (H, W, 3) float32 0-255."""
    a, b = random_color(rng), random_color(rng)
    kind = rng.choice(["gradient", "noise", "stripes", "checks", "grain"],
                      p=[0.25, 0.35, 0.12, 0.08, 0.2])
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    if kind == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        t = xx * np.cos(angle) + yy * np.sin(angle)
        if rng.random() < 0.3:  # radial
            t = np.hypot(xx - rng.uniform(0, width), yy - rng.uniform(0, height))
        field = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    elif kind == "noise":
        field = value_noise(rng, height, width, rng.uniform(4, max(width, height, 10) / 2),
                            octaves=int(rng.integers(2, 5)))
    elif kind == "stripes":
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(6, 80)
        t = (xx * np.cos(angle) + yy * np.sin(angle)) * (2 * np.pi / period)
        field = 0.5 + 0.5 * np.sin(t)
        if rng.random() < 0.5:
            field = (field > 0.5).astype(np.float32)
    elif kind == "checks":
        period = rng.uniform(10, 90)
        field = ((np.floor(xx / period) + np.floor(yy / period)) % 2).astype(np.float32)
    else:  # wood-like grain: stretched noise warped by sinusoid
        noise = value_noise(rng, height, width, rng.uniform(20, 120), 2)
        angle = rng.uniform(0, np.pi)
        t = (xx * np.cos(angle) + yy * np.sin(angle)) / rng.uniform(3, 12) + 8 * noise
        field = 0.5 + 0.5 * np.sin(t)
    return _two_color(field, a, b)


def _sample_shape(rng: np.random.Generator, height: int, width: int, scale: float
                  ) -> tuple[str, tuple]:
    """Kind and drawing parameters of a random clutter shape."""
    cx, cy = rng.uniform(-0.1, 1.1) * width, rng.uniform(-0.1, 1.1) * height
    size = scale * rng.uniform(0.05, 0.45)
    kind = str(rng.choice(["rect", "ellipse", "polygon", "line", "text"],
                          p=[0.3, 0.25, 0.2, 0.15, 0.1]))
    if kind == "rect":
        box = ((cx, cy), (size * rng.uniform(0.3, 1.5), size * rng.uniform(0.3, 1.5)),
               rng.uniform(0, 180))
        return kind, (cv2.boxPoints(box).astype(np.int32),)
    if kind == "ellipse":
        axes = (int(size * rng.uniform(0.2, 0.8)) + 1, int(size * rng.uniform(0.2, 0.8)) + 1)
        return kind, ((int(cx), int(cy)), axes, float(rng.uniform(0, 180)))
    if kind == "polygon":
        n = int(rng.integers(3, 9))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = size * rng.uniform(0.2, 0.7, n)
        return kind, (np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1).astype(np.int32),)
    if kind == "line":
        ang = rng.uniform(0, np.pi)
        d = size * rng.uniform(0.5, 2.0) * np.array([np.cos(ang), np.sin(ang)])
        return kind, ((int(cx - d[0]), int(cy - d[1])), (int(cx + d[0]), int(cy + d[1])),
                      int(rng.integers(1, max(2, int(scale / 40)))))
    letters = "ABCDEFGHKMNPRSTUVWXYZ0123456789abcdehkmnorstuvw"
    text = "".join(rng.choice(list(letters), int(rng.integers(2, 9))))
    return kind, (text, (int(cx - size), int(cy)), _FONTS[int(rng.integers(len(_FONTS)))],
                  max(size / 60.0, 0.4), int(rng.integers(1, 4)))


def _draw_shape(target: np.ndarray, kind: str, params: tuple, color) -> None:
    """Draw a shape from ``_sample_shape`` onto ``target`` (anti-aliased, in place)."""
    if kind == "rect":
        cv2.fillConvexPoly(target, params[0], color, cv2.LINE_AA)
    elif kind == "ellipse":
        cv2.ellipse(target, params[0], params[1], params[2], 0, 360, color, -1, cv2.LINE_AA)
    elif kind == "polygon":
        cv2.fillPoly(target, [params[0]], color, cv2.LINE_AA)
    elif kind == "line":
        cv2.line(target, params[0], params[1], color, params[2], cv2.LINE_AA)
    else:
        cv2.putText(target, params[0], params[1], params[2], params[3], color, params[4],
                    cv2.LINE_AA)


def _skin_blob(rng: np.random.Generator, image: np.ndarray, scale: float) -> None:
    """Draw a shaded skin-coloured capsule / ellipse (face-, arm- or finger-like)."""
    height, width = image.shape[:2]
    cx, cy = rng.uniform(0, width), rng.uniform(0, height)
    length = scale * rng.uniform(0.05, 0.3)
    thick = length * rng.uniform(0.1, 0.5)
    ang = rng.uniform(0, np.pi)
    half = int(0.5 * length + thick) + 2
    x0, y0 = max(int(cx) - half, 0), max(int(cy) - half, 0)
    x1, y1 = min(int(cx) + half, width), min(int(cy) + half, height)
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    c = (int(cx) - x0, int(cy) - y0)
    if rng.random() < 0.5:  # capsule
        d = 0.5 * length * np.array([np.cos(ang), np.sin(ang)])
        cv2.line(mask, (int(c[0] - d[0]), int(c[1] - d[1])), (int(c[0] + d[0]), int(c[1] + d[1])),
                 255, max(int(thick), 2), cv2.LINE_AA)
    else:
        cv2.ellipse(mask, c, (int(length / 2) + 1, int(thick / 2) + 1), np.rad2deg(ang), 0, 360,
                    255, -1, cv2.LINE_AA)
    # rounded look: brighter towards the middle (distance to the outline)
    dist = cv2.distanceTransform((mask > 127).astype(np.uint8), cv2.DIST_L2, 3)
    shade = np.sqrt(dist / max(float(dist.max()), 1.0))
    color = sample_skin_srgb(rng).astype(np.float32)
    lit = np.clip(color * (0.55 + 0.5 * shade[..., None]), 0, 255)
    m = (mask.astype(np.float32) / 255.0)[..., None]
    roi = image[y0:y1, x0:x1]
    roi[:] = (roi * (1 - m) + lit * m).astype(np.uint8)


def _draw_shadow(rng: np.random.Generator, image: np.ndarray, kind: str, params: tuple,
                 scale: float) -> None:
    """Darken ``image`` under a blurred, shifted copy of a shape (in place)."""
    height, width = image.shape[:2]
    mask = np.zeros((height, width), np.uint8)
    _draw_shape(mask, kind, params, 255)
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0 or h == 0:
        return
    off = rng.normal(0, scale * 0.01, 2)
    sigma = scale * 0.006 + 1.0
    pad = int(3 * sigma + abs(off).max()) + 1
    x0, y0 = max(x - pad, 0), max(y - pad, 0)
    x1, y1 = min(x + w + pad, width), min(y + h + pad, height)
    m = np.float32([[1, 0, off[0]], [0, 1, off[1]]])
    shifted = cv2.warpAffine(mask[y0:y1, x0:x1], m, (x1 - x0, y1 - y0))
    small = cv2.resize(shifted, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    soft = cv2.resize(cv2.GaussianBlur(small, (0, 0), sigma / 4), (x1 - x0, y1 - y0))
    gain = 1.0 - rng.uniform(0.2, 0.5) * soft.astype(np.float32) / 255.0
    roi = image[y0:y1, x0:x1]
    roi[:] = (roi * gain[..., None]).astype(np.uint8)


def _base_layer(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Base texture (H, W, 3) uint8, synthesised at half resolution and upsampled."""
    ds = 2 if min(width, height) >= 128 else 1
    h, w = -(-height // ds), -(-width // ds)
    base = _texture(rng, h, w)
    if rng.random() < 0.4:  # mix a second texture in by a noise mask
        field = value_noise(rng, h, w, rng.uniform(10, max(w, h) / 2), 2)[..., None]
        base = base * field + _texture(rng, h, w) * (1.0 - field)
    base = np.clip(base, 0, 255).astype(np.uint8)
    if ds == 1:
        return base
    return cv2.resize(base, (width, height), interpolation=cv2.INTER_LINEAR)


def render_background(rng: np.random.Generator, width: int, height: int,
                      clutter: float = 1.0, skin_distractor_prob: float = 0.5) -> np.ndarray:
    """A cluttered background image.

    Args:
        rng: generator; the image is a pure function of its state.
        width, height: image size, pixels.
        clutter: multiplier on the number of clutter shapes (0 = base layer only).
        skin_distractor_prob: probability of drawing 1-3 skin-coloured blobs.
    Returns:
        (height, width, 3) uint8 RGB.
    """
    scale = float(max(width, height))
    image = _base_layer(rng, width, height)
    count = int(rng.poisson(12 * clutter))
    for _ in range(count):
        kind, params = _sample_shape(rng, height, width, scale)
        solid = kind in ("rect", "ellipse", "polygon")
        if solid and rng.random() < 0.3:  # soft shadow
            _draw_shadow(rng, image, kind, params, scale)
        if solid and rng.random() < 0.15:  # textured fill, through a mask
            mask = np.zeros((height, width), np.uint8)
            _draw_shape(mask, kind, params, 255)
            x, y, w, h = cv2.boundingRect(mask)
            if w == 0 or h == 0:
                continue
            alpha = (mask[y:y + h, x:x + w].astype(np.float32) / 255.0)[..., None]
            roi = image[y:y + h, x:x + w]
            roi[:] = (roi * (1.0 - alpha) + _texture(rng, h, w) * alpha).astype(np.uint8)
        else:
            color = random_color(rng) * rng.uniform(0.85, 1.0)
            _draw_shape(image, kind, params, tuple(float(c) for c in color))
    if rng.random() < skin_distractor_prob:
        for _ in range(int(rng.integers(1, 4))):
            _skin_blob(rng, image, scale)
    if rng.random() < 0.6:  # defocus
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 3.0))
    # uneven illumination: a smooth gain field, made small and upsampled
    gh, gw = max(height // 16, 2), max(width // 16, 2)
    light = value_noise(rng, gh, gw, max(gh, gw) / 2, 1) * rng.uniform(0.0, 0.5)
    gain = rng.uniform(0.6, 1.15) * (1.0 - light + light.mean())
    gain = cv2.resize(np.clip(gain * 128.0, 0, 255).astype(np.uint8), (width, height),
                      interpolation=cv2.INTER_LINEAR)
    return cv2.multiply(image, cv2.merge([gain, gain, gain]), scale=1.0 / 128.0)
