"""Training on several sources at once: synthetic renders and pseudo-labelled real photos.

Each source is a split (the FreiHAND layout, or a 2D-labelled split of real photos, told
apart by ``NAME_uv.json``) with a share of the samples and loss multipliers: 2D targets
everywhere, the teacher's 3D joints with a lower weight, vertices only where a source has
them (synthetic), so the mesh head stays anchored to the hand model.

``MixedDataset`` has a fixed epoch size; item ``i`` of epoch ``e`` is a pure function of
(seed, e, i), so the trainer's exact resume holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from rejshand_ros.data.dataset import HandCropDataset, LabelledCropDataset
from rejshand_ros.data.freihand import load_split
from rejshand_ros.data.labelled import is_labelled_split, load_labelled_split
from rejshand_ros.data.sample import AugmentConfig


@dataclass
class SourceConfig:
    """One training (or validation) source.

    weight: share of the training samples (normalised over the sources).
    k3d, kv: multipliers of the 3D-joint and vertex loss weights for this source
        (e.g. 0.3 for a teacher's 3D; vertices count only where the split has them).
    max_samples: validation only: score at most this many samples.
    """

    root: str
    split: str
    weight: float = 1.0
    k3d: float = 1.0
    kv: float = 1.0
    max_samples: int = 500

    def __post_init__(self) -> None:
        if self.weight < 0 or self.k3d < 0 or self.kv < 0 or self.max_samples < 1:
            raise ValueError(f"data source out of range: {self}")

    @property
    def name(self) -> str:
        return self.split if Path(self.root).name in ("", ".") else \
            f"{Path(self.root).name}/{self.split}"


def open_source(source: SourceConfig, size: int, augment: AugmentConfig, seed: int,
                skip_bad: bool, num_vertices: int) -> Dataset:
    """The dataset of one source: labelled (2D) or FreiHAND layout, by the files present."""
    if is_labelled_split(source.root, source.split):
        return LabelledCropDataset(load_labelled_split(source.root, source.split), size,
                                   augment, seed=seed, skip_bad=skip_bad,
                                   num_vertices=num_vertices)
    return HandCropDataset(load_split(source.root, source.split, skip_bad=skip_bad), size,
                           augment, seed=seed, skip_bad=skip_bad, num_vertices=num_vertices)


def shares(weights: list[float], total: int) -> list[int]:
    """Split ``total`` items by ``weights`` (largest remainder; sums to ``total``)."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.sum() <= 0:
        raise ValueError("the data sources' weights sum to 0")
    exact = weights / weights.sum() * total
    counts = np.floor(exact).astype(int)
    for index in np.argsort(-(exact - counts))[: total - counts.sum()]:
        counts[index] += 1
    return counts.tolist()


class MixedDataset(Dataset):
    """Samples from several datasets in fixed shares per epoch, with per-source loss
    multipliers applied to the items' ``w3d`` / ``wv`` and a ``source`` index added."""

    def __init__(self, datasets: list[Dataset], sources: list[SourceConfig],
                 epoch_size: int, seed: int = 0) -> None:
        if not datasets or len(datasets) != len(sources):
            raise ValueError("MixedDataset needs one dataset per source")
        if epoch_size < 1:
            raise ValueError(f"epoch_size must be >= 1, got {epoch_size}")
        empty = [s.name for d, s in zip(datasets, sources) if len(d) == 0]
        if empty:
            raise ValueError(f"data source {empty[0]} has no samples")
        self.datasets, self.sources, self.seed = datasets, sources, int(seed)
        self.counts = shares([s.weight for s in sources], int(epoch_size))
        self.starts = np.concatenate([[0], np.cumsum(self.counts)])
        self.epoch = 0
        self._orders: dict[tuple[int, int, int], np.ndarray] = {}

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self._orders.clear()

    def __len__(self) -> int:
        return int(self.starts[-1])

    def _order(self, source: int, cycle: int) -> np.ndarray:
        key = (self.epoch, source, cycle)
        if key not in self._orders:
            rng = np.random.default_rng((self.seed, self.epoch, source, cycle))
            self._orders[key] = rng.permutation(len(self.datasets[source]))
        return self._orders[key]

    def locate(self, index: int) -> tuple[int, int, int]:
        """(source, item of that source, cycle) of mixed item ``index`` this epoch."""
        if not 0 <= index < len(self):
            raise IndexError(index)
        source = int(np.searchsorted(self.starts, index, side="right") - 1)
        offset = index - int(self.starts[source])
        cycle, position = divmod(offset, len(self.datasets[source]))
        return source, int(self._order(source, cycle)[position]), cycle

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        source, item, cycle = self.locate(int(index))
        dataset = self.datasets[source]
        # a source drawn more than once per epoch gets fresh augmentation on each pass
        dataset.set_epoch(self.epoch * 1009 + cycle)
        out = dataset[item]
        spec = self.sources[source]
        out["w3d"] = out["w3d"] * spec.k3d
        out["wv"] = out["wv"] * spec.kv
        out["source"] = torch.tensor(source)
        return out
