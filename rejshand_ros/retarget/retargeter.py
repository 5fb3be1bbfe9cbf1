"""HandPrediction -> robot joint positions, with dex-retargeting's optimisers.

Pipeline per frame:
    camera-frame keypoints (21, 3)
      -> checks (shape, finite, a palm that defines a wrist frame)
      -> wrist-relative keypoints in the MANO wrist frame (``frames.to_wrist_frame``);
         a hand of the other side than the robot is mirrored (the robot copies its
         mirror image)
      -> dex-retargeting reference (vectors between keypoint pairs, or positions) from
         the config's ``target_link_human_indices``
      -> ``SeqRetargeting.retarget`` (nlopt SLSQP, warm-started from the previous
         solution; optional low-pass filter)
      -> clipped to the URDF joint limits, in ``joint_names`` order.
Anything suspicious (NaN, wrong shape, collapsed palm, optimiser failure, non-finite
result) returns None with a (rate-limited) warning and is counted in ``stats``: a caller
never gets a stale or garbage command.

Position retargeting: the reference positions are the wrist-frame keypoints multiplied
by ``scaling_factor`` (dex-retargeting applies that factor to vectors only; the shipped
position configs of commercial hands keep the default 1.0, i.e. dex-retargeting's
behaviour). Joints of a dummy free base (``add_dummy_free_joint``) are solved for but
not reported.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from rejshand_ros.perception.hand_prediction import Handedness, HandPrediction
from rejshand_ros.retarget.config import RobotConfig
from rejshand_ros.retarget.wrist_frame import DegenerateHandError, mirror, to_wrist_frame

_DUMMY_PREFIX = "dummy_"


@dataclass
class RetargetStats:
    """Counters since construction. Times in seconds."""

    frames: int = 0  # retarget() calls
    solved: int = 0  # joint positions returned
    rejected: int = 0  # input refused (NaN, partial, degenerate)
    failures: int = 0  # optimiser errors or non-finite results
    resets: int = 0
    last_solve_time: float = float("nan")  # optimiser time of the last solved frame


class _ThrottledWarnings:
    """Log the first warning, then at most one per ``period`` s with a count of the rest."""

    def __init__(self, logger, period: float = 1.0) -> None:
        self.logger = logger
        self.period = period
        self.last = -float("inf")
        self.suppressed = 0

    def __call__(self, message: str) -> None:
        now = time.monotonic()
        if now - self.last < self.period:
            self.suppressed += 1
            return
        if self.suppressed:
            message += f" ({self.suppressed} similar warnings suppressed)"
        self.logger.warning(message)
        self.last = now
        self.suppressed = 0


class Retargeter:
    """Retargets one tracked human hand to one robot hand.

    Args:
        config: the robot's :class:`RobotConfig`.
        logger: anything with ``.warning(str)`` (a ``logging.Logger``, an rclpy logger);
            default: this module's logger.
        max_evaluations: cap on objective evaluations per frame (nlopt ``maxeval``; a
            frame normally needs 3-80), so a pathological frame cannot stall the caller.
    Attributes:
        joint_names: the robot's joints in output order (pinocchio's order of the URDF,
            which dex-retargeting reports as ``joint_names``; dummy free joints left out).
        joint_limits: (J, 2) lower, upper limits from the URDF, same order.
        side: the robot hand's side.
    """

    def __init__(self, config: RobotConfig, logger=None, max_evaluations: int = 400) -> None:
        self.config = config
        self.side = config.side
        self._warn = _ThrottledWarnings(logger or logging.getLogger(__name__))
        self._seq = config.to_dex().build()
        optimizer = self._seq.optimizer
        optimizer.opt.set_maxeval(int(max_evaluations))
        self._indices = np.asarray(optimizer.target_link_human_indices, dtype=np.int64)
        if self._indices.size == 0 or self._indices.min() < 0 or self._indices.max() > 20:
            raise ValueError(f"{config.name}: target_link_human_indices must be in 0..20")
        names = list(self._seq.joint_names)
        self._keep = np.array([not n.startswith(_DUMMY_PREFIX) for n in names])
        self.joint_names: list[str] = [n for n, k in zip(names, self._keep) if k]
        limits = np.asarray(optimizer.robot.joint_limits, dtype=np.float64)
        self._all_limits = limits
        self.joint_limits: np.ndarray = limits[self._keep]
        self.stats = RetargetStats()

    @property
    def retargeting_type(self) -> str:
        return self.config.type

    @property
    def seq_retargeting(self):
        """The underlying ``dex_retargeting.seq_retarget.SeqRetargeting`` (read-only use)."""
        return self._seq

    def reset(self) -> None:
        """Forget the tracked hand: next solve starts from mid-range, filter restarts."""
        self._seq.reset()
        if self._seq.filter is not None:
            self._seq.filter.reset()
        projected = getattr(self._seq.optimizer, "projected", None)
        if projected is not None:  # DexPilot's pinch-projection state
            projected[:] = False
        self.stats.resets += 1

    def set_low_pass_alpha(self, alpha: float | None) -> None:
        """Change the low-pass weight of the newest solution (1: no smoothing, smaller:
        smoother; None: the robot config's ``low_pass_alpha``), e.g. while a teleoperator
        works. The filter keeps its state, so the output does not jump.

        Raises:
            ValueError: ``alpha`` outside [0, 1].
        """
        from dex_retargeting.optimizer_utils import LPFilter

        value = self.config.low_pass_alpha if alpha is None else float(alpha)
        if value is not None and not 0.0 <= value <= 1.0:
            raise ValueError(f"low_pass_alpha must be in [0, 1], got {alpha}")
        if value is None:
            self._seq.filter = None
        elif self._seq.filter is None:
            self._seq.filter = LPFilter(value)
        else:
            self._seq.filter.alpha = value

    @property
    def low_pass_alpha(self) -> float | None:
        """The low-pass weight in use (None: no filter)."""
        return None if self._seq.filter is None else float(self._seq.filter.alpha)

    def reference(self, keypoints_wrist: np.ndarray) -> np.ndarray:
        """The optimiser's reference from (21, 3) wrist-frame keypoints (metres, human size).

        Vectors (N, 3) task - origin for vector/DexPilot, positions (N, 3) x scaling for
        position retargeting.
        """
        if self.config.type == "position":
            return keypoints_wrist[self._indices.reshape(-1)] * self.config.scaling_factor
        origin, task = self._indices[0], self._indices[1]
        return keypoints_wrist[task] - keypoints_wrist[origin]

    def retarget(self, prediction: HandPrediction) -> np.ndarray | None:
        """Joint positions (J,) for one predicted hand, or None (see module docstring)."""
        return self.retarget_keypoints(prediction.joints, prediction.handedness)

    def retarget_keypoints(self, keypoints: np.ndarray,
                           handedness: Handedness | str = Handedness.UNKNOWN
                           ) -> np.ndarray | None:
        """Joint positions (J,) in ``joint_names`` order for (21, 3) keypoints, or None.

        Args:
            keypoints: (21, 3) metres, any frame (camera optical frame usually), absolute
                or root-relative, FreiHAND / MediaPipe order.
            handedness: the human hand's side; UNKNOWN means "the robot's side". A hand
                of the other side is mirrored onto the robot.
        """
        self.stats.frames += 1
        side = Handedness(handedness)
        side = self.side if side is Handedness.UNKNOWN else side
        try:
            wrist = to_wrist_frame(keypoints, side)
        except DegenerateHandError as exc:
            self.stats.rejected += 1
            self._warn(f"retargeting: hand keypoints rejected: {exc}")
            return None
        if side is not self.side:
            wrist = mirror(wrist)
        reference = self.reference(wrist)
        snapshot = self._snapshot()
        start = time.perf_counter()
        try:
            qpos = self._seq.retarget(reference)
        except Exception as exc:  # nlopt raises its own exception types
            return self._fail(f"optimiser error {type(exc).__name__}: {exc}", snapshot)
        elapsed = time.perf_counter() - start
        result = self._seq.optimizer.opt.last_optimize_result()
        if result < 0:
            return self._fail(f"optimiser failed (nlopt result {result})", snapshot)
        if not np.all(np.isfinite(qpos)):
            return self._fail("optimiser returned non-finite joint positions", snapshot)
        qpos = np.clip(qpos, self._all_limits[:, 0], self._all_limits[:, 1])
        self.stats.solved += 1
        self.stats.last_solve_time = elapsed
        return qpos[self._keep].astype(np.float64)

    def _snapshot(self) -> tuple:
        """Warm-start and filter state, restored when a frame fails."""
        lp = self._seq.filter
        return (self._seq.last_qpos.copy(),
                None if lp is None or lp.y is None else lp.y.copy(),
                None if lp is None else lp.is_init)

    def _fail(self, message: str, snapshot: tuple) -> None:
        self._seq.last_qpos, filter_y, filter_init = snapshot
        if self._seq.filter is not None:
            self._seq.filter.y, self._seq.filter.is_init = filter_y, filter_init
        self.stats.failures += 1
        self._warn(f"retargeting: {message}; no command for this frame")
        return None

