"""Detector geometry without a network: letterbox mapping, target encoding/decoding
round trips, box NMS, IoU and the validation metrics."""

import numpy as np
import pytest
import torch

from rejshand_ros.detection.evaluation import DetectionStats, match_detections, square_iou
from rejshand_ros.detection.letterbox import Letterbox, letterbox_image
from rejshand_ros.detection.targets import (box_from_uv, decode_peaks, encode_targets,
                                            select_detections)


@pytest.mark.parametrize("width,height,size", [(640, 480, 256), (480, 640, 256),
                                               (333, 101, 128), (100, 100, 256),
                                               (1920, 1080, 224)])
def test_letterbox_mapping_round_trip(width, height, size):
    box = Letterbox.fit(width, height, size)
    rng = np.random.default_rng(width)
    uv = rng.uniform([-50, -50], [width + 50, height + 50], (100, 2))
    np.testing.assert_allclose(box.to_image(box.to_input(uv)), uv, atol=1e-9)
    # the image corners land on the resized region's corners (pixel-edge coordinates)
    new_w, new_h = box.resized_size
    corners = box.to_input(np.array([[-0.5, -0.5], [width - 0.5, height - 0.5]]))
    np.testing.assert_allclose(corners, [[box.pad_x - 0.5, box.pad_y - 0.5],
                                         [box.pad_x + new_w - 0.5, box.pad_y + new_h - 0.5]])
    assert max(new_w, new_h) == size and box.pad_x >= 0 and box.pad_y >= 0


def test_letterbox_image_puts_a_marked_pixel_where_the_mapping_says():
    image = np.zeros((480, 640, 3), np.uint8)
    image[300:310, 500:510] = (255, 0, 0)   # a 10 px red square centred at (504.5, 304.5)
    out, box = letterbox_image(image, 256, pad_rgb=(7, 8, 9))
    assert out.shape == (256, 256, 3) and out.dtype == np.uint8
    ys, xs = np.nonzero(out[..., 0] > 128)
    expected = box.to_input(np.array([504.5, 304.5]))
    np.testing.assert_allclose([xs.mean(), ys.mean()], expected, atol=0.3)
    assert tuple(out[0, 0]) == (7, 8, 9) and tuple(out[-1, -1]) == (7, 8, 9)  # padding
    with pytest.raises(ValueError, match="H, W, 3"):
        letterbox_image(np.zeros((4, 4), np.uint8), 64)


def _perfect_outputs(targets, grid):
    """Network outputs that reproduce encoded targets exactly."""
    heat = np.clip(targets["heatmap"], 1e-6, 1 - 1e-6)
    outputs = {"heatmap": np.log(heat / (1 - heat)), "log_size": np.zeros((1, grid, grid)),
               "offset": np.zeros((2, grid, grid)), "handedness": np.zeros((1, grid, grid))}
    for k in np.flatnonzero(targets["mask"]):
        y, x = divmod(int(targets["index"][k]), grid)
        outputs["log_size"][0, y, x] = targets["log_size"][k]
        outputs["offset"][:, y, x] = targets["offset"][k]
        outputs["handedness"][0, y, x] = 10.0 if targets["right"][k] else -10.0
    return {k: torch.from_numpy(v)[None].float() for k, v in outputs.items()}


@pytest.mark.parametrize("stride", [8, 16])
def test_encode_then_decode_recovers_the_boxes_exactly(stride):
    size, grid = 256, 256 // stride
    boxes = np.array([[40.3, 200.9, 60.0], [180.0, 70.25, 110.5], [128.7, 128.1, 33.3]])
    right = np.array([1.0, 0.0, 1.0])
    targets = encode_targets(boxes, right, size, stride, max_objects=4)
    assert targets["heatmap"].shape == (1, grid, grid)
    assert np.count_nonzero(targets["heatmap"] == 1.0) == 3  # one exact peak per hand
    assert targets["mask"].tolist() == [1, 1, 1, 0]
    assert np.all((targets["offset"] >= 0) & (targets["offset"] < 1))
    peaks = decode_peaks(_perfect_outputs(targets, grid), stride, size, top_k=8)[0].numpy()
    found = select_detections(peaks, score_threshold=0.5, max_count=4)
    order = np.argsort(found[:, 0])
    np.testing.assert_allclose(found[order, :3], boxes[np.argsort(boxes[:, 0])], atol=1e-3)
    np.testing.assert_array_equal(found[order, 4] > 0.5, right[np.argsort(boxes[:, 0])] > 0.5)


