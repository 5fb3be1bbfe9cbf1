"""Builds the procedural hand surface: vertex loops around palm, fingers and thumb.

Topology (fixed, shape-independent vertex order):
  * the palm is a tube of PALM_RING-vertex loops from the wrist (closed by a cap)
    towards the knuckles; its last loop is lofted onto a 42-vertex pre-knuckle
    loop, which is bridged to the 42-vertex knuckle loop around the MCPs;
  * the knuckle loop is partitioned into four 12-vertex finger loops; neighbouring
    fingers share the two web vertices between them (the web edge is used once by
    each finger), so the fingers attach watertight;
  * the thumb tube starts at a rectangular hole (4 loops long, 3 quads around) cut
    out of the palm's radial-palmar side, followed by a bulging thenar ring;
  * every finger and the thumb end in a dome closed by an apex vertex, which is the
    fingertip keypoint.
Vertex positions are built around the rest skeleton of a HandShape, so the same
recipe gives the rest mesh of any shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np

from rejshand_ros.hand_model._skeleton_constants import BONE_JOINTS, FINGER_JOINTS, NUM_BONES
from rejshand_ros.hand_model.kinematics import articulate
from rejshand_ros.hand_model.mesh_ops import bridge_loops, fan_cap, loft_loops
from rejshand_ros.hand_model.shape import HandShape

NUM_VERTICES: int = 778
FINGER_RING: int = 12
THUMB_RING: int = 14
PALM_RING: int = 24
#: chain coordinate (segment index + fraction) of the finger / thumb rings
FINGER_RING_T: Tuple[float, ...] = (0.33, 0.72, 1.0, 1.5, 2.0, 2.4)
THUMB_RING_T: Tuple[float, ...] = (0.62, 0.85, 1.0, 1.5, 2.0, 2.4)
#: dome rings at these elevation angles (degrees), then the apex; with vertex counts
DOME_DEG: Tuple[float, ...] = (40.0, 70.0)
#: palm loop positions, fraction of the way from wrist to knuckles
PALM_LOOP_S: Tuple[float, ...] = (0.0, 0.11, 0.22, 0.33, 0.44, 0.55, 0.66, 0.77)
#: a loop with the knuckle loop's 42 vertices, this far from wrist to knuckles
PRE_KNUCKLE_S: float = 0.9
THUMB_HOLE_LOOPS: Tuple[int, int] = (1, 5)  # palm loops bounding the hole (4 spans)
THUMB_HOLE_SPANS: int = 3  # quads around the palm
THUMB_HOLE_ANGLE: float = np.deg2rad(52.0)  # hole centre, from +z (palmar) towards +x
_SUPER = 2.0 / 3.0  # superellipse exponent of cross-sections (2/p with p = 3)
_ARCH = 0.03  # transverse palm arch (hollow palm, domed back) / palm width
_KNUCKLE_ORDER = (4, 3, 2, 1)  # chains from ulnar to radial (pinky..index)


def _sgnpow(v: np.ndarray, e: float) -> np.ndarray:
    return np.sign(v) * np.abs(v) ** e


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _ring_angles(n: int) -> np.ndarray:
    """Angles (n,) of a ring's vertices, from +z (palmar) towards +x (radial).

    The first vertex sits just palmar of the ulnar side (-90 deg + half a step).
    """
    return (np.arange(n) + 0.5) * (2 * np.pi / n) - np.pi / 2


@dataclass
class _Build:
    """Accumulates vertices, per-vertex skinning weights and faces."""

    verts: List[np.ndarray] = field(default_factory=list)
    weights: List[np.ndarray] = field(default_factory=list)
    faces: List[np.ndarray] = field(default_factory=list)
    count: int = 0

    def pos(self, idx: np.ndarray) -> np.ndarray:
        """Positions of already added vertices."""
        return np.concatenate(self.verts)[idx]

    def add(self, pts: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Append points (n, 3) with weights (16,) or (n, 16); returns their indices."""
        pts = np.atleast_2d(pts)
        w = np.broadcast_to(np.atleast_2d(w), (len(pts), NUM_BONES))
        idx = np.arange(self.count, self.count + len(pts))
        self.verts.append(pts)
        self.weights.append(np.array(w))
        self.count += len(pts)
        return idx


