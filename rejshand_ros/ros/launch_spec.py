"""Which nodes to start, with which parameters and remappings: one pure function.

``node_specs(...)`` returns :class:`NodeSpec` values; ``launch/hand_pose.launch.py``
turns them into ``launch_ros`` Nodes (``ros2 launch`` on a ROS workstation) and
``rejshand-bringup`` / ``rejshand-demo`` into subprocesses. Both go through
``specs_from_arguments`` (string arguments as ``ros2 launch`` passes them), so they can
never start different things. No ROS import here: plain data only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE = "rejshand_ros"
SOURCE_CHOICES = ("none", "camera", "video", "folder", "synthetic")
DEFAULT_RECORD_TOPICS = ("image", "camera_info", "hand_poses", "hand_mesh", "hand_poses_gt",
                         "joint_trajectory", "joint_states")

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
    "record": ("", "MCAP file to record image, camera_info, hand poses and joints to"),
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
               overrides: Mapping[str, Mapping[str, Any]] | None = None,
               config_dir: str | Path | None = None) -> list[NodeSpec]:
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
        overrides: node name -> {parameter: value}, applied after the YAML files.
        config_dir: the package's config directory (default: the installed one).
    Raises:
        ValueError: unknown source, or a source that needs a location without one.
    """
    if source not in SOURCE_CHOICES:
        raise ValueError(f"source must be one of {SOURCE_CHOICES}, got {source!r}")
    if source in ("video", "folder") and not location:
        raise ValueError(f"source {source} needs a location (the {source} path)")
    config = Path(config_dir) if config_dir is not None else _installed_config_dir()
    overrides = overrides or {}
    image_remaps = (("image", image), ("image/compressed", f"{image}/compressed"),
                    ("camera_info", camera_info))
    specs: list[NodeSpec] = []

    def add(executable: str, name: str, files: tuple[str, ...], parameters: dict,
            remappings: tuple[tuple[str, str], ...], arguments: tuple[str, ...] = ()) -> None:
        parameters = {**parameters, **dict(overrides.get(name, {}))}
        remappings = tuple((a, b) for a, b in remappings if a != b)  # identity: noise
        specs.append(NodeSpec(executable, name, namespace=namespace, params_files=files,
                              parameters=parameters, remappings=remappings,
                              arguments=arguments))

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
        add("retarget_node", "retarget_node",
            (retarget_params or str(config / "retarget.yaml"),), {},
            (("hand_poses", hand_poses),))
    if record:
        topics = list(record_topics or DEFAULT_RECORD_TOPICS)
        renamed = {"image": image, "camera_info": camera_info, "hand_poses": hand_poses}
        topics = [renamed.get(topic, topic) for topic in topics]
        add("recorder_node", "recorder", (), {}, (),
            (record, "--overwrite", "--topics", *topics))
    return specs


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
        retarget_params=args["retarget_params"], overrides=overrides, config_dir=config_dir)


def _installed_config_dir() -> Path:
    from rejshand_ros.resources import share_dir

    return share_dir() / "config"
