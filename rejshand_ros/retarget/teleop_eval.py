"""How far a robot hand driven by predicted hands lands from where it should: the metric
of ``test/test_predictions_to_robot.py``, and an offline run of the same loop.

Protocol (one robot hand per side, both following ``same`` handedness as shipped):
- **scenes**: independent synthetic scenes, one hand each (random pose, side, view);
  each is shown ``repeats`` times in a row (a hand held still for that long);
- **where the robot should land** for a scene: retargeting the *true* keypoints held still
  (``Teleoperation.settled_target``: warm starts converged, clipped into the soft
  limits), on the robot of the true hand's side;
- **where it lands**: the last command that robot received by the end of the scene (it
  holds there; its home pose if it never received one);
- **baseline**: a constant hand, the mean of the scenes' true hands in the MANO wrist
  frame (left hands mirrored onto the right), retargeted the same way: the robot that
  ignores the camera but knows the average pose;
- **robot joint error**: median over scenes and joints of |landed - should| (degrees);
  the ratio to the baseline's is the figure of merit (1x = no better than the constant);
- **handedness accuracy**: over frames where the perception output a hand, the fraction
  whose hand nearest to the truth (mean 2D keypoint distance) has the true handedness.
ROS-free (the DDS test feeds it the recorded commands).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rejshand_ros.perception.hand_prediction import Handedness, HandPrediction
from rejshand_ros.retarget.wrist_frame import mirror, to_wrist_frame


def mean_hand(truths: list[HandPrediction]) -> np.ndarray:
    """(21, 3) mean of the true hands in the MANO wrist frame of a right hand, metres
    (left hands mirrored onto the right)."""
    poses = []
    for hand in truths:
        wrist = to_wrist_frame(hand.joints, hand.handedness)
        poses.append(mirror(wrist) if hand.handedness is Handedness.LEFT else wrist)
    return np.mean(poses, axis=0)


def hand_for_side(mean_right: np.ndarray, side: Handedness) -> np.ndarray:
    """The constant hand as a ``side`` hand (wrist-frame keypoints)."""
    return mirror(mean_right) if Handedness(side) is Handedness.LEFT else mean_right


def nearest_hand(hands: list[HandPrediction], truth: HandPrediction) -> HandPrediction | None:
    """The predicted hand whose 2D keypoints are nearest (mean distance) the truth's."""
    if not hands:
        return None
    return min(hands, key=lambda h: float(np.linalg.norm(h.uv - truth.uv, axis=1).mean()))


@dataclass
class TeleopScore:
    """Per-scene errors (rad, (S, J)) and frame counts; the summary figures are properties."""

    errors: list[np.ndarray] = field(default_factory=list)
    baseline_errors: list[np.ndarray] = field(default_factory=list)
    frames: int = 0
    frames_with_hand: int = 0
    handedness_correct: int = 0
    commanded_scenes: int = 0

    def add_scene(self, landed: np.ndarray, should: np.ndarray, baseline: np.ndarray,
                  commanded: bool) -> None:
        self.errors.append(np.abs(np.asarray(landed) - should))
        self.baseline_errors.append(np.abs(np.asarray(baseline) - should))
        self.commanded_scenes += int(commanded)

    def add_frame(self, hands: list[HandPrediction], truth: HandPrediction) -> None:
        self.frames += 1
        hand = nearest_hand(hands, truth)
        if hand is not None:
            self.frames_with_hand += 1
            self.handedness_correct += int(hand.handedness is truth.handedness)

    @property
    def scenes(self) -> int:
        return len(self.errors)

    @property
    def robot_error_deg(self) -> float:
        return float(np.degrees(np.median(np.concatenate(self.errors))))

    @property
    def baseline_error_deg(self) -> float:
        return float(np.degrees(np.median(np.concatenate(self.baseline_errors))))

    @property
    def ratio(self) -> float:
        return self.robot_error_deg / self.baseline_error_deg

    @property
    def handedness_accuracy(self) -> float:
        return self.handedness_correct / max(self.frames_with_hand, 1)

    def summary(self) -> str:
        return (f"robot joint error median {self.robot_error_deg:.1f} deg = {self.ratio:.2f}x "
                f"the constant mean hand ({self.baseline_error_deg:.1f} deg) over "
                f"{self.scenes} scenes ({self.commanded_scenes} commanded); handedness "
                f"{100 * self.handedness_accuracy:.1f} % of {self.frames_with_hand} frames "
                f"with a hand ({self.frames} frames)")


def references(teleops: dict, truths: list[HandPrediction]
               ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(should, baseline) joint positions per scene, on the robot of the true side.

    ``teleops``: Handedness -> Teleoperation (one robot per side, shipped config).
    """
    mean_right = mean_hand(truths)
    constant = {side: tele.settled_target(hand_for_side(mean_right, side), side)
                for side, tele in teleops.items()}
    should = []
    for truth in truths:
        q = teleops[truth.handedness].settled_target(truth.joints, truth.handedness)
        if q is None:
            raise ValueError("a true hand could not be retargeted")
        should.append(q)
    return should, [constant[t.handedness] for t in truths]


def synthetic_scenes(seed: int, count: int, width: int = 640, height: int = 480
                     ) -> list[tuple[np.ndarray, np.ndarray, HandPrediction]]:
    """``count`` independent easy one-hand scenes: (image, K, true hand)."""
    from rejshand_ros.sources.synthetic import SyntheticSource

    source = SyntheticSource(seed=seed, width=width, height=height, num_frames=count,
                             motion="random", num_hands=1)
    scenes = []
    for index in range(count):
        image, K, truth = source.render(index)
        scenes.append((image, K, truth[0]))
    return scenes
