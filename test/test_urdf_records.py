"""Commercial hands' retargeting configs against records of their real, public URDFs.

``config/retargeting/urdf_records/<robot>_<side>.json`` hold the joints (names, types,
limits, mimics, origins) and links of dex-urdf's URDFs at a pinned commit
(``scripts/urdf_record.py``, ``make_records.sh``); Allegro's driver names are checked
against the record of Wonik's own description (``allegro_hand_ros2_v4_<side>.json``).
Pure Python apart from the two loader tests (rejshand_hand, and the LEAP / Allegro URDFs
whose licences allow a copy in ``test/data/urdf/dex-urdf``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "config" / "retargeting"
RECORDS = CONFIGS / "urdf_records"
DEX_URDF_COPY = REPO / "test" / "data" / "urdf" / "dex-urdf"
SIDES = ("right", "left")
SUFFIXES = ("", "_dexpilot", "_position")
COMMERCIAL = ("allegro_hand", "leap_hand", "shadow_hand", "inspire_hand", "ability_hand")
#: (movable joints, actuated = not mimic) as the configs and READMEs state them: LEAP's
#: motors 0..15, Allegro's ah_joint00..33, the Ability Hand's 6 Digits with the 4 *_q2
#: finger joints as mimics, the Inspire hand's 6 target_joint_names with 6 mimics; Shadow
#: (no claim in the configs): dex-urdf's 22 hand + 2 wrist joints, pinned here.
CLAIMED_COUNTS = {"leap_hand": (16, 16), "allegro_hand": (16, 16), "ability_hand": (10, 6),
                  "inspire_hand": (12, 6), "shadow_hand": (24, 24)}
#: Dynamixel position range of LEAP_Hand_API's cmd_leap (rad, pi = flat)
LEAP_MOTOR_RANGE = (0.0, 2.0 * np.pi)
HUMAN_TIPS = (4, 8, 12, 16, 20)  # thumb, index, middle, ring, pinky (MediaPipe order)


def _load_tool():
    spec = importlib.util.spec_from_file_location("urdf_record", REPO / "scripts" / "urdf_record.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


urdf_record = _load_tool()


def load_record(name: str) -> dict[str, Any]:
    return json.loads((RECORDS / f"{name}.json").read_text())


def config_files() -> list[Path]:
    return [CONFIGS / f"{robot}_{side}{suffix}.yml"
            for robot in COMMERCIAL for side in SIDES for suffix in SUFFIXES]


# ------------------------------------------------------------------ zero-pose kinematics
def _rotation(rpy: list[float]) -> np.ndarray:
    """URDF rpy: R = Rz(yaw) Ry(pitch) Rx(roll)."""
    r, p, y = rpy
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    return np.array([[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
                     [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
                     [-sp, cp * sr, cp * cr]])


def zero_pose_positions(record: dict[str, Any]) -> dict[str, np.ndarray]:
    """Every link's origin in the root link's frame with all joints at 0."""
    by_child = {j["child"]: j for j in record["joints"] + record["fixed_joints"]}
    poses: dict[str, tuple[np.ndarray, np.ndarray]] = {record["root_link"]: (np.eye(3), np.zeros(3))}

    def pose(link: str) -> tuple[np.ndarray, np.ndarray]:
        if link not in poses:
            joint = by_child[link]
            rotation, position = pose(joint["parent"])
            poses[link] = (rotation @ _rotation(joint["rpy"]),
                           position + rotation @ np.asarray(joint["xyz"]))
        return poses[link]

    return {link: pose(link)[1] for link in record["links"]}


# ------------------------------------------------------------------ what a config names
def link_uses(retargeting: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, link) for every link name the retargeting block uses."""
    uses = []
    for key in ("target_origin_link_names", "target_task_link_names", "finger_tip_link_names",
                "target_link_names"):
        uses += [(key, link) for link in retargeting.get(key) or []]
    if retargeting.get("wrist_link_name"):
        uses.append(("wrist_link_name", retargeting["wrist_link_name"]))
    return uses


