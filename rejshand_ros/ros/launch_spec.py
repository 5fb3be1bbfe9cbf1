"""Which nodes to start, with which parameters and remappings: one pure function.

``node_specs(...)`` returns :class:`NodeSpec` values; ``launch/hand_pose.launch.py``
turns them into ``launch_ros`` Nodes (``ros2 launch`` on a ROS workstation) and
``rejshand-bringup`` / ``rejshand-demo`` into subprocesses. Both go through
``specs_from_arguments`` (string arguments as ``ros2 launch`` passes them), so they can
never start different things. No ROS import here: plain data only.

Besides the package's nodes: ``robot_state_publisher`` with the retargeted robot's URDF
(reading ``joint_commands``, so RViz shows the commanded robot hand) when retargeting
and when it is installed (``robot_state_publisher:=auto``; no PyPI wheel, so tests check
the spec only), and ``rviz2`` with ``config/rviz/hand_pose.rviz`` and a fixed frame.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE = "rejshand_ros"
SOURCE_CHOICES = ("none", "camera", "video", "folder", "synthetic")
#: commanded (joint_commands) and measured (joint_states, the driver's) joints apart
DEFAULT_RECORD_TOPICS = ("image", "camera_info", "hand_poses", "hand_mesh", "hand_poses_gt",
                         "joint_trajectory", "joint_commands", "joint_states", "/tf",
                         "/tf_static")
CHOICES_AUTO = ("auto", "true", "false")

#: launch argument -> (default, description); shared by the launch file and bringup
LAUNCH_ARGUMENTS: dict[str, tuple[str, str]] = {
    "source": ("none", "image source to start: none (use your camera driver), camera, "
               "video, folder or synthetic"),
    "location": ("", "camera index/device, video file or image folder of the source"),
    "rate": ("", "Hz, frame rate of the source (empty: config/image_source.yaml)"),
    "image": ("image", "image topic (sensor_msgs/Image; <image>/compressed for JPEG/PNG)"),
    "camera_info": ("camera_info", "camera_info topic"),
    "hand_poses": ("hand_poses", "output topic of the perception node"),
    "perception": ("true", "start hand_pose_node"),
    "retarget": ("false", "start retarget_node (robot-hand JointTrajectory)"),
    "record": ("", "MCAP file to record image, camera_info, hand poses, joints and TF to "
               "(an existing file is kept: the recording gets a timestamped name)"),
    "robot_state_publisher": ("auto", "with retarget: robot_state_publisher with the robot's "
                              "URDF on joint_commands (auto: when installed; true; false)"),
    "camera_to_robot": ("", "with retarget: 'x y z roll pitch yaw' from the camera frame to "
                        "the robot's base link, published on /tf_static (RViz)"),
    "rviz": ("false", "start rviz2 with config/rviz/hand_pose.rviz"),
    "fixed_frame": ("camera_optical_frame", "RViz fixed frame"),
    "namespace": ("", "namespace of every node"),
    "hand_pose_params": ("", "parameters YAML of hand_pose_node (default: "
                         "config/hand_pose.yaml)"),
    "retarget_params": ("", "parameters YAML of retarget_node (default: config/retarget.yaml)"),
}


@dataclass(frozen=True)
class NodeSpec:
    """One node to start.

    executable: in <prefix>/lib/<package>/. name: the node name (equal to the key in its
    parameters YAML). params_files: YAML files, in order. parameters: overrides applied
    after the files. remappings: (from, to) topic pairs. arguments: the executable's own
    arguments, placed before ``--ros-args``.
    """

    executable: str
    name: str
    package: str = PACKAGE
    namespace: str = ""
    params_files: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)
    remappings: tuple[tuple[str, str], ...] = ()
    arguments: tuple[str, ...] = ()

    def ros_arguments(self) -> list[str]:
        """``--ros-args ...`` as ``ros2 run`` would get them (node name, files, -p, -r)."""
        args = ["--ros-args", "-r", f"__node:={self.name}"]
        if self.namespace:
            args += ["-r", f"__ns:={_absolute(self.namespace)}"]
        for path in self.params_files:
            args += ["--params-file", path]
        for name, value in self.parameters.items():
            args += ["-p", f"{name}:={format_parameter(value)}"]
        for source, target in self.remappings:
            args += ["-r", f"{source}:={target}"]
        return args

    def command(self, prefix: str | Path) -> list[str]:
        """The full command line under an install prefix."""
        executable = Path(prefix) / "lib" / self.package / self.executable
        return [str(executable), *self.arguments, *self.ros_arguments()]


def install_prefixes() -> list[Path]:
    """Where ROS packages are installed: AMENT_PREFIX_PATH, then this interpreter's prefix."""
    paths = [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    return paths + [Path(sys.prefix)]


def is_installed(package: str, executable: str,
                 prefixes: Sequence[str | Path] | None = None) -> bool:
    """True when ``<prefix>/lib/<package>/<executable>`` exists under one of ``prefixes``."""
    for prefix in install_prefixes() if prefixes is None else prefixes:
        if (Path(prefix) / "lib" / package / executable).is_file():
            return True
    return False


def format_parameter(value: Any) -> str:
    """A Python value as a ``-p name:=value`` literal (YAML, typed as ROS reads it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if any(c in text for c in ".eEn") else text + ".0"
    if isinstance(value, str):
        import json

        plain = value and all(c.isalnum() or c in "_/.-~+" for c in value)
        needs_quotes = not plain or value.lower() in ("true", "false", "yes", "no", "on", "off",
                                                      "null", "~") or _is_number(value)
        return json.dumps(value) if needs_quotes else value
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_parameter(v) for v in value) + "]"
    raise TypeError(f"unsupported parameter value {value!r}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _absolute(namespace: str) -> str:
    return namespace if namespace.startswith("/") else "/" + namespace


def node_specs(*, source: str = "none", location: str = "", rate: float | None = None,
               image: str = "image", camera_info: str = "camera_info",
               hand_poses: str = "hand_poses", perception: bool = True, retarget: bool = False,
               record: str = "", record_topics: Sequence[str] | None = None,
               namespace: str = "", hand_pose_params: str = "", retarget_params: str = "",
               robot_state_publisher: str = "auto", camera_to_robot: str = "",
               rviz: bool = False, fixed_frame: str = "camera_optical_frame",
               overrides: Mapping[str, Mapping[str, Any]] | None = None,
               config_dir: str | Path | None = None,
               prefixes: Sequence[str | Path] | None = None) -> list[NodeSpec]:
    """The nodes of one bring-up, in start order (source, perception, retargeting, recorder).

    Args:
        source: none | camera | video | folder | synthetic (image_source_node).
        location: the source's camera index / device, video file or image folder.
        rate: the source's frame rate, Hz (None: its YAML's).
        image, camera_info, hand_poses: topic names everything is remapped to.
        perception: start hand_pose_node (config/hand_pose.yaml).
        retarget: start retarget_node (config/retarget.yaml) on ``hand_poses``.
        record: MCAP file for the recorder ("" = no recorder).
        record_topics: topics to record (default DEFAULT_RECORD_TOPICS, remapped as above).
        namespace: namespace of every node.
        hand_pose_params, retarget_params: alternative parameters YAML files.
        robot_state_publisher: auto | true | false: with ``retarget``, start it with the
            robot's URDF (``robot_description``) reading ``joint_commands``; auto = when
            installed.
        camera_to_robot: with ``retarget``, retarget_node's ``camera_to_robot`` parameter.
        rviz: start rviz2 (config/rviz/hand_pose.rviz) with ``fixed_frame``.
        overrides: node name -> {parameter: value}, applied after the YAML files.
        config_dir: the package's config directory (default: the installed one).
        prefixes: install prefixes searched for robot_state_publisher (default
            ``install_prefixes()``).
    Raises:
        ValueError: unknown source or choice, a source that needs a location without one,
            or a robot whose config / URDF cannot be found for robot_state_publisher.
    """
    if source not in SOURCE_CHOICES:
        raise ValueError(f"source must be one of {SOURCE_CHOICES}, got {source!r}")
    if robot_state_publisher not in CHOICES_AUTO:
        raise ValueError(f"robot_state_publisher must be one of {CHOICES_AUTO}, got "
                         f"{robot_state_publisher!r}")
    if source in ("video", "folder") and not location:
        raise ValueError(f"source {source} needs a location (the {source} path)")
    config = Path(config_dir) if config_dir is not None else _installed_config_dir()
    overrides = overrides or {}
    image_remaps = (("image", image), ("image/compressed", f"{image}/compressed"),
                    ("camera_info", camera_info))
    specs: list[NodeSpec] = []

    def add(executable: str, name: str, files: tuple[str, ...], parameters: dict,
            remappings: tuple[tuple[str, str], ...], arguments: tuple[str, ...] = (),
            package: str = PACKAGE) -> None:
        parameters = {**parameters, **dict(overrides.get(name, {}))}
        remappings = tuple((a, b) for a, b in remappings if a != b)  # identity: noise
        specs.append(NodeSpec(executable, name, package=package, namespace=namespace,
                              params_files=files, parameters=parameters,
                              remappings=remappings, arguments=arguments))

    if source != "none":
        parameters: dict[str, Any] = {"source": source}
        if location:
            parameters["location"] = location
        if rate is not None:
            parameters["rate"] = float(rate)
        add("image_source_node", "image_source_node", (str(config / "image_source.yaml"),),
            parameters, image_remaps)
    if perception:
        add("hand_pose_node", "hand_pose_node",
            (hand_pose_params or str(config / "hand_pose.yaml"),), {},
            image_remaps + (("hand_poses", hand_poses),))
    if retarget:
        retarget_file = retarget_params or str(config / "retarget.yaml")
        add("retarget_node", "retarget_node", (retarget_file,),
            {"camera_to_robot": camera_to_robot} if camera_to_robot else {},
            (("hand_poses", hand_poses),))
        wanted = robot_state_publisher == "true" or (
            robot_state_publisher == "auto"
            and is_installed("robot_state_publisher", "robot_state_publisher", prefixes))
        if wanted:
            urdf = retarget_urdf(retarget_file, overrides.get("retarget_node", {}), config)
            add("robot_state_publisher", "robot_state_publisher", (),
                {"robot_description": urdf.read_text()}, (("joint_states", "joint_commands"),),
                package="robot_state_publisher")
    if rviz:
        add("rviz2", "rviz2", (), {}, (),
            ("--display-config", str(config / "rviz" / "hand_pose.rviz"), "--fixed-frame",
             fixed_frame), package="rviz2")
    if record:
        topics = list(record_topics or DEFAULT_RECORD_TOPICS)
        renamed = {"image": image, "camera_info": camera_info, "hand_poses": hand_poses}
        topics = [renamed.get(topic, topic) for topic in topics]
        add("recorder_node", "recorder", (), {}, (),
            (record, "--unique", "--topics", *topics))
    return specs


def retarget_urdf(params_file: str | Path, overrides: Mapping[str, Any],
                  config_dir: str | Path) -> Path:
    """The URDF retarget_node will load with ``params_file`` + ``overrides`` (robot,
    robot_side, retargeting_type, config_file, urdf_dir), without loading the robot.

    Raises:
        ValueError: the parameters file, the robot config or the URDF is missing.
    """
    import yaml

    from rejshand_ros.retarget.config import resolve_urdf, robot_config_path
    from rejshand_ros.ros.retarget_params import RetargetNodeConfig

    try:
        document = yaml.safe_load(Path(params_file).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read {params_file}: {exc}") from exc
    values = {}
    for node_values in document.values():  # /** or retarget_node
        if isinstance(node_values, dict):
            values.update(node_values.get("ros__parameters", {}) or {})
    values.update(overrides)
    defaults = RetargetNodeConfig()
    get = lambda name: values.get(name, getattr(defaults, name))  # noqa: E731
    try:
        path = Path(get("config_file") or robot_config_path(
            get("robot"), get("robot_side"), get("retargeting_type")))
        document = yaml.safe_load(path.read_text())
        return resolve_urdf(document["retargeting"]["urdf_path"], get("urdf_dir") or None)
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"robot_state_publisher: no URDF for the retargeted robot: {exc}") \
            from exc


def _truthy(text: str, name: str) -> bool:
    value = str(text).strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off", ""):
        return False
    raise ValueError(f"launch argument {name} must be true or false, got {text!r}")


def specs_from_arguments(values: Mapping[str, str],
                         overrides: Mapping[str, Mapping[str, Any]] | None = None,
                         config_dir: str | Path | None = None) -> list[NodeSpec]:
    """node_specs from launch-argument strings (missing ones take LAUNCH_ARGUMENTS' defaults).

    Raises:
        ValueError: an unknown argument or a malformed value.
    """
    unknown = sorted(set(values) - set(LAUNCH_ARGUMENTS))
    if unknown:
        raise ValueError(f"unknown launch argument(s) {unknown}; known: {sorted(LAUNCH_ARGUMENTS)}")
    args = {name: str(values.get(name, default)) for name, (default, _) in LAUNCH_ARGUMENTS.items()}
    try:
        rate = float(args["rate"]) if args["rate"] else None
    except ValueError as exc:
        raise ValueError(f"launch argument rate must be a number, got {args['rate']!r}") from exc
    return node_specs(
        source=args["source"], location=args["location"], rate=rate, image=args["image"],
        camera_info=args["camera_info"], hand_poses=args["hand_poses"],
        perception=_truthy(args["perception"], "perception"),
        retarget=_truthy(args["retarget"], "retarget"), record=args["record"],
        namespace=args["namespace"], hand_pose_params=args["hand_pose_params"],
        retarget_params=args["retarget_params"],
        robot_state_publisher=args["robot_state_publisher"].strip().lower(),
        camera_to_robot=args["camera_to_robot"], rviz=_truthy(args["rviz"], "rviz"),
        fixed_frame=args["fixed_frame"], overrides=overrides, config_dir=config_dir)


def _installed_config_dir() -> Path:
    from rejshand_ros.resources import share_dir

    return share_dir() / "config"
