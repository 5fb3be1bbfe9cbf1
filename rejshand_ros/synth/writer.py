"""Write synthetic splits in the FreiHAND layout (what ``data.freihand.load_split`` reads).

Crop mode (default)::

    DIR/NAME/rgb/%08d.jpg            size x size hand-centred crops (or hand-free ones)
    DIR/NAME_K.json                  N x 3x3 intrinsics
    DIR/NAME_xyz.json                N x 21x3 keypoints, camera frame, metres (zeros: no hand)
    DIR/NAME_verts.json              N x 778x3 vertices, camera frame, metres (zeros: no hand)
    DIR/NAME_scale.json              N x |xyz[9] - xyz[10]| (0 for hand-free images)
    DIR/NAME_handedness.json         N x "right"/"left" ("right" for hand-free images)
    DIR/NAME_presence.json           N x 1/0

Full-frame mode writes WxH frames with 0-2 hands, the files above for the FIRST hand of
each frame (presence 0 when a frame has none), and ``DIR/NAME_frames.json``: per frame
{"image", "width", "height", "K", "hands": [{"handedness", "box" [x, y, w, h] of the
visible pixels, "visible_pixels", "visible_fraction", "uv" 21x2, "xyz" 21x3,
"verts" 778x3}]}.

With ``backgrounds`` (a folder of real photos, ``synth.photos``) most images are drawn
over a crop of one of the photos instead of a procedural background
(``SceneConfig.real_background_prob``); every photo is checked before rendering starts.

Sample i depends only on (seed, i) (and the background folder's contents): output bytes
are identical for any worker count.
Metres are rounded to 1e-6, pixels to 1e-3; JSON files are written to a temporary
name and renamed when complete.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import cv2
import numpy as np

from rejshand_ros.synth.generate import HandAnnotation, SynthSample, render_crop, render_frame
from rejshand_ros.synth.photos import BackgroundError, check_photos
from rejshand_ros.synth.scene import SceneConfig

FREIHAND_FILES: Tuple[str, ...] = ("K", "xyz", "verts", "scale", "handedness", "presence")
_IMAGE_NAME = re.compile(r"^\d{8}\.jpg$")
_SPLIT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
DECIMALS = 6


class SynthError(ValueError):
    """A bad output location or option; the message names it."""


#: SceneConfig fields a split sets through its own options, not through ``scene``
_SPEC_SCENE_FIELDS = ("left_ratio", "shape_pool", "backgrounds")


def scene_overrides(values: Mapping[str, Any]) -> Dict[str, Any]:
    """Validated SceneConfig overrides (lists become tuples); SynthError names a bad key."""
    known = {f.name for f in dataclasses.fields(SceneConfig)} - set(_SPEC_SCENE_FIELDS)
    out = {}
    for key, value in values.items():
        if key == "backgrounds":
            raise SynthError("--scene backgrounds: use --backgrounds DIR")
        if key not in known:
            raise SynthError(f"--scene {key}: not a scene option (known: {', '.join(sorted(known))})")
        out[key] = tuple(value) if isinstance(value, list) else value
    try:
        SceneConfig(**out)
    except (TypeError, ValueError) as exc:
        raise SynthError(f"--scene: {exc}") from exc
    return out


@dataclass(frozen=True)
class SplitSpec:
    """What to generate (validated on construction)."""

    out: Path
    split: str
    num: int
    seed: int
    size: int = 224
    left_ratio: float = 0.5
    negative_ratio: float = 0.05
    full_frame: bool = False
    width: int = 640
    height: int = 480
    scene: Mapping[str, Any] = field(default_factory=dict)
    backgrounds: Optional[Path] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        object.__setattr__(self, "scene", scene_overrides(self.scene))
        if self.backgrounds is not None:
            object.__setattr__(self, "backgrounds", Path(self.backgrounds))
            if not self.backgrounds.is_dir():
                raise SynthError(f"--backgrounds {self.backgrounds}: not a folder")
        elif "real_background_prob" in self.scene:
            raise SynthError("--scene real_background_prob needs --backgrounds DIR")
        if not _SPLIT_NAME.match(self.split):
            raise SynthError(f"--split {self.split!r}: use letters, digits, '_', '-', '.'")
        if self.num < 1:
            raise SynthError(f"--num must be >= 1, got {self.num}")
        if self.seed < 0:
            raise SynthError(f"--seed must be >= 0, got {self.seed}")
        for name in ("size", "width", "height"):
            if not 32 <= getattr(self, name) <= 4096:
                raise SynthError(f"--{name} must lie in [32, 4096], got {getattr(self, name)}")
        for name in ("left_ratio", "negative_ratio"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                flag = "--" + name.replace("_", "-")
                raise SynthError(f"{flag} must lie in [0, 1], got {getattr(self, name)}")

    @property
    def config(self) -> SceneConfig:
        """Scene distribution: SceneConfig defaults with ``scene`` overrides, the
        background folder, and a fresh hand shape for every hand (no shape pool)."""
        backgrounds = None if self.backgrounds is None else str(self.backgrounds)
        return SceneConfig(left_ratio=self.left_ratio, shape_pool=0, backgrounds=backgrounds,
                           **self.scene)

    @property
    def rgb_dir(self) -> Path:
        return self.out / self.split / "rgb"

    def json_path(self, name: str) -> Path:
        return self.out / f"{self.split}_{name}.json"


def make_sample(spec: SplitSpec, index: int) -> SynthSample:
    """Sample ``index`` of the split (a pure function of spec.seed and index)."""
    rng = np.random.default_rng((spec.seed, index))
    if spec.full_frame:
        return render_frame(rng, spec.width, spec.height, config=spec.config)
    presence = bool(rng.random() >= spec.negative_ratio)
    return render_crop(rng, spec.size, presence, spec.config)


def encode_jpeg(image_rgb: np.ndarray, quality: int) -> bytes:
    """JPEG bytes of an RGB uint8 image (baseline, no optimisation: deterministic)."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise OSError("JPEG encoding failed")
    return buf.tobytes()


