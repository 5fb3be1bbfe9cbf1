#!/usr/bin/env python3
"""Cut hand-free background photos out of licensed real photos, for ``rejshand-synth
--backgrounds DIR``, and record where each came from and under which licence.

    .venv/bin/python scripts/real_backgrounds.py --raw data/real_raw --out data/backgrounds \\
        --mirror-root /work/.mirror [--skimage scikit_image-0.26.0-...whl]

(the wheel from ``pip download scikit-image==0.26.0 --no-deps``; only its photos are read)

Photo sources: the TRAIN side of each source that ``scripts/real_photos.py`` extracted
(``RAW/<source>/train``; validation photos never become training backgrounds), with the
repository, commit and licence recorded in ``RAW/SOURCES.json``. Only sources with hand
boxes are used (``LABELS``; ``DOUBTFUL`` ones only when named in ``--only``). The boxes
come from the same commit of the source's git repository (a mirror
``MIRROR_ROOT/owner+repo/repo[/.git]``, as ``real_photos.py --mirror-root`` reads),
matching each photo to its file there by content (git blob id), so a Roboflow export's
augmented copies never lend their boxes to the wrong photo. A photo without a label file
is skipped and counted.

From each photo, up to ``--per-photo`` maximal axis-aligned rectangles that keep clear of
every hand box (grown by ``--margin`` of the box's longer side + 8 px), each side at
least ``--min-side`` px, are saved as JPEGs (quality 95) under ``OUT/<source>/``; people,
faces and rooms stay in (realistic distractors). Flat regions (grey std below 6) are
dropped, and so are photos that show a Roboflow export's augmentation artefacts (black
fill at two or more corners from a rotation, or salt-and-pepper noise).

Optionally scikit-image's bundled sample photos (``SKIMAGE_PHOTOS``, each with its own
licence, CC0 or public domain), from a scikit-image wheel or installed package; the
hands in two of them (gloved) are boxed by hand.

Writes ``OUT/LICENSES.json`` (per source: repository, commit, licence, counts; per file:
its source photo and region) and ``OUT/LICENSES.md``, and copies each source's licence
file(s) into ``OUT/<source>/``. The output is data, not committed.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import cv2
import numpy as np

#: source -> label format in its repository: "voc" (NAME.xml beside the image) or
#: "yolo" (images/NAME.jpg -> labels/NAME.txt; "cls cx cy w h" or "cls x1 y1 ... x4 y4")
LABELS = {"subhih_hands": "voc", "gesture_yolov8": "yolo", "hands_v2i": "yolo"}
#: sources left out, and why
UNUSED = {
    "sign_digits": "100x100 px close-ups, the hand fills the photo; no boxes",
    "project_s": "hand-centred close-ups with no hand boxes",
}
#: sources with boxes whose licence is doubtful: used only when named in --only
DOUBTFUL = {
    "hands_v2i": "holds web photos scraped into the Roboflow export (123RF and freeart.com "
                 "watermarks seen); the export's CC BY 4.0 cannot license those",
}
#: scikit-image sample photos used: file -> (licence, credit, hand boxes [x0, y0, x1, y1])
SKIMAGE_PHOTOS = {
    "astronaut.png": ("public-domain", "NASA (Eileen Collins portrait)", [[95, 465, 200, 512]]),
    "camera.png": ("CC0-1.0", "Lav Varshney", [[165, 175, 260, 270], [250, 155, 345, 240]]),
    "chelsea.png": ("CC0-1.0", "Stefan van der Walt", []),
    "coffee.png": ("CC0-1.0", "Rachel Michetti (Pikolo Espresso Bar)", []),
    "rocket.jpg": ("public-domain", "SpaceX (DSCOVR launch)", []),
    "brick.png": ("CC0-1.0", "CC0Textures Bricks25", []),
    "grass.png": ("CC0-1.0", "linolafett, DeviantArt Grass-01", []),
    "gravel.png": ("CC0-1.0", "CC0Textures Gravel04", []),
}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
MIN_STD = 6.0
#: salt-and-pepper: fraction of pixels that differ from their 3x3 median by > 90 grey levels
SALT_FRACTION = 0.002


class SourceError(RuntimeError):
    """A source that cannot be read (message names it)."""


def git_blob_sha(data: bytes) -> str:
    """The git object id of a file with these bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def find_git_dir(repo: str, mirror_root: Path) -> Path:
    name = repo.replace("/", "+")
    for candidate in (mirror_root / name / "repo" / ".git", mirror_root / name / "repo"):
        if (candidate / "HEAD").is_file():
            return candidate
    raise SourceError(f"no git mirror of {repo} under {mirror_root} (git clone --bare "
                      f"https://github.com/{repo}.git {mirror_root / name / 'repo'})")


