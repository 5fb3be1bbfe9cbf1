"""The generated messages import from the venv and cross processes bit-exactly."""

import json
import subprocess

import numpy as np
import pytest


def test_generated_classes_import_with_declared_fields():
    from rejshand_ros.msg import HandMesh, HandPose, HandPoseArray

    hand = HandPose()
    assert (HandPose.LEFT, HandPose.RIGHT, HandPose.UNKNOWN) == (0, 1, 2)
    assert len(hand.keypoints_2d) == 42 and len(hand.keypoints_3d) == 63
    assert hand.keypoints_2d.dtype == np.float32
    assert len(hand.vertices) == 0
    fields = HandPose.get_fields_and_field_types()
    assert fields["header"] == "std_msgs/Header"
    assert fields["roi"] == "sensor_msgs/RegionOfInterest"
    assert fields["vertices"] == "sequence<float>"
    assert HandPoseArray.get_fields_and_field_types()["hands"] == "sequence<rejshand_ros/HandPose>"
    assert HandMesh.get_fields_and_field_types()["faces"] == "sequence<uint32>"


def test_every_message_field_is_documented():
    """Every field in msg/*.msg sits in a comment-carrying block (unit and frame)."""
    from pathlib import Path

    for path in sorted((Path(__file__).parents[1] / "msg").glob("*.msg")):
        for block in path.read_text().split("\n\n"):
            lines = [line for line in block.splitlines() if line.strip()]
            fields = [line for line in lines if not line.startswith("#")]
            if fields:
                assert any(line.startswith("#") for line in lines), \
                    f"{path.name}: fields {fields} have no comment"


def test_installed_package_is_the_one_tested():
    import sys
    from pathlib import Path

    import rejshand_ros

    assert Path(rejshand_ros.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()), \
        "the source tree shadows the installed package"


@pytest.mark.ros
@pytest.mark.parametrize("hands", [2, 0])
def test_hand_pose_array_crosses_processes_bit_exactly(ros_env, venv_bin, hands, tmp_path):
    """rejshand-selftest publishes here and subscribes in a second process over DDS."""
    result = subprocess.run(
        [str(venv_bin / "rejshand-selftest"), "--hands", str(hands), "--timeout", "30"],
        env=ros_env, capture_output=True, text=True, timeout=90, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ok"] is True
    assert report["subscriber"]["digest"] == report["sent_digest"]
    assert report["subscriber"]["hands"] == hands
    assert report["subscriber"]["vertices"] == [778 * 3] * hands


@pytest.mark.ros
def test_source_tree_does_not_hide_generated_messages(venv_bin):
    """Running from the repo root (source package first on sys.path) still finds .msg."""
    from pathlib import Path

    repo = Path(__file__).parents[1]
    code = ("import rejshand_ros, rejshand_ros.msg as m; "
            "print(rejshand_ros.__path__[0]); print(m.HandPose.__name__)")
    result = subprocess.run([str(venv_bin / "python"), "-c", code], cwd=repo,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    first_path, name = result.stdout.split()
    assert Path(first_path) == repo / "rejshand_ros" and name == "HandPose"


def test_tf_message_is_available_for_wrist_frames():
    from geometry_msgs.msg import TransformStamped
    from tf2_msgs.msg import TFMessage

    msg = TFMessage(transforms=[TransformStamped()])
    assert TFMessage.get_fields_and_field_types() == {
        "transforms": "sequence<geometry_msgs/TransformStamped>"}
    assert len(msg.transforms) == 1