def _bone_col(joint: int) -> int:
    return BONE_JOINTS.index(joint)


def _chain_weights(finger: int, t: float) -> np.ndarray:
    """Skinning weights (16,) of a ring at chain coordinate t of one chain."""
    j = FINGER_JOINTS[finger]
    if finger == 0:
        c0 = _smoothstep((t - 0.35) / 0.55)
    else:
        c0 = _smoothstep(t / 0.45)
    c1 = _smoothstep((t - 0.75) / 0.5)
    c2 = _smoothstep((t - 1.75) / 0.5)
    c0 = max(c0, c1)
    w = np.zeros(NUM_BONES)
    w[0] = 1.0 - c0
    w[_bone_col(j[0])] = c0 - c1
    w[_bone_col(j[1])] = c1 - c2
    w[_bone_col(j[2])] = c2
    return w


def _root_weights() -> np.ndarray:
    w = np.zeros(NUM_BONES)
    w[0] = 1.0
    return w


def _chain_frame(frames: np.ndarray, finger: int, t: float, lengths: np.ndarray):
    """(centre (3,), rotation (3, 3)) of the cross-section at chain coordinate t."""
    j = FINGER_JOINTS[finger]
    k = min(int(np.floor(t)), 2)
    u = t - k
    g = frames[j[k]]
    rot = g[:3, :3]
    if k > 0 and abs(u) < 1e-9:  # joint ring: bisect parent and child orientation
        u_, s_, vt = np.linalg.svd(frames[j[k - 1]][:3, :3] + rot)
        rot = u_ @ vt
    return g[:3, 3] + g[:3, 1] * u * lengths[finger, k], rot


def _ring(centre, rot, half_w, half_t, angles):
    """Points (n, 3) of an elliptic ring in the (x, z) plane of the frame ``rot``."""
    s = np.sin(angles) * half_w
    c = np.cos(angles) * half_t
    return centre + np.outer(s, rot[:, 0]) + np.outer(c, rot[:, 2])


def _finger_profile(finger: int, t: float, widths: np.ndarray) -> Tuple[float, float]:
    """Half width and half thickness (m) of a chain at coordinate t."""
    if finger == 0:
        tw = np.interp(t, [0.62, 0.85, 1.0, 1.5, 2.0, 2.4, 3.0],
                       [1.45, 1.12, 1.02, 0.95, 0.93, 0.92, 0.9])
        ratio = np.interp(t, [0.6, 1.0, 3.0], [0.95, 0.85, 0.78])
    else:
        tw = np.interp(t, [0.0, 1.0, 1.5, 2.0, 2.4, 3.0],
                       [1.0, 0.97, 0.9, 0.87, 0.86, 0.85])
        ratio = np.interp(t, [0.0, 3.0], [0.88, 0.78])
    half_w = 0.5 * widths[finger] * tw
    return half_w, half_w * ratio


# --- palm ---------------------------------------------------------------------------

def _knuckle_arc(shape: HandShape) -> Tuple[np.ndarray, np.ndarray]:
    """MCP (x, y) of index..pinky sorted by x, for interpolating the knuckle line."""
    b = shape.chain_bases()[1:]
    order = np.argsort(b[:, 0])
    return b[order, 0], b[order, 1]


def _palm_section(shape: HandShape, s: float, edges: Tuple[float, float], n: int,
                  knuckle_half_t: float) -> Tuple[np.ndarray, np.ndarray]:
    """Loop (n, 3) of the palm at fraction s (0 wrist .. 1 knuckles) and its angles (n,)."""
    e = float(np.interp(s, [0.0, 0.15, 0.3, 0.45, 0.6, 1.0], [0.0, 0.3, 0.65, 0.9, 1.0, 1.0]))
    xu = (1 - e) * (-0.5 * shape.wrist_width) + e * edges[0]
    xr = (1 - e) * (0.5 * shape.wrist_width) + e * edges[1]
    cx, hw = 0.5 * (xu + xr), 0.5 * (xr - xu)
    hz = float(np.interp(s, [0.0, 0.3, 0.7, 1.0], [0.5 * shape.wrist_thickness,
                                                 0.53 * shape.palm_thickness,
                                                 0.5 * shape.palm_thickness, knuckle_half_t]))
    phi = np.linspace(0.0, 2 * np.pi, 2048, endpoint=False)
    x = cx + hw * _sgnpow(np.sin(phi), _SUPER)
    z = hz * _sgnpow(np.cos(phi), _SUPER)
    seg = np.hypot(np.diff(x, append=x[0]), np.diff(z, append=z[0]))
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    target = (np.arange(n) + 0.5) / n * arc[-1]
    ang = np.interp(target, arc, np.append(phi, 2 * np.pi))
    x = cx + hw * _sgnpow(np.sin(ang), _SUPER)
    z = hz * _sgnpow(np.cos(ang), _SUPER)
    u = (x - cx) / hw
    z = z - _ARCH * shape.palm_width * e * (1.0 - u ** 2)  # transverse arch
    ax, ay = _knuckle_arc(shape)
    y = s * np.interp(x, ax, ay)
    return np.stack([x, y, z], 1), ang


