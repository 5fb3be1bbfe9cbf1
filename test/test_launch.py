"""launch_spec (the one node list), the launch file, and rejshand-bringup's processes."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rejshand_ros.resources import share_dir
from rejshand_ros.ros.launch_spec import (LAUNCH_ARGUMENTS, NodeSpec, format_parameter,
                                          node_specs, specs_from_arguments)

CONFIG = share_dir() / "config"
REPO = Path(__file__).resolve().parents[1]


def test_default_is_the_perception_node_with_its_yaml():
    (spec,) = node_specs()
    assert (spec.executable, spec.name, spec.package) == ("hand_pose_node", "hand_pose_node",
                                                          "rejshand_ros")
    assert spec.params_files == (str(CONFIG / "hand_pose.yaml"),)
    assert spec.remappings == () and dict(spec.parameters) == {}


def test_full_bringup_remaps_every_node_onto_the_same_topics():
    specs = node_specs(source="video", location="/data/clip.mp4", rate=30.0,
                       image="/camera/color/image_raw", camera_info="/camera/color/camera_info",
                       hand_poses="/hands", retarget=True, record="out.mcap",
                       namespace="left_cam",
                       overrides={"hand_pose_node": {"device": "cpu", "max_hands": 1},
                                  "image_source_node": {"rate": 5.0}})
    by_name = {spec.name: spec for spec in specs}
    assert [s.name for s in specs] == ["image_source_node", "hand_pose_node", "retarget_node",
                                       "recorder"]
    assert all(spec.namespace == "left_cam" for spec in specs)
    image_remaps = {("image", "/camera/color/image_raw"),
                    ("image/compressed", "/camera/color/image_raw/compressed"),
                    ("camera_info", "/camera/color/camera_info")}
    source = by_name["image_source_node"]
    assert set(source.remappings) == image_remaps
    assert source.params_files == (str(CONFIG / "image_source.yaml"),)
    assert dict(source.parameters) == {"source": "video", "location": "/data/clip.mp4",
                                       "rate": 5.0}  # the override wins
    perception = by_name["hand_pose_node"]
    assert set(perception.remappings) == image_remaps | {("hand_poses", "/hands")}
    assert dict(perception.parameters) == {"device": "cpu", "max_hands": 1}
    retarget = by_name["retarget_node"]
    assert retarget.params_files == (str(CONFIG / "retarget.yaml"),)
    assert retarget.remappings == (("hand_poses", "/hands"),)
    recorder = by_name["recorder"]
    assert recorder.executable == "recorder_node" and recorder.arguments[:3] == (
        "out.mcap", "--unique", "--topics")  # an existing file is kept, never replaced
    assert set(recorder.arguments[3:]) >= {"/camera/color/image_raw", "/hands",
                                           "/camera/color/camera_info", "joint_trajectory",
                                           "joint_commands", "joint_states", "hand_poses_gt",
                                           "hand_mesh", "/tf", "/tf_static"}
    for spec in specs:  # every YAML named here is installed
        assert all(Path(path).is_file() for path in spec.params_files), spec.name


def _fake_install(root: Path, package: str, executable: str) -> Path:
    path = root / "lib" / package / executable
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return root


def test_robot_state_publisher_with_the_robot_urdf_when_installed(tmp_path):
    """robot_state_publisher has no PyPI wheel: checked on the spec, against a fake prefix."""
    from rejshand_ros.retarget.config import robot_config_path

    prefix = _fake_install(tmp_path / "opt", "robot_state_publisher", "robot_state_publisher")
    names = lambda specs: [s.name for s in specs]  # noqa: E731
    assert names(node_specs(retarget=True, prefixes=[tmp_path / "none"])) == [
        "hand_pose_node", "retarget_node"]  # auto, not installed
    specs = node_specs(retarget=True, prefixes=[prefix], namespace="cam",
                       camera_to_robot="0.1 0 0.4 0 0 0",
                       overrides={"retarget_node": {"robot_side": "left"}})
    assert names(specs) == ["hand_pose_node", "retarget_node", "robot_state_publisher"]
    rsp = specs[-1]
    assert (rsp.package, rsp.executable, rsp.namespace) == (
        "robot_state_publisher", "robot_state_publisher", "cam")
    assert rsp.remappings == (("joint_states", "joint_commands"),)  # the commanded robot
    urdf = CONFIG / "robots" / "rejshand_hand" / "rejshand_hand_left.urdf"
    assert rsp.parameters["robot_description"] == urdf.read_text()
    assert specs[1].parameters["camera_to_robot"] == "0.1 0 0.4 0 0 0"
    forced = node_specs(retarget=True, robot_state_publisher="true",
                        prefixes=[tmp_path / "none"],
                        overrides={"retarget_node": {"config_file": str(robot_config_path(
                            "rejshand_hand", "right", "dexpilot"))}})
    assert forced[-1].parameters["robot_description"] == (
        CONFIG / "robots" / "rejshand_hand" / "rejshand_hand_right.urdf").read_text()
    assert names(node_specs(retarget=True, robot_state_publisher="false",
                            prefixes=[prefix])) == ["hand_pose_node", "retarget_node"]
    assert names(node_specs(retarget=False, prefixes=[prefix])) == ["hand_pose_node"]
    with pytest.raises(ValueError, match="no URDF"):
        node_specs(retarget=True, robot_state_publisher="true",
                   overrides={"retarget_node": {"robot": "allegro_hand",
                                                "urdf_dir": str(tmp_path)}})
    with pytest.raises(ValueError, match="robot_state_publisher"):
        node_specs(retarget=True, robot_state_publisher="maybe")


def test_rviz_with_a_fixed_frame_argument():
    specs = specs_from_arguments({"rviz": "true", "fixed_frame": "robot_base",
                                  "perception": "false"})
    (rviz,) = specs
    assert (rviz.package, rviz.executable) == ("rviz2", "rviz2")
    assert rviz.arguments == ("--display-config", str(CONFIG / "rviz" / "hand_pose.rviz"),
                              "--fixed-frame", "robot_base")
    assert Path(rviz.arguments[1]).is_file()
    assert specs_from_arguments({"perception": "false"}) == []


def test_command_line_is_what_ros2_run_would_get():
    spec = NodeSpec("retarget_node", "retarget_node", namespace="arm",
                    params_files=("/c/retarget.yaml",),
                    parameters={"engaged_on_start": True, "time_from_start": 1.0,
                                "robot": "allegro_hand", "follow_track_id": -1,
                                "urdf_dir": "/my urdfs"},
                    remappings=(("hand_poses", "/hands"),), arguments=("--flag",))
    assert spec.command("/opt/x") == [
        "/opt/x/lib/rejshand_ros/retarget_node", "--flag", "--ros-args",
        "-r", "__node:=retarget_node", "-r", "__ns:=/arm", "--params-file", "/c/retarget.yaml",
        "-p", "engaged_on_start:=true", "-p", "time_from_start:=1.0",
        "-p", "robot:=allegro_hand", "-p", "follow_track_id:=-1",
        "-p", 'urdf_dir:="/my urdfs"', "-r", "hand_poses:=/hands"]
    assert [format_parameter(v) for v in (2.0, 1e-3, "true", "12", "", [1, 2])] == [
        "2.0", "0.001", '"true"', '"12"', '""', "[1, 2]"]


def test_launch_arguments_and_their_errors():
    assert node_specs(perception=False) == []
    specs = specs_from_arguments({"source": "synthetic", "retarget": "true", "rate": "5",
                                  "perception": "false"})
    assert [s.name for s in specs] == ["image_source_node", "retarget_node"]
    assert specs[0].parameters["rate"] == 5.0
    assert specs_from_arguments({}) == node_specs()  # the defaults are the same
    assert set(LAUNCH_ARGUMENTS) >= {"source", "image", "camera_info", "retarget", "record",
                                     "robot_state_publisher", "camera_to_robot", "rviz",
                                     "fixed_frame"}
    for bad, match in (({"source": "kinect"}, "source"), ({"source": "folder"}, "location"),
                       ({"retarget": "maybe"}, "retarget"), ({"rate": "fast"}, "rate"),
                       ({"camera": "0"}, "unknown launch argument")):
        with pytest.raises(ValueError, match=match):
            specs_from_arguments(bad)


def test_launch_file_compiles_and_only_wraps_launch_spec():
    for path in (REPO / "launch" / "hand_pose.launch.py",
                 share_dir() / "launch" / "hand_pose.launch.py"):
        text = path.read_text()
        compile(text, str(path), "exec")
        assert "specs_from_arguments" in text and "LAUNCH_ARGUMENTS" in text
        assert len(text.splitlines()) < 40


def test_bringup_dry_run_prints_the_spec_commands(venv_bin):
    from rejshand_ros.ros.bringup import find_prefix

    result = subprocess.run(
        [str(venv_bin / "rejshand-bringup"), "--source", "synthetic", "--retarget",
         "--image", "/cam/image", "--record", "x.mcap", "--set",
         "image_source_node.synthetic_hands=2", "--set", "hand_pose_node.device=cpu",
         "--dry-run"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [shlex.split(line) for line in result.stdout.splitlines()]
    expected = node_specs(source="synthetic", retarget=True, image="/cam/image",
                          record="x.mcap", overrides={"image_source_node": {"synthetic_hands": 2},
                                                      "hand_pose_node": {"device": "cpu"}})
    assert lines == [spec.command(find_prefix()) for spec in expected]  # no RSP installed
    bad = subprocess.run([str(venv_bin / "rejshand-bringup"), "--set", "nodot=1"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "NODE.PARAM=VALUE" in bad.stderr


def _pids(stderr: str) -> dict[str, int]:
    return {name: int(pid) for name, pid in re.findall(r"started (\S+) \(pid (\d+)\)", stderr)}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.ros
def test_bringup_starts_nodes_and_stops_them_cleanly_on_sigint(venv_bin, ros_env, tmp_path):
    proc = subprocess.Popen(
        [str(venv_bin / "rejshand-bringup"), "--source", "synthetic", "--no-perception",
         "--record", str(tmp_path / "b.mcap"), "--set", "image_source_node.width=160",
         "--set", "image_source_node.height=120", "--set",
         "image_source_node.synthetic_frames=5"],
        env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    log = tmp_path / "b.mcap"
    while time.monotonic() < deadline and not (log.exists() and log.stat().st_size > 50_000):
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=40)
    assert proc.returncode == 0, err[-3000:] + out[-6000:]
    pids = _pids(err)
    assert set(pids) == {"image_source_node", "recorder"}
    assert not any(_alive(pid) for pid in pids.values())
    assert "[image_source_node]" in out and "publishing synthetic" in out  # prefixed output
    assert "[recorder] rejshand-record: wrote" in out  # the recorder finished its file
    assert "Traceback" not in out + err


@pytest.mark.ros
def test_bringup_fails_when_a_node_dies_and_honours_duration(venv_bin, ros_env, tmp_path):
    bringup = str(venv_bin / "rejshand-bringup")
    start = time.monotonic()
    died = subprocess.run([bringup, "--source", "video", "--location", str(tmp_path / "no.mp4"),
                           "--retarget"], env=ros_env, capture_output=True, text=True,
                          timeout=90)
    assert died.returncode == 1
    assert "image_source_node exited with code 2" in died.stderr
    assert "video file not found" in died.stdout
    assert not any(_alive(pid) for pid in _pids(died.stderr).values())  # retarget stopped too
    timed = subprocess.run([bringup, "--source", "synthetic", "--no-perception", "--duration",
                            "4", "--quiet", "--set", "image_source_node.synthetic_frames=3"],
                           env=ros_env, capture_output=True, text=True, timeout=90)
    assert timed.returncode == 0, timed.stderr[-3000:]
    assert "duration of 4 s reached" in timed.stderr and timed.stdout == ""
    missing = subprocess.run([bringup, "--prefix", str(tmp_path)], env=ros_env,
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "executable not installed" in missing.stderr
    assert time.monotonic() - start < 80


def test_rviz_config_shows_image_markers_and_tf():
    import yaml

    path = share_dir() / "config" / "rviz" / "hand_pose.rviz"
    manager = yaml.safe_load(path.read_text())["Visualization Manager"]
    topics = {d["Class"]: d.get("Topic", {}).get("Value") for d in manager["Displays"]
              if d.get("Enabled")}
    assert topics["rviz_default_plugins/MarkerArray"] == "/markers"
    assert topics["rviz_default_plugins/Image"] == "/debug_image"
    assert "rviz_default_plugins/TF" in topics
    robot = [d for d in manager["Displays"] if d["Class"] == "rviz_default_plugins/RobotModel"]
    assert robot[0]["Enabled"] and robot[0]["Description Topic"]["Value"] == "/robot_description"
    assert manager["Global Options"]["Fixed Frame"] == "camera_optical_frame"


def test_a_node_that_must_be_killed_is_reported_with_its_last_output(tmp_path):
    """Bringup.stop escalates SIGINT -> SIGTERM -> SIGKILL; a node it had to kill counts as
    failed and its last output lines are reported (its log may live in a temp dir), with
    the Python stacks of its threads (asked for before SIGTERM) showing where it hung."""
    import sys
    from types import SimpleNamespace

    from rejshand_ros.ros.bringup import Bringup, NodeProcess
    from rejshand_ros.ros.launch_spec import PACKAGE

    said: list[str] = []
    bringup = Bringup([], prefix=tmp_path, sink=None, say=said.append)
    stuck = ("import signal, time\n"
             "from rejshand_ros.ros.runtime import dump_stacks_on_request\n"
             "dump_stacks_on_request()\n"
             "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
             "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
             "def hang_in_step_3():\n"
             "    print('stuck in step 3', flush=True)\n"
             "    time.sleep(60)\n"
             "hang_in_step_3()\n")
    node = NodeProcess(SimpleNamespace(name="stubborn", package=PACKAGE),
                       [sys.executable, "-c", stuck], bringup.env, None, None)
    bringup.nodes.append(node)
    deadline = time.monotonic() + 10
    while not node.last_lines and time.monotonic() < deadline:
        time.sleep(0.05)
    codes = bringup.stop(timeout=0.5)
    assert codes == {"stubborn": -signal.SIGKILL}
    assert ("stubborn", -signal.SIGKILL) in bringup.failed
    report = [text for text in said if "had to be killed" in text]
    assert len(report) == 1 and "stuck in step 3" in report[0], said
    assert "in hang_in_step_3" in report[0], report[0]  # the stack dump
