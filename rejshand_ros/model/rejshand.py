"""ReJSHand: backbone + head (2D keypoints, expansion, interaction, mesh, 3D joints).

``ReJSHand.forward(images)`` takes normalised RGB crops (B,3,S,S) (see
``ModelConfig.mean/std``) and returns a dict:

- ``uv`` (B,J,2): 2D keypoints in crop coordinates, nominally [0,1] (pixel = uv * S).
- ``vertices`` (B,V,3): mesh vertices, metres, root-relative, crop camera frame.
- ``joints`` (B,J,3): ``joint_regressor`` (J,V) @ vertices, metres.
- ``presence_logit`` (B,): sigmoid = P(a hand is in the crop) (if ``presence_head``).
- ``handedness_logit`` (B,): sigmoid = P(right hand) (if ``handedness_head``).

The joint regressor is a buffer set from the hand model in use (MANO's 16 regressor
rows + 5 fingertip one-hot rows, reordered to FreiHAND order, or the procedural model's
matrix); until then a placeholder averages contiguous vertex chunks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .backbone import Backbone, Pretrained
from .config import ModelConfig
from .expansion_block import ExpansionBlock
from .feature_interaction import FeatureInteraction
from .keypoint_2d import Keypoint2DGenerator
from .mesh_token import MeshTokenGenerator

ArrayLike = Any  # torch.Tensor | np.ndarray


def default_joint_regressor(num_joints: int, num_vertices: int) -> torch.Tensor:
    """Placeholder (J,V) regressor: row j averages a contiguous chunk of vertices."""
    reg = torch.zeros(num_joints, num_vertices)
    edges = np.linspace(0, num_vertices, num_joints + 1).round().astype(int)
    for j in range(num_joints):
        lo, hi = edges[j], max(edges[j + 1], edges[j] + 1)
        reg[j, lo:hi] = 1.0 / (hi - lo)
    return reg


def _as_regressor(matrix: ArrayLike, num_joints: int, num_vertices: int) -> torch.Tensor:
    reg = torch.as_tensor(np.asarray(matrix) if not torch.is_tensor(matrix) else matrix)
    reg = reg.detach().to(torch.float32).cpu()
    if reg.shape != (num_joints, num_vertices):
        raise ValueError(f"joint regressor must have shape ({num_joints}, {num_vertices}), "
                         f"got {tuple(reg.shape)}")
    if not torch.isfinite(reg).all():
        raise ValueError("joint regressor contains NaN or inf")
    return reg


class ReJSHandHead(nn.Module):
    """Everything after the backbone: F_B (B,C,h,w) -> output dict (see module doc)."""

    def __init__(self, config: ModelConfig, in_channels: int,
                 joint_regressor: ArrayLike | None = None, feature_stride: int = 32) -> None:
        """``in_channels``/``feature_stride``: channels and stride of F_B."""
        super().__init__()
        cfg = config
        self.config = cfg
        self.keypoint_2d = Keypoint2DGenerator(in_channels, cfg.num_joints)
        self.expansion = ExpansionBlock(
            in_channels, cfg.channels[0], cfg.expansion_channels, cfg.upsample_factor,
            cfg.parents, cfg.bone_samples, cfg.position_encoding,
            map_size=max(1, cfg.input_size // feature_stride) * cfg.upsample_factor)
        self.interaction = FeatureInteraction(
            cfg.token_counts, cfg.channels, cfg.num_heads, cfg.coordinate_attention,
            cfg.coord_kernel_size, cfg.coord_reduction, cfg.ffn_ratio,
            cfg.learned_position_embedding)
        self.mesh_token = MeshTokenGenerator(cfg.token_counts[-1], cfg.channels[-1],
                                             cfg.num_vertices)
        self.presence = nn.Linear(in_channels, 1) if cfg.presence_head else None
        self.handedness = nn.Linear(in_channels, 1) if cfg.handedness_head else None
        reg = (default_joint_regressor(cfg.num_joints, cfg.num_vertices)
               if joint_regressor is None
               else _as_regressor(joint_regressor, cfg.num_joints, cfg.num_vertices))
        self.register_buffer("joint_regressor", reg)

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """F_B (B,C,h,w) -> dict(uv, joints, vertices[, presence_logit, handedness_logit])."""
        pooled = features.mean(dim=(2, 3))  # (B,C)
        uv = self.keypoint_2d(pooled)
        f_j, f_s = self.expansion(features, uv)
        f_j, f_s = self.interaction(f_j, f_s)
        vertices = self.mesh_token(f_j, f_s)
        joints = torch.einsum("jv,bvc->bjc", self.joint_regressor, vertices)
        out = {"uv": uv, "joints": joints, "vertices": vertices}
        if self.presence is not None:
            out["presence_logit"] = self.presence(pooled).squeeze(-1)
        if self.handedness is not None:
            out["handedness_logit"] = self.handedness(pooled).squeeze(-1)
        return out


class ReJSHand(nn.Module):
    """ReJSHand network: normalised RGB crops (B,3,S,S) -> output dict (module doc)."""

    def __init__(self, config: ModelConfig | None = None, pretrained: Pretrained = False,
                 joint_regressor: ArrayLike | None = None, pretrained_mapping: str = "") -> None:
        """``pretrained``: False (random), True (timm download) or a local weights path;
        ``pretrained_mapping``: how that file maps onto timm when it is not timm's
        (``backbone.CHECKPOINT_MAPPINGS``).

        Not part of the config: a model file restores all weights, so rebuilding one
        never downloads anything.
        """
        super().__init__()
        self.config = config if config is not None else ModelConfig()
        self.backbone = Backbone(self.config.backbone, self.config.backbone_features,
                                 pretrained, pretrained_mapping)
        self.head = ReJSHandHead(self.config, self.backbone.out_channels, joint_regressor,
                                 self.backbone.reduction)
        self.reparameterized = False
        self.register_buffer("mean", torch.tensor(self.config.mean).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor(self.config.std).view(1, 3, 1, 1),
                             persistent=False)

    @property
    def feature_channels(self) -> int:
        """Channels of F_B."""
        return self.backbone.out_channels

    @property
    def joint_regressor(self) -> torch.Tensor:
        """(J,V) matrix mapping vertices to joints."""
        return self.head.joint_regressor

    def set_joint_regressor(self, matrix: ArrayLike) -> None:
        """Replace the (J,V) joint regressor, e.g. with the hand model's matrix."""
        reg = _as_regressor(matrix, self.config.num_joints, self.config.num_vertices)
        self.head.joint_regressor.copy_(reg.to(self.head.joint_regressor.device))

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """RGB images (B,3,H,W) in [0,1] -> network input ((x - mean) / std)."""
        return (images - self.mean) / self.std

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """images (B,3,S,S) normalised -> F_B (B,C,S/32,S/32) for fastvit."""
        return self.backbone(images)

    def forward_head(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        """F_B (B,C,h,w) -> output dict."""
        return self.head(features)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """images (B,3,S,S) normalised -> dict(uv, joints, vertices, logits)."""
        return self.forward_head(self.forward_features(images))

    def head_parameters(self) -> int:
        """Number of parameters outside the backbone (the paper's 1.91 M figure)."""
        return sum(p.numel() for p in self.head.parameters())

    def reparameterize(self) -> "ReJSHand":
        """Fuse the backbone's re-parameterisable branches in place and fix its 'SAME'
        padding for ``config.input_size``; returns self.

        Inference only: afterwards the model cannot be trained or saved as a training
        checkpoint of the un-fused architecture.
        """
        self.backbone.reparameterize(self.config.input_size)
        self.reparameterized = True
        return self


def count_head_parameters(config: ModelConfig, in_channels: int) -> int:
    """Head parameters for a backbone with ``in_channels`` in F_B, without building it."""
    return sum(p.numel() for p in ReJSHandHead(config, in_channels).parameters())
