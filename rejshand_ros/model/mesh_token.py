"""Mesh token generator (paper Sec. III-D): refined features -> mesh vertices.

F'_J, F'_S (B,T,D) -> concat channels (B,T,2D) -> Linear over tokens T -> V (mesh
tokens F_V, (B,V,2D)) -> Linear over channels 2D -> 3 -> vertices (B,V,3), metres,
root-relative (336 -> 778 tokens and 64+64 -> 3 channels at the paper's sizes).
Purely linear, as in the paper; the last layer starts small so initial vertices are
centimetres, not metres.
"""

from __future__ import annotations

import torch
from torch import nn


class MeshTokenGenerator(nn.Module):
    """(F'_J (B,T,D), F'_S (B,T,D)) -> vertices (B,V,3) in metres."""

    def __init__(self, num_tokens: int, channels: int, num_vertices: int = 778) -> None:
        super().__init__()
        self.token = nn.Linear(num_tokens, num_vertices)
        self.coord = nn.Linear(2 * channels, 3)
        nn.init.normal_(self.coord.weight, std=0.01)
        nn.init.zeros_(self.coord.bias)

    def forward(self, joints: torch.Tensor, bones: torch.Tensor) -> torch.Tensor:
        x = torch.cat([joints, bones], dim=-1)  # (B,T,2D)
        tokens = self.token(x.transpose(1, 2)).transpose(1, 2)  # (B,V,2D) = F_V
        return self.coord(tokens)
