"""2D keypoint generator (paper Sec. III-D): a linear map on the pooled backbone features.

F_B (B,C,h,w) -> global average pool -> Linear(C, 2J) -> uv (B,J,2) in crop coordinates:
x right, y down, 0 = left/top edge, 1 = right/bottom edge (pixel = uv * input_size),
matching ``grid_sample(align_corners=True)`` after the 2F-1 mapping of Eq. 1.

As in the public code the output is not squashed: uv lies in [0,1] for keypoints inside
the crop and may leave it slightly for truncated hands (the expansion block clamps before
sampling). A sigmoid would saturate exactly where such labels sit.
"""

from __future__ import annotations

import torch
from torch import nn


class Keypoint2DGenerator(nn.Module):
    """Pooled F_B (B,C) -> uv (B,J,2), nominally in [0,1]."""

    def __init__(self, in_channels: int, num_joints: int = 21) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.fc = nn.Linear(in_channels, num_joints * 2)
        # Start at the crop centre with a small spread.
        nn.init.normal_(self.fc.weight, std=0.01)
        nn.init.constant_(self.fc.bias, 0.5)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        """pooled (B,C) -> uv (B,J,2)."""
        return self.fc(pooled).view(-1, self.num_joints, 2)
