"""One camera frame's hands in, one robot command (or nothing) out: hand selection,
retargeting and the safety controller together, ROS-free.

``retarget_node`` calls :meth:`Teleoperation.frame` for every HandPoseArray and
:meth:`Teleoperation.tick` from a timer; the offline evaluation
(``rejshand_ros.retarget.teleop_eval``) calls the same methods with simulated times, so
both run exactly this logic.
"""

from __future__ import annotations

import numpy as np

from rejshand_ros.perception.hand_prediction import HandPrediction
from rejshand_ros.retarget.config import RobotConfig
from rejshand_ros.retarget.controller import (NO_SOLUTION, STALLED, Command, CommandController,
                                              ControllerConfig)
from rejshand_ros.retarget.retargeter import Retargeter
from rejshand_ros.retarget.selection import HandSelector, SelectionPolicy


class Teleoperation:
    """A robot hand following one human hand.

    Args:
        robot: the robot's config (soft limits from it).
        controller: the safety limits.
        policy: which hand to follow.
        low_pass_alpha: None: the config's filter weight; else [0, 1] (1 = off).
        logger: for the retargeter's warnings.
    Attributes:
        retargeter, selector, controller; joint_names (J,) in command order.
    """

    def __init__(self, robot: RobotConfig, controller: ControllerConfig,
                 policy: SelectionPolicy, low_pass_alpha: float | None = None,
                 logger=None) -> None:
        self.robot = robot
        self.retargeter = Retargeter(robot, logger=logger)
        self.retargeter.set_low_pass_alpha(low_pass_alpha)
        self.joint_names: list[str] = list(self.retargeter.joint_names)
        lower, upper = robot.soft_limits(self.joint_names, self.retargeter.joint_limits)
        self.controller = CommandController(controller, lower, upper)
        self.selector = HandSelector(policy, robot.side)
        self.solve_time = float("nan")  # s, retargeting time of the last commanded frame

    def frame(self, now: float, hands: list[HandPrediction],
              input_age: float | None) -> Command | None:
        """The command for one image's hands (``now`` on the controller's clock, the
        image ``input_age`` s old, None if unknown), or None: the robot holds."""
        import time

        ctl = self.controller
        ctl.input_received(now)
        selection = self.selector.select(hands)
        if selection.new_track or selection.lost:
            self.retargeter.reset()
        if selection.hand is None or ctl.ready(now, input_age) is not None:
            ctl.step(now, None, input_age)  # records why nothing is sent
            return None
        if not ctl.streaming:
            self.retargeter.reset()  # a new ramp: no filter state from before the hold
        start = time.perf_counter()
        target = self.retargeter.retarget(selection.hand)
        if target is None:  # rejected or failed: logged and counted by the retargeter
            ctl.hold(NO_SOLUTION)
            return None
        command = ctl.step(now, target, input_age)
        self.solve_time = time.perf_counter() - start
        return command

    def tick(self, now: float) -> str | None:
        """Between frames: the reason the stream just stopped (perception stalled, dead
        heartbeat) or None; a stall also forgets the tracked hand."""
        reason = self.controller.tick(now)
        if reason == STALLED:
            self.selector.clear()
            self.retargeter.reset()
        return reason

    def settled_target(self, keypoints: np.ndarray, handedness, frames: int = 12
                       ) -> np.ndarray | None:
        """Where retargeting ``keypoints`` held still for ``frames`` frames converges
        (warm starts, filter), clipped into the soft limits; resets the retargeter."""
        self.retargeter.reset()
        q = None
        for _ in range(frames):
            q = self.retargeter.retarget_keypoints(keypoints, handedness)
            if q is None:
                return None
        self.retargeter.reset()
        return np.clip(q, self.controller.lower, self.controller.upper)
