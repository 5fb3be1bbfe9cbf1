"""Robot hands: our shipped URDF, its configs, and configs for commercial hands (stand-ins)."""

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from rejshand_ros.resources import config_path
from rejshand_ros.retarget import human_poses, rejshand_hand
from rejshand_ros.retarget.config import (
    RETARGETING_TYPES,
    RobotConfigError,
    UrdfNotFoundError,
    load_robot_config,
    robot_config_path,
)
from rejshand_ros.retarget.retargeter import Retargeter
from rejshand_ros.retarget.urdf_writer import Joint, Link, Shape, urdf_xml

REPO = Path(__file__).resolve().parents[1]
SIDES = ("right", "left")


def _urdf(side: str) -> Path:
    return config_path("robots", "rejshand_hand", f"rejshand_hand_{side}.urdf")


@pytest.mark.parametrize("side", SIDES)
def test_shipped_urdf_is_the_generator_output(side):
    expected = rejshand_hand.urdf_text(side)
    assert _urdf(side).read_text() == expected
    source = REPO / "config" / "robots" / "rejshand_hand" / f"rejshand_hand_{side}.urdf"
    assert source.read_text() == expected, \
        "regenerate: python -m rejshand_ros.retarget.rejshand_hand config/robots/rejshand_hand"


@pytest.mark.parametrize("side", SIDES)
def test_urdf_is_a_16_dof_hand_of_primitives_with_proper_inertials(side):
    text = _urdf(side).read_text()
    assert "SPDX-License-Identifier: Apache-2.0" in text
    root = ET.fromstring(text)
    joints = root.findall("joint")
    revolute = [j for j in joints if j.get("type") == "revolute"]
    assert len(revolute) == 16
    for finger in ("thumb", "index", "middle", "ring"):
        assert sum(j.get("name").startswith(finger) for j in revolute) == 4
    for joint in revolute:
        limit = joint.find("limit")
        assert float(limit.get("lower")) < float(limit.get("upper"))
        assert float(limit.get("effort")) > 0 and float(limit.get("velocity")) > 0
        assert np.linalg.norm([float(v) for v in joint.find("axis").get("xyz").split()]) == \
            pytest.approx(1.0)
    assert {g.tag for g in root.iter() if g.tag in ("mesh", "box", "cylinder", "sphere")} <= \
        {"box", "cylinder", "sphere"}
    total = 0.0
    for link in root.findall("link"):
        inertial = link.find("inertial")
        mass = float(inertial.find("mass").get("value"))
        i = {k: float(v) for k, v in inertial.find("inertia").attrib.items()}
        tensor = np.array([[i["ixx"], i["ixy"], i["ixz"]], [i["ixy"], i["iyy"], i["iyz"]],
                           [i["ixz"], i["iyz"], i["izz"]]])
        eig = np.linalg.eigvalsh(tensor)
        assert mass > 0 and (eig > 0).all(), link.get("name")
        assert eig.sum() - 2 * eig.max() >= -1e-12, link.get("name")  # triangle inequality
        total += mass
    assert 0.6 < total < 1.6  # Allegro / LEAP class


def test_left_urdf_is_the_mirror_image_of_the_right():
    import pinocchio as pin

    models = {s: pin.buildModelFromUrdf(str(_urdf(s))) for s in SIDES}
    assert list(models["right"].names) == list(models["left"].names)
    rng = np.random.default_rng(0)
    right = models["right"]
    for _ in range(5):
        q = rng.uniform(right.lowerPositionLimit, right.upperPositionLimit)
        placements = {}
        for side, model in models.items():
            data = model.createData()
            pin.framesForwardKinematics(model, data, q)
            placements[side] = np.array([data.oMf[i].translation for i in range(model.nframes)])
        np.testing.assert_allclose(placements["left"], placements["right"] * [1, -1, 1],
                                   atol=1e-9)


