"""Model files (``NAME.safetensors``) and training-state files.

A model file is self-describing: its safetensors header metadata holds, under the key
``"rejshand"``, a JSON object with the format name and version, the ``ModelConfig``
dict, input size, RGB mean/std, keypoint order (``"freihand21"``), ``mesh_id``,
``training_data_id``, ``model_id``, the storage dtype, whether the backbone was
re-parameterised and ``crop_roll``: the crops the network was trained on, "image" (roll
about the image axes) or "upright" (wrist -> middle MCP pointing up, as a rotated detector
box or an orientation-following tracker gives them); files without it are "image". Tensors: ``model.<state_dict key>`` (the joint regressor is
``model.head.joint_regressor``, always float32) and optionally ``mesh.faces`` (F,3)
int64. ``load_model_file`` rebuilds the network from the file alone (no download).

Training state (optimizer, scheduler, grad scaler, step, epoch, RNG states) goes to a
separate ``torch.save`` file readable with ``torch.load(weights_only=True)``. Both writers
are atomic: temp file in the same directory, fsync, ``os.replace``.
"""

from __future__ import annotations

import io
import json
import os
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.torch
import torch

from .config import ModelConfig
from .rejshand import ReJSHand

FORMAT_NAME = "rejshand-model"
FORMAT_VERSION = 1
TRAINING_STATE_FORMAT = "rejshand-training-state"
_META_KEY = "rejshand"
_MODEL_PREFIX = "model."
_FACES_KEY = "mesh.faces"
_FP32_ALWAYS = ("head.joint_regressor",)


class ModelFileError(RuntimeError):
    """A model or training-state file is missing, corrupt or of another architecture."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: {problem}")


@dataclass
class ModelMetadata:
    """What a model file says about itself (besides the weights)."""

    config: ModelConfig
    keypoint_order: str = "freihand21"
    mesh_id: str = ""
    training_data_id: str = ""
    model_id: str = ""
    storage_dtype: str = "float32"
    reparameterized: bool = False
    format_version: int = FORMAT_VERSION
    crop_roll: str = "image"
    faces: torch.Tensor | None = field(default=None, repr=False)

    @property
    def input_size(self) -> int:
        return self.config.input_size

    @property
    def mean(self) -> tuple[float, float, float]:
        return self.config.mean

    @property
    def std(self) -> tuple[float, float, float]:
        return self.config.std

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT_NAME, "format_version": self.format_version,
            "config": self.config.to_dict(), "input_size": self.input_size,
            "mean": list(self.mean), "std": list(self.std), "color_order": "RGB",
            "keypoint_order": self.keypoint_order, "mesh_id": self.mesh_id,
            "training_data_id": self.training_data_id, "model_id": self.model_id,
            "storage_dtype": self.storage_dtype, "reparameterized": self.reparameterized,
            "crop_roll": self.crop_roll, "has_faces": self.faces is not None,
        }, sort_keys=True)


# --------------------------------------------------------------------------- atomic I/O
def _atomic_write(path: Path, write: Any) -> None:
    """Call ``write(fileobj)`` on a temp file next to ``path``, fsync, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; model files are meant to be shared
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass  # not supported on every platform/filesystem


# --------------------------------------------------------------------------- model file
def save_model_file(path: str | os.PathLike, model: ReJSHand, *, mesh_id: str,
                    keypoint_order: str = "freihand21", training_data_id: str = "",
                    model_id: str = "", faces: Any = None,
                    fp16: bool = False, crop_roll: str = "image") -> ModelMetadata:
    """Write ``model`` to ``path`` (.safetensors); fp16 halves the size (regressor stays fp32).
    ``crop_roll``: "image" or "upright", the crops it was trained on (module doc)."""
    if crop_roll not in ("image", "upright"):
        raise ValueError(f"crop_roll must be image or upright, got {crop_roll!r}")
    path = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        value = value.detach().cpu()
        if fp16 and value.is_floating_point() and key not in _FP32_ALWAYS:
            value = value.to(torch.float16)
        tensors[_MODEL_PREFIX + key] = value.contiguous()
    faces_t = None
    if faces is not None:
        faces_t = torch.as_tensor(np.array(faces), dtype=torch.int64)
        if faces_t.ndim != 2 or faces_t.shape[1] != 3:
            raise ValueError(f"faces must have shape (F, 3), got {tuple(faces_t.shape)}")
        tensors[_FACES_KEY] = faces_t.contiguous()
    meta = ModelMetadata(config=model.config, keypoint_order=keypoint_order,
                         mesh_id=mesh_id, training_data_id=training_data_id,
                         model_id=model_id, storage_dtype="float16" if fp16 else "float32",
                         reparameterized=bool(getattr(model, "reparameterized", False)),
                         crop_roll=crop_roll, faces=faces_t)
    data = safetensors.torch.save(tensors, metadata={"format": "pt",
                                                     _META_KEY: meta.to_json()})
    _atomic_write(path, lambda f: f.write(data))
    return meta


