"""Real photos: the teacher's pseudo-labels, the 2D-labelled loader, mixed-source losses,
ImageNet weights through a named mapping, and the shipped model on real photos.

The real photos in test/data/real_hands (licences in LICENSES.md there) are hand-centred
256 px crops of validation photos, never trained on; labels.json holds the teacher's labels.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from rejshand_ros.data.labelled import (LabelledSplitWriter, context_crop, is_labelled_split,
                                        load_labelled_split)
from rejshand_ros.data.sample import NO_AUGMENT, AugmentConfig
from rejshand_ros.data.teacher import LabelPolicy, label_image
from rejshand_ros.data.yardstick import load_yardstick
from rejshand_ros.geometry.crop import crop_to_full, unit_to_crop_pixels

REAL = Path(__file__).resolve().parent / "data" / "real_hands"
BIN = Path(sys.executable).parent
#: MediaPipe Hands on 583 real annotated photos (real-data.md): mean 2D error, 256 px crops
TEACHER_ERROR_PX = 6.9


def _hand(width: int, right_in_selfie_terms: str, shift=(0.0, 0.0), score=0.95) -> dict:
    """A worker answer for one hand: an open hand around (100, 80) px in MediaPipe's units."""
    rng = np.random.default_rng(3)
    uv = np.stack([np.linspace(80, 120, 21), np.linspace(120, 40, 21)], axis=1)
    uv += rng.normal(0, 2, uv.shape) + shift
    world = np.concatenate([uv / 1000.0, rng.normal(0, 0.01, (21, 1))], axis=1)
    return {"uv": uv.tolist(), "world": world.tolist(), "label": right_in_selfie_terms,
            "score": score}


def _mirror(hand: dict, width: int, label: str) -> dict:
    uv = np.asarray(hand["uv"])
    world = np.asarray(hand["world"])
    return {"uv": np.stack([width - uv[:, 0], uv[:, 1]], 1).tolist(),
            "world": np.stack([-world[:, 0], world[:, 1], world[:, 2]], 1).tolist(),
            "label": label, "score": hand["score"]}


def test_flip_test_keeps_agreeing_hands_and_counts_every_other_one():
    image = np.zeros((200, 300, 3), np.uint8)
    width = image.shape[1]
    good = _hand(width, "Left")

    def teacher(answers):
        calls = iter(answers)
        return lambda img: next(calls)

    # the mirror run sees the same hand, mirrored, named the other side: kept, swapped label
    hands, counts = label_image(image, teacher([[good], [_mirror(good, width, "Right")]]),
                                LabelPolicy(teacher_min_side=0))
    assert counts.kept == 1 and not counts.left_out
    assert hands[0].right  # MediaPipe's "Left" on a camera (unmirrored) image = right hand
    expected = np.asarray(good["uv"]) - 0.5  # pixel centres at integers
    assert np.abs(hands[0].uv - expected).max() < 1e-9
    assert np.allclose(hands[0].xyz_rel[9], 0.0)
    # same label on both sides: left out
    _, counts = label_image(image, teacher([[good], [_mirror(good, width, "Left")]]),
                            LabelPolicy(teacher_min_side=0))
    assert counts.kept == 0 and counts.left_out == {"handedness_disagrees": 1}
    # keypoints moved by 20 % of the hand in the mirror run: left out
    moved = _mirror(_hand(width, "Left", shift=(16.0, 0.0)), width, "Right")
    _, counts = label_image(image, teacher([[good], [moved]]), LabelPolicy(teacher_min_side=0))
    assert counts.left_out == {"keypoints_disagree": 1}
    # unsure teacher; a hand only the mirror run saw; a hand the mirror run missed
    _, counts = label_image(image, teacher([[_hand(width, "Left", score=0.5)],
                                            [_mirror(_hand(width, "Left", score=0.5), width,
                                                     "Right")]]),
                            LabelPolicy(teacher_min_side=0))
    assert counts.left_out == {"low_score": 1}
    _, counts = label_image(image, teacher([[], [_mirror(good, width, "Right")]]),
                            LabelPolicy(teacher_min_side=0))
    assert counts.left_out == {"only_in_mirror": 1}
    _, counts = label_image(image, teacher([[good], []]), LabelPolicy(teacher_min_side=0))
    assert counts.left_out == {"not_found_in_mirror": 1}