def human_links(retargeting: dict[str, Any]) -> dict[int, str]:
    """Human keypoint index -> robot link it is paired with (task / tip links)."""
    kind = str(retargeting["type"]).lower()
    if kind == "vector":
        return dict(zip(retargeting["target_link_human_indices"][1],
                        retargeting["target_task_link_names"]))
    if kind == "dexpilot":  # fingertips listed thumb first
        return dict(zip(HUMAN_TIPS, retargeting["finger_tip_link_names"]))
    return dict(zip(retargeting["target_link_human_indices"], retargeting["target_link_names"]))


def check_config(document: dict[str, Any], record: dict[str, Any],
                 driver_record: dict[str, Any] | None = None) -> list[str]:
    """Everything wrong with a config against its URDF record (empty: consistent)."""
    problems = []
    robot, retargeting = document["robot"], document["retargeting"]
    joints = {j["name"]: j for j in record["joints"]}
    mimic = {name: j["mimic"]["joint"] for name, j in joints.items() if "mimic" in j}
    actuated = [name for name in joints if name not in mimic]
    links = set(record["links"])
    if retargeting["urdf_path"] != f"{robot['name']}/{robot['name']}_{robot['side']}.urdf":
        problems.append(f"urdf_path {retargeting['urdf_path']} is not this robot / side's")
    # (a) links
    for key, link in link_uses(retargeting):
        if link not in links:
            problems.append(f"{key}: link {link!r} is not in the URDF")
    # (b) joints it names: movable and actuated
    named = [("target_joint_names", j) for j in retargeting.get("target_joint_names") or []]
    named += [(f"robot.soft_joint_limits", j) for j in robot.get("soft_joint_limits") or {}]
    outputs = (document.get("driver") or {}).get("outputs") or []
    named += [(f"driver {o['topic']}", j) for o in outputs for j in o["joints"]]
    for key, joint in named:
        if joint not in joints:
            problems.append(f"{key}: joint {joint!r} is not a movable joint of the URDF")
        elif joint in mimic and not key.startswith("robot."):
            problems.append(f"{key}: joint {joint!r} is a mimic of {mimic[joint]!r}")
    if retargeting.get("target_joint_names") and \
            sorted(retargeting["target_joint_names"]) != sorted(actuated):
        problems.append(f"target_joint_names {retargeting['target_joint_names']} are not the "
                        f"actuated joints {actuated}")
    # (c) each driver output covers the actuated joints exactly once (mimics follow)
    for output in outputs:
        driven = list(output["joints"])
        if sorted(driven) != sorted(actuated):
            problems.append(f"driver {output['topic']}: joints {driven} are not exactly the "
                            f"actuated joints {actuated}")
        if driver_record is not None:
            problems += check_driver_names(output, record, driver_record)
    # (d) limits
    margin = float(robot.get("soft_limit_margin", 0.0))
    for name, joint in joints.items():
        if joint["lower"] + margin >= joint["upper"] - margin:
            problems.append(f"soft_limit_margin {margin} leaves {name} no range")
    for name, (low, high) in (robot.get("soft_joint_limits") or {}).items():
        if name in joints and not joints[name]["lower"] <= low <= high <= joints[name]["upper"]:
            problems.append(f"soft_joint_limits {name} {[low, high]} outside the URDF's")
    # (e) joint counts
    claimed = CLAIMED_COUNTS[robot["name"]]
    if (len(joints), len(actuated)) != claimed:
        problems.append(f"{len(joints)} movable / {len(actuated)} actuated joints, "
                        f"claimed {claimed}")
    # side and finger order: the thumb on +y (right) / -y (left), fingers along +z, index
    # to pinky (and their middle joints) away from the thumb
    sign = 1.0 if robot["side"] == "right" else -1.0
    at = zero_pose_positions(record)
    pairs = {i: link for i, link in human_links(retargeting).items() if link in links}
    for chain in ((4, 8, 12, 16, 20), (2, 6, 10, 14, 18)):
        present = [i for i in chain if i in pairs]
        y = [sign * at[pairs[i]][1] for i in present]
        if present and any(a <= b for a, b in zip(y, y[1:])):
            problems.append(f"human keypoints {present} -> links "
                            f"{[pairs[i] for i in present]} are not ordered from the thumb "
                            f"side ({'+y' if sign > 0 else '-y'}): y = {np.round(y, 3).tolist()}")
    for i in (8, 12, 16, 20):
        if i in pairs and at[pairs[i]][2] <= 0.05:
            problems.append(f"fingertip link {pairs[i]} is not along +z of the root")
    return problems


