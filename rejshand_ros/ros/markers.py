"""HandPredictions -> visualization_msgs/MarkerArray for RViz / Foxglove (pure functions).

Per tracked hand, namespace ``hand_<track_id>`` holds four markers with fixed ids:
    0 JOINTS  SPHERE_LIST, one sphere per keypoint, coloured per finger
    1 BONES   LINE_LIST, the 20 bones, each coloured as its finger
    2 LABEL   TEXT_VIEW_FACING above the wrist: handedness, its score, track id
    3 MESH    TRIANGLE_LIST of the hand mesh (only when asked: it is large)
so a hand keeps its ids for as long as its track lives. Hands that vanished get DELETE
markers for all four ids. Every marker carries the source image's header (stamp and
frame_id: the camera optical frame). Root-relative hands (no camera_info) are drawn with
their root ``display_depth`` metres along the ray through their 2D root keypoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from rejshand_ros.geometry.camera import CameraModel
from rejshand_ros.geometry.keypoints import (FINGER_COLORS_RGB, JOINT_FINGER, ROOT_JOINT,
                                             SKELETON_EDGES, WRIST_JOINT)
from rejshand_ros.perception.hand_prediction import HandPrediction

JOINTS_ID, BONES_ID, LABEL_ID, MESH_ID = 0, 1, 2, 3
MARKER_IDS = (JOINTS_ID, BONES_ID, LABEL_ID, MESH_ID)
JOINT_DIAMETER_M = 0.012
BONE_WIDTH_M = 0.005
TEXT_HEIGHT_M = 0.02
MESH_RGBA = (0.93, 0.75, 0.65, 0.6)


def track_namespace(track_id: int) -> str:
    """Marker namespace of one track."""
    return f"hand_{int(track_id)}"


def _color(rgb: Sequence[int], alpha: float = 1.0) -> ColorRGBA:
    return ColorRGBA(r=rgb[0] / 255.0, g=rgb[1] / 255.0, b=rgb[2] / 255.0, a=alpha)


_JOINT_COLORS = [_color(FINGER_COLORS_RGB[finger]) for finger in JOINT_FINGER]
_BONE_COLORS = [c for _, child in SKELETON_EDGES
                for c in (_color(FINGER_COLORS_RGB[JOINT_FINGER[child]]),) * 2]


def _points(xyz: np.ndarray) -> list[Point]:
    return [Point(x=x, y=y, z=z) for x, y, z in np.asarray(xyz, dtype=np.float64).tolist()]


def _duration(seconds: float) -> Duration:
    nanoseconds = int(round(max(seconds, 0.0) * 1e9))
    return Duration(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def display_offset(hand: HandPrediction, camera: CameraModel | None,
                   display_depth: float) -> np.ndarray:
    """(3,) metres added to a hand's points for display: zero for absolute hands; for
    root-relative ones the root is put ``display_depth`` along its 2D keypoint's ray."""
    if hand.absolute:
        return np.zeros(3)
    if camera is None:
        return np.array([0.0, 0.0, display_depth])
    u, v = np.asarray(hand.uv[ROOT_JOINT], dtype=np.float64)
    K = camera.K
    ray = np.array([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], 1.0])
    return ray * display_depth if np.isfinite(ray).all() else np.array([0, 0, display_depth])


def _marker(header: Header, track_id: int, marker_id: int, marker_type: int) -> Marker:
    marker = Marker()
    marker.header = header
    marker.ns = track_namespace(track_id)
    marker.id = marker_id
    marker.type = marker_type
    marker.action = Marker.ADD
    marker.pose.orientation.w = 1.0
    return marker


def label_text(hand: HandPrediction) -> str:
    """e.g. ``"right 0.93 #4"``: handedness, its probability, track id."""
    return f"{hand.handedness.value} {hand.handedness_score:.2f} #{hand.track_id}"


