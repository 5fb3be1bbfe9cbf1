"""Robot-hand retargeting configurations: dex-retargeting YAML plus where the URDF lives.

A config file is dex-retargeting's format (a top-level ``retargeting:`` mapping, read by
``dex_retargeting.retargeting_config.RetargetingConfig``) with two optional additions:
a ``robot:`` mapping naming the hand, its side and its soft joint limits, and a
``driver:`` mapping saying what the hand's ROS 2 driver takes (``retarget.drivers``)::

    robot:
      name: rejshand_hand
      side: right
      soft_limit_margin: 0.05            # rad inside every URDF limit
      soft_joint_limits: {thumb_mcp_joint: [0.0, 1.2]}   # per joint, overrides the margin
    retargeting:
      type: vector
      urdf_path: rejshand_hand/rejshand_hand_right.urdf
      ...

Shipped configs live in ``config/retargeting/`` and are named
``<robot>_<side>.yml`` (vector optimiser, teleoperation), ``<robot>_<side>_dexpilot.yml``
(DexPilot, teleoperation) and ``<robot>_<side>_position.yml`` (position, offline).

A relative ``urdf_path`` is looked up in the user's URDF directory first (``urdf_dir``;
e.g. a checkout of the robot vendor's description package), then in the package's own
``config/robots/`` (which holds ``rejshand_hand``). Configs for commercial hands
(Allegro, LEAP, Shadow, Inspire, Ability) point at URDFs the user supplies (the package
ships only its own hand; Shadow's, Inspire's and Ability's URDF licences do not clearly
allow it). They are checked against records of the public URDFs in
``config/retargeting/urdf_records`` (``test/test_urdf_records.py``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rejshand_ros.perception.hand_prediction import Handedness
from rejshand_ros.resources import config_path, share_dir
from rejshand_ros.retarget.drivers import DriverConfigError, DriverSpec, driver_from_dict

RETARGETING_TYPES = ("vector", "dexpilot", "position")
_TYPE_SUFFIX = {"vector": "", "dexpilot": "_dexpilot", "position": "_position"}


class RobotConfigError(ValueError):
    """A retargeting config file that cannot be used (bad YAML, missing keys, bad values)."""


class UrdfNotFoundError(FileNotFoundError):
    """The robot's URDF is not where the config says (and the user's urdf_dir does not have it)."""


def shipped_urdf_dir() -> Path:
    """The package's own robot descriptions (``share/rejshand_ros/config/robots``)."""
    return share_dir() / "config" / "robots"


def robot_config_path(robot: str, side: Handedness | str = Handedness.RIGHT,
                      retargeting_type: str = "vector") -> Path:
    """Path of a shipped config, e.g. ("allegro_hand", "left", "dexpilot").

    Raises:
        RobotConfigError: unknown type or side.
        FileNotFoundError: no shipped config of that name.
    """
    side = Handedness(side)
    if side is Handedness.UNKNOWN:
        raise RobotConfigError("the robot hand's side must be 'left' or 'right'")
    kind = retargeting_type.lower()
    if kind not in RETARGETING_TYPES:
        raise RobotConfigError(f"retargeting type must be one of {RETARGETING_TYPES}, "
                               f"got {retargeting_type!r}")
    return config_path("retargeting", f"{robot}_{side.value}{_TYPE_SUFFIX[kind]}.yml")


def resolve_urdf(urdf_path: str | Path, urdf_dir: str | Path | None = None) -> Path:
    """Absolute path of a robot URDF named in a config.

    Absolute paths are used as they are; a relative one is looked up in ``urdf_dir``
    (when given) and then in :func:`shipped_urdf_dir`.

    Raises:
        UrdfNotFoundError: with every place searched and how to fix it.
    """
    path = Path(urdf_path).expanduser()
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [Path(urdf_dir).expanduser() / path] if urdf_dir else []
        candidates.append(shipped_urdf_dir() / path)
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    searched = ", ".join(str(c) for c in candidates)
    hint = (f"set the URDF directory (node parameter `urdf_dir`, CLI `--urdf-dir`) to the "
            f"folder that contains {str(path)!r}" if not path.is_absolute()
            else "fix urdf_path in the config")
    raise UrdfNotFoundError(f"robot URDF not found: {str(urdf_path)!r} (searched {searched}); "
                            f"{hint}. Configs for commercial hands expect URDFs you supply.")


