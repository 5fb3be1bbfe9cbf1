"""rejshand-demo through the bring-up machinery: synthetic source -> hand_pose_node (the
shipped models) -> retarget_node -> recorder, scored live, with its output files. The
robot must be commanded from the predictions (not from the ground truth)."""

from __future__ import annotations

import json
import subprocess

import cv2
import pytest

from rejshand_ros.ros.mcap_io import channels_of, read_messages


@pytest.mark.ros
def test_demo_perceives_commands_the_robot_records_and_films(venv_bin, ros_env, tmp_path):
    out = tmp_path / "demo_out"
    result = subprocess.run(
        [str(venv_bin / "rejshand-demo"), "--duration", "5", "--out", str(out), "--size",
         "320x240", "--frames", "10", "--rate", "5"],
        env=ros_env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("t=")]
    assert lines and "fps" in lines[-1]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["perception"] is True and summary["frames_processed"] >= 10
    assert summary["detection_rate"] >= 0.8 and summary["error_3d_mm_median"] < 40.0
    assert summary["robot_commands"] >= 5
    channels = channels_of(out / "demo.mcap")
    assert {"/image", "/camera_info", "/hand_poses", "/hand_poses_gt", "/joint_trajectory",
            "/joint_commands", "/tf"} <= set(channels)
    assert "/joint_states" not in channels  # ours are commands, on joint_commands
    commands = list(read_messages(out / "demo.mcap", ["/joint_commands"]))
    assert len(commands) >= 5
    capture = cv2.VideoCapture(str(out / "overlay.mp4"))
    assert capture.isOpened() and capture.get(cv2.CAP_PROP_FRAME_COUNT) >= 10
    assert cv2.imread(str(out / "overlay.png")).shape == (240, 320, 3)
    for name in ("image_source_node", "hand_pose_node", "retarget_node", "recorder"):
        assert (out / "logs" / f"{name}.log").is_file()
    assert "Traceback" not in result.stdout + result.stderr
