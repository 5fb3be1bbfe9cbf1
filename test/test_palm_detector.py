"""The palm detector: SSD anchors, decoding and weighted NMS against hand-computed cases,
the palm-to-hand box on a rotated synthetic hand, the shipped model on a real photo, and
refusal of missing or corrupt model files (naming them)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rejshand_ros.detection.factory import (DetectorSettings, build_detector, default_detector_file)
from rejshand_ros.detection.palm import PalmBoxConfig, PalmDetector, palm_to_hand_box
from rejshand_ros.detection.ssd import (RawDetections, SsdAnchorConfig, decode_ssd, ssd_anchors,
                                        weighted_nms)
from rejshand_ros.geometry.crop import crop_from_box, full_to_crop, upright_rotation_rad
from rejshand_ros.model.model_file import ModelFileError
from rejshand_ros.perception.hand_prediction import Handedness

REAL_IMAGE = Path(__file__).parent / "data" / "real" / "16_pic00037.jpg"
# its annotated hand boxes (xmin, ymin, xmax, ymax), px: an open hand and a fist
REAL_BOXES = np.array([[59, 129, 285, 464], [602, 299, 745, 498]], dtype=float)


# -- anchors, decoding, NMS --------------------------------------------------------------
def test_palm_anchors_hand_computed():
    anchors = ssd_anchors()
    assert anchors.shape == (24 * 24 * 2 + 12 * 12 * 6, 2) == (2016, 2)
    assert np.allclose(anchors[0], (1 / 48, 1 / 48)) and np.allclose(anchors[1], anchors[0])
    assert np.allclose(anchors[2], (3 / 48, 1 / 48))  # next cell to the right
    assert np.allclose(anchors[48], (1 / 48, 3 / 48))  # next row
    assert np.allclose(anchors[1152:1158], (1 / 24, 1 / 24))  # 3 stride-16 layers x 2
    assert np.allclose(anchors[1158], (3 / 24, 1 / 24))
    assert np.allclose(anchors[-1], (23 / 24, 23 / 24))
    small = ssd_anchors(SsdAnchorConfig(input_size=4, strides=(2, 4), anchors_per_layer=1))
    assert np.allclose(small, [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75],
                               [0.5, 0.5]])


def test_decoding_hand_computed():
    anchors = np.array([[0.5, 0.25], [0.1, 0.1], [0.3, 0.3]])
    raw = np.zeros((3, 6))
    raw[0] = [19.2, -9.6, 38.4, 19.2, 9.6, 0.0]  # input px at 192: 0.1, -0.05, 0.2, 0.1
    raw[2] = [0.0, 0.0, 19.2, 19.2, 0.0, 0.0]
    found = decode_ssd(raw, np.array([[0.0], [-1.0], [1000.0]]), anchors, 192, 0.5,
                       num_keypoints=1)
    assert len(found) == 2  # logit 0 -> 0.5 is kept (>=), -1 -> 0.27 is not
    assert np.allclose(found.boxes[0], (0.6, 0.2, 0.2, 0.1))
    assert np.allclose(found.keypoints[0], [[0.55, 0.25]])
    assert np.allclose(found.scores, (0.5, 1.0))  # logit 1000 clipped to 100: no overflow
    assert np.allclose(found.corners()[0], (0.5, 0.15, 0.7, 0.25))
    with pytest.raises(ValueError, match="raw boxes must be"):
        decode_ssd(raw[:, :5], np.zeros(3), anchors, 192, 0.5, num_keypoints=1)


def _candidates(corners, scores, keypoints) -> RawDetections:
    corners = np.asarray(corners, dtype=float)
    boxes = np.concatenate([(corners[:, :2] + corners[:, 2:]) / 2,
                            corners[:, 2:] - corners[:, :2]], 1)
    return RawDetections(boxes, np.asarray(keypoints, float)[:, None, :],
                         np.asarray(scores, float))


def test_weighted_nms_hand_computed():
    # A (0.9) overlaps B (0.6) at IoU 80/120 and D (0.5) at 50/150 = 0.333 > 0.3; C is apart
    found = weighted_nms(_candidates(
        [[0, 0, 10, 10], [2, 0, 12, 10], [20, 20, 30, 30], [5, 0, 15, 10]],
        [0.9, 0.6, 0.8, 0.5], [[1, 1], [3, 1], [25, 25], [5, 1]]), iou_threshold=0.3)
    assert np.allclose(found.scores, (0.9, 0.8))  # a cluster keeps its best score
    # corners weighted by score: xmin (0*.9 + 2*.6 + 5*.5) / 2 = 1.85, xmax 11.85
    assert np.allclose(found.corners()[0], (1.85, 0.0, 11.85, 10.0))
    assert np.allclose(found.keypoints[0], [[(0.9 + 1.8 + 2.5) / 2.0, 1.0]])
    assert np.allclose(found.corners()[1], (20, 20, 30, 30))
    # a stricter threshold leaves D out of A's cluster
    strict = weighted_nms(_candidates(
        [[0, 0, 10, 10], [2, 0, 12, 10], [5, 0, 15, 10]], [0.9, 0.6, 0.5],
        [[0, 0]] * 3), iou_threshold=0.4)
    assert len(strict) == 2 and np.allclose(strict.corners()[1], (5, 0, 15, 10))
    assert len(weighted_nms(_candidates([[0, 0, 1, 1], [5, 5, 6, 6]], [0.7, 0.6],
                                        [[0, 0]] * 2), 0.3, max_detections=1)) == 1


# -- palm box -> hand box ---------------------------------------------------------------
def test_palm_to_hand_box_hand_computed():
    config = PalmBoxConfig(shift=0.5, scale=2.6)
    # pointing right: roll -90 deg turns it up; centre moves half a palm height rightwards
    center, side, rotation = palm_to_hand_box((100, 100), 40, 30, (80, 100), (120, 100), config)
    assert np.allclose(center, (115, 100)) and side == pytest.approx(104)
    assert rotation == pytest.approx(-np.pi / 2)
    center, _, rotation = palm_to_hand_box((100, 100), 40, 40, (100, 80), (100, 120), config)
    assert np.allclose(center, (100, 120)) and rotation == pytest.approx(np.pi)


def _synthetic_hand_uv() -> np.ndarray:
    from rejshand_ros.sources.synthetic import SyntheticSource

    _, _, truth = SyntheticSource(seed=5, num_frames=1, num_hands=1).render(0)
    return truth[0].uv.astype(np.float64)


@pytest.mark.parametrize("angle_deg", [0.0, 50.0, 135.0, -100.0])
def test_palm_to_hand_box_on_a_rotated_synthetic_hand(angle_deg):
    """Rotating the hand rotates the box with it: same side, centre carried along, roll
    that puts wrist -> middle MCP straight up in the crop, every keypoint inside."""
    uv = _synthetic_hand_uv()
    pivot = uv.mean(0)
    a = np.deg2rad(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    turned = (uv - pivot) @ rot.T + pivot
    palm = turned[[0, 1, 5, 9, 13, 17]]  # wrist, thumb CMC and the four MCPs
    lo, hi = palm.min(0), palm.max(0)
    base_center, base_side, base_rotation = palm_to_hand_box(
        (uv[[0, 1, 5, 9, 13, 17]].min(0) + uv[[0, 1, 5, 9, 13, 17]].max(0)) / 2,
        *(uv[[0, 1, 5, 9, 13, 17]].max(0) - uv[[0, 1, 5, 9, 13, 17]].min(0)), uv[0], uv[9])
    center, side, rotation = palm_to_hand_box((lo + hi) / 2, *(hi - lo), turned[0], turned[9])
    assert rotation == pytest.approx(upright_rotation_rad(turned))
    assert np.angle(np.exp(1j * (rotation - base_rotation + a))) == pytest.approx(0, abs=1e-9)
    crop = full_to_crop(turned, crop_from_box(center, side, 128, rotation))
    up = crop[9] - crop[0]
    assert np.allclose(up / np.linalg.norm(up), (0, -1), atol=1e-9)
    assert np.all((crop > 0) & (crop < 128)), "a keypoint falls outside the hand box"
    if angle_deg == 0.0:
        assert np.allclose(center, base_center) and side == pytest.approx(base_side)


# -- the shipped model -------------------------------------------------------------------
@pytest.fixture(scope="module")
def palm() -> PalmDetector:
    return PalmDetector(num_threads=1)


def test_the_default_detector_finds_both_hands_in_a_real_photo_and_not_the_face(palm):
    detector = build_detector(DetectorSettings(num_threads=1))
    assert isinstance(detector, PalmDetector) and detector.model_path == palm.model_path
    image = cv2.cvtColor(cv2.imread(str(REAL_IMAGE)), cv2.COLOR_BGR2RGB)
    found = palm.detect(image)
    assert len(found) == 2, found
    for box in REAL_BOXES:
        hits = [d for d in found if box[0] <= d.center[0] <= box[2]
                and box[1] <= d.center[1] <= box[3]]
        assert len(hits) == 1, (box, found)
        side = (box[2:] - box[:2]).max()
        assert 0.7 * side < hits[0].size < 2.5 * side
        assert hits[0].score >= 0.5 and hits[0].handedness == Handedness.UNKNOWN
        assert abs(hits[0].rotation_rad) < np.deg2rad(35)  # both hands point up


def test_the_palm_detector_finds_nothing_in_empty_frames(palm):
    assert palm.detect(np.zeros((480, 640, 3), np.uint8)) == []
    noise = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert palm.detect(noise) == []
    with pytest.raises(ValueError, match="uint8 RGB"):
        palm.detect(np.zeros((480, 640), np.uint8))


def test_missing_or_corrupt_palm_model_files_are_refused_by_name(tmp_path):
    shipped = default_detector_file("palm").read_bytes()
    cases = {"missing.tflite": None, "empty.tflite": b"", "garbage.tflite": b"\x01" * 4096,
             "truncated.tflite": shipped[: len(shipped) // 3]}
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(ModelFileError, match=name.replace(".", r"\.")):
            PalmDetector(path)
        with pytest.raises(ModelFileError, match=r"detector palm: .*expected MediaPipe's palm"):
            build_detector(DetectorSettings(kind="palm", model_path=str(path)))
    with pytest.raises(ValueError, match="unknown detector 'yolo'"):
        DetectorSettings(kind="yolo")


def test_a_hand_filling_the_frame_is_found_by_the_zoomed_out_second_look():
    """A hand close to the camera fills the frame; the palm model misses it there and finds
    it with a black border around the frame (``zoom_out_border``)."""
    import cv2

    from rejshand_ros.detection.palm import PalmDetector

    path = Path(__file__).resolve().parent / "data" / "real_hands" / "close_sign_digits.jpg"
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    assert PalmDetector(zoom_out_border=0.0).detect(image) == []
    found = PalmDetector().detect(image)
    assert len(found) == 1
    # the box is in the frame's own pixels (the border taken off again): around the hand,
    # which fills the centre of this hand-centred photo
    center = np.asarray(found[0].center)
    assert np.all(np.abs(center - 127.5) < 60) and 120 < found[0].size < 400
    with pytest.raises(ValueError, match="zoom_out_border"):
        PalmDetector(zoom_out_border=-0.1)