def test_small_images_are_upscaled_for_the_teacher_and_labels_scaled_back():
    image = np.zeros((100, 150, 3), np.uint8)
    seen = []

    def teacher(img):
        seen.append(img.shape)
        # the teacher answers in the pixels of what it saw: a point at continuous x = 30
        # of the original 150 px image is at 30 * 256/100 in the upscaled one
        factor = img.shape[0] / 100.0
        hand = _hand(img.shape[1], "Right" if len(seen) == 1 else "Left")
        uv = np.asarray(hand["uv"]) * 0.5 * factor
        if len(seen) == 2:
            uv[:, 0] = img.shape[1] - uv[:, 0]
        hand["uv"] = uv.tolist()
        return [hand]

    hands, _ = label_image(image, teacher, LabelPolicy(teacher_min_side=256, min_hand_px=0))
    assert seen[0][:2] == (256, 384)
    expected = np.asarray(_hand(150, "Right")["uv"]) * 0.5 - 0.5
    assert np.abs(hands[0].uv - expected).max() < 0.05


def _labelled_split(root: Path, xyz_offset: float = 0.0) -> Path:
    """A labelled split from the shipped real photos and their labels."""
    yard = load_yardstick(REAL)
    writer = LabelledSplitWriter(root, "toy")
    import cv2
    for index in range(4):
        image = cv2.cvtColor(cv2.imread(str(yard.images[index])), cv2.COLOR_BGR2RGB)
        crop, uv, box = context_crop(image, yard.uv[index])
        writer.add(crop, uv, yard.xyz_rel[index] + xyz_offset, bool(yard.right[index]), 0.9,
                   {"file": yard.images[index].name, "frame": None, "crop": box})
    writer.close({"made_by": "test"})
    return root


def test_labelled_split_crops_from_2d_labels_and_never_from_3d(tmp_path):
    from rejshand_ros.data.dataset import LabelledCropDataset

    root = _labelled_split(tmp_path / "a")
    assert is_labelled_split(root, "toy") and not (root / "toy_K.json").exists()
    ann = load_labelled_split(root, "toy")
    other = load_labelled_split(_labelled_split(tmp_path / "b", xyz_offset=5.0), "toy")
    augment = AugmentConfig(roll_reference="upright", rotation_deg=30.0, flip_prob=0.5,
                            noise_prob=0.5, jpeg_prob=0.5, lowres_prob=0.5)
    for index in range(4):
        one = LabelledCropDataset(ann, 96, augment, seed=1)[index]
        two = LabelledCropDataset(other, 96, augment, seed=1)[index]
        # 2D targets are the 2D labels moved into the crop: 3D labels play no part
        assert torch.equal(one["uv"], two["uv"]) and torch.equal(one["image"], two["image"])
        assert one["w2d"] == 1 and one["w3d"] == 1 and one["wv"] == 0
        assert torch.allclose(one["joints"][9], torch.zeros(3), atol=1e-6)
    # without augmentation the targets map back onto the labels exactly
    from rejshand_ros.data.sample import make_sample_2d
    image = np.zeros((300, 300, 3), np.uint8)
    sample = make_sample_2d(image, ann.uv[0], ann.xyz_rel[0], True, 96, NO_AUGMENT)
    back = crop_to_full(unit_to_crop_pixels(sample.uv, 96), sample.transform)
    assert np.abs(back - ann.uv[0]).max() < 1e-4  # float32 targets


def test_mixed_sources_weight_the_losses_per_source(tmp_path, toy_dataset):
    from rejshand_ros.data.mixed import MixedDataset, SourceConfig, open_source
    from rejshand_ros.train.config import LossConfig
    from rejshand_ros.train.losses import compute_losses

    real = _labelled_split(tmp_path / "real")
    sources = [SourceConfig(str(toy_dataset), "training", weight=1.0),
               SourceConfig(str(real), "toy", weight=1.0, k3d=0.3)]
    sets = [open_source(s, 64, NO_AUGMENT, 0, False, 778) for s in sources]
    mixed = MixedDataset(sets, sources, epoch_size=12, seed=0)
    items = [mixed[i] for i in range(len(mixed))]
    by_source = {0: [], 1: []}
    for item in items:
        by_source[int(item["source"])].append(item)
    assert len(by_source[0]) == 6 and len(by_source[1]) == 6
    assert all(i["wv"] == 1 and i["w3d"] == 1 for i in by_source[0])
    assert all(i["wv"] == 0 and abs(float(i["w3d"]) - 0.3) < 1e-6 for i in by_source[1])
    batch = {k: torch.stack([i[k] for i in items]) for k in items[0]}
    outputs = {"uv": batch["uv"] + 0.1, "joints": batch["joints"] + 0.01,
               "vertices": batch["vertices"].clone()}
    base = compute_losses(outputs, batch, LossConfig(presence=0, handedness=0))
    # garbage vertices on the photos (which have none) change nothing
    real_rows = batch["source"] == 1
    outputs["vertices"][real_rows] += 100.0
    again = compute_losses(outputs, batch, LossConfig(presence=0, handedness=0))
    assert torch.equal(base["vertices"], again["vertices"])
    # the same 3D error counts 0.3x on photos
    outputs["joints"] = batch["joints"].clone()
    outputs["joints"][real_rows] += 0.01
    real_only = compute_losses(outputs, batch, LossConfig(presence=0, handedness=0))
    assert abs(float(real_only["joints"]) - 0.01 * 0.3 * 6 / 12) < 1e-6
    # same seed and epoch, same items (exact resume)
    again_items = MixedDataset(sets, sources, epoch_size=12, seed=0)
    assert torch.equal(again_items[5]["image"], items[5]["image"])


