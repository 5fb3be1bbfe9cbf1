"""When and what the robot hand is commanded: the safety logic of teleoperation, ROS-free.

A :class:`CommandController` sits between the retargeter (a wanted joint configuration
per camera frame) and the robot. The ROS node feeds it events and asks it, per frame,
whether and what to send:

    engage(on, now)           the operator's engage switch (service)
    heartbeat(alive, now)     a dead-man switch message (when one is configured)
    measured(positions, now)  the robot's measured joint positions (driver's joint states)
    input_received(now)       any hand_poses message (even one without hands)
    ready(now, input_age)     None if a frame may be retargeted now, else the reason not
    step(now, target, input_age) -> Command | None

Rules (every one is a unit test here and a DDS test in test/test_retarget_safety.py):

- **Hold**: no command while disengaged, while the heartbeat is dead, when the followed
  hand is lost, when perception stalls (no input for ``hand_timeout``) or when the input
  is older than ``max_input_age``. Holding means sending nothing: a position or
  trajectory controller keeps its last target, so the robot stays where it was sent.
- **Ramp**: the first command after start-up and after every hold (engage, re-acquired
  hand, heartbeat back, fresh input again) moves from the robot's *measured* state when
  a measured-state source is configured (no command until a measurement younger than
  ``measured_state_timeout`` is there), else from the last command sent, else (nothing
  sent yet) from the home pose. Every command moves each joint at most
  ``max_joint_velocity * dt`` from that reference, dt = min(time since the previous
  command, ``time_from_start``) while streaming and ``time_from_start`` for the first one.
- **Soft limits**: targets are clipped into the robot config's soft joint limits first.
- **Rate**: frames closer than 0.95 / ``max_rate`` to the last processed one are dropped
  (not a hold: the stream continues).

Times are seconds on one monotonic clock chosen by the caller; positions are (J,) rad (m
for prismatic joints) in the retargeter's joint order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

#: reasons for not commanding (diagnostics keys and log text)
DISENGAGED = "disengaged"
NO_HEARTBEAT = "no heartbeat"
NO_HAND = "no hand"
STALLED = "perception stalled"
STALE_INPUT = "input too old"
NO_MEASURED_STATE = "no measured state"
RATE = "rate limit"
NO_SOLUTION = "no solution"


@dataclass
class ControllerConfig:
    """The controller's limits (s, Hz, rad/s).

    max_rate: most frames processed per second; 0 = no limit.
    max_joint_velocity: rad/s per joint; 0 = no limit (not for a real robot).
    time_from_start: s the robot is given to reach a command (the trajectory point's
        time_from_start); the velocity limit's time step is at most this.
    hand_timeout: s without any input after which perception counts as stalled.
    max_input_age: s; input whose image is older than this is not followed; 0 = off.
    heartbeat_timeout: s; > 0 requires a heartbeat: engaged only while the last one
        arrived within this time (a dead-man switch); 0 = no heartbeat needed.
    use_measured_state: ramps start from the robot's measured state (and wait for one).
    measured_state_timeout: s; an older measurement does not count.
    """

    max_rate: float = 60.0
    max_joint_velocity: float = 4.0
    time_from_start: float = 0.1
    hand_timeout: float = 0.5
    max_input_age: float = 0.5
    heartbeat_timeout: float = 0.0
    use_measured_state: bool = False
    measured_state_timeout: float = 0.5

    def __post_init__(self) -> None:
        for name in ("max_rate", "max_joint_velocity", "max_input_age", "heartbeat_timeout"):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("time_from_start", "hand_timeout", "measured_state_timeout"):
            if not getattr(self, name) > 0.0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class Command:
    """One command: positions (J,) and how it was made.

    ramp_from: "measured", "last" or "home" for the first command after a hold (the
        reference it moved from), "" while streaming.
    limited: the velocity limit shortened the move.
    """

    positions: np.ndarray
    ramp_from: str = ""
    limited: bool = False


class CommandController:
    """See the module docstring.

    Args:
        config: the limits.
        lower, upper: (J,) soft joint limits (targets are clipped into them).
        home: (J,) the assumed robot pose before the first command when no measured
            state is used (default: 0 clipped into the limits).
    """

    def __init__(self, config: ControllerConfig, lower: np.ndarray, upper: np.ndarray,
                 home: np.ndarray | None = None) -> None:
        self.config = config
        self.lower = np.asarray(lower, dtype=np.float64).copy()
        self.upper = np.asarray(upper, dtype=np.float64).copy()
        if self.lower.shape != self.upper.shape or self.lower.ndim != 1:
            raise ValueError("lower and upper must be (J,) arrays of one shape")
        if not (self.lower <= self.upper).all():
            raise ValueError(f"soft limits with lower > upper: {self.lower}, {self.upper}")
        self.home = np.clip(np.zeros_like(self.lower) if home is None
                            else np.asarray(home, dtype=np.float64), self.lower, self.upper)
        self.engaged = False
        self.last_command: np.ndarray | None = None
        self.last_command_time = -np.inf
        self.last_processed = -np.inf
        self.last_input_time = -np.inf
        self.last_heartbeat = -np.inf
        self.measured_positions: np.ndarray | None = None
        self.measured_time = -np.inf
        self.streaming = False  # the previous frame was commanded (no hold since)
        self.hold_reason: str = DISENGAGED
        self.holds: Counter[str] = Counter()  # frames not commanded, by reason
        self.commands = 0
        self.limited = 0
        self.ramps: Counter[str] = Counter()  # ramp starts, by reference

    @property
    def num_joints(self) -> int:
        return int(self.lower.size)

    def set_config(self, config: ControllerConfig) -> None:
        """New limits (run-time tuning); the state is kept."""
        self.config = config

    # -- events ------------------------------------------------------------------------
    def engage(self, on: bool, now: float) -> None:
        """The engage switch. Engaging starts a ramp (the stream restarts)."""
        if not on:
            self.hold(DISENGAGED)
        self.engaged = bool(on)

    def heartbeat(self, alive: bool, now: float) -> None:
        """A heartbeat message: ``alive`` False (switch released) stops at once."""
        if alive:
            self.last_heartbeat = now
        else:
            self.last_heartbeat = -np.inf
            self.hold(NO_HEARTBEAT)

    def measured(self, positions: np.ndarray, now: float) -> None:
        """The robot's measured joint positions (J,), in this controller's joint order."""
        positions = np.asarray(positions, dtype=np.float64)
        if positions.shape != self.lower.shape or not np.isfinite(positions).all():
            raise ValueError(f"measured state must be {self.num_joints} finite values, "
                             f"got {positions}")
        self.measured_positions, self.measured_time = positions.copy(), now

    def input_received(self, now: float) -> None:
        """Any input message arrived (perception is alive)."""
        self.last_input_time = now

    def hold(self, reason: str) -> None:
        """Send nothing for this frame; the next command is the first of a new ramp."""
        self.streaming = False
        self.hold_reason = reason
        self.holds[reason] += 1

    # -- queries -----------------------------------------------------------------------
    def heartbeat_alive(self, now: float) -> bool:
        timeout = self.config.heartbeat_timeout
        return timeout <= 0.0 or now - self.last_heartbeat <= timeout

    def measured_fresh(self, now: float) -> bool:
        return (self.measured_positions is not None
                and now - self.measured_time <= self.config.measured_state_timeout)

    def stalled(self, now: float) -> bool:
        """No input for longer than hand_timeout."""
        return now - self.last_input_time > self.config.hand_timeout

    def ready(self, now: float, input_age: float | None = 0.0) -> str | None:
        """None if a frame arriving now (its image ``input_age`` s old; None = unknown)
        may be retargeted and commanded, else the reason it may not (see the rules)."""
        cfg = self.config
        if not self.engaged:
            return DISENGAGED
        if not self.heartbeat_alive(now):
            return NO_HEARTBEAT
        if cfg.max_input_age > 0.0 and (input_age is None or input_age > cfg.max_input_age):
            return STALE_INPUT
        if cfg.use_measured_state and not self.streaming and not self.measured_fresh(now):
            return NO_MEASURED_STATE
        if cfg.max_rate > 0.0 and now - self.last_processed < 0.95 / cfg.max_rate:
            return RATE
        return None

    def tick(self, now: float) -> str | None:
        """Periodic check between frames: the reason the stream stopped, if it just did
        (perception stalled or the heartbeat died), else None."""
        if not self.streaming:
            return None
        if self.stalled(now):
            self.hold(STALLED)
            return STALLED
        if not self.heartbeat_alive(now):
            self.hold(NO_HEARTBEAT)
            return NO_HEARTBEAT
        return None

    def status(self, now: float) -> str:
        """"commanding" or why not (for diagnostics)."""
        if self.streaming and not self.stalled(now) and self.heartbeat_alive(now) \
                and self.engaged:
            return "commanding"
        if not self.engaged:
            return DISENGAGED
        if not self.heartbeat_alive(now):
            return NO_HEARTBEAT
        if self.stalled(now):
            return STALLED
        return self.hold_reason

    # -- the step ----------------------------------------------------------------------
    def step(self, now: float, target: np.ndarray | None,
             input_age: float | None = 0.0) -> Command | None:
        """The command for one frame, or None (then the robot holds).

        Args:
            now: the frame's arrival time (this controller's clock).
            target: (J,) the retargeted joint positions, or None when there is no hand
                to follow (lost, none matching) or the solver gave nothing.
            input_age: s between the image's capture and ``now`` (None: unknown).
        """
        reason = self.ready(now, input_age)
        if reason == RATE:
            self.holds[RATE] += 1  # dropped, the stream goes on
            return None
        if reason is not None:
            self.hold(reason)
            return None
        if target is None:
            self.hold(NO_HAND)
            return None
        target = np.asarray(target, dtype=np.float64)
        if target.shape != self.lower.shape or not np.isfinite(target).all():
            raise ValueError(f"target must be {self.num_joints} finite values, got {target}")
        cfg = self.config
        target = np.clip(target, self.lower, self.upper)
        if self.streaming and self.last_command is not None:
            reference, ramp_from = self.last_command, ""
            dt = min(now - self.last_command_time, cfg.time_from_start)
        else:
            if cfg.use_measured_state:
                reference, ramp_from = self.measured_positions, "measured"
            elif self.last_command is not None:
                reference, ramp_from = self.last_command, "last"
            else:
                reference, ramp_from = self.home, "home"
            dt = cfg.time_from_start
            self.ramps[ramp_from] += 1
        positions = limit_velocity(reference, target, cfg.max_joint_velocity, dt)
        limited = not np.allclose(positions, target, rtol=0.0, atol=1e-12)
        self.last_command, self.last_command_time = positions, now
        self.last_processed = now
        self.streaming = True
        self.commands += 1
        self.limited += int(limited)
        return Command(positions.copy(), ramp_from, limited)


def limit_velocity(previous: np.ndarray | None, target: np.ndarray,
                   max_velocity: float | np.ndarray, dt: float) -> np.ndarray:
    """Move from ``previous`` towards ``target`` by at most ``max_velocity * dt`` per joint.

    Args:
        previous: (J,) the reference (last command or measured state), or None (no
            limit: returns target).
        target: (J,) wanted positions.
        max_velocity: rad/s, scalar or (J,); values <= 0 mean no limit.
        dt: seconds available for the move (>= 0).
    """
    target = np.asarray(target, dtype=np.float64)
    if previous is None:
        return target.copy()
    previous = np.asarray(previous, dtype=np.float64)
    vmax = np.broadcast_to(np.asarray(max_velocity, dtype=np.float64), target.shape)
    step = np.where(vmax > 0, vmax * max(float(dt), 0.0), np.inf)
    return previous + np.clip(target - previous, -step, step)