def _knuckle_slots(shape: HandShape, frames: np.ndarray, widths: np.ndarray,
                   lengths: np.ndarray, half_t: float) -> Dict[int, np.ndarray]:
    """Unshared slot positions (12, 3) of each long finger around its MCP."""
    ang = _ring_angles(FINGER_RING)
    out = {}
    for f in (1, 2, 3, 4):
        mcp = frames[FINGER_JOINTS[f][0]][:3, 3]
        sn, cs = np.sin(ang), np.cos(ang)
        r = 0.5 * widths[f] * 1.1 * np.ones(FINGER_RING)
        if f == 1:
            r *= 1.0 + 0.25 * np.clip(sn, 0.0, None)
        if f == 4:
            r *= 1.0 + 0.25 * np.clip(-sn, 0.0, None)
        x = mcp[0] + r * _sgnpow(sn, _SUPER)
        z = mcp[2] + half_t * _sgnpow(cs, _SUPER)
        y = mcp[1] + 0.07 * lengths[f, 0] * np.clip(cs, 0.0, None)
        out[f] = np.stack([x, y, z], 1)
    return out


# --- assembly -----------------------------------------------------------------------

@dataclass
class HandBuild:
    """Result of ``build_hand``: vertices, faces, weights and vertex groups."""

    vertices: np.ndarray  # (778, 3) metres, rest pose
    faces: np.ndarray  # (1552, 3) int32
    weights: np.ndarray  # (778, 16) skinning weights, columns = BONE_JOINTS
    groups: Dict[str, np.ndarray]  # named vertex index sets (regressor candidates)
    choices: Tuple[int, int]  # (thumb hole column, thumb ring shift): topology


def _loop_angles(pts: np.ndarray) -> np.ndarray:
    """Angle of each loop point about the loop's box centre, from +z towards +x."""
    c = 0.5 * (pts.min(0) + pts.max(0))
    return np.arctan2(pts[:, 0] - c[0], pts[:, 2] - c[2])


def _add_knuckle(b: _Build, shape: HandShape, frames, widths, lengths, half_t):
    """Knuckle loop (42,) and per-finger slot indices {finger: (12,)}."""
    root = _root_weights()
    slots = _knuckle_slots(shape, frames, widths, lengths, half_t)
    slot_idx = {f: np.full(FINGER_RING, -1) for f in _KNUCKLE_ORDER}
    for g, f in zip(_KNUCKLE_ORDER[:-1], _KNUCKLE_ORDER[1:]):  # g is ulnar of f
        for sg, sf in ((5, 0), (6, 11)):
            web = b.add(0.5 * (slots[g][sg] + slots[f][sf]), root)[0]
            slot_idx[g][sg] = slot_idx[f][sf] = web
    for f in _KNUCKLE_ORDER:
        free = np.flatnonzero(slot_idx[f] < 0)
        slot_idx[f][free] = b.add(slots[f][free], root)
    palmar, dorsal = [slot_idx[4][0]], []
    for f in _KNUCKLE_ORDER:
        palmar += list(slot_idx[f][1:6])
        dorsal = list(slot_idx[f][6 if f == 1 else 7:12]) + dorsal
    return np.array(palmar + dorsal), slot_idx