def test_imagenet_weights_load_through_the_named_mapping(tmp_path):
    from rejshand_ros.model.backbone import Backbone, BackboneWeightsError, mapped_weights_path

    path = mapped_weights_path("efficientnet_lite0_pytorch")
    state = torch.load(path, map_location="cpu", weights_only=True)
    backbone = Backbone("tf_efficientnet_lite0", "last_stage", path, "efficientnet_lite0_pytorch")
    body = backbone.body.state_dict()
    # the publisher's names in order onto timm's: stem, a depthwise conv, the last block
    assert torch.equal(body["conv_stem.weight"], state["_conv_stem.weight"])
    assert torch.equal(body["blocks.0.0.conv_dw.weight"], state["_blocks.0._depthwise_conv.weight"])
    assert torch.equal(body["bn1.running_var"], state["_bn0.running_var"])
    # a checkpoint that does not fit is refused, naming the file
    short = tmp_path / "short.pth"
    torch.save(dict(list(state.items())[:-4]), short)
    with pytest.raises(BackboneWeightsError, match="short.pth.*tensors"):
        Backbone("tf_efficientnet_lite0", "last_stage", short, "efficientnet_lite0_pytorch")
    wrong = tmp_path / "wrong.pth"
    swapped = dict(state)
    swapped["_conv_stem.weight"] = torch.zeros(16, 3, 3, 3)
    torch.save(swapped, wrong)
    with pytest.raises(BackboneWeightsError, match=r"wrong.pth.*shape"):
        Backbone("tf_efficientnet_lite0", "last_stage", wrong, "efficientnet_lite0_pytorch")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(BackboneWeightsError, match="garbage.pth"):
        Backbone("tf_efficientnet_lite0", "last_stage", garbage, "efficientnet_lite0_pytorch")
    with pytest.raises(ValueError, match="targets timm 'tf_efficientnet_lite0'"):
        Backbone("fastvit_t8", "last_stage", path, "efficientnet_lite0_pytorch")


