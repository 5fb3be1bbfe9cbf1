"""Feature-interaction blocks (paper Sec. III-C): refine joint and skeleton features.

One ``FeatureInteractionBlock`` on F_J, F_S (B,T,D):

1. Coordinate attention per stream: a 1D conv (kernel 3) over the token axis with
   channel reduction, GELU, a 1x1 conv back to D, gate = 2 sigmoid(.) in (0, 2) that
   re-weights every (token, channel). The gate starts at exactly 1 (zero-initialised last
   conv), so the layer starts as identity. In FreiHAND order neighbouring tokens are
   mostly neighbouring joints of one finger, which the kernel-3 conv links.
2. Skeleton-guided multi-head attention (8 heads, d_k = D/8 = 32/16/8), pre-LayerNorm,
   residual. Both streams are concatenated into 2T tokens and share the Q/K/V and
   output projections; a fixed mask lets joint queries attend to joints *and* bones
   while bone queries attend to bones only: the skeleton guides the joint stream, never
   the reverse, and the skeleton stream still models bone-bone relations.
3. Per-stream feed-forward "projection" (Linear D -> ffn_ratio D -> D, GELU),
   pre-LayerNorm, residual.

Between blocks ``TokenUpsample`` maps each stream (LayerNorm, Linear over channels
D -> D', Linear over tokens T -> T', plus a learned position embedding): 21x256 ->
84x128 -> 336x64. ``FeatureInteraction`` chains the three blocks and ends with a
LayerNorm per stream.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class CoordinateAttention(nn.Module):
    """x (B,T,D) -> x * gate, gate (B,T,D) in (0,2) from 1D convs over the token axis."""

    def __init__(self, channels: int, kernel_size: int = 3, reduction: int = 8) -> None:
        super().__init__()
        hidden = max(8, channels // reduction)
        self.reduce = nn.Conv1d(channels, hidden, kernel_size, padding=kernel_size // 2)
        self.act = nn.GELU()
        self.expand = nn.Conv1d(hidden, channels, 1)
        nn.init.zeros_(self.expand.weight)
        nn.init.zeros_(self.expand.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.transpose(1, 2)  # (B,D,T)
        gate = 2.0 * torch.sigmoid(self.expand(self.act(self.reduce(h))))
        return x * gate.transpose(1, 2)


class SkeletonGuidedAttention(nn.Module):
    """Joints attend to joints + bones, bones to bones. (B,T,D) x2 -> (B,T,D) x2."""

    def __init__(self, channels: int, num_tokens: int, num_heads: int = 8,
                 skeleton_guidance: bool = True) -> None:
        super().__init__()
        if channels % num_heads:
            raise ValueError(f"channels {channels} not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_dim = channels // num_heads
        self.qkv = nn.Linear(channels, 3 * channels)
        self.proj = nn.Linear(channels, channels)
        self.num_tokens = num_tokens
        self.skeleton_guidance = skeleton_guidance

    def forward(self, joints: torch.Tensor,
                bones: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, d = joints.shape
        if t != self.num_tokens or bones.shape[1] != t:
            raise ValueError(f"expected {self.num_tokens} joint and bone tokens, got "
                             f"{t} and {bones.shape[1]}")
        x = torch.cat([joints, bones], dim=1)  # (B,2T,D)
        qkv = self.qkv(x).reshape(b, 2 * t, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # (B,H,2T,dk) each
        # The joint/bone mask as two unmasked attentions (bones see bones; joints see
        # joints and bones, or joints only): the same result, no mask to build or apply.
        keys = slice(None) if self.skeleton_guidance else slice(0, t)
        out_j = F.scaled_dot_product_attention(q[:, :, :t], k[:, :, keys], v[:, :, keys])
        out_s = F.scaled_dot_product_attention(q[:, :, t:], k[:, :, t:], v[:, :, t:])
        out = torch.cat([out_j, out_s], dim=2)  # (B,H,2T,dk)
        out = self.proj(out.transpose(1, 2).reshape(b, 2 * t, d))
        return out[:, :t], out[:, t:]


def _ffn(channels: int, ratio: float) -> nn.Sequential:
    hidden = max(1, int(round(channels * ratio)))
    return nn.Sequential(nn.Linear(channels, hidden), nn.GELU(), nn.Linear(hidden, channels))


class FeatureInteractionBlock(nn.Module):
    """One block: coordinate attention, skeleton-guided MHA, FFN. (B,T,D) x2 -> same."""

    def __init__(self, channels: int, num_tokens: int, num_heads: int = 8,
                 coordinate_attention: bool = True, coord_kernel_size: int = 3,
                 coord_reduction: int = 8, ffn_ratio: float = 1.0) -> None:
        super().__init__()

        def coord() -> nn.Module:
            if not coordinate_attention:
                return nn.Identity()
            return CoordinateAttention(channels, coord_kernel_size, coord_reduction)

        self.coord_j, self.coord_s = coord(), coord()
        self.norm_j1, self.norm_s1 = nn.LayerNorm(channels), nn.LayerNorm(channels)
        self.attn = SkeletonGuidedAttention(channels, num_tokens, num_heads)
        self.norm_j2, self.norm_s2 = nn.LayerNorm(channels), nn.LayerNorm(channels)
        self.ffn_j, self.ffn_s = _ffn(channels, ffn_ratio), _ffn(channels, ffn_ratio)

    def forward(self, joints: torch.Tensor,
                bones: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """F_J, F_S (B,T,D) -> F'_J, F'_S (B,T,D)."""
        joints, bones = self.coord_j(joints), self.coord_s(bones)
        a_j, a_s = self.attn(self.norm_j1(joints), self.norm_s1(bones))
        joints, bones = joints + a_j, bones + a_s
        joints = joints + self.ffn_j(self.norm_j2(joints))
        bones = bones + self.ffn_s(self.norm_s2(bones))
        return joints, bones


class TokenUpsample(nn.Module):
    """(B,T,D) -> (B,T',D'): LayerNorm, Linear over channels, Linear over tokens, + pos."""

    def __init__(self, tokens_in: int, tokens_out: int, channels_in: int,
                 channels_out: int, position_embedding: bool = True) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels_in)
        self.channel = nn.Linear(channels_in, channels_out)
        self.token = nn.Linear(tokens_in, tokens_out)
        self.pos = (nn.Parameter(torch.zeros(tokens_out, channels_out))
                    if position_embedding else None)
        if self.pos is not None:
            nn.init.trunc_normal_(self.pos, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.channel(self.norm(x))  # (B,T,D')
        x = self.token(x.transpose(1, 2)).transpose(1, 2)  # (B,T',D')
        return x if self.pos is None else x + self.pos


class FeatureInteraction(nn.Module):
    """Blocks in series with token upsampling: (B,T0,D0) x2 -> (B,Tn,Dn) x2."""

    def __init__(self, token_counts: Sequence[int], channels: Sequence[int],
                 num_heads: int = 8, coordinate_attention: bool = True,
                 coord_kernel_size: int = 3, coord_reduction: int = 8,
                 ffn_ratio: float = 1.0, position_embedding: bool = True) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            FeatureInteractionBlock(c, t, num_heads, coordinate_attention,
                                    coord_kernel_size, coord_reduction, ffn_ratio)
            for t, c in zip(token_counts, channels))
        pairs = list(zip(token_counts, channels))
        self.upsample_j = nn.ModuleList(
            TokenUpsample(t0, t1, c0, c1, position_embedding)
            for (t0, c0), (t1, c1) in zip(pairs[:-1], pairs[1:]))
        self.upsample_s = nn.ModuleList(
            TokenUpsample(t0, t1, c0, c1, position_embedding)
            for (t0, c0), (t1, c1) in zip(pairs[:-1], pairs[1:]))
        self.norm_j = nn.LayerNorm(channels[-1])
        self.norm_s = nn.LayerNorm(channels[-1])

    def forward(self, joints: torch.Tensor,
                bones: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """F_J, F_S (B,21,256) -> F'_J, F'_S (B,336,64) at the paper's sizes."""
        for i, block in enumerate(self.blocks):
            joints, bones = block(joints, bones)
            if i < len(self.upsample_j):
                joints, bones = self.upsample_j[i](joints), self.upsample_s[i](bones)
        return self.norm_j(joints), self.norm_s(bones)
