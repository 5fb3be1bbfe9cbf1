"""The paper's loss (Sec. III-E) plus the two extra heads.

L = k2d * L1(uv) + k3d * L1(joints) + kv * L1(vertices)
    + k_presence * BCE(presence) + k_handedness * BCE(handedness)

L1 terms are mean absolute errors over coordinates (uv in unit crop coordinates, 3D in
metres), weighted per sample by the batch's ``w2d`` / ``w3d`` / ``wv`` (which targets a
sample has, times its source's multiplier: a photo with teacher labels has 2D, 3D at a
lower weight and no vertices) and averaged over the samples that have the target. Batches
without those keys use presence (and ``has_vertices``) as before.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rejshand_ros.train.config import LossConfig


def _masked_l1(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Sum of weight x mean |pred - target| per sample, over the number of samples with a
    weight > 0 (0 when none has one): a weight below 1 lowers a sample's influence."""
    per_sample = (pred.float() - target.float()).abs().flatten(1).mean(1)
    return (per_sample * weight).sum() / (weight > 0).sum().clamp(min=1).float()


def compute_losses(outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor],
                   weights: LossConfig) -> dict[str, torch.Tensor]:
    """Per-term losses and their weighted sum under ``"total"``."""
    hand = batch["presence"]
    losses = {
        "uv": _masked_l1(outputs["uv"], batch["uv"], batch.get("w2d", hand)),
        "joints": _masked_l1(outputs["joints"], batch["joints"], batch.get("w3d", hand)),
        "vertices": _masked_l1(outputs["vertices"], batch["vertices"],
                               batch.get("wv", hand * batch["has_vertices"])),
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