def test_encoding_drops_hands_centred_outside_and_handles_empty_frames():
    empty = encode_targets(np.zeros((0, 3)), np.zeros(0), 128, 8, max_objects=3)
    assert not empty["heatmap"].any() and not empty["mask"].any()
    outside = encode_targets(np.array([[-5.0, 60.0, 40.0], [60.0, 60.0, 40.0]]),
                             np.array([1.0, 0.0]), 128, 8, max_objects=3)
    assert outside["mask"].tolist() == [1, 0, 0] and outside["box_mask"].sum() == 1
    np.testing.assert_allclose(outside["boxes"][0], [60, 60, 40])


def test_box_from_uv_is_the_freihand_crop():
    uv = np.array([[10.0, 20.0], [50.0, 30.0], [30.0, 100.0]] * 7)
    np.testing.assert_allclose(box_from_uv(uv), [30.0, 60.0, 100.0])  # 80 x 1.25


def test_select_detections_thresholds_suppresses_overlaps_and_caps():
    peaks = np.array([[50, 50, 40, 0.9, 1], [52, 50, 40, 0.8, 1], [150, 50, 40, 0.7, 0],
                      [90, 90, 40, 0.6, 0], [10, 10, 40, 0.1, 0]], float)
    out = select_detections(peaks, score_threshold=0.3, max_count=2, nms_iou=0.5)
    np.testing.assert_array_equal(out[:, 3], [0.9, 0.7])
    assert select_detections(peaks, 0.95, 2).shape == (0, 5)


def test_square_iou_and_metrics():
    assert square_iou([[0, 0, 10]], [[0, 0, 10]])[0, 0] == pytest.approx(1.0)
    assert square_iou([[0, 0, 10]], [[5, 0, 10]])[0, 0] == pytest.approx(50 / 150)
    assert square_iou([[0, 0, 10]], [[20, 0, 10]])[0, 0] == 0.0
    gt = np.array([[0, 0, 10], [100, 100, 20]], float)
    pred = np.array([[100, 101, 20, 0.9, 0.2], [1, 0, 10, 0.8, 0.9], [300, 0, 10, 0.7, 0.5]])
    assert sorted(m[:2] for m in match_detections(pred, gt)) == [(0, 1), (1, 0)]
    stats = DetectionStats()
    stats.add(pred, gt, gt_right=np.array([1.0, 1.0]))
    stats.add(np.zeros((0, 5)), np.zeros((0, 3)))
    stats.add(pred[:1], np.zeros((0, 3)))
    metrics = stats.metrics()
    assert metrics["recall"] == 1.0 and metrics["miss_rate"] == 0.0
    assert metrics["precision"] == pytest.approx(2 / 4)
    assert metrics["handedness_accuracy"] == pytest.approx(0.5)  # the 0.2 one is wrong
    assert metrics["empty_frame_false_alarm"] == pytest.approx(0.5)
    assert 0.8 < metrics["mean_iou"] <= 1.0


def test_detections_on_ignored_hands_are_neither_found_nor_false_alarms():
    gt = np.array([[0, 0, 10]], float)
    ignored = np.array([[100, 100, 20]], float)
    pred = np.array([[100, 100, 20, 0.9, 1], [0, 0, 10, 0.8, 1]], float)
    stats = DetectionStats()
    stats.add(pred, gt, np.ones(1), ignore=ignored)
    metrics = stats.metrics()
    assert metrics["recall"] == 1.0 and metrics["precision"] == 1.0
    targets = encode_targets(np.vstack([gt + [50, 50, 0], ignored]), np.ones(2), 128, 8, 4,
                             ignore=np.array([False, True]))
    assert targets["mask"].sum() == 1 and targets["ignore_mask"].sum() == 1
    assert np.count_nonzero(targets["heatmap"] == 1.0) == 1
