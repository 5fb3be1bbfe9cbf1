"""Detector losses (CenterNet, Zhou et al. 2019): penalty-reduced focal loss on the centre
heatmap; L1 on log box side and sub-cell offset, and BCE on handedness, at the centres.

All terms are computed in float32 (safe under bf16/fp16 autocast) and normalised by the
number of hands in the batch (at least 1, so hand-less batches train the heatmap only).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rejshand_ros.detection.config import DetectorLossWeights


def focal_heatmap_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float = 2.0,
                       beta: float = 4.0) -> torch.Tensor:
    """Sum of CenterNet's focal loss over cells (not normalised).

    logits, target: (B, 1, G, G); target is 1 exactly at centres, a Gaussian elsewhere.
    Positives: -(1 - p)^alpha log p; negatives: -(1 - y)^beta p^alpha log(1 - p).
    """
    logits = logits.float()
    prob = torch.sigmoid(logits)
    pos = target.eq(1.0).float()
    log_p = F.logsigmoid(logits)
    log_not_p = F.logsigmoid(-logits)
    pos_loss = -((1.0 - prob) ** alpha) * log_p * pos
    neg_loss = -((1.0 - target) ** beta) * (prob ** alpha) * log_not_p * (1.0 - pos)
    return pos_loss.sum() + neg_loss.sum()


def gather_at(maps: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """maps (B, C, G, G), index (B, M) flat cell indices -> values (B, M, C)."""
    flat = maps.float().flatten(2)
    return flat.gather(2, index[:, None, :].expand(-1, flat.shape[1], -1)).transpose(1, 2)


def detector_losses(outputs: dict[str, torch.Tensor], batch: dict[str, torch.Tensor],
                    weights: DetectorLossWeights) -> dict[str, torch.Tensor]:
    """Loss terms and their weighted ``total``.

    outputs: the network's dict (heatmap, log_size, offset, handedness maps); batch: the
    dataset's targets (heatmap, index, mask, log_size, offset, right).
    """
    mask = batch["mask"].float()                      # (B, M)
    count = mask.sum().clamp(min=1.0)
    index = batch["index"].long()
    heatmap = focal_heatmap_loss(outputs["heatmap"], batch["heatmap"].float()) / count
    log_size = gather_at(outputs["log_size"], index)[..., 0]
    size = (torch.abs(log_size - batch["log_size"].float()) * mask).sum() / count
    offset_pred = gather_at(outputs["offset"], index)
    offset = (torch.abs(offset_pred - batch["offset"].float()).sum(-1) * mask).sum() / count
    hand_logit = gather_at(outputs["handedness"], index)[..., 0]
    handed = (F.binary_cross_entropy_with_logits(hand_logit, batch["right"].float(),
                                                 reduction="none") * mask).sum() / count
    total = (weights.heatmap * heatmap + weights.size * size + weights.offset * offset
             + weights.handedness * handed)
    return {"total": total, "heatmap": heatmap, "size": size, "offset": offset,
            "handedness": handed}
