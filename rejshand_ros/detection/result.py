"""What every hand detector returns per hand: :class:`Detection` (no model code here)."""

from __future__ import annotations

from dataclasses import dataclass

from rejshand_ros.perception.hand_prediction import Handedness


@dataclass(frozen=True)
class Detection:
    """One detected hand in full-image pixels (pixel centres at integers).

    center: (u, v) box centre, px. size: side of the square box, px, measured in the
    box's own (rotated) frame. score: detection probability in [0, 1]. handedness: LEFT,
    RIGHT or UNKNOWN (a detector that cannot tell), with ``handedness_score`` its
    probability (0 for UNKNOWN). rotation_rad: the crop roll that makes the hand upright
    (``geometry.crop.upright_rotation_rad``: wrist -> middle-finger MCP pointing up in
    the crop); 0.0 for detectors that give no orientation.
    """

    center: tuple[float, float]
    size: float
    score: float
    handedness: Handedness
    handedness_score: float
    rotation_rad: float = 0.0

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x, y, width, height) of the square box, px, ignoring its rotation (may extend
        past the image)."""
        half = self.size / 2.0
        return (self.center[0] - half, self.center[1] - half, self.size, self.size)
