"""The training loop: single process or DistributedDataParallel (torchrun), resumable.

Resume is exact: the checkpoint holds the model, optimizer, scheduler, grad scaler,
step and RNG states, and the data order is a pure function of (seed, epoch, position),
so a run killed at any point and resumed from its last checkpoint produces the same
weights as an uninterrupted run (same machine, same thread count).

Outputs in ``out_dir``: ``checkpoint.pt`` (training state, atomic), ``model_last.safetensors``
and ``model_best.safetensors`` (model files), ``metrics.csv`` (validation curve),
``tb/`` (TensorBoard).
"""

from __future__ import annotations

import csv
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Sampler

from rejshand_ros.data.dataset import quiet_worker
from rejshand_ros.train.config import TrainConfig
from rejshand_ros.train.task_registry import make_task
from rejshand_ros.train.training_state import load_training_state, save_training_state

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"


class ResumableSampler(Sampler[int]):
    """Indices of one epoch: a permutation fixed by (seed, epoch), this rank's share,
    starting at ``start`` (the position to resume from, in items of this rank)."""

    def __init__(self, size: int, seed: int, rank: int = 0, world: int = 1) -> None:
        self.size, self.seed, self.rank, self.world = size, seed, rank, world
        self.epoch, self.start = 0, 0

    def set_position(self, epoch: int, start: int) -> None:
        self.epoch, self.start = int(epoch), int(start)

    def _indices(self) -> np.ndarray:
        order = np.random.default_rng((self.seed, self.epoch)).permutation(self.size)
        return order[self.rank::self.world][self.start:]

    def __iter__(self):
        return iter(self._indices().tolist())

    def __len__(self) -> int:
        return int(self._indices().size)


def _lr_factor(step: int, warmup: int, milestones: list[int], gamma: float) -> float:
    factor = gamma ** sum(step >= m for m in milestones)
    if warmup > 0 and step < warmup:
        factor *= (step + 1) / warmup
    return factor


def _no_decay(name: str, param: torch.Tensor) -> bool:
    return param.ndim <= 1 or name.endswith(".bias")


