"""Training state (``checkpoint.pt``): what resuming a run needs besides the model.

Optimizer, scheduler and grad-scaler state, step, epoch, the Python / numpy / torch (and
CUDA) RNG states and the trainer's ``extra`` (model weights, best score, config), in one
``torch.save`` file readable with ``torch.load(weights_only=True)``. The write is atomic
(``model.model_file.atomic_write``): a run killed mid-write keeps its previous state.
Errors are ``ModelFileError`` naming the file.
"""

from __future__ import annotations

import io
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rejshand_ros.model.model_file import ModelFileError, atomic_write

TRAINING_STATE_FORMAT = "rejshand-training-state"
FORMAT_VERSION = 1


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
    atomic_write(Path(path), lambda f: f.write(buf.getbuffer()))


def load_training_state(path: str | os.PathLike, *, optimizer: Any = None,
                        scheduler: Any = None, scaler: Any = None,
                        restore_rng: bool = True) -> dict[str, Any]:
    """Read a training state (``weights_only=True``), restore what is given; returns it."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(path, "file not found")
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
