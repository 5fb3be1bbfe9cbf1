"""The MANO wrist frame of rejshand_ros.retarget.wrist_frame: convention, sides, invariance."""

import numpy as np
import pytest

from rejshand_ros.perception.hand_prediction import Handedness
from rejshand_ros.retarget import human_poses as hp
from rejshand_ros.retarget.wrist_frame import (DegenerateHandError, mirror, to_wrist_frame,
                                               wrist_rotation)

POSES = ("rest", "fist", "pinch", "point")


def _dex_style_mano(keypoints: np.ndarray, side: str) -> np.ndarray:
    """dex-retargeting's published recipe, re-implemented from its description.

    Operator frame from wrist, index MCP, middle MCP: x from the middle MCP to the wrist
    (in the plane of the three points), the plane normal, z = x cross normal pointing
    towards the index side; then its fixed operator-to-MANO rotation per side.
    """
    from dex_retargeting.constants import OPERATOR2MANO_LEFT, OPERATOR2MANO_RIGHT

    rel = keypoints - keypoints[0]
    pts = rel[[0, 5, 9]]
    x_vec = pts[0] - pts[2]
    centred = pts - pts.mean(0)
    normal = np.linalg.svd(centred)[2][2]
    x = x_vec - (x_vec @ normal) * normal
    x /= np.linalg.norm(x)
    z = np.cross(x, normal)
    if z @ (pts[1] - pts[2]) < 0:
        normal, z = -normal, -z
    frame = np.stack([x, normal, z], axis=1)
    o2m = OPERATOR2MANO_RIGHT if side == "right" else OPERATOR2MANO_LEFT
    return rel @ frame @ o2m


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("name", POSES)
def test_wrist_frame_recovers_the_hand_model_frame_from_any_camera_view(side, name):
    """The open hand model's own frame, permuted to MANO axes, comes back from any view."""
    rng = np.random.default_rng(3)
    expected = hp.wrist_frame_keypoints(name, side)
    for _ in range(5):
        rotation = hp.random_rotation(rng)
        camera = hp.camera_keypoints(name, side, rotation, rng.normal(0, 0.3, 3))
        np.testing.assert_allclose(to_wrist_frame(camera, side), expected, atol=1e-9)


@pytest.mark.parametrize("name", POSES)
def test_left_hand_coordinates_are_the_right_hand_mirrored(name):
    np.testing.assert_allclose(hp.wrist_frame_keypoints(name, "left"),
                               mirror(hp.wrist_frame_keypoints(name, "right")), atol=1e-12)


@pytest.mark.parametrize("side", ["right", "left"])
def test_axes_mean_palmar_distal_and_radial_or_ulnar(side):
    """x palmar (a fist's fingers lie at +x), z distal, y to the thumb on the right only."""
    fist = to_wrist_frame(hp.camera_keypoints("fist", side), side)
    open_hand = to_wrist_frame(hp.camera_keypoints("rest", side), side)
    assert (fist[[7, 11, 15, 19], 0] > 0.02).all()  # curled fingers in front of the palm
    assert (open_hand[[8, 12, 16, 20], 2] > 0.12).all()  # fingers point along +z
    thumb_y = open_hand[4, 1]
    assert thumb_y > 0.05 if side == "right" else thumb_y < -0.05
    rotation = wrist_rotation(hp.camera_keypoints("pinch", side), side)
    np.testing.assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
    assert np.linalg.det(rotation) == pytest.approx(1.0)  # right-handed for both sides


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("name", POSES)
def test_matches_dex_retargeting_operator_to_mano_convention(side, name):
    rng = np.random.default_rng(5)
    camera = hp.camera_keypoints(name, side, hp.random_rotation(rng))
    np.testing.assert_allclose(to_wrist_frame(camera, side), _dex_style_mano(camera, side),
                               atol=1e-9)


def test_the_wrong_side_convention_flips_the_palm():
    """Handedness matters: a left hand read with the right-hand convention is not the same."""
    camera = hp.camera_keypoints("fist", "left")
    right_reading = to_wrist_frame(camera, "right")
    assert (right_reading[[7, 11, 15], 0] < -0.02).all()  # curled fingers behind the "palm"


def test_absolute_and_root_relative_inputs_agree():
    camera = hp.camera_keypoints("pinch", "right")
    np.testing.assert_allclose(to_wrist_frame(camera, "right"),
                               to_wrist_frame(camera - camera[9], "right"), atol=1e-12)


@pytest.mark.parametrize("broken", ["nan", "inf", "shape", "collapsed", "line", "zeros"])
def test_degenerate_keypoints_are_refused(broken):
    points = hp.camera_keypoints("rest", "right")
    if broken == "nan":
        points[7] = np.nan
    elif broken == "inf":
        points[17, 2] = np.inf
    elif broken == "shape":
        points = points[:20]
    elif broken == "collapsed":
        points[9] = points[0]
    elif broken == "line":  # knuckle line along the palm axis
        points[5] = points[0] + 1.3 * (points[9] - points[0])
        points[17] = points[0] + 0.7 * (points[9] - points[0])
    else:
        points = np.zeros((21, 3))
    with pytest.raises(DegenerateHandError):
        to_wrist_frame(points, "right")


def test_unknown_handedness_needs_a_decision():
    with pytest.raises(ValueError):
        wrist_rotation(hp.camera_keypoints("rest"), Handedness.UNKNOWN)