@dataclass
class RobotConfig:
    """One robot hand's retargeting set-up.

    Attributes:
        name: robot name (e.g. "rejshand_hand").
        side: which hand the robot is (LEFT or RIGHT): the human hand's wrist frame is
            computed for this side (see :mod:`rejshand_ros.retarget.wrist_frame`).
        retargeting: dex-retargeting's ``retargeting`` mapping; ``urdf_path`` absolute.
        source: the file it was loaded from (None when built in code).
        soft_limit_margin: rad (m) kept clear of both URDF limits of every joint.
        soft_joint_limits: joint -> (lower, upper), replacing the margin for that joint;
            must lie within the URDF limits.
        driver: what the hand's ROS 2 driver takes (None: no driver documented).
    """

    name: str
    side: Handedness
    retargeting: dict[str, Any]
    source: Path | None = None
    soft_limit_margin: float = 0.0
    soft_joint_limits: dict[str, tuple[float, float]] = field(default_factory=dict)
    driver: DriverSpec | None = None

    def __post_init__(self) -> None:
        self.side = Handedness(self.side)
        if self.side is Handedness.UNKNOWN:
            raise RobotConfigError(f"{self._where()}: robot side must be 'left' or 'right'")
        kind = str(self.retargeting.get("type", "")).lower()
        if kind not in RETARGETING_TYPES:
            raise RobotConfigError(f"{self._where()}: retargeting type must be one of "
                                   f"{RETARGETING_TYPES}, got {self.retargeting.get('type')!r}")
        if not (np.isfinite(self.soft_limit_margin) and self.soft_limit_margin >= 0.0):
            raise RobotConfigError(f"{self._where()}: soft_limit_margin must be >= 0, got "
                                   f"{self.soft_limit_margin}")
        for joint, (low, high) in self.soft_joint_limits.items():
            if not (np.isfinite(low) and np.isfinite(high) and low <= high):
                raise RobotConfigError(f"{self._where()}: soft_joint_limits of {joint} must "
                                       f"be [lower, upper] with lower <= upper, got "
                                       f"{[low, high]}")
        if not Path(str(self.retargeting.get("urdf_path", ""))).is_absolute():
            raise RobotConfigError(f"{self._where()}: urdf_path must be resolved (absolute)")
        try:
            self.to_dex()  # dex-retargeting's own validation (link/index dimensions etc.)
        except (TypeError, ValueError) as exc:
            raise RobotConfigError(f"{self._where()}: {exc}") from exc

    def _where(self) -> str:
        return str(self.source) if self.source else f"robot config {self.name!r}"

    @property
    def type(self) -> str:
        """"vector", "dexpilot" or "position"."""
        return str(self.retargeting["type"]).lower()

    @property
    def urdf_path(self) -> Path:
        return Path(self.retargeting["urdf_path"])

    @property
    def scaling_factor(self) -> float:
        """Robot size / human size (multiplies the human vectors or positions)."""
        return float(self.retargeting.get("scaling_factor", 1.0))

    @property
    def low_pass_alpha(self) -> float | None:
        """Low-pass filter weight of the newest solution in [0, 1]; None: no filter."""
        alpha = float(self.retargeting.get("low_pass_alpha", 0.1))
        return alpha if 0.0 <= alpha <= 1.0 else None

    def soft_limits(self, joint_names: list[str], urdf_limits: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper), each (J,), of ``joint_names`` whose URDF limits are
        ``urdf_limits`` (J, 2): the margin inside the URDF limits, or the joint's own
        soft limits.

        Raises:
            RobotConfigError: a soft limit names an unknown joint or lies outside the URDF
                limits, or the margin leaves a joint no range.
        """
        limits = np.asarray(urdf_limits, dtype=np.float64)
        unknown = sorted(set(self.soft_joint_limits) - set(joint_names))
        if unknown:
            raise RobotConfigError(f"{self._where()}: soft_joint_limits name joints the robot "
                                   f"does not have: {unknown}")
        lower = limits[:, 0] + self.soft_limit_margin
        upper = limits[:, 1] - self.soft_limit_margin
        for i, joint in enumerate(joint_names):
            if joint in self.soft_joint_limits:
                low, high = self.soft_joint_limits[joint]
                if low < limits[i, 0] - 1e-9 or high > limits[i, 1] + 1e-9:
                    raise RobotConfigError(
                        f"{self._where()}: soft_joint_limits of {joint} {[low, high]} lie "
                        f"outside its URDF limits {limits[i].tolist()}")
                lower[i], upper[i] = low, high
            elif lower[i] > upper[i]:
                raise RobotConfigError(
                    f"{self._where()}: soft_limit_margin {self.soft_limit_margin} leaves "
                    f"{joint} (URDF limits {limits[i].tolist()}) no range")
        return lower, upper

    def mimic_joints(self) -> dict[str, tuple[str, float, float]]:
        """The URDF's mimic joints: joint -> (source joint, multiplier, offset)."""
        return urdf_mimic_joints(self.urdf_path)

    def to_dex(self):
        """A fresh ``dex_retargeting`` RetargetingConfig (call ``.build()`` on it)."""
        from dex_retargeting.retargeting_config import RetargetingConfig

        return RetargetingConfig.from_dict(copy.deepcopy(self.retargeting))


