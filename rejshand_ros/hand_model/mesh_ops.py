"""Generic triangle-mesh pieces: bridging vertex loops, caps, and closed-manifold checks.

Loop convention: a loop is an array of vertex indices ordered counter-clockwise
about the local "axis" of the tube it belongs to (right-hand rule), and the tube runs
from loop ``a`` to loop ``b`` along that axis. Faces built this way face outwards.
"""

from __future__ import annotations

from typing import Dict

import numpy as np


def bridge_loops(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Quad strip between two loops of equal length, index k of a facing index k of b.

    Returns faces (2n, 3) int64.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"loops differ in length: {a.shape} vs {b.shape}")
    a1, b1 = np.roll(a, -1), np.roll(b, -1)
    return np.concatenate([np.stack([a, a1, b1], 1), np.stack([a, b1, b], 1)])


def loft_loops(
    a: np.ndarray, a_angle: np.ndarray, b: np.ndarray, b_angle: np.ndarray
) -> np.ndarray:
    """Triangle strip between loops of any lengths m, n, matched by angle.

    Args:
        a, b: vertex indices of the two loops, each counter-clockwise about the axis.
        a_angle, b_angle: angle (radians) of each loop vertex about the axis,
            increasing along the loop (up to one wrap of 2 pi).
    Returns:
        faces (m + n, 3) int64.
    """
    a, b = np.asarray(a), np.asarray(b)
    ta = np.mod(np.asarray(a_angle, dtype=np.float64), 2 * np.pi)
    tb = np.mod(np.asarray(b_angle, dtype=np.float64), 2 * np.pi)
    ia, ib = int(np.argmin(ta)), int(np.argmin(tb))
    a, ta = np.roll(a, -ia), np.unwrap(np.roll(ta, -ia))
    b, tb = np.roll(b, -ib), np.unwrap(np.roll(tb, -ib))
    m, n = len(a), len(b)
    # angles of the "next" vertex; the closing vertex sits one turn further
    na = np.append(ta, ta[0] + 2 * np.pi)
    nb = np.append(tb, tb[0] + 2 * np.pi)
    faces = []
    i = j = 0
    while i < m or j < n:
        if j >= n or (i < m and na[i + 1] <= nb[j + 1]):
            faces.append((a[i], a[(i + 1) % m], b[j % n]))
            i += 1
        else:
            faces.append((a[i % m], b[(j + 1) % n], b[j]))
            j += 1
    return np.asarray(faces, dtype=np.int64)


def fan_cap(loop: np.ndarray, apex: int, at_end: bool) -> np.ndarray:
    """Close a loop with a fan to one apex vertex.

    Args:
        loop: vertex indices, counter-clockwise about the tube axis.
        apex: index of the apex vertex.
        at_end: True when the apex lies beyond the loop along the axis (tube end),
            False when it lies before it (tube start).
    Returns:
        faces (n, 3) int64.
    """
    loop = np.asarray(loop)
    nxt = np.roll(loop, -1)
    ap = np.full_like(loop, apex)
    if at_end:
        return np.stack([loop, nxt, ap], 1)
    return np.stack([ap, nxt, loop], 1)


def signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Signed volume (m^3) enclosed by a closed mesh; positive when faces point outwards."""
    v = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]
    return float(np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() / 6.0)


def manifold_report(faces: np.ndarray, num_vertices: int) -> Dict[str, int]:
    """Counts that describe whether ``faces`` form a closed, oriented 2-manifold.

    Returns a dict with: vertices, faces, edges, euler (V - E + F), open_edges and
    nonmanifold_edges (undirected edges in 1 or more than 2 faces), repeated_directed
    (directed edges used twice: inconsistent orientation), degenerate (faces that
    repeat a vertex), duplicate_faces, unused_vertices, nonmanifold_vertices (vertices
    whose surrounding faces do not form one single fan). A closed oriented genus-0
    manifold has euler == 2 and zeros everywhere else.
    """
    f = np.asarray(faces, dtype=np.int64)
    directed = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    und = np.sort(directed, axis=1)
    _, und_counts = np.unique(und, axis=0, return_counts=True)
    _, dir_counts = np.unique(directed, axis=0, return_counts=True)
    degenerate = int(np.sum((f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 0] == f[:, 2])))
    dup = len(f) - len(np.unique(np.sort(f, axis=1), axis=0))
    used = np.zeros(num_vertices, dtype=bool)
    used[f.ravel()] = True
    return {
        "vertices": int(num_vertices),
        "faces": int(len(f)),
        "edges": int(len(und_counts)),
        "euler": int(num_vertices - len(und_counts) + len(f)),
        "open_edges": int(np.sum(und_counts == 1)),
        "nonmanifold_edges": int(np.sum(und_counts > 2)),
        "repeated_directed": int(np.sum(dir_counts > 1)),
        "degenerate": degenerate,
        "duplicate_faces": int(dup),
        "unused_vertices": int(np.sum(~used)),
        "nonmanifold_vertices": _count_nonmanifold_vertices(f, num_vertices),
    }


def _count_nonmanifold_vertices(faces: np.ndarray, num_vertices: int) -> int:
    """Vertices whose incident faces do not link into a single cycle around them."""
    # for each face corner: the (next, prev) vertices seen from that corner
    nxt = {}
    bad = 0
    for c in range(3):
        for v, a, b in zip(faces[:, c], faces[:, (c + 1) % 3], faces[:, (c + 2) % 3]):
            nxt.setdefault(int(v), {})
            if int(a) in nxt[int(v)]:
                bad += 1
            nxt[int(v)][int(a)] = int(b)
    for v in range(num_vertices):
        ring = nxt.get(v)
        if not ring:
            continue
        start = next(iter(ring))
        cur, steps = start, 0
        while steps <= len(ring):
            cur = ring.get(cur)
            steps += 1
            if cur is None or cur == start:
                break
        if cur != start or steps != len(ring):
            bad += 1
    return bad
