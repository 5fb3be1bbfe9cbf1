"""Detector model files (``NAME.safetensors``, format ``"rejshand-detector"``).

Like the pose model files (``rejshand_ros.model.model_file``): the safetensors header
metadata holds, under the key ``"rejshand"``, a JSON object with the format name and
version, the ``DetectorConfig`` dict, input size, RGB mean/std, letterbox padding colour,
the box definition, ``model_id``, ``training_data_id``, the storage dtype and whether the
backbone was re-parameterised. Tensors: ``model.<state_dict key>``. The network is
rebuilt from the file alone (no download); writes are atomic. Every error is a
``ModelFileError`` naming the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import safetensors
import safetensors.torch
import torch

from rejshand_ros.detection.config import DetectorConfig
from rejshand_ros.detection.model import HandDetectorNet
from rejshand_ros.model.model_file import ModelFileError, _atomic_write, read_tensors, restore_weights

FORMAT_NAME = "rejshand-detector"
FORMAT_VERSION = 1
_META_KEY = "rejshand"
_MODEL_PREFIX = "model."


@dataclass
class DetectorMetadata:
    """What a detector file says about itself (besides the weights)."""

    config: DetectorConfig
    model_id: str = ""
    training_data_id: str = ""
    storage_dtype: str = "float32"
    reparameterized: bool = False
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        c = self.config
        return json.dumps({
            "format": FORMAT_NAME, "format_version": self.format_version,
            "config": c.to_dict(), "input_size": c.input_size, "mean": list(c.mean),
            "std": list(c.std), "color_order": "RGB", "pad_rgb": list(c.pad_rgb),
            "box": f"square, side = max(w, h) of the 21-keypoint bbox x {c.box_scale}",
            "model_id": self.model_id, "training_data_id": self.training_data_id,
            "storage_dtype": self.storage_dtype, "reparameterized": self.reparameterized,
        }, sort_keys=True)


def save_detector_file(path: str | os.PathLike, model: HandDetectorNet, *, model_id: str = "",
                       training_data_id: str = "", fp16: bool = False) -> DetectorMetadata:
    """Write ``model`` to ``path`` (.safetensors); fp16 halves the size."""
    tensors = {}
    for key, value in model.state_dict().items():
        value = value.detach().cpu()
        if fp16 and value.is_floating_point():
            value = value.to(torch.float16)
        tensors[_MODEL_PREFIX + key] = value.contiguous()
    meta = DetectorMetadata(config=model.config, model_id=model_id,
                            training_data_id=training_data_id,
                            storage_dtype="float16" if fp16 else "float32",
                            reparameterized=bool(model.reparameterized))
    data = safetensors.torch.save(tensors, metadata={"format": "pt",
                                                     _META_KEY: meta.to_json()})
    _atomic_write(Path(path), lambda f: f.write(data))
    return meta


def read_detector_metadata(path: str | os.PathLike) -> DetectorMetadata:
    """Read only the header metadata (no weights, no model build)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(path, "detector model file not found")
    try:
        with safetensors.safe_open(str(path), framework="pt") as f:
            header = f.metadata()
    except Exception as exc:
        raise ModelFileError(path, f"unreadable safetensors file (truncated or corrupt?): "
                                   f"{exc}") from exc
    if not header or _META_KEY not in header:
        raise ModelFileError(path, "not a rejshand detector file (no 'rejshand' metadata "
                                   "in the safetensors header)")
    try:
        raw = json.loads(header[_META_KEY])
    except json.JSONDecodeError as exc:
        raise ModelFileError(path, f"corrupt rejshand metadata: {exc}") from exc
    if raw.get("format") != FORMAT_NAME:
        raise ModelFileError(path, f"format {raw.get('format')!r} is not a hand detector "
                                   f"(expected {FORMAT_NAME!r})")
    version = raw.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(path, f"format version {version!r} is not supported "
                                   f"(this package reads <= {FORMAT_VERSION})")
    try:
        config = DetectorConfig.from_dict(raw["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(path, f"invalid detector config: {exc}") from exc
    return DetectorMetadata(config=config, model_id=raw.get("model_id", ""),
                            training_data_id=raw.get("training_data_id", ""),
                            storage_dtype=raw.get("storage_dtype", "float32"),
                            reparameterized=bool(raw.get("reparameterized", False)),
                            format_version=version)


def load_detector_file(path: str | os.PathLike, device: str | torch.device = "cpu"
                       ) -> tuple[HandDetectorNet, DetectorMetadata]:
    """Rebuild the detector from ``path`` alone; returns (model in eval mode, metadata)."""
    path = Path(path)
    meta = read_detector_metadata(path)
    tensors = read_tensors(path)
    try:
        model = HandDetectorNet(meta.config, pretrained=False)
    except Exception as exc:
        raise ModelFileError(path, f"cannot build the detector it describes "
                                   f"(backbone {meta.config.backbone!r}): {exc}") from exc
    if meta.reparameterized:
        model.reparameterize()
    restore_weights(path, model, tensors, _MODEL_PREFIX)
    return model.to(device).eval(), meta
