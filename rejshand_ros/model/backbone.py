"""Image backbone: any timm model by name, returning the last feature map F_B.

``features="last_stage"`` builds ``timm.create_model(name, features_only=True,
out_indices=(-1,))`` (fastvit_ma36: 608 x 7 x 7 at 224 px, stride 32);
``features="forward_features"`` builds it with ``num_classes=0`` and uses
``forward_features`` (fastvit_ma36: 1216 x 7 x 7, includes the final MobileOne conv, as
the public code does). The paper's "640 x 7 x 7" matches neither.
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

import timm
import timm.utils
import torch
from torch import nn

from .config import BACKBONE_FEATURE_SOURCES

#: ``False`` = random init, ``True`` = timm's pretrained weights (may download),
#: a path = local timm checkpoint (``.safetensors``, or ``.pth``/``.bin`` read with
#: ``torch.load(weights_only=True)``).
Pretrained = Union[bool, str, Path]


class BackboneWeightsError(FileNotFoundError):
    """The local backbone weights file is missing or unreadable."""


def _create(name: str, features: str, **kwargs) -> nn.Module:
    if features == "last_stage":
        return timm.create_model(name, features_only=True, out_indices=(-1,), **kwargs)
    return timm.create_model(name, num_classes=0, global_pool="", **kwargs)


class Backbone(nn.Module):
    """timm feature extractor: images (B,3,H,W) -> F_B (B, out_channels, H/r, W/r)."""

    def __init__(self, name: str, features: str = "last_stage",
                 pretrained: Pretrained = False) -> None:
        super().__init__()
        if features not in BACKBONE_FEATURE_SOURCES:
            raise ValueError(f"features must be one of {BACKBONE_FEATURE_SOURCES}, "
                             f"got {features!r}")
        if not timm.is_model(name):
            raise ValueError(f"unknown timm backbone {name!r} (see timm.list_models())")
        self.name = name
        self.features = features
        self.body = self._build(name, features, pretrained)
        if features == "last_stage":
            info = self.body.feature_info
            self.out_channels: int = int(info.channels()[-1])
            self.reduction: int = int(info.reduction()[-1])
        else:
            self.out_channels = int(self.body.num_features)
            info = getattr(self.body, "feature_info", None)
            self.reduction = int(info[-1]["reduction"]) if info else 32

    @staticmethod
    def _build(name: str, features: str, pretrained: Pretrained) -> nn.Module:
        if pretrained is False or pretrained is None:
            return _create(name, features, pretrained=False)
        if pretrained is True:
            return _create(name, features, pretrained=True)
        path = Path(pretrained).expanduser()
        if not path.is_file():
            raise BackboneWeightsError(
                f"backbone weights file {str(path)!r} not found (for timm model {name!r}); "
                "pass pretrained=False for random init or True to download timm's weights")
        try:
            return _create(name, features, pretrained=True,
                           pretrained_cfg_overlay=dict(file=str(path)))
        except Exception as exc:  # surface which file failed, keep the cause
            raise BackboneWeightsError(
                f"cannot load backbone weights {str(path)!r} into timm model {name!r}: "
                f"{exc}") from exc

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images (B,3,H,W) normalised -> F_B (B, C, H/reduction, W/reduction)."""
        if self.features == "last_stage":
            return self.body(images)[-1]
        return self.body.forward_features(images)

    def reparameterize(self) -> None:
        """Fuse RepVGG/MobileOne-style branches in place (inference only)."""
        timm.utils.reparameterize_model(self.body, inplace=True)
