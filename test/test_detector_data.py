"""Full-frame detector data: the frames.json reader and the augmented dataset, whose
images and targets must move together (a drawn 'hand' stays inside its target box)."""

import json

import cv2
import numpy as np
import pytest

from rejshand_ros.data.freihand import DatasetError
from rejshand_ros.data.sample import NO_AUGMENT, AugmentConfig
from rejshand_ros.detection.config import DetectorTrainSettings
from rejshand_ros.detection.dataset import FullFrameDataset
from rejshand_ros.detection.annotations import load_frames, save_frames

SETTINGS = DetectorTrainSettings.from_dict(
    {"model": {"backbone": "test_convnext", "input_size": 128, "feature_strides": [8, 16, 32]}})


def _write_shapes(root, name, hands_per_frame, seed=0, width=200, height=150):
    """Frames with each 'hand' drawn as the red convex hull of 21 random keypoints."""
    rng = np.random.default_rng(seed)
    (root / name / "rgb").mkdir(parents=True, exist_ok=True)
    frames = []
    for i, count in enumerate(hands_per_frame):
        image = np.full((height, width, 3), 90, np.uint8)
        hands = []
        for _ in range(count):
            centre = rng.uniform([50, 40], [width - 50, height - 40])
            uv = centre + rng.uniform(-25, 25, (21, 2)) * rng.uniform(0.5, 1.0, 2)
            hull = cv2.convexHull(np.round(uv * 16).astype(np.int32))
            cv2.fillConvexPoly(image, hull, (255, 0, 0), lineType=cv2.LINE_AA, shift=4)
            hands.append({"handedness": "right", "uv": uv})
        cv2.imwrite(str(root / name / "rgb" / f"{i:08d}.png"), image[..., ::-1])
        frames.append({"K": np.eye(3), "image": f"{i:08d}.png", "hands": hands})
    save_frames(root, name, frames)
    return root


def test_reader_accepts_list_and_dict_forms_and_names_bad_entries(tmp_path):
    hand = {"handedness": "left", "uv": np.zeros((21, 2)).tolist(), "xyz": [], "verts": []}
    (tmp_path / "a_frames.json").write_text(json.dumps([{"K": np.eye(3).tolist(),
                                                         "hands": [hand]}, {"hands": []}]))
    (tmp_path / "b_frames.json").write_text(json.dumps({"frames": [{"hands": [
        {"handedness": 1, "box": [1, 2, 30, 40]}]}]}))
    a, b = load_frames(tmp_path, "a"), load_frames(tmp_path, "b")
    assert a[0].image_path == tmp_path / "a" / "rgb" / "00000000.jpg"
    assert a[1].image_path.name == "00000001.jpg" and a[1].hands == []
    assert a[0].hands[0].right is False and a[0].hands[0].uv.shape == (21, 2)
    assert b[0].hands[0].right is True and b[0].hands[0].uv is None
    with pytest.raises(DatasetError, match="missing_frames.json"):
        load_frames(tmp_path, "missing")
    (tmp_path / "c_frames.json").write_text(json.dumps([{"hands": [{"handedness": "up",
                                                                    "uv": hand["uv"]}]}]))
    with pytest.raises(DatasetError, match=r"c_frames.json frame 0 hand 0: handedness"):
        load_frames(tmp_path, "c")
    (tmp_path / "d_frames.json").write_text("[{")
    with pytest.raises(DatasetError, match="d_frames.json"):
        load_frames(tmp_path, "d")


def _red_bbox(item):
    image = item["image"].permute(1, 2, 0).numpy()
    mask = (image[..., 0] > 0.7) & (image[..., 1] < 0.3)
    ys, xs = np.nonzero(mask)
    return np.array([xs.min() - 0.5, ys.min() - 0.5, xs.max() + 0.5, ys.max() + 0.5])