class Trainer:
    """Builds data, model and optimiser from a TrainConfig and runs the loop."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        if self.world > 1 and not dist.is_initialized():
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            dist.init_process_group(backend)
        self.device = self._device()
        if config.num_threads > 0:
            torch.set_num_threads(config.num_threads)
        self.out_dir = Path(config.out_dir)
        self.is_main = self.rank == 0
        if self.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)

        self.task = make_task(config)
        self.train_set = self.task.train_set
        torch.manual_seed(config.seed)
        self.model = self.task.build_model().to(self.device)
        if config.channels_last:  # conv outputs follow the weights' layout (NHWC)
            self.model = self.model.to(memory_format=torch.channels_last)
        self.ddp_model = self.model
        if self.world > 1:
            self.ddp_model = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)

        self.steps_per_epoch = max(len(self.train_set) // (config.batch_size * self.world), 1)
        self.max_steps = config.max_steps or int(math.ceil(config.epochs * self.steps_per_epoch))
        self.optimizer = self._optimizer()
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: _lr_factor(step, config.optim.warmup_steps,
                                                    self._milestones(), config.optim.gamma))
        self.autocast_dtype = self._autocast_dtype()
        self.scaler = torch.amp.GradScaler(self.device.type,
                                           enabled=self.autocast_dtype == torch.float16)
        self.sampler = ResumableSampler(len(self.train_set), config.seed, self.rank, self.world)
        self.step = 0
        self.best = math.inf

    def _milestones(self) -> list[int]:
        """LR milestones in steps (fractions follow max_steps, which a time budget sets)."""
        optim = self.config.optim
        if optim.milestones_fraction:
            return [int(f * self.max_steps) for f in optim.milestones_fraction]
        return [int(m * self.steps_per_epoch) for m in optim.milestones_epochs]

    def _apply_time_budget(self, start_s: float, pace_from: tuple[float, int]) -> None:
        """After the calibration steps: as many steps as the rest of the budget holds at
        the pace measured since ``pace_from`` (time, step: after the data loader's start),
        minus the validations still due."""
        now = time.perf_counter()
        elapsed = now - start_s
        per_step = (now - pace_from[0]) / max(self.step - pace_from[1], 1)
        left = self.config.time_budget_s - elapsed
        steps = int(left / per_step)
        validations = max(steps // self.config.val_every, 1)
        steps = max(int((left - validations * self._validation_s) / per_step), 1)
        self.max_steps = self.step + steps
        log.info("time budget %.0f s: %.3f s/step -> %d steps in all", self.config.time_budget_s,
                 per_step, self.max_steps)

    # -- set-up helpers -----------------------------------------------------------------
    def _device(self) -> torch.device:
        requested = self.config.device
        if requested == "auto":
            requested = "cuda" if torch.cuda.is_available() else "cpu"
        if requested == "cuda" and self.world > 1:
            local = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local)
            return torch.device("cuda", local)
        return torch.device(requested)

    def _autocast_dtype(self) -> torch.dtype | None:
        precision = self.config.precision
        if precision == "auto":
            precision = "fp16" if self.device.type == "cuda" else "bf16"
        if precision == "fp16" and self.device.type != "cuda":
            raise ValueError("precision fp16 needs CUDA; use bf16 on CPU")
        return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]

    def _optimizer(self) -> torch.optim.Optimizer:
        optim = self.config.optim
        decay, no_decay = [], []
        for name, param in self.model.named_parameters():
            if param.requires_grad:
                (no_decay if _no_decay(name, param) else decay).append(param)
        groups = [{"params": decay, "weight_decay": optim.weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}]
        cls = torch.optim.AdamW if optim.optimizer == "adamw" else torch.optim.Adam
        return cls(groups, lr=optim.lr)

    # -- checkpoints --------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        if not self.is_main:
            return
        save_training_state(self.out_dir / CHECKPOINT, optimizer=self.optimizer,
                            step=self.step, epoch=self.step // self.steps_per_epoch,
                            scheduler=self.scheduler, scaler=self.scaler,
                            extra={"model": self.model.state_dict(), "best": self.best,
                                   "train_config": self.config.to_dict()})

    def resume(self) -> bool:
        """Load ``checkpoint.pt`` if present; returns whether a run was resumed."""
        path = self.out_dir / CHECKPOINT
        self._remove_partial_checkpoints()
        if not path.exists():
            return False
        state = load_training_state(path, optimizer=self.optimizer, scheduler=self.scheduler,
                                    scaler=self.scaler)
        self.model.load_state_dict(state["extra"]["model"])
        self.step = int(state["step"])
        self.best = float(state["extra"].get("best", math.inf))
        log.info("resumed from %s at step %d", path, self.step)
        return True

    def _remove_partial_checkpoints(self) -> None:
        """Delete temp files of checkpoint writes that were killed (writes are atomic: the
        checkpoint itself is the previous, complete one)."""
        if not self.is_main:
            return
        for partial in self.out_dir.glob(f".{CHECKPOINT}.*.tmp"):
            log.warning("removing a partial checkpoint left by an interrupted write: %s",
                        partial)
            partial.unlink(missing_ok=True)

    def export_model(self, name: str) -> Path:
        path = self.out_dir / name
        self.task.export(self.model, path)
        return path

    # -- loop ---------------------------------------------------------------------------
    def _batches(self):
        """Endless batches from the current step on (epoch and position from the step)."""
        config = self.config
        while True:
            epoch, position = divmod(self.step, self.steps_per_epoch)
            self.train_set.set_epoch(epoch)
            self.sampler.set_position(epoch, position * config.batch_size)
            loader = DataLoader(self.train_set, batch_size=config.batch_size,
                                sampler=self.sampler, num_workers=config.data.num_workers,
                                drop_last=True, pin_memory=self.device.type == "cuda",
                                worker_init_fn=quiet_worker)
            remaining = self.steps_per_epoch - position
            for index, batch in enumerate(loader):
                if index >= remaining:
                    break
                yield batch

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        self.ddp_model.train()
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        with torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.float32,
                            enabled=self.autocast_dtype is not None):
            losses = self.task.losses(self.ddp_model, batch)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(losses["total"]).backward()
        if self.config.optim.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.optim.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.step += 1
        return {k: float(v.detach()) for k, v in losses.items()}

    def validate(self) -> dict[str, float]:
        self.model.eval()
        return self.task.validate(self.model, self.device)

    def _log_validation(self, metrics: dict[str, float], writer) -> None:
        path = self.out_dir / "metrics.csv"
        new = not path.exists()
        with open(path, "a", newline="") as handle:
            out = csv.writer(handle)
            keys = sorted(metrics)
            if new:
                out.writerow(["step", *keys])
            out.writerow([self.step, *[f"{metrics.get(k, float('nan')):.4f}" for k in keys]])
        if writer is not None:
            for key, value in metrics.items():
                writer.add_scalar(f"val/{key}", value, self.step)

    def fit(self, progress: bool = True) -> dict[str, float]:
        """Train up to max_steps (checkpointing, validating); returns the last metrics."""
        writer = None
        if self.is_main:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(self.out_dir / "tb"))
        bar = None
        if self.is_main and progress:
            from tqdm import tqdm

            bar = tqdm(total=self.max_steps, initial=self.step, desc="train", unit="step",
                       dynamic_ncols=True)
        last_metrics: dict[str, float] = {}
        batches = self._batches()
        budget = self.config.time_budget_s
        start_s, start_step = time.perf_counter(), self.step
        self._validation_s = 0.0
        calibrate_at = self.step + self.config.calibration_steps if budget else None
        pace_from = (start_s, start_step)
        if budget:
            self.max_steps = max(self.max_steps, calibrate_at + 1)
        while self.step < self.max_steps:
            losses = self.train_step(next(batches))
            if budget and self.step == start_step + max(self.config.calibration_steps // 5, 1):
                pace_from = (time.perf_counter(), self.step)  # the loader has started
            if self.step == calibrate_at:
                self._apply_time_budget(start_s, pace_from)
                if bar is not None:
                    bar.total = self.max_steps
                    bar.refresh()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{losses['total']:.4f}")
            if writer is not None and self.step % self.config.log_every == 0:
                for key, value in losses.items():
                    writer.add_scalar(f"train/{key}", value, self.step)
                writer.add_scalar("train/lr", self.scheduler.get_last_lr()[0], self.step)
            if self.step % self.config.val_every == 0 or self.step == self.max_steps:
                if self.is_main:
                    validation_start = time.perf_counter()
                    last_metrics = self.validate()
                    self._validation_s = time.perf_counter() - validation_start
                    if last_metrics:
                        self._log_validation(last_metrics, writer)
                        score = last_metrics[self.task.score_key]
                        log.info("step %d/%d: loss %.4f, %s %.3f (best %.3f), %.1f min",
                                 self.step, self.max_steps, losses["total"],
                                 self.task.score_key, score, min(score, self.best),
                                 (time.perf_counter() - start_s) / 60.0)
                        if score < self.best:
                            self.best = score
                            self.export_model("model_best.safetensors")
            if self.step % self.config.checkpoint_every == 0 or self.step == self.max_steps:
                self.save_checkpoint()
                if self.is_main:
                    self.export_model("model_last.safetensors")
            if self.world > 1:
                dist.barrier()
        if bar is not None:
            bar.close()
        if writer is not None:
            writer.close()
        return last_metrics
