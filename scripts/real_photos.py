#!/usr/bin/env python3
"""Rebuild the real hand photos the shipped pose model was trained on, from their public
repositories, with each source's licence, de-duplicated and split image-disjointly.

    python3 scripts/real_photos.py --out data/real_raw              # git clone (internet)
    python3 scripts/real_photos.py --out data/real_raw --mirror-root /work/.mirror

For every source: the images at the pinned commit, one per original photo (Roboflow
exports hold up to 3 augmented copies of a photo, ``NAME_jpg.rf.<hash>.jpg``: the copy
whose name sorts first is kept; byte-identical files are kept once), copied to
``OUT/<source>/{train,val}/`` (val: about 1 in 8 photos, chosen by a hash of the photo's
name, so the split never changes and no photo is on both sides), plus its licence file.
``OUT/SOURCES.json`` records repository, commit, licence and counts. The photos carry no
person ids, so the split is image-disjoint, not person-disjoint.

Then label them with the teacher (``bash scripts/label_real_photos.sh``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

#: name -> repository, commit, image folders, licence (SPDX), licence files, attribution
SOURCES = {
    "sign_digits": {
        "repo": "ardamavi/Sign-Language-Digits-Dataset", "commit": "4b09433",
        "paths": ["Dataset"], "licence": "Apache-2.0", "licence_files": ["LICENSE"],
        "notes": "2,062 photos 100x100 px, 218 students, digit signs, plain background"},
    "subhih_hands": {
        "repo": "SubhiH/HandsDataset", "commit": "73228cb",
        "paths": ["images"], "licence": "Apache-2.0", "licence_files": ["LICENSE"],
        "notes": "800x600 webcam frames, one person, many indoor/outdoor backgrounds"},
    "gesture_yolov8": {
        "repo": "dwivedi1997/Hand-Gesture-YOLOv8", "commit": "fd63231",
        "paths": ["train/images", "valid/images", "test/images"], "licence": "CC-BY-4.0",
        "licence_files": ["README.dataset.txt"], "exclude": r"^Screenshot",
        "notes": "Roboflow 'Hand Gesture Recognition' (lebanese-university-grkoz), many "
                 "people and skin tones, home interiors; attribution required; its "
                 "'Screenshot-*' files (screen grabs of unknown origin) are left out"},
    "project_s": {
        "repo": "thesoorajsingh/Project-S", "commit": "2f4c8d5",
        "paths": ["data/ASL-data"], "licence": "public-domain (data), MIT (repository)",
        "licence_files": ["LICENSE", "data/ASL-data/README.md"],
        "notes": "David Lee's 'American Sign Language Letters' (Public Domain), a few people"},
    "hands_v2i": {
        "repo": "ragadag621/hand-tracking-project-using-YOLOv5", "commit": "a7dbe15",
        "paths": ["HandDetect/hands.v2i.yolov8-obb/train/images",
                  "HandDetect/hands.v2i.yolov8-obb/valid/images",
                  "HandDetect/hands.v2i.yolov8-obb/test/images"],
        "licence": "CC-BY-4.0 (doubtful)", "doubtful": True,
        "licence_files": ["HandDetect/hands.v2i.yolov8-obb/README.dataset.txt"],
        "notes": "Roboflow 'hands' (golfballtracking-project-sypem), several people, offices; "
                 "holds web photos with stock-agency watermarks (123RF, freeart.com) that "
                 "the export's CC BY 4.0 cannot license: validation only, never trained on"},
    "arabic_sl_hospital": {
        "repo": "AbdullahAljubran/SignLanguage", "commit": "6cf2624",
        "paths": ["train/images", "valid/images", "test/images"], "licence": "CC-BY-4.0",
        "licence_files": ["README.dataset.txt"], "resize": [640, 480],
        "notes": "Roboflow 'SignLanguage' (firstproject-aubuz/signlanguage-wkhdr), webcam "
                 "frames of ~6-8 signers in offices/classrooms, stretched by the export to "
                 "640x640 and resized back to 640x480 here; attribution required"},
}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
VAL_EVERY = 8
_ROBOFLOW = re.compile(r"^(?P<orig>.+)_(jpe?g|png|JPE?G|PNG)\.rf\.[0-9a-f]+$")


def original_name(path: Path) -> str:
    """The photo a file was made from: Roboflow's augmented copies share it."""
    match = _ROBOFLOW.match(path.stem)
    return match.group("orig") if match else path.stem


