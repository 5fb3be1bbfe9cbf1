"""DetectorTask: the hand detector as a ``TrainingTask`` (``task: detector`` in a config).

Data: ``data.root/<data.train_split>_frames.json`` (+ images) for training and
``<data.val_split>_frames.json`` for validation (``rejshand-synth --full-frame`` output);
``data.augment`` as documented in ``detection/dataset.py``. The network, target and loss
settings come from the config's ``detector:`` section (``DetectorTrainSettings``).
Validation scores ``miss_rate`` (1 - recall at IoU 0.5, lower is better) and reports
recall, precision, mean IoU, handedness accuracy and false alarms.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Subset

from rejshand_ros.data.sample import NO_AUGMENT
from rejshand_ros.detection.config import DetectorTrainSettings
from rejshand_ros.detection.dataset import FullFrameDataset
from rejshand_ros.detection.evaluation import DetectionStats
from rejshand_ros.detection.annotations import load_frames
from rejshand_ros.detection.losses import detector_losses
from rejshand_ros.detection.model import HandDetectorNet, save_detector_file
from rejshand_ros.detection.targets import decode_peaks, select_detections
from rejshand_ros.train.config import TrainConfig
from rejshand_ros.train.task import TrainingTask


def _core(model: nn.Module) -> HandDetectorNet:
    return model.module if hasattr(model, "module") else model


class DetectorTask(TrainingTask):
    """A CenterNet-style hand detector on letterboxed full frames."""

    score_key = "miss_rate"

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.settings = DetectorTrainSettings.from_dict(config.detector)
        data = config.data
        train_frames = load_frames(data.root, data.train_split)
        self.train_set = FullFrameDataset(train_frames, self.settings, data.augment,
                                          seed=config.seed, skip_bad=data.skip_bad)
        self.val_set = None
        if data.val_split:
            val_frames = load_frames(data.root, data.val_split)
            self.val_set = FullFrameDataset(val_frames, self.settings, NO_AUGMENT,
                                            seed=config.seed, skip_bad=data.skip_bad)

    def build_model(self) -> HandDetectorNet:
        return HandDetectorNet(self.settings.model, pretrained=self.config.pretrained_backbone)

    def losses(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        outputs = model(_core(model).normalize(batch["image"]))
        return detector_losses(outputs, batch, self.settings.loss)

    @torch.no_grad()
    def validate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """Detection metrics on (up to ``val_max_samples`` of) the validation frames."""
        if self.val_set is None:
            return {}
        return evaluate_detector(_core(model), self.val_set, device, self.settings,
                                 batch_size=self.config.batch_size,
                                 num_workers=self.config.data.num_workers,
                                 limit=self.config.data.val_max_samples)

    def export(self, model: nn.Module, path: Path) -> None:
        config = self.config
        save_detector_file(path, _core(model),
                           model_id=config.model_id or Path(config.out_dir).name,
                           training_data_id=config.training_data_id or
                           f"{Path(config.data.root).name}/{config.data.train_split}")


@torch.no_grad()
def evaluate_detector(model: HandDetectorNet, dataset: FullFrameDataset, device: torch.device,
                      settings: DetectorTrainSettings, batch_size: int = 8,
                      num_workers: int = 0, limit: int | None = None) -> dict[str, float]:
    """Run ``model`` on (the first ``limit``) frames of ``dataset``; metrics of
    ``DetectionStats`` with the settings' score threshold, NMS and detection cap."""
    was_training = model.training
    model.eval()
    count = len(dataset) if limit is None else min(len(dataset), limit)
    loader = DataLoader(Subset(dataset, range(count)), batch_size=batch_size,
                        num_workers=num_workers)
    config = settings.model
    stats = DetectionStats(iou_threshold=0.5)
    for batch in loader:
        outputs = model(model.normalize(batch["image"].to(device)))
        peaks = decode_peaks(outputs, config.stride, config.input_size,
                             top_k=max(settings.val_max_detections * 4, 8)).cpu().numpy()
        for i in range(len(peaks)):
            keep = batch["box_mask"][i].numpy() > 0
            ignore = batch["ignore_boxes"][i].numpy()[batch["ignore_mask"][i].numpy() > 0]
            pred = select_detections(peaks[i], settings.val_score_threshold,
                                     settings.val_max_detections, settings.nms_iou)
            stats.add(pred, batch["boxes"][i].numpy()[keep], batch["right"][i].numpy()[keep],
                      ignore=ignore)
    model.train(was_training)
    return {k: float(v) for k, v in stats.metrics().items() if np.isfinite(v)}
