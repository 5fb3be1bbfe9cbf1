"""One-Euro filter (Casiez, Roussel, Vogel, CHI 2012) over arrays of coordinates.

A low-pass filter whose cut-off rises with the signal's speed: little jitter when the
hand is still, little lag when it moves. Vectorised: one filter smooths every coordinate
of an array (e.g. 21x3 joints and 778x3 vertices) with per-element cut-offs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuroParams:
    """min_cutoff (Hz): smoothing at rest; beta (s/unit): speed coefficient;
    d_cutoff (Hz): cut-off of the speed estimate."""

    min_cutoff: float = 1.0
    beta: float = 0.05
    d_cutoff: float = 1.0

    def __post_init__(self) -> None:
        if self.min_cutoff <= 0 or self.d_cutoff <= 0 or self.beta < 0:
            raise ValueError(f"One-Euro parameters out of range: {self}")


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * np.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Smooths successive samples of a fixed-shape array, given their times in seconds."""

    def __init__(self, params: OneEuroParams = OneEuroParams()) -> None:
        self.params = params
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time: float | None = None

    def reset(self) -> None:
        self._value = self._speed = self._time = None

    def __call__(self, value: np.ndarray, time_s: float) -> np.ndarray:
        value = np.asarray(value, dtype=np.float64)
        restart = (self._value is None or self._value.shape != value.shape
                   or not np.isfinite(value).all())
        dt = None if self._time is None else time_s - self._time
        if restart or dt is None or dt <= 0.0 or dt > 1.0:
            # First sample, new shape, time going backwards or a long gap: start over
            # rather than blend with a stale state.
            self._value, self._speed, self._time = value.copy(), np.zeros_like(value), time_s
            return value.copy()
        speed = (value - self._value) / dt
        a_d = _alpha(self.params.d_cutoff, dt)
        self._speed = a_d * speed + (1.0 - a_d) * self._speed
        cutoff = self.params.min_cutoff + self.params.beta * np.abs(self._speed)
        a = _alpha(cutoff, dt)
        self._value = a * value + (1.0 - a) * self._value
        self._time = time_s
        return self._value.copy()
