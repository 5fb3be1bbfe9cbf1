"""Expansion block (paper Sec. III-B): F_B + 2D keypoints -> joint and skeleton features.

Pipeline, for F_B (B,C,h,w) and uv (B,J,2) in [0,1]:

1. ``reduce``: 1x1 conv C -> M (M = ``expansion_channels``, 128) + BN + ReLU.
2. ``upsample``: ConvTranspose2d(M, M, k=s=4) + BN + ReLU -> (B,M,4h,4w) (28x28 at 224 px).
3. Eq. 1: grid = clamp(2 uv - 1, -1, 1); ``grid_sample(align_corners=True)`` of the map at
   the J keypoints and at ``bone_samples`` points strictly inside every bone
   (parent -> child, t = k / (bone_samples + 1)), in one call.
4. Optional 2D sine position encoding of the (clamped) sample positions, added to the
   sampled features; it equals the public code's map-level encoding up to bilinear
   interpolation error, at a fraction of the cost.
5. Joint features F_J = Linear(M -> D)(f_joint) + joint embedding, (B,J,D).
   Skeleton features F_S = Linear((1 + bone_samples) M + 2 -> D)(
   [f_child - f_parent, f_along_1..K, uv_child - uv_parent]) + bone embedding, (B,J,D):
   token j is the bone from parents[j] to j; the root's "bone" (parent = itself) is zero.

Parameter budget: the public code's ConvTranspose2d(1216 -> 256, k4 s4) alone holds ~5 M
parameters; reducing to M channels with a 1x1 conv first costs C*M + 16*M^2 (78 k + 262 k
for fastvit_ma36's 608 channels and M = 128), which keeps the whole head under the
paper's 1.91 M.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def sine_frequencies(channels: int, max_freq: float) -> torch.Tensor:
    """(channels // 4,) angular frequencies, geometric from 1 to ``max_freq`` cycles/crop."""
    n = channels // 4
    return torch.exp(torch.linspace(0.0, math.log(max(max_freq, 1.0)), n)) * (2.0 * math.pi)


def sine_position_encoding(uv: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """uv (B,N,2) in [0,1], freqs (n,) -> (B,N,4n) sin/cos features (x then y)."""
    angles = uv.unsqueeze(-1) * freqs  # (B,N,2,n)
    return torch.cat([angles.sin(), angles.cos()], dim=-1).flatten(-2)


class ExpansionBlock(nn.Module):
    """(F_B (B,C,h,w), uv (B,J,2)) -> (F_J (B,J,D), F_S (B,J,D))."""

    def __init__(self, in_channels: int, out_channels: int = 256, mid_channels: int = 128,
                 upsample_factor: int = 4, parents: Sequence[int] = (),
                 bone_samples: int = 2, position_encoding: bool = True,
                 map_size: int = 28) -> None:
        """``map_size``: side of the upsampled map; the encoding's top frequency is
        its Nyquist limit, map_size / 2 cycles per crop."""
        super().__init__()
        if not parents:
            raise ValueError("ExpansionBlock needs the parent table of the keypoints")
        if position_encoding and mid_channels % 4:
            raise ValueError(f"position encoding needs mid_channels % 4 == 0, got {mid_channels}")
        num_joints = len(parents)
        self.num_joints = num_joints
        self.bone_samples = bone_samples
        self.use_position_encoding = position_encoding
        self.upsample_factor = upsample_factor
        self.reduce = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, 1, bias=False),
            nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True))
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(mid_channels, mid_channels, upsample_factor,
                               stride=upsample_factor, bias=False),
            nn.BatchNorm2d(mid_channels), nn.ReLU(inplace=True))
        self.joint_proj = nn.Linear(mid_channels, out_channels)
        self.skeleton_proj = nn.Linear((1 + bone_samples) * mid_channels + 2, out_channels)
        self.joint_embed = nn.Parameter(torch.zeros(num_joints, out_channels))
        self.bone_embed = nn.Parameter(torch.zeros(num_joints, out_channels))
        nn.init.trunc_normal_(self.joint_embed, std=0.02)
        nn.init.trunc_normal_(self.bone_embed, std=0.02)
        self.register_buffer("parents", torch.as_tensor(list(parents), dtype=torch.long),
                             persistent=False)
        t = torch.arange(1, bone_samples + 1, dtype=torch.float32) / (bone_samples + 1)
        self.register_buffer("freqs", sine_frequencies(mid_channels, map_size / 2.0),
                             persistent=False)
        self.register_buffer("bone_t", t.view(1, 1, -1, 1), persistent=False)

    def sample_points(self, uv: torch.Tensor) -> torch.Tensor:
        """uv (B,J,2) -> sample positions (B, J*(1+K), 2): joints, then K per bone."""
        parent_uv = uv[:, self.parents]  # (B,J,2)
        if self.bone_samples == 0:
            return uv
        along = parent_uv.unsqueeze(2) + self.bone_t * (uv - parent_uv).unsqueeze(2)
        return torch.cat([uv, along.flatten(1, 2)], dim=1)

    @staticmethod
    def sample(fmap: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """Bilinear features of fmap (B,M,H,W) at points (B,N,2) in [0,1] -> (B,N,M).

        Eq. 1: grid = 2 F - 1 in [-1,1]; align_corners=True puts uv 0 and 1 on the
        centres of the first and last pixels.
        """
        grid = (2.0 * points.clamp(0.0, 1.0) - 1.0).unsqueeze(1)  # (B,1,N,2)
        out = F.grid_sample(fmap, grid, mode="bilinear", padding_mode="border",
                            align_corners=True)  # (B,M,1,N)
        return out.squeeze(2).transpose(1, 2)

    def feature_map(self, features: torch.Tensor) -> torch.Tensor:
        """F_B (B,C,h,w) -> upsampled map (B,M,h*s,w*s)."""
        return self.upsample(self.reduce(features))

    def forward(self, features: torch.Tensor,
                uv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """F_B (B,C,h,w), uv (B,J,2) in [0,1] -> F_J (B,J,D), F_S (B,J,D)."""
        fmap = self.feature_map(features)
        b, j = uv.shape[0], self.num_joints
        points = self.sample_points(uv).clamp(0.0, 1.0)
        sampled = self.sample(fmap, points)  # (B,N,M)
        if self.use_position_encoding:
            sampled = sampled + sine_position_encoding(points, self.freqs)
        f_joint = sampled[:, :j]  # (B,J,M)
        f_parent = f_joint[:, self.parents]
        parts = [f_joint - f_parent]
        if self.bone_samples:
            parts.append(sampled[:, j:].reshape(b, j, -1))  # (B,J,K*M), bone-major
        parts.append(uv - uv[:, self.parents])
        f_j = self.joint_proj(f_joint) + self.joint_embed
        f_s = self.skeleton_proj(torch.cat(parts, dim=-1)) + self.bone_embed
        return f_j, f_s
