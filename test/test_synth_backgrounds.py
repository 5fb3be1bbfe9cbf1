"""Real-photo backgrounds in the renderer (``synth.photos``, ``rejshand-synth
--backgrounds``) and ``scripts/real_backgrounds.py`` (hand-free regions of labelled
photos, with their licences)."""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from rejshand_ros.synth import SceneConfig, render_crop, render_frame, sample_crop_scene, \
    sample_frame_scene
from rejshand_ros.synth.photos import BackgroundError, PhotoBackground, \
    render_photo_background

REPO = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "rejshand_ros.cli.synth"]
GREEN = (20, 230, 40)  # RGB: nothing procedural is this green on most of an image
BLUE = (30, 40, 235)


def _photo(path: Path, rgb, size=(120, 90)) -> Path:
    image = np.empty((size[1], size[0], 3), np.uint8)
    image[:] = rgb
    image[::7] = np.asarray(rgb) * 0.9  # some texture, same hue
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    _photo(root / "green.png", GREEN)
    (root / "sub").mkdir()
    _photo(root / "sub" / "blue.jpg", BLUE)
    (root / "notes.txt").write_text("not a photo: ignored")
    return root


def test_scenes_without_backgrounds_keep_their_draws():
    """Recorded before backgrounds existed: the same seeds draw the same scenes."""
    crops = [sample_crop_scene(np.random.default_rng((31, i)), 64, SceneConfig(shape_pool=0))
             for i in range(3)]
    frames = [sample_frame_scene(np.random.default_rng((32, i)), 160, 120) for i in range(2)]
    assert [(s.background_seed, s.post.jpeg_quality) for s in crops + frames] == [
        (668533225295634478, 88), (1535326663681511805, 79), (2302344001421243311, 92),
        (1570453848492685766, 95), (4384953760869683935, 79)]
    assert all(s.photo is None for s in crops + frames)


def test_backgrounds_change_only_the_background(photos):
    plain = SceneConfig(shape_pool=0)
    never = SceneConfig(shape_pool=0, backgrounds=photos, real_background_prob=0.0)
    always = SceneConfig(shape_pool=0, backgrounds=photos, real_background_prob=1.0)
    for seed in ((41, 0), (41, 1)):
        a, b, c = (render_crop(seed, 64, config=cfg) for cfg in (plain, never, always))
        np.testing.assert_array_equal(a.image, b.image)  # same bytes when never drawn
        assert a.background_photo is None and c.background_photo is not None
        np.testing.assert_array_equal(a.hands[0].xyz, c.hands[0].xyz)
        np.testing.assert_array_equal(a.K, c.K)
        assert not np.array_equal(a.image, c.image)
        again = render_crop(seed, 64, config=always)
        np.testing.assert_array_equal(c.image, again.image)


def _colour_share(image: np.ndarray, mask: np.ndarray, channel: int) -> float:
    """Share of masked pixels where ``channel`` beats both others by 25 levels (the
    photos' jitter keeps more than that: saturation >= 0.5, gains within 15 %)."""
    px = image[mask].astype(int)
    others = np.delete(px, channel, axis=1)
    return float(np.mean(np.all(px[:, [channel]] > others + 25, axis=1)))