def check_driver_names(output: dict[str, Any], record: dict[str, Any],
                       driver_record: dict[str, Any]) -> list[str]:
    """Our joint -> the driver's joint name (``names``): the driver's description must have
    that joint, with the same limits, on the same finger (lateral position within 2 cm)."""
    problems = []
    ours = {j["name"]: j for j in record["joints"]}
    theirs = {j["name"]: j for j in driver_record["joints"]}
    if list(output["names"]) != list(theirs):
        problems.append(f"driver names {output['names']} are not the driver description's "
                        f"joints in order {list(theirs)}")
    at_ours, at_theirs = zero_pose_positions(record), zero_pose_positions(driver_record)
    for joint, name in zip(output["joints"], output["names"]):
        if joint not in ours or name not in theirs:
            continue
        a, b = ours[joint], theirs[name]
        if not np.allclose([a["lower"], a["upper"]], [b["lower"], b["upper"]], atol=1e-3):
            problems.append(f"driver {name} <- {joint}: limits {[b['lower'], b['upper']]} vs "
                            f"{[a['lower'], a['upper']]}")
        if abs(at_ours[a["child"]][1] - at_theirs[b["child"]][1]) > 0.02:
            problems.append(f"driver {name} <- {joint}: not the same finger (y "
                            f"{at_theirs[b['child']][1]:.3f} vs {at_ours[a['child']][1]:.3f})")
    return problems


