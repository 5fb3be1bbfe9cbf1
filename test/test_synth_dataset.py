"""rejshand-synth output: FreiHAND layout read by the project's loader, frames.json,
byte-identical reruns (also with 2 workers), and argument errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from rejshand_ros.data.freihand import load_split
from rejshand_ros.hand_model import joint_regressor
from rejshand_ros.synth.writer import SplitSpec, write_split

CLI = [sys.executable, "-m", "rejshand_ros.cli.synth"]


@pytest.fixture(scope="module")
def crops(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    write_split(SplitSpec(root, "training", 10, seed=3, size=96, negative_ratio=0.3),
                progress=False)
    return root


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    root = tmp_path_factory.mktemp("frames")
    write_split(SplitSpec(root, "live", 5, seed=4, full_frame=True, width=160, height=120),
                progress=False)
    return root


def test_crops_load_with_the_freihand_loader(crops):
    ann = load_split(crops, "training")
    assert ann.num_samples == 10 and ann.versions == 1 and ann.valid.all()
    assert ann.verts.shape == (10, 778, 3) and ann.xyz.shape == (10, 21, 3)
    present = ann.presence
    assert 0 < present.sum() < 10  # negative_ratio 0.3 gave some hand-free crops
    np.testing.assert_array_equal(ann.xyz[~present], 0.0)
    np.testing.assert_array_equal(ann.verts[~present], 0.0)
    np.testing.assert_array_equal(ann.scale[~present], 0.0)
    xyz, verts = ann.xyz[present], ann.verts[present]
    np.testing.assert_allclose(xyz, np.einsum("jv,nvc->njc", joint_regressor(), verts), atol=2e-6)
    np.testing.assert_allclose(ann.scale[present], np.linalg.norm(xyz[:, 9] - xyz[:, 10], axis=1),
                               atol=1e-6)
    for K, joints in zip(ann.K[present], xyz):  # hand-centred in the 96 px crop
        uv = joints @ K.T
        uv = uv[:, :2] / uv[:, 2:]
        assert np.all((uv > -5) & (uv < 101))
    assert np.all(ann.K[:, 2, 2] == 1.0) and np.all(ann.K[:, 0, 0] > 50)
    handedness = json.loads((crops / "training_handedness.json").read_text())
    assert set(handedness) <= {"left", "right"}
    assert len(set(np.array(handedness)[present])) == 2 or present.sum() < 4


def test_crops_make_hand_crop_dataset_items(crops):
    torch = pytest.importorskip("torch")
    from rejshand_ros.data.dataset import HandCropDataset

    ann = load_split(crops, "training")
    dataset = HandCropDataset(ann, 64)
    assert len(dataset) == 10
    with_hand = int(np.flatnonzero(ann.presence)[0])
    without = int(np.flatnonzero(~ann.presence)[0])
    item = dataset[with_hand]
    assert item["image"].shape == (3, 64, 64) and float(item["presence"]) == 1.0
    assert float(item["right"]) == float(ann.handedness[with_hand])
    assert torch.isfinite(item["joints"]).all() and float(item["has_vertices"]) == 1.0
    assert float(dataset[without]["presence"]) == 0.0


def test_full_frames_json_schema(frames):
    entries = json.loads((frames / "live_frames.json").read_text())
    assert len(entries) == 5
    ann = load_split(frames, "live")  # FreiHAND files hold each frame's first hand
    for index, frame in enumerate(entries):
        assert frame["image"] == f"{index:08d}.jpg" and (frames / "live/rgb" / frame["image"]).is_file()
        assert (frame["width"], frame["height"]) == (160, 120)
        assert np.asarray(frame["K"]).shape == (3, 3)
        assert len(frame["hands"]) <= 2
        assert bool(ann.presence[index]) == bool(frame["hands"])
        for hand in frame["hands"]:
            assert hand["handedness"] in ("left", "right")
            x, y, w, h = hand["box"]
            assert 0 <= x and 0 <= y and x + w <= 160 and y + h <= 120
            assert np.asarray(hand["uv"]).shape == (21, 2)
            assert np.asarray(hand["xyz"]).shape == (21, 3)
            assert np.asarray(hand["verts"]).shape == (778, 3)
            assert 0.0 <= hand["visible_fraction"] <= 1.0 and hand["visible_pixels"] >= 0
        if frame["hands"]:
            np.testing.assert_allclose(ann.xyz[index], frame["hands"][0]["xyz"])
    assert sum(len(f["hands"]) for f in entries) >= 3


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_same_seed_same_bytes_with_one_or_two_workers(tmp_path, venv_bin):
    """Also through the installed launcher, whose workers must not re-run main()."""
    script = venv_bin / "rejshand-synth"
    installed = [str(script)] if script.exists() else CLI
    args = ["--split", "s", "--num", "6", "--seed", "9", "--size", "64",
            "--negative-ratio", "0.2", "--no-progress"]
    runs = []
    for name, workers, command in (("a", "1", CLI), ("b", "2", CLI), ("c", "2", installed)):
        proc = subprocess.run(command + ["--out", str(tmp_path / name), "--workers", workers] + args,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["num"] == 6
        runs.append(_files(tmp_path / name))
    assert runs[0] == runs[1] == runs[2]
    assert sum(name.endswith(".jpg") for name in runs[0]) == 6
    other = tmp_path / "d"
    subprocess.run(CLI + ["--out", str(other), "--workers", "1"] + args[:5] + ["10"] + args[6:],
                   check=True, capture_output=True, timeout=300)
    assert _files(other)["s_xyz.json"] != runs[0]["s_xyz.json"]


def _up_angles_deg(ann) -> np.ndarray:
    """Image angle of wrist -> middle MCP of every crop, degrees from straight up."""
    uv = np.einsum("nij,nkj->nki", ann.K, ann.xyz)
    uv = uv[..., :2] / uv[..., 2:]
    d = uv[:, 9] - uv[:, 0]
    return np.degrees(np.abs(np.arctan2(d[:, 0], -d[:, 1])))


def _curl(ann) -> np.ndarray:
    """|middle tip - wrist| / |middle MCP - wrist|: < 1 in a fist, > 1.4 open."""
    xyz = ann.xyz
    return np.linalg.norm(xyz[:, 12] - xyz[:, 0], axis=1) / \
        np.linalg.norm(xyz[:, 9] - xyz[:, 0], axis=1)


def test_scene_options_narrow_the_distribution(tmp_path):
    """--scene roll_deg / pose_modes: upright fists only; the defaults vary both."""
    narrow = ["--scene", "roll_deg=10", "--scene", "tilt_sigma_deg=0",
              "--scene", "extreme_view_prob=0", "--scene", "pose_modes=[fist]"]
    for name, extra in (("narrow", narrow), ("default", [])):
        subprocess.run(CLI + ["--out", str(tmp_path), "--split", name, "--num", "12",
                              "--seed", "2", "--size", "48", "--negative-ratio", "0",
                              "--workers", "1", "--no-progress", *extra],
                       check=True, capture_output=True, timeout=300)
    narrow_ann, default_ann = load_split(tmp_path, "narrow"), load_split(tmp_path, "default")
    assert np.all(_up_angles_deg(narrow_ann) < 15.0)
    assert np.any(_up_angles_deg(default_ann) > 60.0)
    assert np.all(_curl(narrow_ann) < 1.0)
    assert np.any(_curl(default_ann) > 1.4)


def test_full_frame_cli_is_deterministic(tmp_path):
    args = ["--split", "f", "--num", "2", "--seed", "1", "--full-frame", "--width", "96",
            "--height", "64", "--workers", "1", "--no-progress"]
    for name in ("a", "b"):
        subprocess.run(CLI + ["--out", str(tmp_path / name)] + args, check=True,
                       capture_output=True, timeout=300)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


@pytest.mark.parametrize("extra, needle", [
    (["--num", "-5"], "--num"),
    (["--num", "3", "--left-ratio", "1.5"], "--left-ratio"),
    (["--num", "3", "--width", "320"], "--full-frame"),
    (["--num", "3", "--split", "../x"], "--split"),
    (["--num", "3", "--scene", "roll_deg"], "KEY=VALUE"),
    (["--num", "3", "--scene", "no_such_option=1"], "no_such_option"),
    (["--num", "3", "--scene", "roll_deg=400"], "roll_deg"),
    (["--num", "3", "--scene", "pose_modes=[open, wave]"], "pose_modes"),
    (["--num", "3", "--scene", "left_ratio=1"], "left_ratio"),
])
def test_bad_arguments_exit_2_with_a_message(tmp_path, extra, needle):
    base = ["--out", str(tmp_path), "--split", "s", "--seed", "0"]
    proc = subprocess.run(CLI + base + extra, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert needle in proc.stderr and "Traceback" not in proc.stderr


def test_unwritable_out_and_existing_split_exit_2(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    proc = subprocess.run(CLI + ["--out", str(blocker / "data"), "--split", "s", "--num", "1",
                                 "--seed", "0"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--out" in proc.stderr and "Traceback" not in proc.stderr
    args = ["--out", str(tmp_path / "d"), "--split", "s", "--num", "1", "--seed", "0",
            "--size", "48", "--workers", "1", "--no-progress"]
    assert subprocess.run(CLI + args, capture_output=True, timeout=120).returncode == 0
    again = subprocess.run(CLI + args, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert subprocess.run(CLI + args + ["--overwrite"], capture_output=True,
                          timeout=120).returncode == 0


def test_help_and_argument_errors_need_no_numpy():
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('numpy', 'cv2', 'scipy', 'torch', 'tqdm'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from rejshand_ros.cli.synth import main\n"
        "for argv in (['--help'], ['--out', 'x', '--split', 's', '--num', '0', '--seed', '1']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as exc:\n"
        "        print('exit', exc.code)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    exits = [line for line in proc.stdout.splitlines() if line.startswith("exit ")]
    assert exits == ["exit 0", "exit 2"], proc.stderr
    assert "usage: rejshand-synth" in proc.stdout and "--num must be >= 1" in proc.stderr