def hand_markers(hand: HandPrediction, header: Header, offset: np.ndarray,
                 faces: np.ndarray | None = None, mesh_lifetime_s: float = 0.0
                 ) -> list[Marker]:
    """The markers of one hand (joints, bones, label; the mesh too when ``faces`` is
    given and the hand has vertices). ``offset`` (3,) m: see :func:`display_offset`."""
    joints = np.asarray(hand.joints, dtype=np.float64) + offset
    track = hand.track_id
    spheres = _marker(header, track, JOINTS_ID, Marker.SPHERE_LIST)
    spheres.scale.x = spheres.scale.y = spheres.scale.z = JOINT_DIAMETER_M
    spheres.points = _points(joints)
    spheres.colors = list(_JOINT_COLORS)
    spheres.color = _color((255, 255, 255))
    bones = _marker(header, track, BONES_ID, Marker.LINE_LIST)
    bones.scale.x = BONE_WIDTH_M
    bones.points = _points(joints[np.asarray(SKELETON_EDGES).ravel()])
    bones.colors = list(_BONE_COLORS)
    bones.color = _color((255, 255, 255))
    label = _marker(header, track, LABEL_ID, Marker.TEXT_VIEW_FACING)
    label.scale.z = TEXT_HEIGHT_M
    label.color = _color((255, 255, 255))
    label.text = label_text(hand)
    wrist = joints[WRIST_JOINT]
    label.pose.position = Point(x=float(wrist[0]), y=float(wrist[1]) - 0.03,
                                z=float(wrist[2]))  # optical frame: -y is up
    markers = [spheres, bones, label]
    if faces is not None and hand.vertices is not None and len(faces):
        mesh = _marker(header, track, MESH_ID, Marker.TRIANGLE_LIST)
        mesh.scale.x = mesh.scale.y = mesh.scale.z = 1.0
        mesh.color = ColorRGBA(r=MESH_RGBA[0], g=MESH_RGBA[1], b=MESH_RGBA[2], a=MESH_RGBA[3])
        vertices = np.asarray(hand.vertices, dtype=np.float64) + offset
        mesh.points = _points(vertices[np.asarray(faces, dtype=np.int64).ravel()])
        mesh.lifetime = _duration(mesh_lifetime_s)
        markers.append(mesh)
    return markers


def deletion_markers(track_ids: Iterable[int], header: Header) -> list[Marker]:
    """DELETE markers for every id of every given track."""
    out = []
    for track in sorted(track_ids):
        for marker_id in MARKER_IDS:
            marker = _marker(header, track, marker_id, Marker.SPHERE_LIST)
            marker.action = Marker.DELETE
            out.append(marker)
    return out


def frame_markers(hands: Sequence[HandPrediction], header: Header,
                  previous_tracks: Iterable[int], camera: CameraModel | None = None,
                  display_depth: float = 0.5, faces: np.ndarray | None = None,
                  mesh_tracks: Iterable[int] = (), mesh_lifetime_s: float = 0.0
                  ) -> tuple[MarkerArray, set[int]]:
    """All markers of one processed frame, and the set of track ids now shown.

    ``previous_tracks``: ids shown by the previous call (those absent now get DELETE
    markers). ``mesh_tracks``: tracks whose mesh is (re)sent this time.
    """
    array = MarkerArray()
    current = {int(hand.track_id) for hand in hands}
    array.markers = deletion_markers(set(previous_tracks) - current, header)
    mesh_tracks = set(mesh_tracks)
    for hand in hands:
        offset = display_offset(hand, camera, display_depth)
        array.markers.extend(hand_markers(
            hand, header, offset, faces if hand.track_id in mesh_tracks else None,
            mesh_lifetime_s))
    return array, current


class MeshRateLimiter:
    """Which tracks' meshes to send now: at most ``rate_hz`` per track (0: never)."""

    def __init__(self, rate_hz: float) -> None:
        self.period = 1.0 / rate_hz if rate_hz > 0 else None
        self._last: dict[int, float] = {}

    @property
    def lifetime_s(self) -> float:
        """Marker lifetime that bridges two sends (0 = forever when the rate is 0)."""
        return 2.0 * self.period if self.period else 0.0

    def due(self, track_ids: Iterable[int], now_s: float) -> set[int]:
        """Track ids whose mesh should be sent at ``now_s`` (s, monotonic); records them."""
        if self.period is None:
            return set()
        ids = set(track_ids)
        self._last = {t: s for t, s in self._last.items() if t in ids}
        due = {t for t in ids if now_s - self._last.get(t, -np.inf) >= self.period}
        self._last.update({t: now_s for t in due})
        return due


__all__ = ["MARKER_IDS", "JOINTS_ID", "BONES_ID", "LABEL_ID", "MESH_ID", "MeshRateLimiter",
           "deletion_markers", "display_offset", "frame_markers", "hand_markers",
           "label_text", "track_namespace"]