@pytest.mark.parametrize("side", SIDES)
def test_joint_order_is_the_urdf_order_and_base_frame_is_the_mano_wrist(side):
    import pinocchio as pin

    model = pin.buildModelFromUrdf(str(_urdf(side)))
    root = ET.parse(_urdf(side)).getroot()
    urdf_order = [j.get("name") for j in root.findall("joint") if j.get("type") != "fixed"]
    assert list(model.names)[1:] == urdf_order
    data = model.createData()
    pin.framesForwardKinematics(model, data, pin.neutral(model))
    pos = {name: data.oMf[model.getFrameId(name)].translation for name in
           ("middle_knuckle", "index_knuckle", "thumb_tip", "middle_tip")}
    np.testing.assert_allclose(pos["middle_knuckle"][:2], 0.0, atol=1e-12)  # z: wrist -> middle MCP
    sign = 1 if side == "right" else -1
    assert sign * pos["index_knuckle"][1] > 0 and sign * pos["thumb_tip"][1] > 0
    # flexing the middle finger moves its tip palmar (+x)
    q = pin.neutral(model)
    q[model.getJointId("middle_pip_joint") - 1] = 1.0
    pin.framesForwardKinematics(model, data, q)
    assert data.oMf[model.getFrameId("middle_tip")].translation[0] > 0.02


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("kind", RETARGETING_TYPES)
def test_shipped_rejshand_hand_configs_build(side, kind):
    config = load_robot_config(robot_config_path("rejshand_hand", side, kind))
    assert config.side.value == side and config.type == kind
    retargeter = Retargeter(config)
    assert len(retargeter.joint_names) == 16
    q = retargeter.retarget_keypoints(human_poses.camera_keypoints("pinch", side), side)
    assert q is not None and np.isfinite(q).all()
    assert ((q >= retargeter.joint_limits[:, 0]) & (q <= retargeter.joint_limits[:, 1])).all()


# --------------------------------------------------------------------------------------
# Commercial hands: stand-in URDFs with the real robots' joint and link names, written
# here (crude kinematics: every movable chain bends in front of the palm).
# chain entries: (joint, child link, mimic source or None); fixed tips end each chain.
STANDINS = {
    "allegro_hand": dict(root=["base_link"], fixed=[("palm_joint", "base_link", "palm"),
                                                    ("wrist_joint", "palm", "wrist")],
                         base="base_link", chains=[
        [(f"joint_{4 * f + j}.0", f"link_{4 * f + j}.0", None) for j in range(4)]
        + [(f"joint_{4 * f + 3}.0_tip", f"link_{4 * f + 3}.0_tip", "fixed")] for f in range(4)]),
    "leap_hand": dict(root=["base"], fixed=[("base_joint", "base", "palm_lower")],
                      base="palm_lower", chains=[
        [("1", "mcp_joint", None), ("0", "pip", None), ("2", "dip", None),
         ("3", "fingertip", None), ("index_tip", "index_tip_head", "fixed")],
        [("5", "mcp_joint_2", None), ("4", "pip_2", None), ("6", "dip_2", None),
         ("7", "fingertip_2", None), ("middle_tip", "middle_tip_head", "fixed")],
        [("9", "mcp_joint_3", None), ("8", "pip_3", None), ("10", "dip_3", None),
         ("11", "fingertip_3", None), ("ring_tip", "ring_tip_head", "fixed")],
        [("12", "thumb_temp_base", None), ("13", "thumb_pip", None), ("14", "thumb_dip", None),
         ("15", "thumb_fingertip", None), ("thumb_tip", "thumb_tip_head", "fixed")]]),
    "shadow_hand": dict(root=["world"], fixed=[("world_joint", "world", "forearm")],
                        base="palm", pre=[("WRJ2", "forearm", "wrist"), ("WRJ1", "wrist", "palm")],
                        extra_fixed=[("ee_fixed_joint", "palm", "ee_link")], chains=[
        [(f"{p}J4", f"{p.lower()}knuckle", None), (f"{p}J3", f"{p.lower()}proximal", None),
         (f"{p}J2", f"{p.lower()}middle", None), (f"{p}J1", f"{p.lower()}distal", None),
         (f"{p}tip", f"{p.lower()}tip", "fixed")] for p in ("FF", "MF", "RF")]
        + [[("LFJ5", "lfmetacarpal", None), ("LFJ4", "lfknuckle", None),
            ("LFJ3", "lfproximal", None), ("LFJ2", "lfmiddle", None), ("LFJ1", "lfdistal", None),
            ("LFtip", "lftip", "fixed")],
           [("THJ5", "thbase", None), ("THJ4", "thproximal", None), ("THJ3", "thhub", None),
            ("THJ2", "thmiddle", None), ("THJ1", "thdistal", None), ("THtip", "thtip", "fixed")]]),
    "inspire_hand": dict(root=["base"], fixed=[("base_joint", "base", "hand_base_link")],
                         base="hand_base_link", chains=[
        [("thumb_proximal_yaw_joint", "thumb_proximal_base", None),
         ("thumb_proximal_pitch_joint", "thumb_proximal", None),
         ("thumb_intermediate_joint", "thumb_intermediate",
          ("thumb_proximal_pitch_joint", 1.334, 0.0)),
         ("thumb_distal_joint", "thumb_distal", ("thumb_proximal_pitch_joint", 0.667, 0.0)),
         ("thumb_tip_joint", "thumb_tip", "fixed")]]
        + [[(f"{f}_proximal_joint", f"{f}_proximal", None),
            (f"{f}_intermediate_joint", f"{f}_intermediate",
             (f"{f}_proximal_joint", 1.06399, -0.04545)),
            (f"{f}_tip_joint", f"{f}_tip", "fixed")]
           for f in ("index", "middle", "ring", "pinky")]),
    "ability_hand": dict(root=["base_link"], fixed=[("base_joint", "base_link", "base"),
                                                    ("wrist2thumb", "base", "thumb_base")],
                         base="thumb_base", chains=[
        [("thumb_q1", "thumb_L1", None), ("thumb_q2", "thumb_L2", None),
         ("thumb_tip_joint", "thumb_tip", "fixed")]]
        + [[(f"{f}_q1", f"{f}_L1", None),
            (f"{f}_q2", f"{f}_L2", (f"{f}_q1", 1.05851325, 0.72349796)),
            (f"{f}_tip_joint", f"{f}_tip", "fixed")]
           for f in ("index", "middle", "ring", "pinky")]),
}