def load_robot_config(path: str | Path, urdf_dir: str | Path | None = None,
                      override: dict[str, Any] | None = None) -> RobotConfig:
    """Load a retargeting config file and resolve its URDF.

    Args:
        path: the YAML file.
        urdf_dir: the user's directory of robot URDFs (searched before the shipped ones).
        override: values replacing keys of the ``retargeting`` mapping (e.g.
            ``{"low_pass_alpha": 1.0}``), as dex-retargeting's ``override=``.
    Raises:
        FileNotFoundError: no such config file.
        UrdfNotFoundError: the URDF it names is missing.
        RobotConfigError: anything else wrong with the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"retargeting config not found: {path}")
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RobotConfigError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("retargeting"), dict):
        raise RobotConfigError(f"{path}: expected a top-level 'retargeting:' mapping")
    retargeting = dict(document["retargeting"])
    retargeting.update(override or {})
    robot = document.get("robot") or {}
    if not isinstance(robot, dict):
        raise RobotConfigError(f"{path}: 'robot:' must be a mapping (name, side)")
    side = robot.get("side") or _side_from_name(path.stem)
    if side is None:
        raise RobotConfigError(f"{path}: give 'robot: {{side: left|right}}' "
                               "(or put _left/_right in the file name)")
    if "urdf_path" not in retargeting:
        raise RobotConfigError(f"{path}: retargeting.urdf_path is missing")
    retargeting["urdf_path"] = str(resolve_urdf(retargeting["urdf_path"], urdf_dir))
    try:
        side = Handedness(str(side).lower())
    except ValueError:
        raise RobotConfigError(f"{path}: robot side must be 'left' or 'right', got {side!r}")
    name = str(robot.get("name") or path.stem)
    unknown = sorted(set(robot) - {"name", "side", "soft_limit_margin", "soft_joint_limits"})
    if unknown:
        raise RobotConfigError(f"{path}: unknown keys under 'robot:': {unknown}")
    soft = robot.get("soft_joint_limits") or {}
    if not isinstance(soft, dict) or not all(
            isinstance(v, (list, tuple)) and len(v) == 2 for v in soft.values()):
        raise RobotConfigError(f"{path}: robot.soft_joint_limits must map joint names to "
                               "[lower, upper]")
    try:
        soft = {str(k): (float(v[0]), float(v[1])) for k, v in soft.items()}
        margin = float(robot.get("soft_limit_margin", 0.0))
    except (TypeError, ValueError) as exc:
        raise RobotConfigError(f"{path}: soft limits must be numbers ({exc})") from exc
    driver = None
    if document.get("driver") is not None:
        try:
            driver = driver_from_dict(document["driver"], f"{path}: driver")
        except DriverConfigError as exc:
            raise RobotConfigError(str(exc)) from exc
    return RobotConfig(name=name, side=side, retargeting=retargeting, source=path,
                       soft_limit_margin=margin, soft_joint_limits=soft, driver=driver)


def urdf_root_link(urdf_path: str | Path) -> str:
    """The URDF's root link (the one link that is no joint's child).

    Raises:
        RobotConfigError: not XML, or not exactly one root.
    """
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(urdf_path).getroot()
    except ET.ParseError as exc:
        raise RobotConfigError(f"{urdf_path}: not a URDF ({exc})") from exc
    links = [link.get("name") for link in root.findall("link")]
    children = {joint.find("child").get("link") for joint in root.findall("joint")
                if joint.find("child") is not None}
    roots = [link for link in links if link not in children]
    if len(roots) != 1:
        raise RobotConfigError(f"{urdf_path}: expected one root link, found {roots}")
    return roots[0]


def urdf_mimic_joints(urdf_path: str | Path) -> dict[str, tuple[str, float, float]]:
    """joint -> (mimicked joint, multiplier, offset) of every ``<mimic>`` in a URDF.

    Raises:
        RobotConfigError: the URDF is not XML.
    """
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(urdf_path).getroot()
    except ET.ParseError as exc:
        raise RobotConfigError(f"{urdf_path}: not a URDF ({exc})") from exc
    mimic = {}
    for joint in root.iter("joint"):
        element = joint.find("mimic")
        if element is not None and joint.get("name"):
            mimic[joint.get("name")] = (element.get("joint"),
                                        float(element.get("multiplier", 1.0)),
                                        float(element.get("offset", 0.0)))
    return mimic


def _side_from_name(stem: str) -> str | None:
    parts = stem.lower().split("_")
    if "right" in parts:
        return "right"
    if "left" in parts:
        return "left"
    return None