def _work(job: Tuple[SplitSpec, int]) -> Tuple[int, int, bool, Dict[str, str]]:
    """Render sample ``index``, write its JPEG; return (index, hands, whether its
    background is a photo, JSON entry texts)."""
    spec, index = job
    sample = make_sample(spec, index)
    (spec.rgb_dir / f"{index:08d}.jpg").write_bytes(encode_jpeg(sample.image, sample.jpeg_quality))
    entries = _freihand_entries(sample.K, sample.hands)
    if spec.full_frame:
        entries["frames"] = {"image": f"{index:08d}.jpg", "width": spec.width,
                             "height": spec.height, "K": _rounded(sample.K),
                             "hands": [h.to_json(DECIMALS) for h in sample.hands]}
    texts = {name: json.dumps(value, separators=(",", ":")) for name, value in entries.items()}
    return index, len(sample.hands), sample.background_photo is not None, texts


def _init_worker() -> None:
    cv2.setNumThreads(1)


class _JsonList:
    """A JSON list written one entry per line, renamed into place on ``close``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(path.name + ".tmp")
        self.handle = open(self.tmp, "w", encoding="utf-8")
        self.handle.write("[")
        self.first = True

    def add(self, text: str) -> None:
        """Append one entry given as JSON text."""
        self.handle.write(("\n" if self.first else ",\n") + text)
        self.first = False

    def close(self) -> None:
        self.handle.write("\n]\n")
        self.handle.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.handle.close()
        self.tmp.unlink(missing_ok=True)


def _rounded(array: np.ndarray, decimals: int = DECIMALS) -> list:
    return (np.round(np.asarray(array, dtype=np.float64), decimals) + 0.0).tolist()


def _freihand_entries(K: np.ndarray, hands: List[HandAnnotation]) -> dict:
    """Entries of the FreiHAND-layout files for one image (its first hand)."""
    if not hands:
        return {"K": _rounded(K), "xyz": np.zeros((21, 3)).tolist(),
                "verts": np.zeros((778, 3)).tolist(), "scale": 0.0,
                "handedness": "right", "presence": 0}
    hand = hands[0]
    xyz = np.round(hand.xyz, DECIMALS)
    return {"K": _rounded(K), "xyz": _rounded(xyz), "verts": _rounded(hand.verts),
            "scale": round(float(np.linalg.norm(xyz[9] - xyz[10])), DECIMALS),
            "handedness": hand.handedness, "presence": 1}


def prepare_output(spec: SplitSpec, overwrite: bool = False) -> None:
    """Create DIR/NAME/rgb; refuse (or with ``overwrite`` clear) an existing split."""
    try:
        spec.rgb_dir.mkdir(parents=True, exist_ok=True)
        probe = spec.out / f".{spec.split}.write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SynthError(f"--out {spec.out}: cannot create or write there ({exc.strerror or exc})")
    owned = [spec.json_path(name) for name in FREIHAND_FILES + ("frames",)]
    images = [p for p in spec.rgb_dir.iterdir() if _IMAGE_NAME.match(p.name)]
    existing = [p for p in owned if p.exists()]
    if (images or existing) and not overwrite:
        raise SynthError(f"split {spec.split!r} already exists in {spec.out} "
                         f"({len(images)} images); pass --overwrite to replace it")
    for path in images + existing:
        path.unlink()


def _start_pool(workers: int):
    """A pool of ``workers`` processes, forked where possible.

    fork (Linux) does not re-run the main script in the workers, which the installed
    launchers (no ``if __name__ == "__main__"`` guard) require; spawn is the fallback.
    The pool is started before any progress-bar thread exists.
    """
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method).Pool(workers, initializer=_init_worker)


def write_split(spec: SplitSpec, workers: int = 1, progress: bool = True,
                overwrite: bool = False) -> dict:
    """Render and write a split; returns a summary (counts, seconds, images/s).

    Raises SynthError for an unusable output location, an existing split or a
    background folder with no photos or an undecodable one (named); a photo that fails
    later, when it is rendered, raises BackgroundError naming it.
    """
    from tqdm import tqdm

    photos = 0
    if spec.backgrounds is not None:
        try:
            photos = check_photos(str(spec.backgrounds))
        except BackgroundError as exc:
            raise SynthError(f"--backgrounds: {exc}") from exc
    prepare_output(spec, overwrite)
    names = FREIHAND_FILES + (("frames",) if spec.full_frame else ())
    writers = {name: _JsonList(spec.json_path(name)) for name in names}
    hands_total = negatives = photo_backgrounds = 0
    start = time.perf_counter()
    jobs = ((spec, i) for i in range(spec.num))
    pool = _start_pool(workers) if workers > 1 else None
    results = pool.imap(_work, jobs, chunksize=4) if pool else map(_work, jobs)
    try:
        bar = tqdm(results, total=spec.num, unit="img", disable=not progress,
                   desc=f"rejshand-synth {spec.split}")
        for _, count, on_photo, texts in bar:
            for name, text in texts.items():
                writers[name].add(text)
            hands_total += count
            negatives += not count
            photo_backgrounds += on_photo
    except BaseException:
        for writer in writers.values():
            writer.abort()
        if pool:
            pool.terminate()
        raise
    if pool:
        pool.close()
        pool.join()
    for writer in writers.values():
        writer.close()
    seconds = time.perf_counter() - start
    summary = {"out": str(spec.out), "split": spec.split, "num": spec.num,
               "full_frame": spec.full_frame, "hands": hands_total, "hand_free": negatives,
               "workers": workers, "seconds": round(seconds, 2),
               "images_per_s": round(spec.num / max(seconds, 1e-9), 2)}
    if spec.backgrounds is not None:
        summary.update(backgrounds=str(spec.backgrounds), background_photos=photos,
                       photo_backgrounds=photo_backgrounds)
    return summary