def tree_blobs(git_dir: Path, commit: str) -> dict[str, str]:
    """path -> blob id of every file at ``commit``."""
    out = subprocess.run(["git", f"--git-dir={git_dir}", "ls-tree", "-r", "-z", commit],
                         capture_output=True, check=True).stdout.decode()
    blobs = {}
    for entry in filter(None, out.split("\0")):
        meta, path = entry.split("\t", 1)
        _, kind, sha = meta.split()
        if kind == "blob":
            blobs[path] = sha
    return blobs


def read_blobs(git_dir: Path, shas: list[str]) -> dict[str, bytes]:
    """Contents of the given blobs, in one ``git cat-file --batch``."""
    unique = sorted(set(shas))
    if not unique:
        return {}
    raw = subprocess.run(["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
                         input="".join(f"{s}\n" for s in unique).encode(),
                         capture_output=True, check=True).stdout
    out, pos = {}, 0
    for sha in unique:
        end = raw.index(b"\n", pos)
        header = raw[pos:end].split()
        size = int(header[2])
        out[sha] = raw[end + 1:end + 1 + size]
        pos = end + 1 + size + 1
    return out


def label_path(image_path: str, fmt: str) -> str:
    stem = image_path.rsplit(".", 1)[0]
    if fmt == "voc":
        return stem + ".xml"
    head, sep, tail = stem.rpartition("images/")
    return (head + "labels/" + tail if sep else stem) + ".txt"


def parse_boxes(text: bytes, fmt: str, width: int, height: int) -> list[list[float]]:
    """Hand boxes [x0, y0, x1, y1] in pixels of a (width x height) photo."""
    boxes = []
    if fmt == "voc":
        root = ET.fromstring(text)
        size = root.find("size")
        sx = sy = 1.0
        if size is not None and float(size.findtext("width", "0")) > 0:
            sx = width / float(size.findtext("width"))
            sy = height / float(size.findtext("height"))
        for obj in root.iter("object"):
            b = obj.find("bndbox")
            boxes.append([float(b.findtext("xmin")) * sx, float(b.findtext("ymin")) * sy,
                          float(b.findtext("xmax")) * sx, float(b.findtext("ymax")) * sy])
        return boxes
    for line in text.decode().splitlines():
        values = [float(v) for v in line.split()[1:]]
        if len(values) == 4:
            cx, cy, w, h = values
            boxes.append([(cx - w / 2) * width, (cy - h / 2) * height,
                          (cx + w / 2) * width, (cy + h / 2) * height])
        elif len(values) >= 6 and len(values) % 2 == 0:
            pts = np.asarray(values).reshape(-1, 2) * [width, height]
            boxes.append([*pts.min(0), *pts.max(0)])
        elif values:
            raise ValueError(f"bad YOLO line {line!r}")
    return boxes


def grow(box: list[float], margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """A box grown by ``margin`` x its longer side + 8 px, as integer pixel bounds."""
    pad = margin * max(box[2] - box[0], box[3] - box[1]) + 8.0
    return (max(int(np.floor(box[0] - pad)), 0), max(int(np.floor(box[1] - pad)), 0),
            min(int(np.ceil(box[2] + pad)), width), min(int(np.ceil(box[3] + pad)), height))


def free_rectangles(width: int, height: int, blocked: list[tuple[int, int, int, int]],
                    min_side: int) -> list[tuple[int, int, int, int]]:
    """Maximal rectangles (x0, y0, x1, y1) clear of every blocked box, sides >= min_side,
    largest first. Each side of a maximal one lies on a box edge or the border."""
    xs = sorted({0, width, *(b[0] for b in blocked), *(b[2] for b in blocked)})
    ys = sorted({0, height, *(b[1] for b in blocked), *(b[3] for b in blocked)})
    found = []
    for i, x0 in enumerate(xs):
        for x1 in xs[i + 1:]:
            if x1 - x0 < min_side:
                continue
            for j, y0 in enumerate(ys):
                for y1 in ys[j + 1:]:
                    if y1 - y0 < min_side:
                        continue
                    if any(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in blocked):
                        break  # taller ones from y0 hit the same box
                    found.append((x0, y0, x1, y1))
    maximal = [r for r in found if not any(o != r and o[0] <= r[0] and o[1] <= r[1] and
                                           o[2] >= r[2] and o[3] >= r[3] for o in found)]
    return sorted(maximal, key=lambda r: (-(r[2] - r[0]) * (r[3] - r[1]), r))


def pick_regions(rects: list[tuple[int, int, int, int]], count: int
                 ) -> list[tuple[int, int, int, int]]:
    """Up to ``count`` rectangles, each covering at most half of its area twice."""
    chosen: list[tuple[int, int, int, int]] = []
    for r in rects:
        area = (r[2] - r[0]) * (r[3] - r[1])
        if all(max(0, min(r[2], c[2]) - max(r[0], c[0])) * max(0, min(r[3], c[3]) - max(r[1], c[1]))
               <= 0.5 * area for c in chosen):
            chosen.append(r)
        if len(chosen) == count:
            break
    return chosen


def augmentation_artefacts(image: np.ndarray) -> bool:
    """True for a photo with black fill at >= 2 corners (a rotated copy) or
    salt-and-pepper noise (Roboflow augmentations; real webcam frames have neither)."""
    height, width = image.shape[:2]
    black = sum(int(image[y:y + 5, x:x + 5].max() <= 8)
                for y in (0, height - 5) for x in (0, width - 5))
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    salt = float(np.mean(cv2.absdiff(grey, cv2.medianBlur(grey, 3)) > 90))
    return black >= 2 or salt > SALT_FRACTION


def cut(image: np.ndarray, boxes: list[list[float]], args) -> list[tuple[tuple, np.ndarray]]:
    """(region, pixels) of the hand-free regions of one photo (BGR or grey)."""
    height, width = image.shape[:2]
    blocked = [grow(b, args.margin, width, height) for b in boxes]
    out = []
    for r in pick_regions(free_rectangles(width, height, blocked, args.min_side), args.per_photo):
        region = image[r[1]:r[3], r[0]:r[2]]
        if float(np.std(region)) >= MIN_STD:
            out.append((r, region))
    return out


def save(path: Path, region: np.ndarray) -> None:
    ok, buf = cv2.imencode(".jpg", region, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise OSError(f"JPEG encoding failed for {path}")
    path.write_bytes(buf.tobytes())


def build_source(name: str, meta: dict, raw: Path, out: Path, mirror_root: Path, args) -> dict:
    """Backgrounds of one source -> its LICENSES.json record."""
    fmt = LABELS[name]
    photos = sorted(p for p in (raw / name / "train").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    git_dir = find_git_dir(meta["repo"], mirror_root)
    blobs = tree_blobs(git_dir, meta["commit"])
    by_sha: dict[str, list[str]] = {}
    for path, sha in blobs.items():
        by_sha.setdefault(sha, []).append(path)
    wanted = {}
    for photo in photos:
        sha = git_blob_sha(photo.read_bytes())
        labels = [label_path(p, fmt) for p in by_sha.get(sha, [])]
        wanted[photo.name] = [blobs[p] for p in labels if p in blobs]
    contents = read_blobs(git_dir, [s for shas in wanted.values() for s in shas])
    target = out / name
    counts = {"photos": len(photos), "no_label": 0, "artefacts": 0, "no_region": 0, "used": 0,
              "regions": 0, "boxes": 0}
    files = {}
    for photo in photos:
        if not wanted[photo.name]:
            counts["no_label"] += 1
            continue
        image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
        if image is None:
            raise SourceError(f"{photo}: not a decodable image")
        if augmentation_artefacts(image):
            counts["artefacts"] += 1
            continue
        height, width = image.shape[:2]
        boxes = [b for sha in wanted[photo.name]
                 for b in parse_boxes(contents[sha], fmt, width, height)]
        counts["boxes"] += len(boxes)
        regions = cut(image, boxes, args)
        counts["no_region"] += not regions
        counts["used"] += bool(regions)
        for k, (rect, pixels) in enumerate(regions):
            file = f"{name}/{photo.stem}_{k}.jpg"
            target.mkdir(parents=True, exist_ok=True)
            save(out / file, pixels)
            files[file] = {"photo": f"{name}/train/{photo.name}", "region": list(rect)}
        counts["regions"] += len(regions)
    for licence in sorted((raw / name).iterdir()) if files else ():
        if licence.is_file():
            shutil.copy2(licence, target / licence.name)
    record = {k: meta[k] for k in ("repo", "commit", "licence") if k in meta}
    record.update(notes=meta.get("notes", ""), labels=fmt, **counts)
    return {"source": record, "files": files}


def skimage_data(path: Path | None) -> tuple[dict[str, bytes], str] | None:
    """scikit-image's sample photos (name -> bytes) and where they came from."""
    if path is None:
        spec = importlib.util.find_spec("skimage")
        if spec is None or not spec.submodule_search_locations:
            return None
        path = Path(list(spec.submodule_search_locations)[0])
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            data = {n: wheel.read(f"skimage/data/{n}") for n in SKIMAGE_PHOTOS}
        return data, path.name
    folder = path / "data" if (path / "data").is_dir() else path
    from importlib.metadata import PackageNotFoundError, version
    try:
        origin = f"scikit-image {version('scikit-image')} ({folder})"
    except PackageNotFoundError:
        origin = str(folder)
    return {n: (folder / n).read_bytes() for n in SKIMAGE_PHOTOS}, origin


def build_skimage(data: dict[str, bytes], origin: str, out: Path, args) -> dict:
    target = out / "skimage"
    target.mkdir(parents=True, exist_ok=True)
    files, counts = {}, {"photos": len(data), "used": 0, "regions": 0}
    for name in sorted(data):
        licence, credit, boxes = SKIMAGE_PHOTOS[name]
        image = cv2.imdecode(np.frombuffer(data[name], np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise SourceError(f"scikit-image {name}: not a decodable image")
        regions = cut(image, boxes, args)
        counts["used"] += bool(regions)
        for k, (rect, pixels) in enumerate(regions):
            file = f"skimage/{Path(name).stem}_{k}.jpg"
            save(out / file, pixels)
            files[file] = {"photo": f"skimage/data/{name}", "region": list(rect),
                           "licence": licence, "credit": credit}
        counts["regions"] += len(regions)
    record = {"repo": "scikit-image/scikit-image (skimage/data, bundled in the wheel)",
              "origin": origin, "licence": "per photo: CC0-1.0 or public domain (see files)",
              "notes": "licences as stated in skimage.data's docstrings", **counts}
    return {"source": record, "files": files}


def write_licences(out: Path, sources: dict, files: dict) -> None:
    unused = {**UNUSED, **{k: v for k, v in DOUBTFUL.items() if k not in sources}}
    (out / "LICENSES.json").write_text(json.dumps(
        {"sources": sources, "unused": unused, "doubtful": DOUBTFUL, "files": files},
        indent=1) + "\n")
    lines = ["# Background photos: sources and licences", "",
             "Made by `scripts/real_backgrounds.py`: hand-free regions of the train side of "
             "each source. CC BY 4.0 sources require attribution (their README.dataset.txt is "
             "copied beside their images).", "",
             "| source | repository @ commit | licence | photos | used | regions |",
             "|---|---|---|---|---|---|"]
    for name, s in sources.items():
        where = f"{s['repo']} @ {s.get('commit', s.get('origin', ''))}"
        lines.append(f"| {name} | {where} | {s['licence']} | {s['photos']} | {s['used']} | "
                     f"{s['regions']} |")
    lines += ["", "Not used: " + "; ".join(f"{k} ({v})" for k, v in unused.items()) + ".", ""]
    lines += [f"Used although doubtful: {k} ({v})." for k, v in DOUBTFUL.items() if k in sources]
    if "skimage" in sources:
        lines += ["scikit-image photos:", ""]
        lines += [f"- {n}: {lic}, {credit}" for n, (lic, credit, _) in SKIMAGE_PHOTOS.items()]
        lines.append("")
    (out / "LICENSES.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", required=True, type=Path,
                        help="photos from scripts/real_photos.py (with SOURCES.json)")
    parser.add_argument("--out", required=True, type=Path, help="output folder (replaced when made by this script)")
    parser.add_argument("--mirror-root", type=Path, required=True,
                        help="folder of git mirrors named owner+repo/repo (the label files; "
                        "git clone --bare a source's repository there if it is missing)")
    parser.add_argument("--only", nargs="*", choices=sorted(LABELS),
                        help="these sources (default: all but " + ", ".join(DOUBTFUL) + ")")
    parser.add_argument("--skimage", type=Path, default=None,
                        help="a scikit-image wheel or installed skimage folder (default: the "
                        "installed package, if any)")
    parser.add_argument("--no-skimage", action="store_true", help="leave scikit-image out")
    parser.add_argument("--min-side", type=int, default=160, help="shortest region side, px")
    parser.add_argument("--margin", type=float, default=0.1,
                        help="hand box growth, fraction of its longer side (+ 8 px)")
    parser.add_argument("--per-photo", type=int, default=2, help="regions per photo at most")
    args = parser.parse_args(argv)
    manifest = args.raw / "SOURCES.json"
    if not manifest.is_file():
        parser.error(f"--raw {args.raw}: no SOURCES.json (run scripts/real_photos.py)")
    if args.min_side < 32 or args.per_photo < 1 or args.margin < 0:
        parser.error("--min-side must be >= 32, --per-photo >= 1, --margin >= 0")
    known = json.loads(manifest.read_text())
    if args.out.exists() and any(args.out.iterdir()):
        if not (args.out / "LICENSES.json").is_file():
            parser.error(f"--out {args.out}: not empty and not made by this script")
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    sources, files = {}, {}
    try:
        for name in args.only or sorted(set(LABELS) - set(DOUBTFUL)):
            if name not in known:
                print(f"{name}: not in {manifest}, skipped", file=sys.stderr)
                continue
            result = build_source(name, known[name], args.raw, args.out, args.mirror_root, args)
            sources[name] = result["source"]
            files.update(result["files"])
            s = sources[name]
            print(f"{name}: {s['regions']} regions from {s['used']} of {s['photos']} train "
                  f"photos ({s['no_label']} without labels, {s['artefacts']} with augmentation "
                  f"artefacts, {s['no_region']} without room)", file=sys.stderr)
        skimage = None if args.no_skimage else skimage_data(args.skimage)
        if skimage is None and not args.no_skimage:
            print("skimage: scikit-image not found, skipped (pass --skimage WHEEL)",
                  file=sys.stderr)
        elif skimage is not None:
            result = build_skimage(*skimage, args.out, args)
            sources["skimage"] = result["source"]
            files.update(result["files"])
            print(f"skimage: {sources['skimage']['regions']} regions", file=sys.stderr)
    except (SourceError, subprocess.CalledProcessError, OSError, KeyError, ValueError) as exc:
        parser.exit(1, f"real_backgrounds.py: error: {exc}\n")
    write_licences(args.out, sources, files)
    print(json.dumps({name: s["regions"] for name, s in sources.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
