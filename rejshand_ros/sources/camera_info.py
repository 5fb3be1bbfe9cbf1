"""Camera calibration in the ROS camera_info YAML format (camera_calibration_parsers).

The file written by ``camera_calibration`` / read by ``camera_info_manager``::

    image_width: 640
    image_height: 480
    camera_name: webcam
    camera_matrix: {rows: 3, cols: 3, data: [fx, 0, cx, 0, fy, cy, 0, 0, 1]}
    distortion_model: plumb_bob
    distortion_coefficients: {rows: 1, cols: 5, data: [k1, k2, p1, p2, k3]}
    rectification_matrix: {rows: 3, cols: 3, data: [1, 0, 0, 0, 1, 0, 0, 0, 1]}
    projection_matrix: {rows: 3, cols: 4, data: [fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1, 0]}

No ROS import: the node turns a :class:`CameraCalibration` into sensor_msgs/CameraInfo;
:meth:`CameraCalibration.camera_model` gives the ``geometry.camera.CameraModel`` the
predictor takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from rejshand_ros.geometry.camera import CameraModel

DISTORTION_MODELS = ("plumb_bob", "rational_polynomial", "equidistant", "")


class CalibrationError(ValueError):
    """A camera_info file is missing, unreadable or inconsistent (the message names it)."""


def _matrix(doc: dict, key: str, rows: int, cols: int | None, where: str) -> np.ndarray:
    entry = doc.get(key)
    if entry is None:
        raise CalibrationError(f"{where}: missing '{key}'")
    data = entry.get("data") if isinstance(entry, dict) else entry
    try:
        values = np.asarray(data, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"{where}: '{key}' is not a list of numbers") from exc
    expected = rows * cols if cols is not None else None
    if (expected is not None and values.size != expected) or not np.isfinite(values).all():
        raise CalibrationError(f"{where}: '{key}' must hold {expected or 'N'} finite numbers, "
                               f"got {values.size}")
    return values.reshape(rows, -1) if cols is not None else values


@dataclass(frozen=True)
class CameraCalibration:
    """Intrinsics of one camera at one image size.

    width, height: image size in pixels. K: (3, 3) pinhole matrix, pixels. D: distortion
    coefficients of ``distortion_model`` (may be empty). R: (3, 3) rectification.
    P: (3, 4) projection matrix.
    """

    width: int
    height: int
    K: np.ndarray
    D: np.ndarray = field(default_factory=lambda: np.zeros(0))
    distortion_model: str = "plumb_bob"
    R: np.ndarray = field(default_factory=lambda: np.eye(3))
    P: np.ndarray | None = None
    camera_name: str = ""

    def __post_init__(self) -> None:
        K = np.asarray(self.K, dtype=np.float64).reshape(3, 3)
        if not np.isfinite(K).all() or K[0, 0] <= 0 or K[1, 1] <= 0:
            raise CalibrationError(f"invalid camera matrix K={K.tolist()}")
        if self.width <= 0 or self.height <= 0:
            raise CalibrationError(f"invalid image size {self.width}x{self.height}")
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "D", np.asarray(self.D, dtype=np.float64).ravel())
        object.__setattr__(self, "R", np.asarray(self.R, dtype=np.float64).reshape(3, 3))
        P = np.hstack([K, np.zeros((3, 1))]) if self.P is None else self.P
        object.__setattr__(self, "P", np.asarray(P, dtype=np.float64).reshape(3, 4))

    @staticmethod
    def from_K(K: np.ndarray, width: int, height: int, camera_name: str = "") -> "CameraCalibration":
        """An ideal pinhole camera (no distortion) with intrinsics ``K``."""
        return CameraCalibration(int(width), int(height), K, np.zeros(5), "plumb_bob",
                                 camera_name=camera_name)

    @staticmethod
    def load(path: str | Path) -> "CameraCalibration":
        """Read a camera_info YAML file.

        Raises:
            CalibrationError: missing file, bad YAML, or missing / malformed entries.
        """
        path = Path(path).expanduser()
        where = f"camera_info file {path}"
        if not path.is_file():
            raise CalibrationError(f"{where} not found")
        try:
            doc = yaml.safe_load(path.read_text())
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise CalibrationError(f"{where}: cannot read it as YAML ({exc})") from exc
        if not isinstance(doc, dict):
            raise CalibrationError(f"{where}: not a camera_info mapping")
        try:
            width, height = int(doc["image_width"]), int(doc["image_height"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"{where}: image_width / image_height missing or not "
                                   "integers") from exc
        K = _matrix(doc, "camera_matrix", 3, 3, where)
        D = (_matrix(doc, "distortion_coefficients", 1, None, where)
             if "distortion_coefficients" in doc else np.zeros(0))
        R = _matrix(doc, "rectification_matrix", 3, 3, where) if "rectification_matrix" in doc \
            else np.eye(3)
        P = _matrix(doc, "projection_matrix", 3, 4, where) if "projection_matrix" in doc else None
        model = str(doc.get("distortion_model", "plumb_bob") or "")
        try:
            return CameraCalibration(width, height, K, D, model, R, P,
                                     str(doc.get("camera_name", "") or ""))
        except CalibrationError as exc:
            raise CalibrationError(f"{where}: {exc}") from exc

    def to_yaml(self) -> str:
        """The calibration as camera_info YAML text (readable by :meth:`load` and ROS)."""
        def block(matrix: np.ndarray) -> dict:
            rows = 1 if matrix.ndim == 1 else matrix.shape[0]
            cols = matrix.size // max(rows, 1)
            return {"rows": rows, "cols": cols, "data": [float(v) for v in matrix.ravel()]}

        doc = {"image_width": self.width, "image_height": self.height,
               "camera_name": self.camera_name, "camera_matrix": block(self.K),
               "distortion_model": self.distortion_model,
               "distortion_coefficients": block(self.D), "rectification_matrix": block(self.R),
               "projection_matrix": block(self.P)}
        return yaml.safe_dump(doc, sort_keys=False)

    def camera_model(self) -> CameraModel:
        """The camera model of this calibration (``CameraModel.from_camera_info``: a
        distortion model OpenCV cannot run with non-zero coefficients is a ValueError)."""
        return CameraModel.from_camera_info(self.K, self.D, self.distortion_model,
                                            self.width, self.height)

    def check_size(self, width: int, height: int, where: str = "") -> None:
        """Raise CalibrationError unless the calibration is for ``width`` x ``height``."""
        if (width, height) != (self.width, self.height):
            raise CalibrationError(
                f"{where or 'camera_info'} is for {self.width}x{self.height} images but the "
                f"frames are {width}x{height}")
