"""Compare two hand pipelines frame by frame against ground truth (pure numpy).

Each pipeline gives, per frame, its time (ms) and the 2D keypoints of the hands it
output ((21, 2) pixels each). A predicted hand *matches* a true hand when its mean
keypoint distance is at most ``MAX_MATCH_PX`` (greedy, closest pairs first, each hand
used once, as the live demo scores). A pipeline *tracks* a frame when at least one of its
hands matches a true hand. Per-frame cost is compared only on frames that both
pipelines track; the 2D error (mean keypoint distance of matched hands) is reported on
those common frames too; the detection rate is matched true hands / true hands over
all frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rejshand_ros.bench.common import ratio, summarize
from rejshand_ros.evaluation.live_scoring import MAX_MATCH_PX


@dataclass
class FrameRun:
    """One pipeline on one frame: time (ms) and per output hand its (21, 2) uv, pixels."""

    time_ms: float
    hands: list[np.ndarray] = field(default_factory=list)


def mean_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean Euclidean distance of corresponding keypoints, pixels."""
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64),
                                 axis=-1).mean())


def match_keypoints(predicted: list[np.ndarray], truth: list[np.ndarray],
                    max_px: float = MAX_MATCH_PX) -> list[tuple[int, int, float]]:
    """(predicted index, true index, mean distance px) pairs, closest first; each hand
    at most once; non-finite predictions never match."""
    pairs = sorted((mean_distance(p, t), i, j) for i, p in enumerate(predicted)
                   if np.isfinite(p).all() for j, t in enumerate(truth))
    used_p: set[int] = set()
    used_t: set[int] = set()
    matches = []
    for distance, i, j in pairs:
        if distance > max_px or i in used_p or j in used_t:
            continue
        used_p.add(i)
        used_t.add(j)
        matches.append((i, j, distance))
    return matches


@dataclass
class PipelineScore:
    """One pipeline over all frames: per frame the errors (px) of its matched hands."""

    errors: list[list[float]]
    true_hands: int

    @property
    def tracked(self) -> np.ndarray:
        """(N,) bool: frames with at least one matched hand."""
        return np.array([bool(e) for e in self.errors], dtype=bool)

    @property
    def detection_rate(self) -> float:
        """Matched true hands / true hands (NaN without true hands)."""
        return ratio(sum(len(e) for e in self.errors), self.true_hands)

    def errors_on(self, frames: np.ndarray) -> np.ndarray:
        """Errors (px) of the matched hands on the given frame indices."""
        return np.array([value for index in frames for value in self.errors[index]],
                        dtype=np.float64)


def score(runs: list[FrameRun], truths: list[list[np.ndarray]],
          max_px: float = MAX_MATCH_PX) -> PipelineScore:
    if len(runs) != len(truths):
        raise ValueError(f"{len(runs)} frames of results for {len(truths)} frames of truth")
    errors = [[distance for _, _, distance in match_keypoints(run.hands, truth, max_px)]
              for run, truth in zip(runs, truths)]
    return PipelineScore(errors=errors, true_hands=sum(len(t) for t in truths))


def _nan_stats() -> dict[str, float]:
    return {"median": float("nan"), "p10": float("nan"), "p90": float("nan"), "n": 0}


def compare(runs: dict[str, list[FrameRun]], truths: list[list[np.ndarray]],
            max_px: float = MAX_MATCH_PX) -> dict:
    """Both pipelines (``runs``: name -> per-frame results, same frames) against truth.

    Returns {"frames", "common_frames" (indices tracked by every pipeline),
    "pipelines": {name: {"detection_rate", "tracked_frames", "time_common" (median,
    p10, p90, n in ms on the common frames), "time_all", "error_common_px" (median,
    p10, p90, n over matched hands on the common frames), "error_common_mean_px",
    "hands_per_frame" (output hands, mean), "unmatched_hands" (output hands that match no
    true hand: false positives or errors beyond ``max_px``)}}}.
    """
    scores = {name: score(result, truths, max_px) for name, result in runs.items()}
    common = np.flatnonzero(np.logical_and.reduce([s.tracked for s in scores.values()]))
    out: dict = {"frames": len(truths), "common_frames": common.tolist(), "pipelines": {}}
    for name, result in runs.items():
        times = np.array([run.time_ms for run in result], dtype=np.float64)
        errors = scores[name].errors_on(common)
        out["pipelines"][name] = {
            "detection_rate": scores[name].detection_rate,
            "tracked_frames": int(scores[name].tracked.sum()),
            "time_common": summarize(times[common], scale=1.0) if common.size else _nan_stats(),
            "time_all": summarize(times, scale=1.0) if times.size else _nan_stats(),
            "error_common_px": summarize(errors, scale=1.0) if errors.size else _nan_stats(),
            "error_common_mean_px": float(errors.mean()) if errors.size else float("nan"),
            "hands_per_frame": float(np.mean([len(run.hands) for run in result]))
            if result else float("nan"),
            "unmatched_hands": sum(len(run.hands) for run in result)
            - sum(len(e) for e in scores[name].errors),
        }
    return out


def paired_ratio(runs: dict[str, list[FrameRun]], numerator: str, denominator: str,
                 frames: list[int]) -> float:
    """Median over ``frames`` of numerator time / denominator time (same frame)."""
    if not frames:
        return float("nan")
    values = [ratio(runs[numerator][i].time_ms, runs[denominator][i].time_ms) for i in frames]
    return float(np.median(values))
