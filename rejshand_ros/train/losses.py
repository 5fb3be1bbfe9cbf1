"""The paper's loss (Sec. III-E) plus the two extra heads.

L = k2d * L1(uv) + k3d * L1(joints) + kv * L1(vertices)
    + k_presence * BCE(presence) + k_handedness * BCE(handedness)

L1 terms are mean absolute errors over coordinates (uv in unit crop coordinates, 3D in
metres), counted only on crops that contain a hand (and, for vertices, that have them).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rejshand_ros.train.config import LossConfig


def _masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean |pred - target| over the samples where mask is 1 (0 when none is)."""
    per_sample = (pred.float() - target.float()).abs().flatten(1).mean(1)
    return (per_sample * mask).sum() / mask.sum().clamp(min=1.0)


def compute_losses(outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor],
                   weights: LossConfig) -> dict[str, torch.Tensor]:
    """Per-term losses and their weighted sum under ``"total"``."""
    hand = batch["presence"]
    losses = {
        "uv": _masked_l1(outputs["uv"], batch["uv"], hand),
        "joints": _masked_l1(outputs["joints"], batch["joints"], hand),
        "vertices": _masked_l1(outputs["vertices"], batch["vertices"],
                               hand * batch["has_vertices"]),
    }
    total = weights.k2d * losses["uv"] + weights.k3d * losses["joints"] + \
        weights.kv * losses["vertices"]
    if "presence_logit" in outputs and weights.presence > 0:
        losses["presence"] = F.binary_cross_entropy_with_logits(
            outputs["presence_logit"].float(), hand)
        total = total + weights.presence * losses["presence"]
    if "handedness_logit" in outputs and weights.handedness > 0:
        per_sample = F.binary_cross_entropy_with_logits(
            outputs["handedness_logit"].float(), batch["right"], reduction="none")
        losses["handedness"] = (per_sample * hand).sum() / hand.sum().clamp(min=1.0)
        total = total + weights.handedness * losses["handedness"]
    losses["total"] = total
    return losses
