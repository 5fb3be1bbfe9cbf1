"""ReJSHand network configuration: one validated, JSON-able dataclass.

The config is the single source of the network's shape *and* of its preprocessing
(input size, channel order, mean/std), so the trainer, the model file and the ROS node
never drift apart (timm's habit of keeping preprocessing constants in the model config).

Normalisation: images are **RGB**, scaled to [0, 1], then ``(x - mean) / std`` per
channel. The default ``mean = (0.5, 0.5, 0.5)``, ``std = (1, 1, 1)`` reproduces the public
ReJSHand/SimpleHand code (``img / 255 - 0.5``); that code feeds BGR images, we feed RGB
(the order timm's ImageNet weights were trained with). Checkpoints of the public code
therefore need their input channels flipped; model files of this package do not.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

#: Parent of each joint in FreiHAND / MediaPipe order (root's parent is itself).
FREIHAND_PARENTS: tuple[int, ...] = (
    0, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19,
)

BACKBONE_FEATURE_SOURCES = ("last_stage", "forward_features")


@dataclass
class ModelConfig:
    """Hyper-parameters of the ReJSHand network (paper Sec. III defaults).

    Attributes:
        backbone: any timm model name, e.g. ``fastvit_ma36`` (paper) or ``fastvit_t8``.
        backbone_features: ``last_stage`` = timm ``features_only`` last stage (608 ch for
            fastvit_ma36); ``forward_features`` = timm ``forward_features`` incl. the
            final conv (1216 ch, the public code's choice).
        input_size: square crop side in pixels.
        mean, std: per-channel RGB normalisation on [0, 1] pixel values.
        num_joints, num_vertices: output keypoints (FreiHAND order) and mesh vertices.
        token_counts, channels: token x channel size of the 3 feature-interaction blocks.
        num_heads: attention heads (d_k = channels / num_heads).
        expansion_channels: channels of the upsampled map in the expansion block.
        upsample_factor: stride (= kernel) of the expansion block's transposed conv.
        bone_samples: points sampled strictly inside every bone for skeleton features.
        coordinate_attention: use the coordinate-attention layer (paper) or skip it
            (public code).
        coord_kernel_size, coord_reduction: its 1D conv kernel and channel reduction.
        position_encoding: add a 2D sine encoding to the upsampled map (public code).
        learned_position_embedding: learned token embeddings in blocks 2 and 3.
        ffn_ratio: hidden width of the feed-forward layers relative to channels.
        presence_head, handedness_head: the two extra logits (not in the paper).
        parents: parent index of every joint (root's parent is itself).
    """

    backbone: str = "fastvit_ma36"
    backbone_features: str = "last_stage"
    input_size: int = 224
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    num_joints: int = 21
    num_vertices: int = 778
    token_counts: tuple[int, ...] = (21, 84, 336)
    channels: tuple[int, ...] = (256, 128, 64)
    num_heads: int = 8
    expansion_channels: int = 128
    upsample_factor: int = 4
    bone_samples: int = 2
    coordinate_attention: bool = True
    coord_kernel_size: int = 3
    coord_reduction: int = 8
    position_encoding: bool = True
    learned_position_embedding: bool = True
    ffn_ratio: float = 1.0
    presence_head: bool = True
    handedness_head: bool = True
    parents: tuple[int, ...] = field(default=FREIHAND_PARENTS)

    def __post_init__(self) -> None:
        # JSON/YAML give lists; normalise to tuples so configs compare equal.
        for name in ("mean", "std", "token_counts", "channels", "parents"):
            setattr(self, name, tuple(getattr(self, name)))
        self.mean = tuple(float(v) for v in self.mean)
        self.std = tuple(float(v) for v in self.std)
        self._validate()

    def _validate(self) -> None:
        def fail(msg: str) -> None:
            raise ValueError(f"ModelConfig: {msg}")

        if not isinstance(self.backbone, str) or not self.backbone:
            fail(f"backbone must be a non-empty timm model name, got {self.backbone!r}")
        if self.backbone_features not in BACKBONE_FEATURE_SOURCES:
            fail(f"backbone_features must be one of {BACKBONE_FEATURE_SOURCES}, "
                 f"got {self.backbone_features!r}")
        for name in ("input_size", "num_joints", "num_vertices", "num_heads",
                     "expansion_channels", "upsample_factor", "coord_kernel_size",
                     "coord_reduction"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                fail(f"{name} must be a positive int, got {value!r}")
        if self.input_size < 32:
            fail(f"input_size must be >= 32 px, got {self.input_size}")
        if not isinstance(self.bone_samples, int) or self.bone_samples < 0:
            fail(f"bone_samples must be an int >= 0, got {self.bone_samples!r}")
        if self.coord_kernel_size % 2 != 1:
            fail(f"coord_kernel_size must be odd, got {self.coord_kernel_size}")
        if len(self.mean) != 3 or len(self.std) != 3:
            fail(f"mean and std need 3 values (RGB), got {self.mean} / {self.std}")
        if any(s <= 0 for s in self.std):
            fail(f"std values must be > 0, got {self.std}")
        if len(self.token_counts) != len(self.channels) or not self.channels:
            fail(f"token_counts {self.token_counts} and channels {self.channels} "
                 "need one entry per feature-interaction block")
        if self.token_counts[0] != self.num_joints:
            fail(f"token_counts[0] ({self.token_counts[0]}) must equal num_joints "
                 f"({self.num_joints})")
        if any(t < 1 for t in self.token_counts):
            fail(f"token_counts must be positive, got {self.token_counts}")
        for c in self.channels:
            if c < 1 or c % self.num_heads:
                fail(f"every channel count must be divisible by num_heads "
                     f"({self.num_heads}), got {self.channels}")
        if self.ffn_ratio <= 0:
            fail(f"ffn_ratio must be > 0, got {self.ffn_ratio}")
        if len(self.parents) != self.num_joints:
            fail(f"parents has {len(self.parents)} entries, expected num_joints="
                 f"{self.num_joints}")
        for j, p in enumerate(self.parents):
            if not (0 <= p < self.num_joints) or (p >= j and j != 0) or (j == 0 and p != 0):
                fail(f"parents[{j}] = {p} is not a valid parent (root's parent is "
                     "itself, every other parent precedes its child)")

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any],
                  override: Mapping[str, Any] | None = None) -> "ModelConfig":
        """Build from a dict; ``override`` entries replace those of ``data``.

        Unknown keys raise ``ValueError`` naming them (typos must not pass silently).
        """
        merged = dict(data)
        merged.update(override or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(merged) - known)
        if unknown:
            raise ValueError(f"ModelConfig: unknown key(s) {unknown}; known: {sorted(known)}")
        return cls(**merged)

    @classmethod
    def load(cls, path: str | Path,
             override: Mapping[str, Any] | None = None) -> "ModelConfig":
        """Load from a ``.json`` or ``.yaml`` file (optionally under a ``model:`` key)."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml  # optional dependency, only for YAML configs
            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
        if isinstance(data, dict) and isinstance(data.get("model"), dict):
            data = data["model"]
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of model config keys")
        return cls.from_dict(data, override=override)

    def replace(self, **changes: Any) -> "ModelConfig":
        """Copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelConfig":
        return cls.from_dict(json.loads(text))
