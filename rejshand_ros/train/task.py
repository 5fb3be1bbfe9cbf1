"""What a training run learns: the task supplies data, model, loss, validation, export.

The generic loop (``trainer.py``: devices, precision, DDP, schedule, checkpoints,
resume, logging) is shared; a task is the part that differs. ``pose`` trains ReJSHand on
hand crops; other tasks (e.g. a hand detector on full frames) register in ``TASKS``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from rejshand_ros.data.dataset import HandCropDataset, quiet_worker
from rejshand_ros.data.freihand import load_split
from rejshand_ros.data.sample import NO_AUGMENT
from rejshand_ros.metrics import evaluate
from rejshand_ros.model.model_file import save_model_file
from rejshand_ros.model.rejshand import ReJSHand
from rejshand_ros.train.config import TrainConfig
from rejshand_ros.train.losses import compute_losses
from rejshand_ros.train.mesh_source import resolve_mesh_source


class TrainingTask:
    """Interface of a task; see PoseTask for the reference implementation."""

    #: validation metric used to keep the best model (lower is better)
    score_key: str = "loss"
    train_set: Dataset
    val_set: Dataset | None

    def build_model(self) -> nn.Module:
        raise NotImplementedError

    def losses(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Forward pass on a device batch and the loss terms (``"total"`` included)."""
        raise NotImplementedError

    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        raise NotImplementedError

    def export(self, model: nn.Module, path: Path) -> None:
        raise NotImplementedError


class PoseTask(TrainingTask):
    """ReJSHand on hand crops of a FreiHAND-layout split (the paper's training)."""

    score_key = "pa_mpjpe_mm"

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        data = config.data
        size = config.model.input_size
        self.train_ann = load_split(data.root, data.train_split, skip_bad=data.skip_bad)
        self.train_set = HandCropDataset(self.train_ann, size, data.augment, seed=config.seed,
                                         skip_bad=data.skip_bad,
                                         num_vertices=config.model.num_vertices)
        self.val_set = None
        if data.val_split:
            val_ann = load_split(data.root, data.val_split, skip_bad=data.skip_bad)
            self.val_set = HandCropDataset(val_ann, size, NO_AUGMENT, seed=config.seed,
                                           skip_bad=data.skip_bad,
                                           num_vertices=config.model.num_vertices)
        self.mesh = resolve_mesh_source(config.mesh, config.regressor, self.train_ann)

    def build_model(self) -> ReJSHand:
        return ReJSHand(self.config.model, pretrained=self.config.pretrained_backbone,
                        joint_regressor=self.mesh.regressor)

    def losses(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        core = model.module if hasattr(model, "module") else model
        outputs = model(core.normalize(batch["image"]))
        return compute_losses(outputs, batch, self.config.loss)

    @torch.no_grad()
    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """FreiHAND metrics on (up to ``val_max_samples`` of) the validation split."""
        if self.val_set is None:
            return {}
        limit = min(len(self.val_set), self.config.data.val_max_samples)
        loader = DataLoader(Subset(self.val_set, range(limit)), batch_size=self.config.batch_size,
                            num_workers=self.config.data.num_workers, worker_init_fn=quiet_worker)
        pred_j, pred_v, gt_j, gt_v, has_hand = [], [], [], [], []
        for batch in loader:
            outputs = model(model.normalize(batch["image"].to(device)))
            pred_j.append(outputs["joints"].float().cpu().numpy())
            pred_v.append(outputs["vertices"].float().cpu().numpy())
            gt_j.append(batch["joints"].numpy())
            gt_v.append(batch["vertices"].numpy())
            has_hand.append(batch["presence"].numpy() > 0)
        keep = np.concatenate(has_hand)
        result = evaluate(np.concatenate(pred_j)[keep], np.concatenate(gt_j)[keep],
                          np.concatenate(pred_v)[keep], np.concatenate(gt_v)[keep])
        return {k: float(v) for k, v in result.items() if np.isscalar(v)}

    def export(self, model: nn.Module, path: Path) -> None:
        config = self.config
        save_model_file(path, model, mesh_id=self.mesh.mesh_id, faces=self.mesh.faces,
                        model_id=config.model_id or Path(config.out_dir).name,
                        training_data_id=config.training_data_id or
                        f"{Path(config.data.root).name}/{config.data.train_split}")


def _detector_task(config: TrainConfig) -> TrainingTask:
    # imported here: rejshand_ros.detection.task imports this module (TrainingTask)
    from rejshand_ros.detection.task import DetectorTask

    return DetectorTask(config)


#: task name (TrainConfig.task) -> constructor
TASKS: dict[str, Callable[[TrainConfig], TrainingTask]] = {"pose": PoseTask,
                                                          "detector": _detector_task}


def make_task(config: TrainConfig) -> TrainingTask:
    if config.task not in TASKS:
        raise ValueError(f"unknown task {config.task!r} (known: {', '.join(sorted(TASKS))})")
    return TASKS[config.task](config)
