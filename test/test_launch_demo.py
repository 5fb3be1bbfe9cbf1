"""rejshand-demo through the bring-up machinery: source -> retargeting -> recorder, scored
live, with its output files. Runs on the ground truth (--ground-truth-only), so it needs
no trained model; the perception path is the node's own integration test."""

from __future__ import annotations

import json
import subprocess

import cv2
import pytest

from rejshand_ros.ros.mcap_io import channels_of


@pytest.mark.ros
def test_demo_runs_records_and_films(venv_bin, ros_env, tmp_path):
    out = tmp_path / "demo_out"
    result = subprocess.run(
        [str(venv_bin / "rejshand-demo"), "--ground-truth-only", "--duration", "5", "--out",
         str(out), "--size", "320x240", "--frames", "10", "--hands", "2"],
        env=ros_env, capture_output=True, text=True, timeout=150)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("t=")]
    assert lines and "fps" in lines[-1] and "2D err 0.0 px" in lines[-1]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames_processed"] >= 20 and summary["perception"] is False
    assert summary["detection_rate"] == 1.0 and summary["error_3d_mm_median"] == 0.0
    assert summary["robot_commands"] >= 10
    channels = channels_of(out / "demo.mcap")
    assert {"/image", "/camera_info", "/hand_poses_gt", "/joint_trajectory",
            "/joint_states"} <= set(channels)
    capture = cv2.VideoCapture(str(out / "overlay.mp4"))
    assert capture.isOpened() and capture.get(cv2.CAP_PROP_FRAME_COUNT) >= 20
    assert cv2.imread(str(out / "overlay.png")).shape == (240, 320, 3)
    for name in ("image_source_node", "retarget_node", "recorder"):
        assert (out / "logs" / f"{name}.log").is_file()
    assert "Traceback" not in result.stdout + result.stderr
