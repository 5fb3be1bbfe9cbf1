"""retarget_node: parameters, message conversions, and one real node process over DDS."""

import math
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from rejshand_ros.resources import config_path
from rejshand_ros.ros.retarget_params import RetargetNodeConfig
from rejshand_ros.ros.runtime import FASTDDS_PROFILE_ENVS, prepare_environment, ros_session


def test_node_config_rejects_values_outside_their_choices_or_ranges():
    with pytest.raises(ValueError, match="follow_handedness"):
        RetargetNodeConfig(follow_handedness="both")
    with pytest.raises(ValueError, match="time_from_start"):
        RetargetNodeConfig(time_from_start=0.0)


def test_joint_message_conversions():
    from builtin_interfaces.msg import Time

    from rejshand_ros.ros.joint_msgs import duration_msg, joint_state_msg, joint_trajectory_msg

    names = ["a", "b"]
    traj = joint_trajectory_msg(names, np.array([0.1, -0.2]), 0.25)
    assert (traj.header.stamp.sec, traj.header.stamp.nanosec) == (0, 0)
    assert traj.joint_names == names and len(traj.points) == 1
    assert list(traj.points[0].positions) == [0.1, -0.2]
    assert (traj.points[0].time_from_start.sec, traj.points[0].time_from_start.nanosec) == \
        (0, 250_000_000)
    assert duration_msg(2.5).sec == 2 and duration_msg(2.5).nanosec == 500_000_000
    state = joint_state_msg(Time(sec=12, nanosec=34), names, np.array([1.0, 2.0]))
    assert (state.header.stamp.sec, state.header.stamp.nanosec) == (12, 34)
    assert list(state.name) == names and list(state.position) == [1.0, 2.0]
    for bad in (np.array([np.nan, 0.0]), np.array([0.0])):
        with pytest.raises(ValueError):
            joint_trajectory_msg(names, bad, 0.1)
        with pytest.raises(ValueError):
            joint_state_msg(Time(), names, bad)


def test_node_help_needs_no_ros(capsys):
    from rejshand_ros.ros.retarget_node import main

    assert main(["retarget_node", "--help"]) == 0
    assert "engage" in capsys.readouterr().out


def test_node_refuses_to_start_without_the_urdf(tmp_path, monkeypatch, capsys):
    from rejshand_ros.ros.retarget_node import main

    for key in FASTDDS_PROFILE_ENVS:
        monkeypatch.setenv(key, str(config_path("fastdds_profile.xml")))
    monkeypatch.setenv("ROS_LOG_DIR", str(tmp_path / "log"))
    code = main(["retarget_node", "--ros-args", "-p", "robot:=allegro_hand",
                 "-p", f"urdf_dir:={tmp_path}"])
    err = capsys.readouterr().err
    assert code == 2
    assert "URDF not found" in err and "allegro_hand_right.urdf" in err and "urdf_dir" in err


def _urdf_joints(side="right"):
    root = ET.parse(config_path("robots", "rejshand_hand", f"rejshand_hand_{side}.urdf")).getroot()
    joints = [j for j in root.findall("joint") if j.get("type") != "fixed"]
    names = [j.get("name") for j in joints]
    limits = np.array([[float(j.find("limit").get(k)) for k in ("lower", "upper")] for j in joints])
    return names, limits