def test_crops_and_frames_show_the_photos(photos):
    config = SceneConfig(shape_pool=0, backgrounds=photos, real_background_prob=1.0)
    seen = set()
    for i in range(6):
        sample = render_crop((42, i), 64, config=config) if i % 2 else \
            render_frame((43, i), 96, 64, config=config)
        name = Path(sample.background_photo).name
        seen.add(name)
        free = np.isinf(sample.depth)  # neither hand nor object
        free = cv2.erode(free.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        assert free.sum() > 200
        channel = 1 if name == "green.png" else 2
        assert _colour_share(sample.image, free, channel) > 0.95, name
    assert seen == {"green.png", "blue.jpg"}  # both files, sub-folders searched
    plain = render_crop((42, 1), 64, config=SceneConfig(shape_pool=0))
    assert _colour_share(plain.image, np.isinf(plain.depth), 1) < 0.5


def test_photo_crop_geometry(tmp_path):
    """Neutral jitter, whole photo: exactly the resized photo; flipped: mirrored."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    path = tmp_path / "p.png"
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    spec = PhotoBackground(path=str(path), scale=1.0, position=(0.0, 0.0), flip=False,
                           brightness=1.0, contrast=1.0, saturation=1.0,
                           channel_gain=(1.0, 1.0, 1.0), blur_sigma=0.0)
    out = render_photo_background(spec, 40, 30)
    np.testing.assert_array_equal(out, cv2.resize(image, (40, 30), interpolation=cv2.INTER_AREA))
    square = render_photo_background(spec, 60, 60)  # the largest square, at the left
    np.testing.assert_array_equal(square, image[:, :60])
    right = replace(spec, position=(1.0, 0.0), flip=True)
    np.testing.assert_array_equal(render_photo_background(right, 60, 60), image[:, 20:][:, ::-1])


def test_bad_photo_is_refused_by_name(photos, tmp_path):
    bad = tmp_path / "bg"
    bad.mkdir()
    _photo(bad / "good.png", GREEN)
    (bad / "broken.jpg").write_bytes(b"\xff\xd8 this is no JPEG " * 20)
    args = ["--split", "s", "--num", "2", "--seed", "0", "--size", "48", "--workers", "1",
            "--no-progress"]
    (tmp_path / "empty").mkdir()
    for folder, needle in ((bad, "broken.jpg"), (tmp_path / "missing", "missing"),
                           (tmp_path / "empty", "no photos")):
        proc = subprocess.run(CLI + ["--out", str(tmp_path / "out"), "--backgrounds",
                                     str(folder)] + args,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    spec = PhotoBackground(str(bad / "broken.jpg"), 1.0, (0.0, 0.0), False, 1.0, 1.0, 1.0,
                           (1.0, 1.0, 1.0), 0.0)
    with pytest.raises(BackgroundError, match="broken.jpg"):
        render_photo_background(spec, 32, 32)  # a lazily loaded photo, too


def _files(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_cli_same_seed_same_bytes_with_backgrounds(photos, tmp_path):
    args = ["--split", "s", "--num", "5", "--seed", "3", "--size", "48", "--no-progress",
            "--backgrounds", str(photos), "--scene", "real_background_prob=0.6"]
    runs = []
    for name, workers in (("a", "1"), ("b", "2")):
        proc = subprocess.run(CLI + ["--out", str(tmp_path / name), "--workers", workers] + args,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        summary = json.loads(proc.stdout)
        assert summary["background_photos"] == 2 and 0 < summary["photo_backgrounds"] <= 5
        runs.append(_files(tmp_path / name))
    assert runs[0] == runs[1]
    proc = subprocess.run(CLI + ["--out", str(tmp_path / "c"), "--split", "s", "--num", "1",
                                 "--seed", "0", "--scene", "real_background_prob=0.5"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--backgrounds" in proc.stderr


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo),
                           *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.mark.parametrize("source, fmt", [("gesture_yolov8", "yolo"), ("subhih_hands", "voc")])
def test_background_script_avoids_the_hand_box(tmp_path, source, fmt):
    """A fake source: one 400x300 train photo with a magenta 'hand' in its labelled box,
    one val photo. Regions come from the train photo only and never reach the box."""
    yy, xx = np.mgrid[0:300, 0:400]
    photo = np.stack([xx * 0.5, yy * 0.6, (xx + yy) * 0.25], axis=2).astype(np.uint8)
    x0, y0, x1, y1 = 150, 100, 230, 190
    photo[y0:y1, x0:x1] = (255, 0, 255)
    repo = tmp_path / "mirror" / "someone+hands" / "repo"
    (repo / "train" / "images").mkdir(parents=True)
    (repo / "train" / "labels").mkdir()
    cv2.imwrite(str(repo / "train" / "images" / "p1.jpg"), photo)
    if fmt == "yolo":
        label = repo / "train" / "labels" / "p1.txt"
        label.write_text(f"0 {(x0 + x1) / 800} {(y0 + y1) / 600} {(x1 - x0) / 400} "
                         f"{(y1 - y0) / 300}\n")
    else:
        (repo / "train" / "images" / "p1.xml").write_text(
            "<annotation><size><width>400</width><height>300</height></size><object>"
            f"<bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax>"
            "</bndbox></object></annotation>")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "data")
    commit = _git(repo, "rev-parse", "HEAD")
    raw = tmp_path / "raw"
    for side in ("train", "val"):
        (raw / source / side).mkdir(parents=True)
    (raw / source / "train" / "p1.jpg").write_bytes((repo / "train/images/p1.jpg").read_bytes())
    cv2.imwrite(str(raw / source / "val" / "v1.jpg"), photo)
    (raw / source / "LICENSE").write_text("licence text")
    (raw / "SOURCES.json").write_text(json.dumps({source: {
        "repo": "someone/hands", "commit": commit, "licence": "CC-BY-4.0", "notes": "fake"}}))
    out = tmp_path / "bg"
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "real_backgrounds.py"),
                           "--raw", str(raw), "--out", str(out), "--mirror-root",
                           str(tmp_path / "mirror"), "--only", source, "--no-skimage",
                           "--min-side", "80"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    record = json.loads((out / "LICENSES.json").read_text())
    assert record["sources"][source]["repo"] == "someone/hands"
    assert record["sources"][source]["commit"] == commit
    assert record["sources"][source]["licence"] == "CC-BY-4.0"
    assert (out / source / "LICENSE").read_text() == "licence text"
    files = record["files"]
    assert len(files) >= 2 and all(f["photo"] == f"{source}/train/p1.jpg" for f in files.values())
    for name, entry in files.items():
        rx0, ry0, rx1, ry1 = entry["region"]
        assert rx1 <= x0 or rx0 >= x1 or ry1 <= y0 or ry0 >= y1  # clear of the box
        assert min(rx1 - rx0, ry1 - ry0) >= 80
        region = cv2.imread(str(out / name))
        assert region.shape[:2] == (ry1 - ry0, rx1 - rx0)
        magenta = (region[..., 0] > 200) & (region[..., 1] < 60) & (region[..., 2] > 200)
        assert not magenta.any()
