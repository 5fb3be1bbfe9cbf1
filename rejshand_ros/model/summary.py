"""Parameters and FLOPs per block of a ReJSHand model, as rows and a text table.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode`` for one image at the
config's input size: 2 x multiply-accumulates of matmul/conv/attention ops (element-wise
ops, grid_sample and softmax are not counted).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .rejshand import ReJSHand


@dataclass
class SummaryRow:
    """One block: its name, parameter count and FLOPs (one image)."""

    name: str
    params: int
    flops: int


def _params(module: nn.Module | None) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def _blocks(model: ReJSHand) -> list[tuple[str, str, nn.Module | None]]:
    """(row name, module path under the model, module) for every reported block."""
    head = model.head
    inter = head.interaction
    rows: list[tuple[str, str, nn.Module | None]] = [
        ("keypoint_2d", "head.keypoint_2d", head.keypoint_2d),
        ("expansion", "head.expansion", head.expansion),
    ]
    for i, block in enumerate(inter.blocks):
        t, c = model.config.token_counts[i], model.config.channels[i]
        rows.append((f"interaction.block{i} ({t}x{c})", f"head.interaction.blocks.{i}", block))
        if i < len(inter.upsample_j):
            rows.append((f"interaction.upsample{i} (joints)",
                         f"head.interaction.upsample_j.{i}", inter.upsample_j[i]))
            rows.append((f"interaction.upsample{i} (skeleton)",
                         f"head.interaction.upsample_s.{i}", inter.upsample_s[i]))
    rows += [
        ("interaction.out_norms", "", None),  # filled from the two final LayerNorms
        ("mesh_token", "head.mesh_token", head.mesh_token),
        ("presence", "head.presence", head.presence),
        ("handedness", "head.handedness", head.handedness),
    ]
    return rows


def summarize(model: ReJSHand, batch: int = 1) -> list[SummaryRow]:
    """Rows: backbone, every head block, 'head (other)', 'head total', 'total'."""
    size = model.config.input_size
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(batch, 3, size, size, device=device))
    model.train(was_training)
    counts = {name: sum(ops.values()) for name, ops in counter.get_flop_counts().items()}
    root = type(model).__name__

    def flops(path: str) -> int:
        return int(counts.get(f"{root}.{path}", 0)) if path else 0

    rows = [SummaryRow("backbone", _params(model.backbone), flops("backbone"))]
    inter = model.head.interaction
    for name, path, module in _blocks(model):
        if name == "interaction.out_norms":
            rows.append(SummaryRow(name, _params(inter.norm_j) + _params(inter.norm_s), 0))
        elif module is not None:
            rows.append(SummaryRow(name, _params(module), flops(path)))
    head_params, head_flops = model.head_parameters(), flops("head")
    listed_p = sum(r.params for r in rows[1:])
    listed_f = sum(r.flops for r in rows[1:])
    rows.append(SummaryRow("head (other: pooling, joint regressor)",
                           head_params - listed_p, head_flops - listed_f))
    rows.append(SummaryRow("head total", head_params, head_flops))
    rows.append(SummaryRow("total", _params(model), int(counts.get("Global", 0))))
    return rows


def format_table(rows: list[SummaryRow], title: str = "") -> str:
    """Fixed-width table: block, parameters (M), MFLOPs."""
    width = max(len(r.name) for r in rows) + 2
    lines = [title] if title else []
    lines.append(f"{'block':<{width}}{'params':>12}{'MFLOPs':>12}")
    lines.append("-" * (width + 24))
    for r in rows:
        if r.name == "head total" or r.name == "total":
            lines.append("-" * (width + 24))
        lines.append(f"{r.name:<{width}}{r.params / 1e6:>11.3f}M{r.flops / 1e6:>12.1f}")
    return "\n".join(lines)