def _standin_urdf(robot: str, side: str) -> tuple[str, list[str]]:
    """URDF text and its movable joint names (pinocchio order not implied)."""
    spec = STANDINS[robot]
    sign = 1.0 if side == "right" else -1.0
    shape = [Shape("box", (0.01, 0.01, 0.02), (0, 0, 0.01))]
    links = {name: Link(name, list(shape)) for name in spec["root"]}
    joints, movable = [], []

    def add(joint, parent, child, xyz, axis, kind="revolute", mimic=None):
        links.setdefault(child, Link(child, list(shape)))
        joints.append(Joint(joint, kind, parent, child, xyz, axis=axis, lower=-0.3,
                            upper=3.2 if mimic else 1.6, mimic=mimic))
        if kind != "fixed":
            movable.append(joint)

    for name, parent, child in spec["fixed"]:
        add(name, parent, child, (0, 0, 0), (0, 0, 1), "fixed")
    for name, parent, child in spec.get("pre", []):
        add(name, parent, child, (0, 0, 0.03), (0, 1, 0))
    for name, parent, child in spec.get("extra_fixed", []):
        add(name, parent, child, (0, 0, 0), (0, 0, 1), "fixed")
    n = len(spec["chains"])
    for f, chain in enumerate(spec["chains"]):
        parent = spec["base"]
        for j, (joint, child, mimic) in enumerate(chain):
            if j == 0:  # fan the chains across the palm
                xyz, axis = (0.0, sign * (0.04 - 0.08 * f / max(n - 1, 1)), 0.09), (1, 0, 0)
            else:
                xyz, axis = (0, 0, 0.035), (0, 1, 0)
            kind = "fixed" if mimic == "fixed" else "revolute"
            add(joint, parent, child, xyz, axis, kind, mimic if isinstance(mimic, tuple) else None)
            parent = child
    return urdf_xml(f"{robot}_{side}", list(links.values()), joints), movable