def _parse_metadata(path: Path, header: dict[str, str] | None) -> ModelMetadata:
    if not header or _META_KEY not in header:
        raise ModelFileError(path, "not a rejshand model file (no 'rejshand' metadata "
                                   "in the safetensors header)")
    try:
        raw = json.loads(header[_META_KEY])
    except json.JSONDecodeError as exc:
        raise ModelFileError(path, f"corrupt rejshand metadata: {exc}") from exc
    if raw.get("format") != FORMAT_NAME:
        raise ModelFileError(path, f"unknown format {raw.get('format')!r}")
    version = raw.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(path, f"format version {version!r} is not supported "
                                   f"(this package reads <= {FORMAT_VERSION})")
    try:
        config = ModelConfig.from_dict(raw["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(path, f"invalid model config: {exc}") from exc
    return ModelMetadata(
        config=config, keypoint_order=raw.get("keypoint_order", ""),
        mesh_id=raw.get("mesh_id", ""), training_data_id=raw.get("training_data_id", ""),
        model_id=raw.get("model_id", ""), storage_dtype=raw.get("storage_dtype", "float32"),
        reparameterized=bool(raw.get("reparameterized", False)), format_version=version,
        crop_roll=raw.get("crop_roll", "image"))


def _check_exists(path: Path) -> None:
    if not path.is_file():
        raise ModelFileError(path, "file not found")


def read_model_metadata(path: str | os.PathLike) -> ModelMetadata:
    """Read only the header metadata (cheap: no weights, no model build; no faces)."""
    path = Path(path)
    _check_exists(path)
    try:
        with safetensors.safe_open(str(path), framework="pt") as f:
            header = f.metadata()
    except Exception as exc:
        raise ModelFileError(path, f"unreadable safetensors file (truncated or corrupt?): "
                                   f"{exc}") from exc
    return _parse_metadata(path, header)


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file (CPU); ModelFileError when unreadable."""
    try:
        return safetensors.torch.load_file(str(path), device="cpu")
    except Exception as exc:
        raise ModelFileError(path, f"cannot read tensors (truncated or corrupt?): "
                                   f"{exc}") from exc


def restore_weights(path: Path, model: torch.nn.Module, tensors: dict[str, torch.Tensor],
                    prefix: str = _MODEL_PREFIX) -> None:
    """Load ``prefix``-ed tensors into ``model``; ModelFileError naming missing,
    unexpected and mis-shaped keys when the file is of another architecture."""
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(expected) & set(state)
                   if tuple(expected[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        parts = [f"{name} {keys[:3]}{' ...' if len(keys) > 3 else ''} ({len(keys)})"
                 for name, keys in (("missing", missing), ("unexpected", unexpected),
                                    ("shape mismatch", wrong)) if keys]
        raise ModelFileError(path, "weights do not fit the architecture in its metadata "
                                   "(other architecture?): " + "; ".join(parts))
    model.load_state_dict(state)


def load_model_file(path: str | os.PathLike,
                    device: str | torch.device = "cpu") -> tuple[ReJSHand, ModelMetadata]:
    """Rebuild the model from ``path`` alone; returns (model in eval mode, metadata)."""
    path = Path(path)
    meta = read_model_metadata(path)
    tensors = read_tensors(path)
    try:
        model = ReJSHand(meta.config, pretrained=False)
    except Exception as exc:
        raise ModelFileError(path, f"cannot build the model it describes "
                                   f"(backbone {meta.config.backbone!r}): {exc}") from exc
    if meta.reparameterized:
        model.reparameterize()
    restore_weights(path, model, tensors)
    if _FACES_KEY in tensors:
        meta.faces = tensors[_FACES_KEY]
    return model.to(device).eval(), meta


# --------------------------------------------------------------------------- training state
def _rng_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)),
                  "pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_training_state(path: str | os.PathLike, *, optimizer: torch.optim.Optimizer,
                        step: int, epoch: int = 0, scheduler: Any = None,
                        scaler: Any = None, extra: dict[str, Any] | None = None) -> None:
    """Atomically write optimizer/scheduler/scaler state, step, epoch and RNG states."""
    payload = {
        "format": TRAINING_STATE_FORMAT, "format_version": FORMAT_VERSION,
        "step": int(step), "epoch": int(epoch), "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "rng": _rng_state(), "extra": dict(extra or {}),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    _atomic_write(Path(path), lambda f: f.write(buf.getbuffer()))


def load_training_state(path: str | os.PathLike, *, optimizer: Any = None,
                        scheduler: Any = None, scaler: Any = None,
                        restore_rng: bool = True) -> dict[str, Any]:
    """Read a training state (``weights_only=True``), restore what is given; returns it."""
    path = Path(path)
    _check_exists(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelFileError(path, f"unreadable training state: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != TRAINING_STATE_FORMAT:
        raise ModelFileError(path, "not a rejshand training-state file")
    if optimizer is not None:
        optimizer.load_state_dict(payload["optimizer"])
    if scheduler is not None and payload.get("scheduler") is not None:
        scheduler.load_state_dict(payload["scheduler"])
    if scaler is not None and payload.get("scaler") is not None:
        scaler.load_state_dict(payload["scaler"])
    if restore_rng:
        _restore_rng(payload["rng"])
    return payload