@pytest.mark.ros
def test_retarget_node_over_dds(ros_env, monkeypatch, hand_pose_array):
    """HandPoseArray in -> JointTrajectory + JointState on joint_commands out (nothing on
    joint_states); engage/disengage respected; max_joint_velocity tuned over DDS while
    engaged limits the next move, bad values are refused with a reason."""
    node_exe = Path(sys.prefix) / "lib" / "rejshand_ros" / "retarget_node"
    time_from_start = 0.05
    proc = subprocess.Popen(
        [str(node_exe), "--ros-args", "--params-file", str(config_path("retarget.yaml")),
         "-p", "low_pass_alpha:=1.0", "-p", "max_joint_velocity:=0.0",
         "-p", f"time_from_start:={time_from_start}", "-p", "diagnostics_period:=0.2",
         "-p", "hand_poses_reliability:=reliable"],
        env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for key in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_LOG_DIR"):
        monkeypatch.setenv(key, ros_env[key])
    for key, value in prepare_environment(dict(ros_env)).items():
        if key in FASTDDS_PROFILE_ENVS:
            monkeypatch.setenv(key, value)
    try:
        _exercise_node(proc, time_from_start, hand_pose_array)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert proc.returncode == 0, out[-3000:]  # clean exit on Ctrl-C
    assert "Traceback" not in out, out[-3000:]


def _diag_values(got) -> dict[str, str]:
    return {kv.key: kv.value for kv in got["diag"][-1].status[0].values}


def _exercise_node(proc, time_from_start, hand_array):
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import JointState
    from std_srvs.srv import SetBool
    from trajectory_msgs.msg import JointTrajectory

    from rejshand_ros.msg import HandPoseArray

    names, limits = _urdf_joints()
    got = {"traj": [], "state": [], "diag": []}
    with ros_session():
        node = rclpy.create_node("retarget_node_test")
        pub = node.create_publisher(HandPoseArray, "hand_poses", 10)
        node.create_subscription(JointTrajectory, "joint_trajectory", got["traj"].append, 10)
        node.create_subscription(JointState, "joint_commands", got["state"].append, 10)
        node.create_subscription(DiagnosticArray, "/diagnostics", got["diag"].append, 10)
        engage = node.create_client(SetBool, "engage")
        params = node.create_client(SetParameters, "/retarget_node/set_parameters")
        sent_stamps = set()

        def spin(seconds, pose=None, **kw):
            """Spin for `seconds`, publishing one HandPoseArray (stamped now) every 50 ms
            when asked."""
            end, next_pub = time.monotonic() + seconds, 0.0
            while time.monotonic() < end:
                if kw.get("publish", pose is not None) and time.monotonic() >= next_pub:
                    stamp = time.time_ns()
                    sent_stamps.add(divmod(stamp, 10**9))
                    pub.publish(hand_array(pose, stamp, nan=kw.get("nan", False)))
                    next_pub = time.monotonic() + 0.05
                rclpy.spin_once(node, timeout_sec=0.01)
                assert proc.poll() is None, proc.stdout.read()[-3000:]

        def settled():
            """(trajectories, joint states) received, once answers to the frames already
            sent stopped arriving (a loaded machine may still be working on them)."""
            count = None
            while count != (len(got["traj"]), len(got["state"])):
                count = len(got["traj"]), len(got["state"])
                spin(0.4)
            return count

        def call_engage(value: bool):
            future = engage.call_async(SetBool.Request(data=value))
            rclpy.spin_until_future_complete(node, future, timeout_sec=10)
            assert future.result() is not None and future.result().success
            spin(0.3)  # let messages in flight arrive

        deadline = time.monotonic() + 60
        while not (engage.service_is_ready() and pub.get_subscription_count() > 0):
            assert time.monotonic() < deadline, "retarget_node did not come up"
            spin(0.1)

        # disengaged (the default): nothing is published, diagnostics say so
        deadline = time.monotonic() + 30
        while not (got["diag"] and int(_diag_values(got)["frames_received"]) > 0):
            assert time.monotonic() < deadline, "no frames_received in diagnostics"
            spin(0.2, "rest")
        assert got["traj"] == [] and got["state"] == []
        status, values = got["diag"][-1].status[0], _diag_values(got)
        assert "retargeting" in status.name and values["engaged"] == "False"
        assert int(values["commands_sent"]) == 0
        assert "disengaged" in status.message

        # engaged: trajectories and joint states for every frame
        call_engage(True)
        spin(1.0, "rest")
        spin(1.5, "fist")
        assert len(got["traj"]) >= 10 and len(got["state"]) >= 10
        assert node.get_publishers_info_by_topic("/joint_states") == []
        for traj in got["traj"]:
            assert traj.joint_names == names
            assert (traj.header.stamp.sec, traj.header.stamp.nanosec) == (0, 0)
            assert len(traj.points) == 1
            tfs = traj.points[0].time_from_start
            assert math.isclose(tfs.sec + tfs.nanosec * 1e-9, time_from_start, abs_tol=1e-9)
            q = np.array(traj.points[0].positions)
            assert np.isfinite(q).all()
            assert ((q >= limits[:, 0] - 1e-9) & (q <= limits[:, 1] + 1e-9)).all()
        for state in got["state"]:
            assert list(state.name) == names and np.isfinite(state.position).all()
            assert (state.header.stamp.sec, state.header.stamp.nanosec) in sent_stamps
        fist = np.array(got["traj"][-1].points[0].positions)
        assert fist[names.index("middle_pip_joint")] > 1.0  # it follows the hand
        values = _diag_values(got)
        assert values["engaged"] == "True" and values["tracking"] == "True"
        assert float(values["solve_time_ms_median"]) > 0

        # tuned while engaged, over DDS: a velocity limit slows the next move down
        def set_params(**values):
            request = SetParameters.Request(parameters=[
                Parameter(name, value=value).to_parameter_msg()
                for name, value in values.items()])
            future = params.call_async(request)
            rclpy.spin_until_future_complete(node, future, timeout_sec=10)
            assert future.result() is not None, "no answer from set_parameters"
            return future.result().results

        assert params.wait_for_service(timeout_sec=10)
        results = set_params(max_joint_velocity=0.5)
        assert results[0].successful, results[0].reason
        before = len(got["traj"])
        spin(1.0, "rest")
        commands = np.array([t.points[0].positions for t in got["traj"][before - 1:]])
        assert len(commands) >= 10
        step_limit = 0.5 * time_from_start  # rad per command, at most
        assert np.abs(np.diff(commands, axis=0)).max() <= step_limit + 1e-6
        assert int(_diag_values(got)["velocity_limited_commands"]) > 0
        for bad in (dict(max_joint_velocity=-1.0), dict(robot="leap_hand"),
                    dict(max_joint_velocity="fast")):
            result = set_params(**bad)[0]
            assert not result.successful and result.reason, bad
        results = set_params(max_joint_velocity=0.0)  # no limit again: one jump to the fist
        assert results[0].successful, results[0].reason
        before = len(got["traj"])
        spin(0.6, "fist")
        jump = np.array(got["traj"][before].points[0].positions) - commands[-1]
        assert np.abs(jump).max() > 10 * step_limit

        # NaN keypoints and images without hands: nothing is sent
        count = settled()
        spin(0.8, "rest", nan=True)
        spin(0.8, None, publish=True)
        deadline = time.monotonic() + 30
        while _diag_values(got)["tracking"] != "False":  # a diagnostics tick may lag
            assert time.monotonic() < deadline, _diag_values(got)
            spin(0.2, None, publish=True)
        assert (len(got["traj"]), len(got["state"])) == count
        assert int(_diag_values(got)["hands_rejected"]) > 0

        # disengaged again: nothing, although a good hand is in view
        call_engage(False)
        count = settled()
        spin(1.0, "rest")
        assert (len(got["traj"]), len(got["state"])) == count
        node.destroy_node()


@pytest.mark.ros
def test_benchmark_cli_prints_a_table(venv_bin, ros_env):
    result = subprocess.run([str(venv_bin / "rejshand-bench-retarget"), "--frames", "20",
                             "--warmup", "2"], env=ros_env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| stage | frames | median ms | p90 ms | max ms | CPU median")
    assert any(r.startswith("| retarget (core) | 20 |") for r in rows)
    assert any(r.startswith("| node callback") for r in rows)
    assert "usable cores" in result.stdout