@pytest.fixture(scope="module")
def standin_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("user_urdfs")
    joints = {}
    for robot in STANDINS:
        for side in SIDES:
            text, movable = _standin_urdf(robot, side)
            path = root / robot / f"{robot}_{side}.urdf"
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
            joints[robot] = movable
    return root, joints


@pytest.mark.parametrize("robot", list(STANDINS))
@pytest.mark.parametrize("side", SIDES)
def test_commercial_hand_configs_load_against_standin_urdfs(robot, side, standin_dir):
    urdf_dir, movable = standin_dir
    keypoints = human_poses.camera_keypoints("pinch", side)
    for kind in RETARGETING_TYPES:
        config = load_robot_config(robot_config_path(robot, side, kind), urdf_dir=urdf_dir)
        assert config.name == robot and config.side.value == side
        assert config.urdf_path == (urdf_dir / robot / f"{robot}_{side}.urdf").resolve()
        retargeter = Retargeter(config)  # builds: every link / joint name must exist
        assert sorted(retargeter.joint_names) == sorted(movable[robot])
        q = retargeter.retarget_keypoints(keypoints, side)
        assert q is not None and np.isfinite(q).all()
        lo, hi = retargeter.joint_limits.T
        assert ((q >= lo) & (q <= hi)).all()


def test_commercial_configs_refuse_to_load_without_the_user_urdf(tmp_path):
    with pytest.raises(UrdfNotFoundError) as info:
        load_robot_config(robot_config_path("allegro_hand", "right"), urdf_dir=tmp_path)
    message = str(info.value)
    assert "allegro_hand/allegro_hand_right.urdf" in message and "urdf_dir" in message
    assert str(tmp_path) in message


def test_broken_config_files_are_reported(tmp_path):
    good = robot_config_path("rejshand_hand", "right").read_text()
    bad_type = tmp_path / "bad_type_right.yml"
    bad_type.write_text(good.replace("type: vector", "type: telepathy"))
    with pytest.raises(RobotConfigError, match="telepathy"):
        load_robot_config(bad_type)
    no_side = tmp_path / "no_side.yml"
    no_side.write_text(good.replace("  side: right\n", ""))
    with pytest.raises(RobotConfigError, match="side"):
        load_robot_config(no_side)
    mismatch = tmp_path / "mismatch_right.yml"
    mismatch.write_text(good.replace("[4, 8, 12, 16, 3, 6, 10, 14]", "[4, 8]"))
    with pytest.raises(RobotConfigError):
        load_robot_config(mismatch)
    with pytest.raises(FileNotFoundError):
        load_robot_config(tmp_path / "missing.yml")


@pytest.mark.parametrize("side", SIDES)
def test_leap_driver_output_is_cmd_leap_in_motor_order_with_pi_offset(side, standin_dir):
    """LEAP_Hand_API's leaphand_node takes sensor_msgs/JointState on cmd_leap: 16 positions
    in motor order 0..15, radians, pi = flat (its source: see the config's driver block).
    The message is built from a command in the retargeter's (pinocchio) joint order."""
    from builtin_interfaces.msg import Time

    from rejshand_ros.ros.joint_msgs import driver_message

    urdf_dir, _ = standin_dir
    for kind in RETARGETING_TYPES:
        config = load_robot_config(robot_config_path("leap_hand", side, kind), urdf_dir=urdf_dir)
        driver = config.driver
        assert driver is not None and "LEAP_Hand_API" in driver.source
        assert driver.measured_state_topic == ""
        (output,) = driver.outputs
        assert (output.topic, output.type) == ("cmd_leap", "joint_state")
        assert output.joints == tuple(str(i) for i in range(16))
        retargeter = Retargeter(config)
        driver.check_joints(retargeter.joint_names)
        names = list(retargeter.joint_names)
        q = np.array([0.01 * (int(name) + 1) for name in names])  # value encodes the motor id
        message = driver_message(output, output.values(names, q), Time(sec=3, nanosec=5), 0.1)
        assert list(message.name) == [str(i) for i in range(16)]
        assert message.header.stamp.sec == 3 and message.header.stamp.nanosec == 5
        np.testing.assert_allclose(message.position, np.pi + 0.01 * (np.arange(16) + 1))