def test_label_cli_pseudo_labels_real_photos_with_the_real_teacher(tmp_path, mediapipe_python):
    out = tmp_path / "labelled"
    result = subprocess.run(
        [str(BIN / "rejshand-label"), str(REAL), "--out", str(out), "--split", "mine",
         "--mediapipe-python", str(mediapipe_python), "--no-progress"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    photos = sorted(REAL.glob("*.jpg"))
    assert summary["images"] == len(photos) and summary["hands_kept"] >= len(photos) - 2
    ann = load_labelled_split(out, "mine")
    info = json.loads((out / "mine_labels.json").read_text())
    assert info["teacher"]["mediapipe"] == "0.10.14" and info["hands_kept"] == ann.num_samples
    assert not (out / "mine_K.json").exists()
    assert np.allclose(ann.xyz_rel[:, 9], 0.0)
    # each kept hand lands where the shipped labels put it (labelled again on the crop)
    yard = load_yardstick(REAL)
    sources = json.loads((out / "mine_sources.json").read_text())
    errors = []
    for index, source in enumerate(sources):
        x0, y0, scale = source["crop"]
        uv = ann.uv[index] / scale + np.array([x0, y0])
        items = [i for i, p in enumerate(yard.images) if p.name == Path(source["file"]).name]
        if items:  # photos with shipped labels
            errors.append(np.linalg.norm(uv - yard.uv[items[0]], axis=1).mean())
    assert len(errors) >= 10
    assert np.median(errors) < 4.0, errors
    # an existing split is refused unless --overwrite
    again = subprocess.run([str(BIN / "rejshand-label"), str(REAL), "--out", str(out), "--split",
                            "mine", "--mediapipe-python", str(mediapipe_python)],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_the_shipped_model_sees_real_hands():
    """The pose network on the tracker's crop of each photo's hand: mean 2D error against
    the teacher's labels within 2x the teacher's own error on real photos."""
    from rejshand_ros.cli.eval_real import _true_box_prediction, mean_pose_2d
    from rejshand_ros.perception.predictor import Predictor, PredictorConfig
    import cv2

    yard = load_yardstick(REAL)
    predictor = Predictor(PredictorConfig(num_threads=2))
    errors = []
    for index, path in enumerate(yard.images):
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        hand = _true_box_prediction(predictor, image, yard.uv[index], bool(yard.right[index]))
        errors.append(np.linalg.norm(hand.uv - yard.uv[index], axis=1).mean())
    baseline = np.linalg.norm(mean_pose_2d(yard.uv) - yard.uv, axis=-1).mean()
    assert np.mean(errors) <= 2 * TEACHER_ERROR_PX, (np.mean(errors), baseline, errors)
    assert np.mean(errors) < 0.5 * baseline


def test_bring_your_own_hands_at_toy_size(tmp_path, mediapipe_python):
    """docs/training.md "Bring your own hands": label your photos with the teacher,
    fine-tune the shipped model from its weights (config/train/finetune_own_hands.yaml),
    predict with the result."""
    import yaml

    from rejshand_ros.model.model_file import load_model_file
    from rejshand_ros.perception.predictor import default_model_path

    data = tmp_path / "mine"
    for split, images in (("mine_train", sorted(REAL.glob("*.jpg"))[:8]),
                          ("mine_val", sorted(REAL.glob("*.jpg"))[8:])):
        folder = tmp_path / split
        folder.mkdir()
        for image in images:
            (folder / image.name).write_bytes(image.read_bytes())
        labelled = subprocess.run(
            [str(BIN / "rejshand-label"), str(folder), "--out", str(data), "--split", split,
             "--mediapipe-python", str(mediapipe_python), "--no-progress"],
            capture_output=True, text=True, timeout=300)
        assert labelled.returncode == 0, labelled.stderr[-2000:]
    synth = subprocess.run([str(BIN / "rejshand-synth"), "--out", str(tmp_path / "synth"),
                            "--split", "training", "--num", "8", "--seed", "5", "--size", "96",
                            "--workers", "1", "--no-progress"],
                           capture_output=True, text=True, timeout=300)
    assert synth.returncode == 0, synth.stderr[-2000:]
    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "train" /
                             "finetune_own_hands.yaml").read_text())
    config["data"]["sources"][0]["root"] = str(data)
    config["data"]["sources"][1]["root"] = str(tmp_path / "synth")
    config["data"]["val_sources"][0]["root"] = str(data)
    config["data"].update(epoch_size=16, num_workers=0)
    config.update(batch_size=4, max_steps=4, val_every=4, checkpoint_every=4)
    (tmp_path / "ft.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / "run"
    trained = subprocess.run([str(BIN / "rejshand-train"), "--config", str(tmp_path / "ft.yaml"),
                              "--out", str(out), "--no-progress"],
                             capture_output=True, text=True, timeout=600)
    assert trained.returncode == 0, trained.stderr[-3000:]
    model, meta = load_model_file(out / "model_last.safetensors")
    shipped, shipped_meta = load_model_file(default_model_path())
    assert meta.config == shipped_meta.config  # the network config came from the shipped file
    changed = [k for k, v in model.state_dict().items()
               if v.is_floating_point() and not torch.equal(v, shipped.state_dict()[k])]
    assert changed, "fine-tuning left every weight as shipped"
    metrics = (out / "metrics.csv").read_text().splitlines()
    assert "uv_px256" in metrics[0] and len(metrics) == 2
    predicted = subprocess.run([str(BIN / "rejshand-predict"), str(REAL / "00_subhih_hands.jpg"),
                                "--out", str(tmp_path / "pred"), "--model",
                                str(out / "model_last.safetensors"), "--no-overlay",
                                "--backend", "eager"],  # no ONNX export of a one-off model
                               capture_output=True, text=True, timeout=300)
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    result = json.loads((tmp_path / "pred" / "00_subhih_hands.json").read_text())
    assert result["model_id"] == "rejshand_lite0_real_finetuned"