def _record_for(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    robot = document["robot"]
    record = load_record(f"{robot['name']}_{robot['side']}")
    driver = (document.get("driver") or {}).get("package", "")
    wonik = load_record(f"allegro_hand_ros2_v4_{robot['side']}") \
        if "allegro_hand_ros2" in driver else None
    return record, wonik


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("path", config_files(), ids=lambda p: p.stem)
def test_config_matches_the_public_urdf(path):
    document = yaml.safe_load(path.read_text())
    record, driver_record = _record_for(document)
    assert record["robot"] == document["robot"]["name"]
    assert record["side"] == document["robot"]["side"]
    assert check_config(document, record, driver_record) == []


@pytest.mark.parametrize("name", sorted(p.stem for p in RECORDS.glob("*.json")))
def test_records_say_where_they_come_from(name):
    record = load_record(name)
    source = record["source"]
    assert source["repository"].startswith("github.com/") and source["path"]
    assert len(source["commit"]) == 40 and int(source["commit"], 16) >= 0
    assert len(source["sha256"]) == 64 and source["licence"]
    assert record["made_by"].startswith("python scripts/urdf_record.py")
    assert source["commit"] in record["made_by"] and source["path"] in record["made_by"]
    for joint in record["joints"]:
        assert joint["lower"] <= joint["upper"], joint["name"]
        if "mimic" in joint:
            assert joint["mimic"]["joint"] in {j["name"] for j in record["joints"]}


@pytest.mark.parametrize("side", SIDES)
def test_leap_motor_commands_stay_in_the_dynamixel_range(side):
    """cmd_leap = URDF angle + pi (the driver block's offset) must stay in 0..2pi."""
    document = yaml.safe_load((CONFIGS / f"leap_hand_{side}.yml").read_text())
    (output,) = document["driver"]["outputs"]
    joints = {j["name"]: j for j in load_record(f"leap_hand_{side}")["joints"]}
    for joint in output["joints"]:
        low, high = joints[joint]["lower"] + output["offset"], joints[joint]["upper"] + output["offset"]
        assert LEAP_MOTOR_RANGE[0] <= low and high <= LEAP_MOTOR_RANGE[1], joint


@pytest.mark.parametrize("side", SIDES)
def test_allegro_driver_sends_each_finger_to_wonik_s_joint_of_that_finger(side):
    """Wonik's ah_joint0x is the thumb, 1x index, 2x middle, 3x ring (limits and positions
    in its v4 xacro); dex-urdf's left hand numbers its fingers mirrored (joint_8..11 is
    the index)."""
    document = yaml.safe_load((CONFIGS / f"allegro_hand_{side}.yml").read_text())
    (output,) = document["driver"]["outputs"]
    mapping = dict(zip(output["names"], output["joints"]))
    index_first = 0 if side == "right" else 8
    assert [mapping[f"ah_joint0{j}"] for j in range(4)] == [f"joint_{12 + j}.0" for j in range(4)]
    assert [mapping[f"ah_joint1{j}"] for j in range(4)] == \
        [f"joint_{index_first + j}.0" for j in range(4)]
    assert [mapping[f"ah_joint2{j}"] for j in range(4)] == [f"joint_{4 + j}.0" for j in range(4)]


def _mutations() -> list[tuple[str, str, Any]]:
    """(config, what, mutate(document)) cases each of which check_config must catch."""
    def rename_tip(d):
        d["retargeting"]["target_task_link_names"][1] = "index_tip_hed"

    def swap_tips(d):
        names = d["retargeting"]["target_task_link_names"]
        names[1], names[3] = names[3], names[1]

    def mimic_target(d):
        d["retargeting"]["target_joint_names"][0] = "thumb_intermediate_joint"

    def drop_driver_joint(d):
        d["driver"]["outputs"][0]["joints"] = d["driver"]["outputs"][0]["joints"][:-1]

    def allegro_identity_map(d):  # the mapping these configs had before the check
        d["driver"]["outputs"][0]["joints"] = [f"joint_{i}.0" for i in range(16)]

    def wrong_side(d):
        d["retargeting"]["urdf_path"] = "ability_hand/ability_hand_left.urdf"

    def huge_margin(d):
        d["robot"]["soft_limit_margin"] = 0.4

    def soft_limit_outside(d):
        d["robot"]["soft_joint_limits"] = {"FFJ3": [-1.0, 1.0]}

    return [("leap_hand_right", "renamed link", rename_tip),
            ("shadow_hand_left", "fingers swapped", swap_tips),
            ("inspire_hand_right", "mimic joint targeted", mimic_target),
            ("leap_hand_left", "driver misses a joint", drop_driver_joint),
            ("allegro_hand_left", "driver names on the wrong fingers", allegro_identity_map),
            ("ability_hand_right", "other side's URDF", wrong_side),
            ("inspire_hand_left", "margin leaves no range", huge_margin),
            ("shadow_hand_right", "soft limit outside the URDF", soft_limit_outside)]


@pytest.mark.parametrize("config, what, mutate", _mutations(), ids=[m[1] for m in _mutations()])
def test_a_wrong_config_is_caught(config, what, mutate, tmp_path):
    copy = tmp_path / f"{config}.yml"
    shutil.copy(CONFIGS / f"{config}.yml", copy)
    document = yaml.safe_load(copy.read_text())
    mutate(document)
    copy.write_text(yaml.safe_dump(document))
    document = yaml.safe_load(copy.read_text())
    record, driver_record = _record_for(document)
    assert check_config(document, record, driver_record), what


def test_a_wrong_record_is_caught():
    """A record whose actuated joints differ from the claims fails the check (here joint
    "0" made a mimic: 15 actuated, and the driver would command a mimic joint)."""
    document = yaml.safe_load((CONFIGS / "leap_hand_right.yml").read_text())
    record = load_record("leap_hand_right")
    record["joints"][0]["mimic"] = {"joint": "1", "multiplier": 1.0, "offset": 0.0}
    problems = check_config(document, record)
    assert any("claimed" in p for p in problems)
    assert any("is a mimic" in p for p in problems)


# ------------------------------------------------------------------ the tool itself
@pytest.mark.parametrize("side", SIDES)
def test_record_tool_gives_the_joints_the_loader_sees_on_rejshand_hand(side):
    """scripts/urdf_record.py on our shipped URDF: the joints, order and limits the
    retargeting loader (dex-retargeting / pinocchio through Retargeter) reports."""
    from rejshand_ros.retarget.config import load_robot_config
    from rejshand_ros.retarget.retargeter import Retargeter

    urdf = REPO / "config" / "robots" / "rejshand_hand" / f"rejshand_hand_{side}.urdf"
    record = urdf_record.record_from_urdf(urdf.read_text())
    config = load_robot_config(CONFIGS / f"rejshand_hand_{side}.yml",
                               urdf_dir=REPO / "config" / "robots")
    assert config.urdf_path == urdf.resolve()
    retargeter = Retargeter(config)
    assert [j["name"] for j in record["joints"]] == retargeter.joint_names
    assert len(record["joints"]) == 16  # "our own 16-DoF hand"
    np.testing.assert_allclose([[j["lower"], j["upper"]] for j in record["joints"]],
                               retargeter.joint_limits)
    assert {j["name"]: (j["mimic"]["joint"], j["mimic"]["multiplier"], j["mimic"]["offset"])
            for j in record["joints"] if "mimic" in j} == config.mimic_joints()
    assert set(link for _, link in link_uses(config.retargeting)) <= set(record["links"])


@pytest.mark.parametrize("robot", ["leap_hand", "allegro_hand"])
@pytest.mark.parametrize("side", SIDES)
def test_records_reproduce_from_the_redistributable_urdfs_and_configs_build(robot, side):
    """LEAP (MIT) and Allegro (BSD) URDFs are copied in test/data: the records are the
    tool's output on them, and every config of that hand builds on them with the joints
    of the record."""
    from rejshand_ros.retarget.config import load_robot_config
    from rejshand_ros.retarget.retargeter import Retargeter

    urdf = DEX_URDF_COPY / robot / f"{robot}_{side}.urdf"
    record = load_record(f"{robot}_{side}")
    assert hashlib.sha256(urdf.read_bytes()).hexdigest() == record["source"]["sha256"]
    fresh = urdf_record.record_from_urdf(urdf.read_text())
    for key in ("robot_name", "root_link", "links", "joints", "fixed_joints"):
        assert fresh[key] == record[key], key
    movable = {j["name"]: (j["lower"], j["upper"]) for j in record["joints"]}
    for suffix in SUFFIXES:
        config = load_robot_config(CONFIGS / f"{robot}_{side}{suffix}.yml", urdf_dir=DEX_URDF_COPY)
        retargeter = Retargeter(config)
        assert sorted(retargeter.joint_names) == sorted(movable)
        np.testing.assert_allclose(retargeter.joint_limits,
                                   [movable[name] for name in retargeter.joint_names])
        if config.driver is not None:
            config.driver.check_joints(retargeter.joint_names, config.mimic_joints())


def test_record_tool_reads_xacro_with_defines_and_rejects_non_urdf():
    text = """<robot xmlns:xacro="http://www.ros.org/wiki/xacro" name="r">
      <xacro:macro name="m" params="prefix"><link name="${prefix}a"/><link name="${prefix}b"/>
        <joint name="${prefix}j" type="revolute"><parent link="${prefix}a"/>
          <child link="${prefix}b"/><limit lower="-1" upper="2"/>
          <mimic joint="${prefix}k" multiplier="2"/></joint></xacro:macro></robot>"""
    record = urdf_record.record_from_urdf(text, {"prefix": "ah_"})
    assert record["links"] == ["ah_a", "ah_b"] and record["root_link"] == "ah_a"
    (joint,) = record["joints"]
    assert (joint["name"], joint["lower"], joint["upper"], joint["axis"]) == \
        ("ah_j", -1.0, 2.0, [1.0, 0.0, 0.0])
    assert joint["mimic"] == {"joint": "ah_k", "multiplier": 2.0, "offset": 0.0}
    with pytest.raises(ValueError):
        urdf_record.record_from_urdf("<robot><link")
