"""What a training run learns: the task supplies data, model, loss, validation, export.

The generic loop (``trainer.py``: devices, precision, DDP, schedule, checkpoints,
resume, logging) is shared; a task is the part that differs. ``pose`` trains ReJSHand on
hand crops; other tasks (e.g. a hand detector on full frames) subclass TrainingTask and
are listed in ``rejshand_ros.train.task_registry``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from rejshand_ros.data.dataset import HandCropDataset, quiet_worker
from rejshand_ros.data.mixed import MixedDataset, SourceConfig, open_source
from rejshand_ros.data.sample import NO_AUGMENT, UPRIGHT_EVAL
from rejshand_ros.evaluation.metrics import evaluate, uv_error_px256
from rejshand_ros.model.backbone import CHECKPOINT_MAPPINGS
from rejshand_ros.model.model_file import load_model_file, save_model_file
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
    """ReJSHand on hand crops: one FreiHAND-layout split (the paper's training), or several
    sources mixed (synthetic renders + pseudo-labelled real photos, ``data.sources``)."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        data = config.data
        size, verts = config.model.input_size, config.model.num_vertices
        if data.sources:
            train_sources = data.sources
            val_sources = data.val_sources
        else:
            train_sources = [SourceConfig(data.root, data.train_split)]
            val_sources = [SourceConfig(data.root, data.val_split, max_samples=data.val_max_samples)
                           ] if data.val_split else []
        datasets = [open_source(s, size, data.augment, config.seed, data.skip_bad, verts)
                    for s in train_sources]
        if data.sources:
            epoch_size = data.epoch_size or sum(len(d) for d in datasets)
            self.train_set = MixedDataset(datasets, train_sources, epoch_size, seed=config.seed)
        else:
            self.train_set = datasets[0]
        # validation crops: no augmentation, but the roll convention the model is trained in
        eval_augment = UPRIGHT_EVAL if data.augment.roll_reference == "upright" else NO_AUGMENT
        self.val_sets = [(s, open_source(s, size, eval_augment, config.seed, data.skip_bad, verts))
                         for s in val_sources]
        self.val_set = self.val_sets[0][1] if self.val_sets else None
        three_d = [d.annotations for d in datasets if isinstance(d, HandCropDataset)]
        self.train_ann = three_d[0] if three_d else None
        self.mesh = resolve_mesh_source(config.mesh, config.regressor, self.train_ann)
        self.score_key = "loss"
        if self.val_sets:
            first, dataset = self.val_sets[0]
            key = "pa_mpjpe_mm" if isinstance(dataset, HandCropDataset) else "uv_px256"
            self.score_key = key if len(self.val_sets) == 1 else f"{first.name}/{key}"

    def build_model(self) -> ReJSHand:
        config = self.config
        if config.init_from:
            return self._model_from_file(Path(config.init_from))
        if config.pretrained_backbone_mapping:
            spec = CHECKPOINT_MAPPINGS.get(config.pretrained_backbone_mapping)
            if spec is not None and (tuple(config.model.mean) != spec.mean
                                     or tuple(config.model.std) != spec.std):
                raise ValueError(
                    f"pretrained_backbone_mapping {config.pretrained_backbone_mapping!r}: its "
                    f"weights expect model.mean {list(spec.mean)} and model.std "
                    f"{list(spec.std)}, the config has {list(config.model.mean)} / "
                    f"{list(config.model.std)}")
        return ReJSHand(config.model, pretrained=config.pretrained_backbone,
                        joint_regressor=self.mesh.regressor,
                        pretrained_mapping=config.pretrained_backbone_mapping)

    def _model_from_file(self, path: Path) -> ReJSHand:
        """Start from a trained model file (fine-tuning); its architecture must be the
        config's, so a fine-tune config may leave ``model:`` out only when it matches."""
        model = load_model_file(path, device="cpu")
        if isinstance(model, tuple):
            model = model[0]
        if model.config != self.config.model:
            raise ValueError(f"init_from {path}: the model file's network config differs from "
                             "the training config's model section; copy it from the file "
                             "(rejshand-model summary --model FILE shows it) or drop the "
                             "differing keys")
        if model.reparameterized:
            raise ValueError(f"init_from {path}: the model file is re-parameterised "
                             "(inference only) and cannot be trained")
        model.set_joint_regressor(self.mesh.regressor)
        return model.train()

    def losses(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        core = model.module if hasattr(model, "module") else model
        outputs = model(core.normalize(batch["image"]))
        return compute_losses(outputs, batch, self.config.loss)

    @torch.no_grad()
    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """Per validation source: FreiHAND metrics (3D splits) or 2D error in pixels of a
        256 px hand-centred image and PA-MPJPE against the teacher (labelled splits)."""
        metrics: dict[str, float] = {}
        for source, dataset in self.val_sets:
            result = self._validate_one(model, device, dataset, source.max_samples)
            prefix = "" if len(self.val_sets) == 1 else f"{source.name}/"
            metrics.update({f"{prefix}{k}": v for k, v in result.items()})
        return metrics

    def _validate_one(self, model: nn.Module, device: torch.device, dataset: Dataset,
                      max_samples: int) -> dict[str, float]:
        limit = min(len(dataset), max_samples)
        loader = DataLoader(Subset(dataset, range(limit)), batch_size=self.config.batch_size,
                            num_workers=self.config.data.num_workers, worker_init_fn=quiet_worker)
        keys = ("uv", "joints", "vertices")
        pred = {k: [] for k in keys}
        gt = {k: [] for k in (*keys, "w3d", "wv", "presence")}
        for batch in loader:
            outputs = model(model.normalize(batch["image"].to(device)))
            for key in keys:
                pred[key].append(outputs[key].float().cpu().numpy())
            for key in gt:
                gt[key].append(batch[key].numpy())
        pred = {k: np.concatenate(v) for k, v in pred.items()}
        gt = {k: np.concatenate(v) for k, v in gt.items()}
        hand = gt["presence"] > 0
        if isinstance(dataset, HandCropDataset):
            result = evaluate(pred["joints"][hand], gt["joints"][hand], pred["vertices"][hand],
                              gt["vertices"][hand])
            return {k: float(v) for k, v in result.items() if np.isscalar(v)}
        out = {"uv_px256": float(uv_error_px256(pred["uv"][hand], gt["uv"][hand]).mean())}
        with3d = hand & (gt["w3d"] > 0)
        if with3d.any():
            result = evaluate(pred["joints"][with3d], gt["joints"][with3d])
            out["pa_mpjpe_mm"] = float(result["pa_mpjpe_mm"])
        return out

    def export(self, model: nn.Module, path: Path) -> None:
        config = self.config
        data = config.data
        default_id = "+".join(s.name for s in data.sources) if data.sources else \
            f"{Path(data.root).name}/{data.train_split}"
        save_model_file(path, model, mesh_id=self.mesh.mesh_id, faces=self.mesh.faces,
                        model_id=config.model_id or Path(config.out_dir).name,
                        training_data_id=config.training_data_id or default_id,
                        crop_roll=data.augment.roll_reference)