@pytest.mark.parametrize("augment", [
    NO_AUGMENT,
    AugmentConfig(center_jitter=0.15, scale_range=(0.7, 1.4), rotation_deg=30.0,
                  flip_prob=1.0, colour=0.0, blur_prob=0.0),
    AugmentConfig(center_jitter=0.1, scale_range=(0.8, 1.2), rotation_deg=40.0,
                  flip_prob=0.0, colour=0.0, blur_prob=0.0),
])
def test_augmented_images_and_boxes_move_together(tmp_path, augment):
    root = _write_shapes(tmp_path, "training", [1] * 6)
    dataset = FullFrameDataset(load_frames(root, "training"), SETTINGS, augment, seed=3)
    checked = 0
    for epoch in range(2):
        dataset.set_epoch(epoch)
        for index in range(len(dataset)):
            item = dataset[index]
            assert item["image"].shape == (3, 128, 128)
            assert item["heatmap"].shape == (1, 16, 16)
            if item["box_mask"][0] == 0:   # centre pushed out of the input by the shift
                continue
            x0, y0, x1, y1 = _red_bbox(item)
            cx, cy, side = item["boxes"][0].numpy()
            assert abs((x0 + x1) / 2 - cx) < 1.5 and abs((y0 + y1) / 2 - cy) < 1.5
            assert abs(max(x1 - x0, y1 - y0) * 1.25 - side) < 3.0
            assert item["right"][0] == (0.0 if augment.flip_prob == 1.0 else 1.0)
            assert item["heatmap"].max() == 1.0
            checked += 1
    assert checked >= 8


def test_reproducible_items_and_zero_hand_frames(tmp_path):
    root = _write_shapes(tmp_path, "training", [0, 2, 1])
    augment = AugmentConfig(center_jitter=0.1, scale_range=(0.8, 1.2), rotation_deg=10.0,
                            flip_prob=0.5, colour=0.2, blur_prob=0.5)
    dataset = FullFrameDataset(load_frames(root, "training"), SETTINGS, augment, seed=1)
    empty = dataset[0]
    assert not empty["heatmap"].any() and not empty["mask"].any() and not empty["box_mask"].any()
    assert dataset[1]["box_mask"].sum() == 2
    for key, value in dataset[1].items():
        assert np.array_equal(value.numpy(), dataset[1][key].numpy()), key
    dataset.set_epoch(1)
    assert not np.array_equal(dataset[1]["image"].numpy(), empty["image"].numpy())


def test_missing_image_is_named_or_skipped(tmp_path):
    root = _write_shapes(tmp_path, "training", [1, 1])
    (root / "training" / "rgb" / "00000000.png").unlink()
    frames = load_frames(root, "training")
    with pytest.raises(DatasetError, match="00000000.png"):
        FullFrameDataset(frames, SETTINGS)[0]
    assert FullFrameDataset(frames, SETTINGS, skip_bad=True)[0]["box_mask"].sum() == 1


def test_reads_what_rejshand_synth_full_frame_writes(tmp_path):
    from rejshand_ros.synth.writer import SplitSpec, write_split

    summary = write_split(SplitSpec(out=tmp_path, split="training", num=3, seed=0,
                                    full_frame=True, width=96, height=72), workers=1,
                          progress=False)
    frames = load_frames(tmp_path, "training")
    assert len(frames) == 3 and sum(len(f.hands) for f in frames) == summary["hands"]
    assert all(f.image_path.is_file() for f in frames)
    dataset = FullFrameDataset(frames, SETTINGS)
    items = [dataset[i] for i in range(3)]
    assert sum(int(it["box_mask"].sum() + it["ignore_mask"].sum()) for it in items) <= \
        summary["hands"]


def test_occluded_hands_are_ignored_not_negatives(tmp_path):
    root = _write_shapes(tmp_path, "training", [2])
    raw = json.loads((root / "training_frames.json").read_text())
    raw[0]["hands"][0]["visible_fraction"] = 0.1
    raw[0]["hands"][1]["visible_pixels"] = 0
    (root / "training_frames.json").write_text(json.dumps(raw))
    frames = load_frames(root, "training")
    assert [h.visible_fraction for h in frames[0].hands] == [0.1, 0.0]
    item = FullFrameDataset(frames, SETTINGS)[0]
    assert item["mask"].sum() == 0 and item["box_mask"].sum() == 0
    assert item["ignore_mask"].sum() == 2
    assert 0.98 < float(item["heatmap"].max()) < 1.0   # no positive, negatives muted