def _add_palm(b: _Build, shape: HandShape, knuckle: np.ndarray, half_t: float,
              hole_k0: int | None):
    """Palm loops, pre-knuckle loop and their faces; returns (loops, angles, hole, k0)."""
    root = _root_weights()
    kn = b.pos(knuckle)
    edges = (float(kn[:, 0].min()), float(kn[:, 0].max()))
    loops, angles = [], []
    for s in PALM_LOOP_S:
        pts, ang = _palm_section(shape, s, edges, PALM_RING, half_t)
        loops.append(b.add(pts, root))
        angles.append(ang)
    # pre-knuckle: the knuckle loop pulled back and rounded towards the palm section
    smooth, _ = _palm_section(shape, PRE_KNUCKLE_S, edges, 4 * len(kn), half_t)
    nearest = np.argmin(np.abs(np.angle(np.exp(1j * (
        _loop_angles(kn)[:, None] - _loop_angles(smooth)[None, :])))), axis=1)
    pre_pts = 0.5 * (kn + smooth[nearest])
    pre_pts[:, 1] = PRE_KNUCKLE_S * kn[:, 1]
    pre = b.add(pre_pts, root)
    if hole_k0 is None:
        a2 = _loop_angles(b.pos(loops[2]))
        err = np.abs(np.angle(np.exp(1j * (a2 - THUMB_HOLE_ANGLE))))
        hole_k0 = (int(np.argmin(err)) - THUMB_HOLE_SPANS // 2) % PALM_RING
    i0, i1 = THUMB_HOLE_LOOPS
    hk = (hole_k0 + np.arange(THUMB_HOLE_SPANS + 1)) % PALM_RING
    for i in range(len(loops) - 1):
        quads = bridge_loops(loops[i], loops[i + 1])
        if i0 <= i < i1:
            keep = ~np.isin(np.arange(PALM_RING), hk[:-1])
            quads = quads[np.concatenate([keep, keep])]
        b.faces.append(quads)
    b.faces.append(loft_loops(loops[-1], _loop_angles(b.pos(loops[-1])),
                              pre, _loop_angles(pre_pts)))
    b.faces.append(bridge_loops(pre, knuckle))
    hole = np.concatenate([
        loops[i0][hk],
        [loops[i][hk[-1]] for i in range(i0 + 1, i1 + 1)],
        loops[i1][hk[::-1]][1:],
        [loops[i][hk[0]] for i in range(i1 - 1, i0, -1)],
    ])
    return loops, angles, hole, hole_k0, pre


def _add_chain(b: _Build, f: int, first: np.ndarray, frames, lengths, widths,
               groups: Dict[str, np.ndarray], thumb_shift: int | None) -> int:
    """Tube, dome and apex of one finger from its first loop; returns the ring shift."""
    n = THUMB_RING if f == 0 else FINGER_RING
    ring_t = THUMB_RING_T if f == 0 else FINGER_RING_T
    ang = _ring_angles(n)
    tube = []
    for t in ring_t:
        c, rot = _chain_frame(frames, f, t, lengths)
        hw, ht = _finger_profile(f, t, widths)
        tube.append(b.add(_ring(c, rot, hw, ht, ang), _chain_weights(f, t)))
        if abs(t - round(t)) < 1e-9:
            groups[f"joint{FINGER_JOINTS[f][int(round(t))]}"] = tube[-1]
    shift = 0
    if f == 0:  # align the palm hole with the first ring, add a thenar ring between
        ring0 = b.pos(tube[0])
        if thumb_shift is None:
            cost = [np.linalg.norm(b.pos(np.roll(first, -k)) - ring0, axis=1).sum()
                    for k in range(n)]
            thumb_shift = int(np.argmin(cost))
        shift = thumb_shift
        first = np.roll(first, -shift)
        mid = 0.5 * (b.pos(first) + ring0)
        cmc = frames[FINGER_JOINTS[0][0]][:3, 3]
        out = mid - cmc
        out = out / np.linalg.norm(out, axis=1, keepdims=True) + np.array([0.0, 0.0, 0.7])
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        thenar = b.add(mid + 0.2 * widths[0] * out, _chain_weights(0, 0.45))
        tube = [thenar] + tube
    tube = [first] + tube
    g = frames[FINGER_JOINTS[f][3]]
    tip, axes = g[:3, 3], g[:3, :3]
    hw, ht = _finger_profile(f, 3.0, widths)
    w_tip = _chain_weights(f, 3.0)
    counts = (n, n // 2)
    dome = []
    for deg, cnt in zip(DOME_DEG, counts):
        th = np.deg2rad(deg)
        c = tip - axes[:, 1] * hw * (1.0 - np.sin(th))  # dome as long as the half width
        dome.append(b.add(_ring(c, axes, hw * np.cos(th), ht * np.cos(th),
                                _ring_angles(cnt)), w_tip))
    tube.append(dome[0])
    for a, nxt in zip(tube[:-1], tube[1:]):
        b.faces.append(bridge_loops(a, nxt))
    b.faces.append(loft_loops(dome[0], _ring_angles(counts[0]), dome[1], _ring_angles(counts[1])))
    apex = b.add(tip, w_tip)[0]
    b.faces.append(fan_cap(dome[1], apex, at_end=True))
    groups[f"joint{FINGER_JOINTS[f][3]}"] = np.array([apex])
    return shift


def build_hand(shape: HandShape, choices: Tuple[int, int] | None = None) -> HandBuild:
    """Build the rest mesh of ``shape``.

    Args:
        shape: hand shape.
        choices: topology choices from a previous build (the template); None picks
            them from this shape's geometry.
    """
    b = _Build()
    _, frames = articulate(np.zeros(21), shape)
    lengths, widths = shape.segment_lengths(), shape.finger_widths()
    half_t = 0.135 * shape.palm_width
    knuckle, slot_idx = _add_knuckle(b, shape, frames, widths, lengths, half_t)
    loops, angles, hole, hole_k0, pre = _add_palm(b, shape, knuckle, half_t,
                                                  None if choices is None else choices[0])
    groups: Dict[str, np.ndarray] = {"wrist": loops[0], "knuckle": knuckle,
                                     "pre_knuckle": pre}
    for f in (1, 2, 3, 4):
        groups[f"joint{FINGER_JOINTS[f][0]}"] = slot_idx[f]
        _add_chain(b, f, slot_idx[f], frames, lengths, widths, groups, None)
    shift = _add_chain(b, 0, hole, frames, lengths, widths, groups,
                       None if choices is None else choices[1])
    groups["thumb_hole"] = hole
    # wrist cap: whatever the vertex budget leaves goes to its inner loop
    i0, i1 = THUMB_HOLE_LOOPS
    removed = (i1 - i0 - 1) * (THUMB_HOLE_SPANS - 1)
    inner_n = NUM_VERTICES - (b.count - removed) - 1
    if not 6 <= inner_n <= PALM_RING:
        raise RuntimeError(f"vertex budget leaves {inner_n} vertices for the wrist cap")
    c0 = b.pos(loops[0]).mean(0)
    edges = (float(b.pos(knuckle)[:, 0].min()), float(b.pos(knuckle)[:, 0].max()))
    inner_pts, inner_ang = _palm_section(shape, 0.0, edges, inner_n, half_t)
    inner_pts = c0 + 0.6 * (inner_pts - c0)
    inner_pts[:, 1] = -0.045 * shape.palm_width
    inner = b.add(inner_pts, _root_weights())
    apex = b.add(c0 + np.array([0.0, -0.06 * shape.palm_width, 0.0]), _root_weights())[0]
    b.faces.append(loft_loops(inner, inner_ang, loops[0], angles[0]))
    b.faces.append(fan_cap(inner, apex, at_end=False))
    return _compact(b, groups, (hole_k0, shift))


def _compact(b: _Build, groups: Dict[str, np.ndarray], choices) -> HandBuild:
    """Drop vertices no face uses (the hole interior) and renumber."""
    verts = np.concatenate(b.verts)
    weights = np.concatenate(b.weights)
    faces = np.concatenate(b.faces)
    used = np.zeros(len(verts), dtype=bool)
    used[faces.ravel()] = True
    remap = np.cumsum(used) - 1
    out_groups = {k: remap[v] for k, v in groups.items() if np.all(used[v])}
    weights = weights[used]
    weights /= weights.sum(1, keepdims=True)
    return HandBuild(verts[used], remap[faces].astype(np.int32), weights, out_groups,
                     choices)