def is_val(source: str, original: str) -> bool:
    digest = hashlib.sha256(f"{source}/{original}".encode()).digest()
    return digest[0] % VAL_EVERY == 0


def export_tree(repo: str, commit: str, paths: list[str], dest: Path,
                mirror_root: Path | None) -> None:
    """Files under ``paths`` at ``commit`` into ``dest`` (a mirror's git dir, or a clone)."""
    if mirror_root is not None:
        name = repo.replace("/", "+")
        candidates = [mirror_root / name / "repo" / ".git", mirror_root / name / "repo"]
        git_dir = next((c for c in candidates if (c / "HEAD").is_file()), None)
        if git_dir is None:
            raise FileNotFoundError(f"no git mirror of {repo} under {mirror_root}")
    else:
        git_dir = dest.parent / f".{dest.name}.git"
        if not git_dir.exists():
            subprocess.run(["git", "clone", "--bare", "--filter=blob:limit=4m",
                            f"https://github.com/{repo}.git", str(git_dir)], check=True)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as tar:
        subprocess.run(["git", f"--git-dir={git_dir}", "archive", commit, *paths],
                       stdout=tar, check=True)
        tar.seek(0)
        with tarfile.open(fileobj=tar) as archive:
            archive.extractall(dest, filter="data")


def build_source(name: str, spec: dict, out: Path, mirror_root: Path | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        export_tree(spec["repo"], spec["commit"], spec["paths"] + spec["licence_files"], tree,
                    mirror_root)
        target = out / name
        if target.exists():
            shutil.rmtree(target)
        for sub in ("train", "val"):
            (target / sub).mkdir(parents=True)
        for licence in spec["licence_files"]:
            shutil.copy2(tree / licence, target / Path(licence).name)
        seen_bytes: set[str] = set()
        seen_orig: set[str] = set()
        counts = {"files": 0, "kept": 0, "train": 0, "val": 0}
        files = sorted(p for path in spec["paths"] for p in (tree / path).rglob("*")
                       if p.suffix.lower() in IMAGE_SUFFIXES)
        exclude = re.compile(spec["exclude"]) if "exclude" in spec else None
        for path in files:
            counts["files"] += 1
            if exclude is not None and exclude.search(path.name):
                counts["excluded"] = counts.get("excluded", 0) + 1
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            orig = original_name(path)
            if digest in seen_bytes or orig in seen_orig:
                continue
            seen_bytes.add(digest)
            seen_orig.add(orig)
            side = "val" if is_val(name, orig) else "train"
            if "resize" in spec:  # undo an export's stretching
                import cv2

                image = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if image is None:
                    raise SystemExit(f"unreadable image {path} in {spec['repo']}")
                cv2.imwrite(str(target / side / f"{orig}.jpg"),
                            cv2.resize(image, tuple(spec["resize"]), interpolation=cv2.INTER_AREA),
                            [cv2.IMWRITE_JPEG_QUALITY, 95])
            else:
                shutil.copy2(path, target / side / f"{orig}{path.suffix.lower()}")
            counts["kept"] += 1
            counts[side] += 1
    return {**{k: spec[k] for k in ("repo", "commit", "licence", "notes")},
            "train_on": not spec.get("doubtful", False), **counts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--mirror-root", type=Path,
                        help="folder of git mirrors named owner+repo/repo (else git clone)")
    parser.add_argument("--only", nargs="*", choices=sorted(SOURCES), help="these sources")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {}
    for name in args.only or SOURCES:
        report[name] = build_source(name, SOURCES[name], args.out, args.mirror_root)
        print(f"{name}: {report[name]['kept']} photos ({report[name]['train']} train, "
              f"{report[name]['val']} val) of {report[name]['files']} files, "
              f"{report[name]['licence']}", file=sys.stderr)
    manifest = args.out / "SOURCES.json"
    old = json.loads(manifest.read_text()) if manifest.exists() else {}
    manifest.write_text(json.dumps({**old, **report}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
