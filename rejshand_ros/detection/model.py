"""HandDetectorNet: a timm feature backbone + a small CenterNet-style head.

images (B, 3, S, S) normalised letterboxed frames
  -> backbone levels at ``feature_strides`` (timm ``features_only``)
  -> neck: 1x1 lateral convs to ``neck_channels``, top-down nearest upsampling and sum,
     3x3 conv + GroupNorm + ReLU (the fused map at the smallest stride r)
  -> heads (3x3 conv + ReLU + 1x1 conv each): ``heatmap`` (1) centre logit, ``log_size``
     (1) log(box side / S), ``offset`` (2) sub-cell centre offset in cells,
     ``handedness`` (1) right-hand logit; each (B, C, S/r, S/r).
See ``targets.py`` for the exact meaning of the outputs.

:data:`DETECTOR_MODEL` declares it on the model layer (``model.model_file``): detector
files (format ``"rejshand-detector"``) add to the common header the letterbox padding
colour and the box definition; it runs eagerly or with ONNX Runtime, always in fp32.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import timm
import timm.utils
import torch
import torch.nn.functional as F
from torch import nn

from rejshand_ros.detection.config import DetectorConfig
from rejshand_ros.model.backbone import BackboneWeightsError, Pretrained
from rejshand_ros.model.model_file import (FileMetadata, ModelKind, load_model, read_metadata,
                                           write_model)

#: output name -> channels
HEAD_OUTPUTS = {"heatmap": 1, "log_size": 1, "offset": 2, "handedness": 1}
_HEATMAP_PRIOR = 0.1    # initial centre probability (CenterNet: bias -2.19)
_LOG_SIZE_INIT = -1.5   # initial box side ~ 0.22 x input size


def _out_indices(name: str, strides: tuple[int, ...]) -> tuple[int, ...]:
    """Indices of the backbone levels with the given strides (ValueError if absent)."""
    probe = timm.create_model(name, features_only=True, pretrained=False)
    reductions = [int(r) for r in probe.feature_info.reduction()]
    missing = [s for s in strides if s not in reductions]
    if missing:
        raise ValueError(f"timm backbone {name!r} has no feature level at stride(s) "
                         f"{missing} (it has {reductions})")
    return tuple(reductions.index(s) for s in strides)


def _create_backbone(name: str, out_indices: tuple[int, ...],
                     pretrained: Pretrained) -> nn.Module:
    kwargs = dict(features_only=True, out_indices=out_indices)
    if pretrained is False or pretrained is None:
        return timm.create_model(name, pretrained=False, **kwargs)
    if pretrained is True:
        return timm.create_model(name, pretrained=True, **kwargs)
    path = Path(pretrained).expanduser()
    if not path.is_file():
        raise BackboneWeightsError(f"backbone weights file {str(path)!r} not found "
                                   f"(for timm model {name!r})")
    try:
        return timm.create_model(name, pretrained=True,
                                 pretrained_cfg_overlay=dict(file=str(path)), **kwargs)
    except Exception as exc:  # name the file, keep the cause
        raise BackboneWeightsError(f"cannot load backbone weights {str(path)!r} into timm "
                                   f"model {name!r}: {exc}") from exc


def _head(in_channels: int, hidden: int, out_channels: int, bias: float) -> nn.Sequential:
    head = nn.Sequential(nn.Conv2d(in_channels, hidden, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(hidden, out_channels, 1))
    nn.init.constant_(head[-1].bias, bias)
    return head


class HandDetectorNet(nn.Module):
    """Hand centres, box sizes and handedness on a grid; see the module docstring."""

    def __init__(self, config: DetectorConfig, pretrained: Pretrained = False) -> None:
        super().__init__()
        if not timm.is_model(config.backbone):
            raise ValueError(f"unknown timm backbone {config.backbone!r}")
        self.config = config
        self.reparameterized = False
        indices = _out_indices(config.backbone, config.feature_strides)
        self.backbone = _create_backbone(config.backbone, indices, pretrained)
        channels = [int(c) for c in self.backbone.feature_info.channels()]
        c = config.neck_channels
        self.lateral = nn.ModuleList(nn.Conv2d(ch, c, 1) for ch in channels)
        self.smooth = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False),
                                    nn.GroupNorm(min(8, c), c), nn.ReLU(inplace=True))
        prior = -torch.log(torch.tensor((1 - _HEATMAP_PRIOR) / _HEATMAP_PRIOR)).item()
        biases = {"heatmap": prior, "log_size": _LOG_SIZE_INIT, "offset": 0.5,
                  "handedness": 0.0}
        self.heads = nn.ModuleDict({name: _head(c, config.head_channels, out, biases[name])
                                    for name, out in HEAD_OUTPUTS.items()})
        self.register_buffer("mean", torch.tensor(config.mean).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor(config.std).view(1, 3, 1, 1),
                             persistent=False)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """RGB images (B, 3, S, S) in [0, 1] -> network input ((x - mean) / std)."""
        return (images - self.mean) / self.std

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, 3, S, S) normalised -> fused map (B, neck_channels, S/r, S/r)."""
        levels = self.backbone(images)
        fused = self.lateral[-1](levels[-1])
        for level, lateral in zip(reversed(levels[:-1]), reversed(self.lateral[:-1])):
            fused = lateral(level) + F.interpolate(fused, size=level.shape[-2:],
                                                   mode="nearest")
        return self.smooth(fused)

    def forward_head(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """fused map -> {heatmap, log_size, offset, handedness}, each (B, C, S/r, S/r)."""
        return {name: head(features) for name, head in self.heads.items()}

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """images (B, 3, S, S) normalised -> output dict (see ``forward_head``)."""
        return self.forward_head(self.forward_features(images))

    def head_parameter_count(self) -> int:
        """Parameters on top of the backbone (neck + heads)."""
        return sum(p.numel() for name, p in self.named_parameters()
                   if not name.startswith("backbone."))

    def reparameterize(self) -> "HandDetectorNet":
        """Fuse the backbone's re-parameterisable branches in place (inference only)."""
        if not self.reparameterized:
            timm.utils.reparameterize_model(self.backbone, inplace=True)
            self.reparameterized = True
        return self


@dataclass
class DetectorMetadata(FileMetadata):
    """What a detector file says about itself (besides the weights)."""

    def kind_header(self) -> dict[str, Any]:
        return {"pad_rgb": list(self.config.pad_rgb),
                "box": f"square, side = max(w, h) of the 21-keypoint bbox x "
                       f"{self.config.box_scale}"}


DETECTOR_MODEL = ModelKind(
    format_name="rejshand-detector", noun="hand detector", config_type=DetectorConfig,
    network=HandDetectorNet, metadata_type=DetectorMetadata, outputs=tuple(HEAD_OUTPUTS),
    compiles=False)


def save_detector_file(path: str | os.PathLike, model: HandDetectorNet, *, model_id: str = "",
                       training_data_id: str = "", fp16: bool = False) -> DetectorMetadata:
    """Write ``model`` to ``path`` (.safetensors); fp16 halves the size."""
    return write_model(DETECTOR_MODEL, path, model, fp16=fp16, model_id=model_id,
                       training_data_id=training_data_id)


def read_detector_metadata(path: str | os.PathLike) -> DetectorMetadata:
    """Read only the header metadata (no weights, no model build)."""
    return read_metadata(DETECTOR_MODEL, path)


def load_detector_file(path: str | os.PathLike, device: str | torch.device = "cpu"
                       ) -> tuple[HandDetectorNet, DetectorMetadata]:
    """Rebuild the detector from ``path`` alone; returns (model in eval mode, metadata)."""
    return load_model(DETECTOR_MODEL, path, device)
