"""Config and per-block tests of the ReJSHand network (shapes, no NaN, semantics)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import torch

from rejshand_ros.model.config import FREIHAND_PARENTS, ModelConfig
from rejshand_ros.model.expansion_block import ExpansionBlock
from rejshand_ros.model.feature_interaction import (
    CoordinateAttention, FeatureInteraction, FeatureInteractionBlock,
    SkeletonGuidedAttention, TokenUpsample)
from rejshand_ros.model.keypoint_2d import Keypoint2DGenerator
from rejshand_ros.model.mesh_token import MeshTokenGenerator


# ----------------------------------------------------------------------------- config
def test_config_defaults_follow_the_paper():
    cfg = ModelConfig()
    assert cfg.backbone == "fastvit_ma36" and cfg.input_size == 224
    assert cfg.token_counts == (21, 84, 336) and cfg.channels == (256, 128, 64)
    assert [c // cfg.num_heads for c in cfg.channels] == [32, 16, 8]
    assert cfg.num_vertices == 778 and cfg.num_joints == 21
    assert cfg.parents == FREIHAND_PARENTS


def test_config_json_round_trip_and_override():
    cfg = ModelConfig(backbone="fastvit_t8", input_size=128)
    text = json.dumps(cfg.to_dict())
    assert ModelConfig.from_dict(json.loads(text)) == cfg
    assert ModelConfig.from_json(cfg.to_json()) == cfg
    other = ModelConfig.from_dict(cfg.to_dict(), override={"num_heads": 4})
    assert other.num_heads == 4 and other.backbone == "fastvit_t8"


def test_config_load_yaml_with_override(tmp_path):
    path = tmp_path / "model.yaml"
    path.write_text("model:\n  backbone: fastvit_t8\n  input_size: 160\n")
    cfg = ModelConfig.load(path, override={"input_size": 128})
    assert cfg.backbone == "fastvit_t8" and cfg.input_size == 128


@pytest.mark.parametrize("bad", [
    {"channels": (256, 128, 60)},          # not divisible by 8 heads
    {"token_counts": (20, 84, 336)},       # first stage must be the 21 joints
    {"std": (1.0, 0.0, 1.0)},
    {"backbone_features": "pooled"},
    {"parents": (0,) * 20},
    {"parents": (0, 2) + FREIHAND_PARENTS[2:]},  # parent after child
    {"input_size": 0},
])
def test_config_rejects_invalid_values(bad):
    with pytest.raises(ValueError, match="ModelConfig"):
        ModelConfig(**bad)


def test_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match="inputsize"):
        ModelConfig.from_dict({"inputsize": 224})


# ----------------------------------------------------------------------------- blocks
def _finite(*tensors: torch.Tensor) -> bool:
    return all(torch.isfinite(t).all() for t in tensors)


def test_keypoint_2d_shapes_and_initial_centre():
    gen = Keypoint2DGenerator(384, 21)
    uv = gen(torch.randn(3, 384))
    assert uv.shape == (3, 21, 2) and _finite(uv)
    assert abs(float(uv.detach().mean()) - 0.5) < 0.1  # starts around the crop centre


def test_expansion_block_shapes():
    block = ExpansionBlock(384, 256, 128, 4, FREIHAND_PARENTS, bone_samples=2, map_size=16)
    f_j, f_s = block(torch.randn(2, 384, 4, 4), torch.rand(2, 21, 2))
    assert f_j.shape == (2, 21, 256) and f_s.shape == (2, 21, 256) and _finite(f_j, f_s)
    assert block.feature_map(torch.randn(2, 384, 4, 4)).shape == (2, 128, 16, 16)


def test_expansion_sampling_hits_pixel_centres():
    """Eq. 1 with align_corners=True: uv 0 / 1 are the first / last pixel centres."""
    fmap = torch.arange(2 * 5 * 5, dtype=torch.float32).view(1, 2, 5, 5)
    points = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.5, 0.25], [1.7, -3.0]]])
    got = ExpansionBlock.sample(fmap, points)  # (1,5,2)
    expected = [fmap[0, :, 0, 0], fmap[0, :, 0, 4], fmap[0, :, 4, 0], fmap[0, :, 1, 2],
                fmap[0, :, 0, 4]]  # the last point is clamped into the map
    torch.testing.assert_close(got[0], torch.stack(expected))


def test_expansion_bone_points_lie_on_bones():
    block = ExpansionBlock(8, 16, 8, 4, FREIHAND_PARENTS, bone_samples=3,
                           position_encoding=False)
    uv = torch.rand(2, 21, 2)
    pts = block.sample_points(uv)
    assert pts.shape == (2, 21 * 4, 2)
    torch.testing.assert_close(pts[:, :21], uv)
    along = pts[:, 21:].view(2, 21, 3, 2)
    parent = uv[:, list(FREIHAND_PARENTS)]
    torch.testing.assert_close(along[:, :, 1], 0.5 * (uv + parent))  # t = 1/2
    torch.testing.assert_close(along[:, 0], uv[:, :1].expand(2, 3, 2))  # root: no bone


def test_coordinate_attention_starts_as_identity_and_keeps_shape():
    layer = CoordinateAttention(64, kernel_size=3, reduction=8)
    x = torch.randn(2, 336, 64)
    torch.testing.assert_close(layer(x), x)
    torch.nn.init.normal_(layer.expand.weight)
    y = layer(x)
    assert y.shape == x.shape and _finite(y) and not torch.allclose(y, x)


@pytest.mark.parametrize("tokens,channels", [(21, 256), (84, 128), (336, 64)])
def test_interaction_block_shapes(tokens, channels):
    block = FeatureInteractionBlock(channels, tokens, num_heads=8)
    assert block.attn.head_dim == channels // 8
    j, s = block(torch.randn(2, tokens, channels), torch.randn(2, tokens, channels))
    assert j.shape == s.shape == (2, tokens, channels) and _finite(j, s)


def test_skeleton_guides_joints_never_the_reverse():
    block = FeatureInteractionBlock(64, 21, num_heads=8).eval()
    for layer in (block.coord_j, block.coord_s):
        torch.nn.init.normal_(layer.expand.weight, std=0.1)
    joints, bones = torch.randn(1, 21, 64), torch.randn(1, 21, 64)
    j0, s0 = block(joints, bones)
    j1, s1 = block(joints + torch.randn_like(joints), bones)
    torch.testing.assert_close(s1, s0)  # bones ignore joints
    j2, _ = block(joints, bones + torch.randn_like(bones))
    assert not torch.allclose(j2, j0, atol=1e-4)  # joints read bones


@pytest.mark.parametrize("guidance", [True, False])
def test_skeleton_attention_equals_one_masked_attention(guidance):
    """The two unmasked attentions give what one attention over all 2T tokens gives with
    the joint/bone mask written out by hand (bones see bones; joints see joints, and
    bones when guided)."""
    torch.manual_seed(0)
    t, d, heads = 21, 64, 8
    attn = SkeletonGuidedAttention(d, t, heads, skeleton_guidance=guidance).eval()
    joints, bones = torch.randn(2, t, d), torch.randn(2, t, d)
    allowed = torch.zeros(2 * t, 2 * t, dtype=torch.bool)
    allowed[:t, :t] = allowed[t:, t:] = True
    allowed[:t, t:] = guidance
    x = torch.cat([joints, bones], dim=1)
    q, k, v = attn.qkv(x).reshape(2, 2 * t, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
    scores = (q @ k.transpose(-1, -2)) / (d // heads) ** 0.5
    weights = scores.masked_fill(~allowed, float("-inf")).softmax(-1)
    want = attn.proj((weights @ v).transpose(1, 2).reshape(2, 2 * t, d))
    with torch.no_grad():
        got_j, got_s = attn(joints, bones)
    torch.testing.assert_close(got_j, want[:, :t].detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got_s, want[:, t:].detach(), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="expected 21 joint and bone tokens"):
        attn(joints[:, :20], bones[:, :20])


def test_token_upsample_and_stack_shapes():
    up = TokenUpsample(21, 84, 256, 128)
    assert up(torch.randn(2, 21, 256)).shape == (2, 84, 128)
    stack = FeatureInteraction((21, 84, 336), (256, 128, 64))
    j, s = stack(torch.randn(2, 21, 256), torch.randn(2, 21, 256))
    assert j.shape == s.shape == (2, 336, 64) and _finite(j, s)


def test_mesh_token_generator_shapes():
    gen = MeshTokenGenerator(336, 64, 778)
    verts = gen(torch.randn(2, 336, 64), torch.randn(2, 336, 64))
    assert verts.shape == (2, 778, 3) and _finite(verts)
    assert verts.abs().mean() < 0.2  # starts at centimetre scale


def test_model_code_imports_no_ros():
    """The network must be usable by ``pip install`` users without ROS."""
    root = Path(__file__).resolve().parents[1] / "rejshand_ros"
    files = sorted((root / "model").glob("*.py")) + [root / "cli" / "model.py"]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                top = name.split(".")[0]
                assert top != "rclpy" and not top.endswith("_msgs"), f"{path}: imports {name}"
