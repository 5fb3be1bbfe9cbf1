"""Hand-detector configuration: the network/preprocessing config and the training settings.

``DetectorConfig`` is the single source of the network's shape *and* of its input
(letterbox size, RGB mean/std, box definition); it is stored in every detector model file
so training and inference never drift apart. ``DetectorTrainSettings`` holds what only
training needs (target spread, loss weights, validation threshold); it is read from the
``detector:`` section of a training YAML (``TrainConfig.detector``)::

    detector:
      model: {backbone: fastvit_t8, input_size: 256, feature_strides: [16, 32]}
      loss: {heatmap: 1.0, size: 1.0, offset: 1.0, handedness: 0.5}
      sigma_scale: 0.08
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _fields_from(cls: type, data: Mapping[str, Any], where: str) -> dict[str, Any]:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
    return dict(data)


@dataclass
class DetectorConfig:
    """Network and preprocessing of the hand detector.

    Attributes:
        backbone: any timm model name that supports ``features_only`` (e.g. fastvit_t8).
        feature_strides: backbone levels fused by the neck (strides in px, each a level
            of the backbone); the output grid has the smallest stride.
        input_size: side of the square letterboxed input, px (a multiple of the largest
            stride).
        neck_channels: channels of the fused feature map.
        head_channels: hidden channels of each output head.
        mean, std: per-channel RGB normalisation of [0, 1] pixel values (the letterbox
            pads with the mean colour).
        box_scale: the box a detection describes: a square of side
            ``max(w, h) * box_scale`` around the bounding box of the 21 2D keypoints
            (1.25: the FreiHAND crop).
    """

    backbone: str = "fastvit_t8"
    feature_strides: tuple[int, ...] = (16, 32)
    input_size: int = 256
    neck_channels: int = 64
    head_channels: int = 64
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    box_scale: float = 1.25

    def __post_init__(self) -> None:
        self.feature_strides = tuple(int(s) for s in self.feature_strides)
        self.mean = tuple(float(v) for v in self.mean)
        self.std = tuple(float(v) for v in self.std)

        def fail(msg: str) -> None:
            raise ValueError(f"DetectorConfig: {msg}")

        if not isinstance(self.backbone, str) or not self.backbone:
            fail(f"backbone must be a timm model name, got {self.backbone!r}")
        strides = self.feature_strides
        if not strides or any(s < 1 for s in strides) or len(set(strides)) != len(strides):
            fail(f"feature_strides must be distinct positive ints, got {strides}")
        self.feature_strides = tuple(sorted(strides))
        for name in ("input_size", "neck_channels", "head_channels"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                fail(f"{name} must be a positive int, got {value!r}")
        if self.input_size % max(strides):
            fail(f"input_size {self.input_size} must be a multiple of the largest "
                 f"stride {max(strides)}")
        if len(self.mean) != 3 or len(self.std) != 3 or any(s <= 0 for s in self.std):
            fail(f"mean/std need 3 values (RGB, std > 0), got {self.mean} / {self.std}")
        if not self.box_scale > 0:
            fail(f"box_scale must be > 0, got {self.box_scale}")

    @property
    def stride(self) -> int:
        """Output stride (px of input per heatmap cell)."""
        return self.feature_strides[0]

    @property
    def grid_size(self) -> int:
        """Heatmap side in cells."""
        return self.input_size // self.stride

    @property
    def pad_rgb(self) -> tuple[int, int, int]:
        """Letterbox padding colour (uint8 RGB): the mean, i.e. 0 after normalisation."""
        return tuple(int(round(255.0 * m)) for m in self.mean)

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "DetectorConfig":
        """Build from a dict; unknown keys raise ValueError naming them."""
        return cls(**_fields_from(cls, data, "DetectorConfig"))


@dataclass
class DetectorLossWeights:
    """Weights of the loss terms (CenterNet: heatmap 1, size 0.1 on raw px, offset 1;
    our size is a log ratio, hence weight 1)."""

    heatmap: float = 1.0
    size: float = 1.0
    offset: float = 1.0
    handedness: float = 0.5

    def __post_init__(self) -> None:
        if min(self.heatmap, self.size, self.offset, self.handedness) < 0:
            raise ValueError(f"detector loss weights must be >= 0, got {self}")


@dataclass
class DetectorTrainSettings:
    """Training-only settings of the detector task (``TrainConfig.detector``).

    Attributes:
        model: the network (stored in the model file).
        loss: loss weights.
        sigma_scale: Gaussian spread of a centre target, fraction of the box side.
        min_sigma: lower bound of that spread, heatmap cells.
        max_objects: hands encoded per frame (more are dropped with a warning).
        min_visible_fraction: hands less visible than this (occluded; ``visible_fraction``
            of the frames file) are ignored: neither targets nor negatives nor counted.
        val_score_threshold: detection score threshold used by validation metrics.
        val_max_detections: detections kept per validation frame.
        nms_iou: boxes overlapping a higher-scoring one by more than this are dropped.
    """

    model: DetectorConfig = field(default_factory=DetectorConfig)
    loss: DetectorLossWeights = field(default_factory=DetectorLossWeights)
    sigma_scale: float = 0.08
    min_sigma: float = 0.5
    max_objects: int = 8
    min_visible_fraction: float = 0.25
    val_score_threshold: float = 0.3
    val_max_detections: int = 4
    nms_iou: float = 0.5

    def __post_init__(self) -> None:
        if not (self.sigma_scale > 0 and self.min_sigma > 0):
            raise ValueError("detector: sigma_scale and min_sigma must be > 0")
        if self.max_objects < 1 or self.val_max_detections < 1:
            raise ValueError("detector: max_objects and val_max_detections must be >= 1")
        if not 0 <= self.min_visible_fraction <= 1:
            raise ValueError("detector: min_visible_fraction must be in [0, 1]")
        if not (0 <= self.val_score_threshold <= 1 and 0 < self.nms_iou <= 1):
            raise ValueError("detector: val_score_threshold must be in [0, 1], "
                             "nms_iou in (0, 1]")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "DetectorTrainSettings":
        values = _fields_from(cls, data or {}, "detector")
        if isinstance(values.get("model"), Mapping):
            values["model"] = DetectorConfig.from_dict(values["model"])
        if isinstance(values.get("loss"), Mapping):
            values["loss"] = DetectorLossWeights(
                **_fields_from(DetectorLossWeights, values["loss"], "detector.loss"))
        return cls(**values)