@pytest.mark.parametrize("side", SIDES)
def test_ability_driver_output_is_digits_in_degrees_in_psyonic_order(side, standin_dir):
    """PSYONIC's ability_hand_node takes ah_messages/Digits on
    /ability_hand/<side>/target/position: degrees, index, middle, ring, pinky q1, thumb
    flexor (thumb_q2), thumb rotator (thumb_q1); the q2 finger joints are mimics of q1.
    Its measured JointState (/joint_states_ah, our names) converts back."""
    from builtin_interfaces.msg import Time

    from rejshand_ros.ros.joint_msgs import driver_message

    urdf_dir, _ = standin_dir
    order = ["index_q1", "middle_q1", "ring_q1", "pinky_q1", "thumb_q2", "thumb_q1"]
    for kind in RETARGETING_TYPES:
        config = load_robot_config(robot_config_path("ability_hand", side, kind),
                                   urdf_dir=urdf_dir)
        driver = config.driver
        assert driver is not None and "ability-hand-ros2" in driver.source
        assert driver.measured_state_topic == "/joint_states_ah"
        (output,) = driver.outputs
        assert (output.topic, output.type) == (f"/ability_hand/{side}/target/position",
                                               "digits")
        assert list(output.joints) == order
        retargeter = Retargeter(config)
        names = list(retargeter.joint_names)
        mimic = config.mimic_joints()
        driver.check_joints(names, mimic)
        q = np.array([0.1 * (order.index(n) + 1) if n in order else 0.0 for n in names])
        message = driver_message(output, output.values(names, q), Time(sec=1), 0.1)
        assert message.reply_mode == 0
        np.testing.assert_allclose(message.data, np.degrees(0.1 * np.arange(1, 7)), rtol=1e-6)
        back = driver.measured_positions(names, q.tolist(), names, mimic)
        np.testing.assert_allclose(back, q)


@pytest.mark.parametrize("side", SIDES)
def test_allegro_driver_output_is_forward_command_array_in_controller_order(side, standin_dir):
    """Wonik's allegro_hand_ros2 ForwardCommandController takes Float64MultiArray on
    /allegro_hand_position_controller/commands in ah_joint00..ah_joint33 order (thumb,
    index, middle, ring; test_urdf_records checks this against Wonik's description),
    radians; its joint_state_broadcaster's names convert back to ours."""
    from builtin_interfaces.msg import Time

    from rejshand_ros.ros.joint_msgs import driver_message

    urdf_dir, _ = standin_dir
    names_driver = [f"ah_joint{f}{j}" for f in range(4) for j in range(4)]
    for kind in RETARGETING_TYPES:
        config = load_robot_config(robot_config_path("allegro_hand", side, kind),
                                   urdf_dir=urdf_dir)
        driver = config.driver
        assert driver is not None and driver.measured_state_topic == "/joint_states"
        (output,) = driver.outputs
        assert (output.topic, output.type) == ("/allegro_hand_position_controller/commands",
                                               "float64_array")
        assert list(output.names) == names_driver
        retargeter = Retargeter(config)
        names = list(retargeter.joint_names)
        driver.check_joints(names)
        q = np.array([0.01 * float(n.split("_")[1]) for n in names])  # joint_<i>.0 -> i
        message = driver_message(output, output.values(names, q), Time(sec=1), 0.1)
        index = range(0, 4) if side == "right" else range(8, 12)  # dex-urdf's left: mirrored
        ring = range(8, 12) if side == "right" else range(0, 4)
        order = [*range(12, 16), *index, *range(4, 8), *ring]
        np.testing.assert_allclose(message.data, 0.01 * np.array(order))
        back = driver.measured_positions(names_driver, list(message.data), names)
        np.testing.assert_allclose(back, q)
