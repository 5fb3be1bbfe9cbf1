"""Hand shape: a handful of anthropometric parameters and the bone lengths they imply.

All lengths are metres, in the canonical right-hand frame of ``kinematics.py``
(wrist at the origin, +y towards the middle-finger MCP, +x towards the thumb,
+z out of the palm).

Proportions follow adult textbook anthropometry (rejshand-facts.md section 8):
hand length 17-20 cm, breadth 8-9 cm, proximal : middle : distal phalanx about
1 : 0.6 : 0.45 (the distal segment here runs to the fingertip surface, so it also
holds the fingertip pad), the pinky about 20 % shorter than the middle finger, and the
thumb CMC well proximal and palmar of the index MCP. The default hand's middle
proximal phalanx (FreiHAND's "scale", |joint 9 - joint 10|) is about 2.94 cm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Tuple

import numpy as np

#: middle-finger proximal phalanx as a fraction of the hand length
PROXIMAL_FRACTION: float = 0.168
#: proximal : middle : distal segment of the long fingers (distal includes the pad)
PHALANX_RATIOS: Tuple[float, float, float] = (1.0, 0.65, 0.60)
#: total length of each long finger relative to the middle finger (index..pinky)
FINGER_RELATIVE_LENGTHS: Tuple[float, float, float, float] = (0.91, 1.0, 0.95, 0.80)
#: thumb metacarpal, proximal and distal (to the tip) segments / hand length
THUMB_SEGMENT_FRACTIONS: Tuple[float, float, float] = (0.26, 0.18, 0.155)
#: wrist -> middle MCP distance / hand length (the middle finger makes up the rest)
PALM_FRACTION: float = 1.0 - PROXIMAL_FRACTION * sum(PHALANX_RATIOS)
#: MCP positions of index..pinky: (x / palm_width, y / palm_length)
MCP_LAYOUT: Tuple[Tuple[float, float], ...] = (
    (0.265, 0.965), (0.0, 1.0), (-0.235, 0.965), (-0.45, 0.895),
)
#: thumb CMC position: (x / palm_width, y / palm_length, z / palm_width)
THUMB_CMC_LAYOUT: Tuple[float, float, float] = (0.20, 0.28, 0.10)
#: finger widths at the proximal phalanx relative to ``finger_width`` (thumb..pinky)
FINGER_WIDTH_RATIOS: Tuple[float, ...] = (1.2, 0.95, 1.0, 0.93, 0.82)

_DEFAULT_FACTORS: Tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class HandShape:
    """Shape parameters of the procedural hand (hashable, so usable as a cache key).

    Attributes:
        hand_length: wrist to middle fingertip of the flat hand with unit length
            factors, metres (adults 0.17-0.20).
        palm_width: breadth across the MCP knuckles, metres (adults 0.075-0.095).
        finger_length_factors: per-finger length multipliers, thumb..pinky (5,).
        finger_width: width of the middle finger's proximal phalanx, metres; the other
            fingers scale with FINGER_WIDTH_RATIOS.
    """

    hand_length: float = 0.175
    palm_width: float = 0.084
    finger_length_factors: Tuple[float, ...] = field(default=_DEFAULT_FACTORS)
    finger_width: float = 0.0185

    def __post_init__(self) -> None:
        factors = tuple(float(f) for f in np.asarray(self.finger_length_factors).ravel())
        object.__setattr__(self, "finger_length_factors", factors)
        object.__setattr__(self, "hand_length", float(self.hand_length))
        object.__setattr__(self, "palm_width", float(self.palm_width))
        object.__setattr__(self, "finger_width", float(self.finger_width))
        if len(factors) != 5:
            raise ValueError(f"finger_length_factors needs 5 values, got {len(factors)}")
        if not all(0.7 <= f <= 1.3 for f in factors):
            raise ValueError(f"finger_length_factors must lie in [0.7, 1.3], got {factors}")
        if not 0.10 <= self.hand_length <= 0.30:
            raise ValueError(f"hand_length {self.hand_length} m outside [0.10, 0.30]")
        if not 0.35 <= self.palm_width / self.hand_length <= 0.60:
            raise ValueError("palm_width / hand_length must lie in [0.35, 0.60]")
        if not 0.15 <= self.finger_width / self.palm_width <= 0.30:
            raise ValueError("finger_width / palm_width must lie in [0.15, 0.30]")

    @property
    def palm_length(self) -> float:
        """Wrist to middle MCP, metres."""
        return PALM_FRACTION * self.hand_length

    @property
    def palm_thickness(self) -> float:
        """Dorsal-palmar thickness of the mid palm, metres."""
        return 0.31 * self.palm_width

    @property
    def wrist_width(self) -> float:
        """Radial-ulnar width of the wrist section, metres."""
        return 0.70 * self.palm_width

    @property
    def wrist_thickness(self) -> float:
        """Dorsal-palmar thickness of the wrist section, metres."""
        return 0.42 * self.palm_width

    def segment_lengths(self) -> np.ndarray:
        """Bone lengths (5, 3), metres: per finger (thumb..pinky) the three segments.

        Thumb: CMC->MCP, MCP->IP, IP->tip; long fingers: MCP->PIP, PIP->DIP, DIP->tip.
        """
        out = np.zeros((5, 3))
        out[0] = np.asarray(THUMB_SEGMENT_FRACTIONS) * self.hand_length
        middle_total = PROXIMAL_FRACTION * self.hand_length * np.asarray(PHALANX_RATIOS)
        for f in range(4):
            out[f + 1] = middle_total * FINGER_RELATIVE_LENGTHS[f]
        return out * np.asarray(self.finger_length_factors)[:, None]

    def chain_bases(self) -> np.ndarray:
        """Rest positions (5, 3), metres, of thumb CMC and index..pinky MCPs."""
        w, p = self.palm_width, self.palm_length
        out = np.zeros((5, 3))
        cx, cy, cz = THUMB_CMC_LAYOUT
        out[0] = (cx * w, cy * p, cz * w)
        for f, (fx, fy) in enumerate(MCP_LAYOUT):
            out[f + 1] = (fx * w, fy * p, 0.0)
        return out

    def finger_widths(self) -> np.ndarray:
        """Radial-ulnar width (5,), metres, of each finger's proximal phalanx."""
        return np.asarray(FINGER_WIDTH_RATIOS) * self.finger_width

def sample_shape(rng: np.random.Generator, spread: float = 1.0) -> HandShape:
    """Draw a plausible adult hand shape.

    Args:
        rng: numpy random generator (same seed -> same shape).
        spread: multiplier on the standard deviations (0 gives the default shape).
    Returns:
        HandShape with hand length in [0.17, 0.20] m.
    """
    s = float(spread)
    length = float(np.clip(0.182 + s * 0.008 * rng.standard_normal(), 0.17, 0.20))
    width = length * float(np.clip(0.462 + s * 0.02 * rng.standard_normal(), 0.41, 0.52))
    factors = np.clip(1.0 + s * 0.03 * rng.standard_normal(5), 0.9, 1.1)
    finger_width = width * float(np.clip(0.22 + s * 0.012 * rng.standard_normal(), 0.19, 0.25))
    return HandShape(
        hand_length=length,
        palm_width=width,
        finger_length_factors=tuple(float(f) for f in factors),
        finger_width=finger_width,
    )
