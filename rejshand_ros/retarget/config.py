"""Robot-hand retargeting configurations: dex-retargeting YAML plus where the URDF lives.

A config file is dex-retargeting's format (a top-level ``retargeting:`` mapping, read by
``dex_retargeting.retargeting_config.RetargetingConfig``) with one optional addition,
a ``robot:`` mapping naming the hand and its side::

    robot: {name: rejshand_hand, side: right}
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
(Allegro, LEAP, Shadow, Inspire, Ability) point at URDFs the user supplies, because
those URDFs are not under a licence this package can ship.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rejshand_ros.prediction import Handedness
from rejshand_ros.resources import config_path, share_dir

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
            computed for this side (see :mod:`rejshand_ros.retarget.frames`).
        retargeting: dex-retargeting's ``retargeting`` mapping; ``urdf_path`` absolute.
        source: the file it was loaded from (None when built in code).
    """

    name: str
    side: Handedness
    retargeting: dict[str, Any]
    source: Path | None = None

    def __post_init__(self) -> None:
        self.side = Handedness(self.side)
        if self.side is Handedness.UNKNOWN:
            raise RobotConfigError(f"{self._where()}: robot side must be 'left' or 'right'")
        kind = str(self.retargeting.get("type", "")).lower()
        if kind not in RETARGETING_TYPES:
            raise RobotConfigError(f"{self._where()}: retargeting type must be one of "
                                   f"{RETARGETING_TYPES}, got {self.retargeting.get('type')!r}")
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
    return RobotConfig(name=name, side=side, retargeting=retargeting, source=path)


def _side_from_name(stem: str) -> str | None:
    parts = stem.lower().split("_")
    if "right" in parts:
        return "right"
    if "left" in parts:
        return "left"
    return None
