"""The detectors benchmark: annotated-frame folders (labels.csv and YOLO layouts), the
centre-in-box scoring against hand-computed cases, and one run of the suite on the shipped
real photo beside MediaPipe's own pipeline."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from rejshand_ros.bench.real_frames import load_annotated_frames, match_centres

REAL_IMAGE = Path(__file__).parent / "data" / "real" / "16_pic00037.jpg"


def test_match_centres_hand_computed():
    boxes = np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float)
    # two centres in the first box (the one nearer its centre wins), one in none
    found, false = match_centres(np.array([[1, 1], [6, 5], [50, 50]]), boxes)
    assert found == [0] and false == 2
    found, false = match_centres(np.array([[5, 5], [25, 5]]), boxes)
    assert found == [0, 1] and false == 0
    assert match_centres(np.zeros((0, 2)), boxes) == ([], 0)


def test_frame_folders_in_both_layouts(tmp_path):
    image = np.zeros((50, 100, 3), np.uint8)
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    cv2.imwrite(str(csv_dir / "a.jpg"), image)
    (csv_dir / "labels.csv").write_text("filename,width,height,class,xmin,ymin,xmax,ymax\n"
                                        "a.jpg,100,50,x,1,2,11,12\na.jpg,100,50,x,20,5,40,45\n")
    frames = load_annotated_frames(csv_dir)
    assert len(frames) == 1 and frames[0].path.name == "a.jpg"
    assert np.allclose(frames[0].boxes, [[1, 2, 11, 12], [20, 5, 40, 45]])
    yolo = tmp_path / "yolo"
    (yolo / "images").mkdir(parents=True)
    (yolo / "labels").mkdir()
    cv2.imwrite(str(yolo / "images" / "b.png"), image)
    (yolo / "labels" / "b.txt").write_text("0 0.5 0.5 0.2 0.4\n")
    frames = load_annotated_frames(yolo)
    assert np.allclose(frames[0].boxes, [[40, 15, 60, 35]])
    with pytest.raises(ValueError, match="no labels.csv"):
        load_annotated_frames(tmp_path)
    (csv_dir / "labels.csv").write_text("filename,xmin,ymin,xmax,ymax\nmissing.jpg,0,0,1,1\n")
    with pytest.raises(ValueError, match="missing.jpg not found"):
        load_annotated_frames(csv_dir)


def test_the_suite_skips_without_frames():
    from rejshand_ros.bench import detectors_suite
    from rejshand_ros.bench.common import SuiteSkipped

    with pytest.raises(SuiteSkipped, match="--detect-frames"):
        detectors_suite.run(argparse.Namespace(detect_frames=None, quick=True))


def test_the_suite_on_the_shipped_real_photo(tmp_path, mediapipe_python):
    from rejshand_ros.bench import detectors_suite

    frames = tmp_path / "real"
    frames.mkdir()
    shutil.copy(REAL_IMAGE, frames / REAL_IMAGE.name)
    (frames / "labels.csv").write_text("filename,xmin,ymin,xmax,ymax\n"
                                       f"{REAL_IMAGE.name},59,129,285,464\n"
                                       f"{REAL_IMAGE.name},602,299,745,498\n")
    result = detectors_suite.run(argparse.Namespace(
        detect_frames=str(frames), detect_limit=None, quick=True, threads=1,
        peers_python=mediapipe_python, progress=False))
    rows = {row["case"]: row for row in result["rows"]}
    assert set(rows) == set(detectors_suite.CASES)
    for case in ("palm", "ours_pipeline", "mediapipe"):
        assert rows[case]["found_rate"] == 1.0 and rows[case]["false_per_frame"] == 0.0, rows
    assert rows["palm"]["found_where_mediapipe"] == 1.0
    assert "| real | palm detector" in result["markdown"]
