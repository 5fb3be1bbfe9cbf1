"""Lambert-shaded previews of the posed hand mesh (numpy + cv2), and a pose gallery.

Images are RGB uint8 (H, W, 3); ``save_pose_gallery`` writes a PNG via cv2.
Camera frame: OpenCV (x right, y down, z forward), metres.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence, Tuple

import cv2
import numpy as np

from rejshand_ros.hand_model._rotations import rot_x, rot_y
from rejshand_ros.hand_model.kinematics import PoseLike, as_pose, named_pose
from rejshand_ros.hand_model.mesh import faces_for_side, pose_mesh
from rejshand_ros.hand_model.rasterizer import rasterize
from rejshand_ros.hand_model.shape import HandShape

SKIN_RGB: Tuple[float, float, float] = (0.87, 0.69, 0.58)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit area-weighted vertex normals (V, 3) of an outward-wound mesh."""
    tri = vertices[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    vn = np.zeros_like(vertices, dtype=np.float64)
    for c in range(3):
        np.add.at(vn, faces[:, c], fn)
    return vn / np.maximum(np.linalg.norm(vn, axis=1, keepdims=True), 1e-20)


def shade_mesh(
    vertices_cam: np.ndarray,
    faces: np.ndarray,
    K: np.ndarray,
    width: int,
    height: int,
    color: Sequence[float] = SKIN_RGB,
    background: Sequence[int] = (255, 255, 255),
    ambient: float = 0.25,
    smooth: bool = True,
) -> np.ndarray:
    """Render a mesh with a head-light Lambert model over a plain background.

    Args:
        vertices_cam: (V, 3) camera-frame vertices, metres (in front of the camera).
        faces: (F, 3) outward-wound faces.
        K: (3, 3) intrinsics; width, height: image size in pixels.
        color: RGB albedo in [0, 1]; background: RGB 0-255.
        ambient: ambient light fraction.
        smooth: interpolate vertex normals (else flat face normals).
    Returns:
        (H, W, 3) uint8 RGB image.
    """
    v = np.asarray(vertices_cam, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    r = rasterize(v, f, K, width, height, return_barycentrics=smooth)
    mask = r.face_id >= 0
    fid = r.face_id[mask]
    if smooth:
        vn = vertex_normals(v, f)
        n = np.einsum("pk,pkj->pj", r.barycentrics[mask], vn[f[fid]])
        pts = np.einsum("pk,pkj->pj", r.barycentrics[mask], v[f[fid]])
    else:
        tri = v[f[fid]]
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        pts = tri.mean(1)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-20)
    view = -pts / np.linalg.norm(pts, axis=1, keepdims=True)
    lam = np.clip(np.einsum("pj,pj->p", n, view), 0.0, 1.0)
    shade = ambient + (1.0 - ambient) * lam
    img = np.empty((height, width, 3), dtype=np.float64)
    img[:] = np.asarray(background, dtype=np.float64)
    img[mask] = 255.0 * shade[:, None] * np.asarray(color)[None, :]
    return np.clip(img, 0, 255).astype(np.uint8)


def look_rotation(view: str) -> np.ndarray:
    """Rotation (3, 3) from the canonical hand frame to a camera frame for a view.

    "palm": palm faces the camera, fingers up; "back": back of the hand, fingers up;
    "side": thumb side towards the camera; "oblique": three-quarter palm view from
    the thumb side, slightly from above.
    """
    palm = rot_x(np.pi)  # hand y -> camera -y (up), hand z (palmar) -> camera -z
    if view == "palm":
        return palm
    if view == "back":
        return rot_y(np.pi) @ palm
    if view == "side":
        return rot_y(np.pi / 2) @ palm
    if view == "oblique":
        return rot_x(np.deg2rad(-20)) @ rot_y(np.deg2rad(-40)) @ palm
    raise ValueError(f"unknown view {view!r}")


def render_hand(
    pose: PoseLike,
    shape: HandShape | None = None,
    side: str = "right",
    view: str = "palm",
    size: int = 320,
    focal: float = 700.0,
    distance: float = 0.45,
) -> np.ndarray:
    """Render a posed hand centred in a square image.

    The pose's own global rotation is applied first, then ``look_rotation(view)``;
    the mesh's bounding-box centre is placed on the optical axis at ``distance`` m.
    Returns (size, size, 3) uint8 RGB.
    """
    p = as_pose(pose)
    verts = pose_mesh(p, shape, side) @ look_rotation(view).T
    verts = verts - 0.5 * (verts.min(0) + verts.max(0)) + np.array([0.0, 0.0, distance])
    k = np.array([[focal, 0.0, (size - 1) / 2], [0.0, focal, (size - 1) / 2], [0, 0, 1.0]])
    return shade_mesh(verts, faces_for_side(side), k, size, size)


def save_pose_gallery(
    path_png: str | Path,
    poses: Sequence[str] = ("rest", "fist", "pinch", "point"),
    views: Sequence[str] = ("palm", "oblique"),
    side: str = "right",
    size: int = 320,
) -> np.ndarray:
    """Render named poses (columns) from several views (rows) into one PNG.

    Returns the gallery image (RGB uint8) that was written.
    """
    rows = []
    for view in views:
        cells = []
        for name in poses:
            img = render_hand(named_pose(name), side=side, view=view, size=size)
            cv2.putText(img, f"{name} ({view})", (8, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.55,
                        (40, 40, 40), 1, cv2.LINE_AA)
            cells.append(img)
        rows.append(np.concatenate(cells, axis=1))
    gallery = np.concatenate(rows, axis=0)
    path = Path(path_png)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(gallery, cv2.COLOR_RGB2BGR),
                       [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f"could not write {path}")
    return gallery
