"""Which of the hands in an image the robot follows.

A :class:`HandSelector` sees every image's hands (possibly none) and keeps following
one hand: the first hand that passes the filters (handedness, track id, presence score)
is locked on by its track id; it is kept while it appears, tolerating up to
``max_missed`` images without it; after that the track is lost and the best matching
hand (if any) becomes the new one. A new track means the retargeter must be reset
(no warm start from another hand's pose).
"""

from __future__ import annotations

from dataclasses import dataclass

from rejshand_ros.perception.hand_prediction import Handedness, HandPrediction

FOLLOW_CHOICES = ("same", "left", "right", "any")


@dataclass
class SelectionPolicy:
    """Filters for the followed hand.

    follow: "same" (the robot hand's side), "left", "right", or "any" (hands of unknown
        handedness only match "any").
    track_id: follow only this track id; -1 for any.
    min_score: minimum presence probability, [0, 1].
    max_missed: images the tracked hand may be missing before the track is lost.
    """

    follow: str = "same"
    track_id: int = -1
    min_score: float = 0.5
    max_missed: int = 2

    def __post_init__(self) -> None:
        if self.follow not in FOLLOW_CHOICES:
            raise ValueError(f"follow must be one of {FOLLOW_CHOICES}, got {self.follow!r}")
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"min_score must be in [0, 1], got {self.min_score}")
        if self.max_missed < 0:
            raise ValueError(f"max_missed must be >= 0, got {self.max_missed}")


@dataclass
class Selection:
    """Result for one image: the hand to retarget (or None) and what happened to the track."""

    hand: HandPrediction | None
    new_track: bool = False  # a different hand than before: reset the retargeter
    lost: bool = False  # the tracked hand was lost in this image


class HandSelector:
    """Stateful choice of the followed hand (see module docstring)."""

    def __init__(self, policy: SelectionPolicy, robot_side: Handedness | str) -> None:
        self.policy = policy
        side = Handedness(robot_side)
        follow = policy.follow
        self._wanted = (None if follow == "any"
                        else side if follow == "same" else Handedness(follow))
        self.tracked_id: int | None = None
        self.missed = 0

    @property
    def tracking(self) -> bool:
        return self.tracked_id is not None

    def matches(self, hand: HandPrediction) -> bool:
        """True when ``hand`` passes the handedness, track-id and score filters."""
        if hand.presence < self.policy.min_score:
            return False
        if self._wanted is not None and hand.handedness is not self._wanted:
            return False
        return self.policy.track_id < 0 or hand.track_id == self.policy.track_id

    def clear(self) -> bool:
        """Drop the current track (e.g. no images for a while). True if one was dropped."""
        had = self.tracked_id is not None
        self.tracked_id = None
        self.missed = 0
        return had

    def select(self, hands: list[HandPrediction]) -> Selection:
        candidates = [hand for hand in hands if self.matches(hand)]
        lost = False
        if self.tracked_id is not None:
            same = [hand for hand in candidates if hand.track_id == self.tracked_id]
            if same:
                self.missed = 0
                return Selection(max(same, key=_rank))
            self.missed += 1
            if self.missed <= self.policy.max_missed:
                return Selection(None)
            lost = self.clear()
        if not candidates:
            return Selection(None, lost=lost)
        best = max(candidates, key=_rank)
        self.tracked_id = best.track_id
        self.missed = 0
        return Selection(best, new_track=True, lost=lost)


def _rank(hand: HandPrediction) -> float:
    return float(hand.presence)
