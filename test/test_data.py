"""FreiHAND-layout loading, crops and augmentation with consistent labels."""

import json

import cv2
import numpy as np
import pytest

from rejshand_ros.data.dataset import HandCropDataset
from rejshand_ros.data.freihand import DatasetError, load_split
from rejshand_ros.data.sample import AugmentConfig, NO_AUGMENT, make_sample
from rejshand_ros.geometry.camera import project
from rejshand_ros.geometry.crop import unit_to_crop_pixels

K = np.array([[500.0, 0, 160], [0, 500.0, 120], [0, 0, 1]])


def _hand_xyz(rng):
    """A plausible 21-joint hand 0.5 m in front of the camera (metres)."""
    base = np.array([0.0, 0.0, 0.5]) + rng.uniform(-0.03, 0.03, 3)
    offsets = rng.uniform(-0.05, 0.05, (21, 3)) * [1, 1, 0.3]
    return base + offsets


def _write_split(root, name, num, versions=1, rng=None, corrupt=None):
    rng = rng or np.random.default_rng(0)
    (root / name / "rgb").mkdir(parents=True)
    xyz = [_hand_xyz(rng) for _ in range(num)]
    verts = [x[rng.integers(0, 21, 778)] + rng.normal(0, 0.003, (778, 3)) for x in xyz]
    for version in range(versions):
        for i in range(num):
            image = np.full((240, 320, 3), 40 + 30 * version, np.uint8)
            for u, v in project(xyz[i], K):
                cv2.circle(image, (int(round(u)), int(round(v))), 2, (255, 200, 0), -1)
            cv2.imwrite(str(root / name / "rgb" / f"{i + num * version:08d}.jpg"), image)
    files = {"K": [K.tolist()] * num, "xyz": [x.tolist() for x in xyz],
             "verts": [v.tolist() for v in verts],
             "scale": [float(np.linalg.norm(x[9] - x[10])) for x in xyz]}
    if corrupt:
        corrupt(files)
    for key, value in files.items():
        (root / f"{name}_{key}.json").write_text(json.dumps(value))
    return xyz


def test_layout_is_read_with_versions(tmp_path):
    xyz = _write_split(tmp_path, "training", 3, versions=2)
    ann = load_split(tmp_path, "training")
    assert (ann.num_samples, ann.versions, ann.num_images) == (3, 2, 6)
    np.testing.assert_allclose(ann.xyz[1], xyz[1])
    assert ann.sample_id(4) == 1 and ann.image_path(4).name == "00000004.jpg"
    assert ann.verts.shape == (3, 778, 3) and ann.handedness.all() and ann.presence.all()


def test_missing_and_malformed_files_name_path_and_index(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        load_split(tmp_path / "nope", "training")

    def bad_entry(files):
        files["xyz"][2] = [[0.0, 0.0]] * 21

    _write_split(tmp_path, "training", 4, corrupt=bad_entry)
    with pytest.raises(DatasetError, match=r"training_xyz.json: malformed entry at index 2"):
        load_split(tmp_path, "training")
    ann = load_split(tmp_path, "training", skip_bad=True)
    assert ann.valid.tolist() == [True, True, False, True]
    assert len(HandCropDataset(ann, 64)) == 3
    (tmp_path / "training_K.json").write_text("{not json")
    with pytest.raises(DatasetError, match="training_K.json"):
        load_split(tmp_path, "training")


def test_missing_image_stops_with_path_or_is_skipped(tmp_path):
    _write_split(tmp_path, "training", 3)
    (tmp_path / "training" / "rgb" / "00000001.jpg").unlink()
    ann = load_split(tmp_path, "training")
    with pytest.raises(DatasetError, match=r"00000001.jpg \(dataset index 1\)"):
        HandCropDataset(ann, 64)[1]
    item = HandCropDataset(ann, 64, skip_bad=True)[1]
    assert item["image"].shape == (3, 64, 64)


@pytest.mark.parametrize("seed", range(6))
def test_augmented_keypoints_land_on_projected_3d(tmp_path, seed):
    rng = np.random.default_rng(seed)
    xyz = _hand_xyz(rng)
    image = np.zeros((240, 320, 3), np.uint8)
    sample = make_sample(image, K, xyz, None, True, 96, AugmentConfig(), rng)
    t = sample.transform
    from rejshand_ros.geometry.crop import camera_to_crop_3d

    absolute = camera_to_crop_3d(xyz, t)
    reprojected = project(absolute, t.K_crop)
    if t.mirrored:  # the crop is flipped: x -> -x in the virtual frame, u -> S-1-u
        reprojected = project(absolute * [-1, 1, 1], t.K_crop)
        reprojected[:, 0] = (96 - 1) - reprojected[:, 0]
    np.testing.assert_allclose(unit_to_crop_pixels(sample.uv, 96), reprojected, atol=1e-6)
    # 3D labels are root-relative, bone lengths preserved by the rotation/mirror
    assert np.allclose(sample.joints[9], 0)
    np.testing.assert_allclose(np.linalg.norm(sample.joints[4] - sample.joints[3]),
                               np.linalg.norm(xyz[4] - xyz[3]), rtol=1e-5)
    assert sample.right == (0.0 if t.mirrored else 1.0)


def test_crop_pixels_show_the_keypoints(tmp_path):
    xyz = _write_split(tmp_path, "evaluation", 1)
    ann = load_split(tmp_path, "evaluation")
    item = HandCropDataset(ann, 128)[0]
    image = (item["image"].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    for u, v in unit_to_crop_pixels(item["uv"].numpy(), 128):
        patch = image[int(round(v)) - 1:int(round(v)) + 2, int(round(u)) - 1:int(round(u)) + 2]
        assert patch[..., 1].max() > 150  # the drawn dot (RGB 0,200,255) is there
    # evaluation crop = bbox x 1.25: all keypoints inside, hand fills ~80% of the crop
    uv = item["uv"].numpy()
    assert uv.min() > 0.05 and uv.max() < 0.95
    assert (uv.max(0) - uv.min(0)).max() == pytest.approx(0.8, abs=0.01)


def test_same_seed_and_epoch_give_the_same_item(tmp_path):
    _write_split(tmp_path, "training", 2)
    ann = load_split(tmp_path, "training")
    a = HandCropDataset(ann, 64, AugmentConfig(), seed=3)
    b = HandCropDataset(ann, 64, AugmentConfig(), seed=3)
    assert all(np.array_equal(a[1][k], b[1][k]) for k in ("image", "uv", "joints"))
    b.set_epoch(1)
    assert not np.array_equal(a[1]["uv"], b[1]["uv"])
