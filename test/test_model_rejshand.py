"""Full-model tests: forward shapes, heads, joint regressor, gradients, backbones."""

from __future__ import annotations

import copy

import pytest
import torch

from rejshand_ros.model import ModelConfig, ReJSHand, count_head_parameters

PAPER_HEAD_BUDGET = 1.91e6


@pytest.fixture(scope="module")
def model() -> ReJSHand:
    """fastvit_t8 at 64 px: F_B 384x2x2, upsampled map 8x8 (small and fast)."""
    torch.manual_seed(0)
    return ReJSHand(ModelConfig(backbone="fastvit_t8", input_size=64)).eval()


def test_forward_shapes_fastvit_t8():
    model = ReJSHand(ModelConfig(backbone="fastvit_t8", input_size=128)).eval()
    images = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        features = model.forward_features(images)
        out = model.forward_head(features)
    assert model.feature_channels == 384 and features.shape == (2, 384, 4, 4)
    expected = {"uv": (2, 21, 2), "joints": (2, 21, 3), "vertices": (2, 778, 3),
                "presence_logit": (2,), "handedness_logit": (2,)}
    assert {k: tuple(v.shape) for k, v in out.items()} == expected
    assert all(torch.isfinite(v).all() for v in out.values())


def test_forward_equals_features_then_head(model):
    images = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        a = model(images)
        b = model.forward_head(model.forward_features(images))
    for key in a:
        torch.testing.assert_close(a[key], b[key])


def test_joints_are_regressor_times_vertices(model):
    reg = torch.softmax(torch.randn(21, 778), dim=1)
    local = copy.deepcopy(model)
    local.set_joint_regressor(reg)
    with torch.no_grad():
        out = local(torch.randn(2, 3, 64, 64))
    torch.testing.assert_close(out["joints"], torch.einsum("jv,bvc->bjc", reg, out["vertices"]))
    with pytest.raises(ValueError, match=r"\(21, 778\)"):
        local.set_joint_regressor(torch.zeros(16, 778))
    with pytest.raises(ValueError, match="NaN"):
        local.set_joint_regressor(torch.full((21, 778), float("nan")))


def test_optional_heads_can_be_switched_off():
    cfg = ModelConfig(backbone="fastvit_t8", input_size=64, presence_head=False,
                      handedness_head=False, coordinate_attention=False,
                      position_encoding=False, learned_position_embedding=False)
    with torch.no_grad():
        out = ReJSHand(cfg).eval()(torch.randn(1, 3, 64, 64))
    assert set(out) == {"uv", "joints", "vertices"}


def test_normalize_uses_config_mean_std():
    cfg = ModelConfig(backbone="fastvit_t8", input_size=64, mean=(0.1, 0.2, 0.3),
                      std=(0.5, 0.5, 2.0))
    images = torch.rand(1, 3, 4, 4)
    got = ReJSHand(cfg).normalize(images)
    mean, std = torch.tensor(cfg.mean).view(1, 3, 1, 1), torch.tensor(cfg.std).view(1, 3, 1, 1)
    torch.testing.assert_close(got, (images - mean) / std)


def test_every_parameter_receives_a_gradient():
    """Gradients reach the backbone through grid_sample, attention and the 2D head."""
    torch.manual_seed(0)
    net = ReJSHand(ModelConfig(backbone="fastvit_t8", input_size=64)).train()
    images = torch.randn(2, 3, 64, 64)
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-2)
    # Step once first: the coordinate-attention output convs start at zero, so their
    # input convs only get gradients from the second step on (like zero-init residuals).
    for _ in range(2):
        optimizer.zero_grad()
        out = net(images)
        sum(v.float().pow(2).mean() for v in out.values()).backward()
        optimizer.step()
    silent = [name for name, p in net.named_parameters()
              if p.grad is None or not torch.isfinite(p.grad).all() or p.grad.abs().sum() == 0]
    assert silent == []


def test_reparameterized_matches_original(model):
    torch.manual_seed(1)
    net = copy.deepcopy(model).train()
    with torch.no_grad():  # give BatchNorm non-trivial running statistics
        for _ in range(3):
            net(torch.randn(4, 3, 64, 64))
    net.eval()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        before = net(images)
        after = net.reparameterize()(images)
    assert net.reparameterized
    for key in before:
        torch.testing.assert_close(after[key], before[key], atol=1e-4, rtol=1e-4)


def test_reparameterize_fixes_tf_same_padding_with_the_same_outputs(tmp_path):
    """tf_* backbones pad TensorFlow-'SAME' from the input's shape; reparameterize()
    fixes it for config.input_size: equal outputs, another size still padded right, the
    ONNX graph without the shape arithmetic, batch-norm statistics untouched."""
    from timm.layers.conv2d_same import Conv2dSame

    from rejshand_ros.model.backbone import FixedPadConv2dSame
    from rejshand_ros.perception.inference import export_onnx

    torch.manual_seed(0)
    net = ReJSHand(ModelConfig(backbone="tf_efficientnet_lite0", input_size=64)).train()
    stats = {k: v.clone() for k, v in net.state_dict().items() if "running" in k}
    dynamic = copy.deepcopy(net).eval()
    onnx_dynamic = export_onnx(dynamic.backbone, tmp_path / "dynamic.onnx", 64, ["f"])
    net.reparameterize()
    assert net.training  # the dry pass left the mode alone
    assert all(torch.equal(net.state_dict()[k], v) for k, v in stats.items())
    net.eval()
    fixed = [m for m in net.modules() if isinstance(m, Conv2dSame)]
    assert fixed and all(type(m) is FixedPadConv2dSame for m in fixed)
    assert fixed[0].fixed_for == (64, 64) and fixed[0].fixed_pad == (0, 1, 0, 1)
    with torch.no_grad():
        for size in (64, 96):
            images = torch.randn(2, 3, size, size)
            want, got = dynamic(images), net(images)
            for key in want:
                torch.testing.assert_close(got[key], want[key], atol=1e-5, rtol=1e-5)
    import onnx

    def ops(path):
        return {node.op_type for node in onnx.load(str(path)).graph.node}

    onnx_fixed = export_onnx(net.backbone, tmp_path / "fixed.onnx", 64, ["f"])
    assert "Ceil" in ops(onnx_dynamic) and "Ceil" not in ops(onnx_fixed)


def test_head_budget_at_paper_dimensions_without_backbone():
    cfg = ModelConfig()  # fastvit_ma36 defaults
    assert count_head_parameters(cfg, 608) <= PAPER_HEAD_BUDGET  # last stage
    assert count_head_parameters(cfg.replace(backbone_features="forward_features"),
                                 1216) <= PAPER_HEAD_BUDGET  # public code's F_B


def test_fastvit_ma36_builds_and_forwards():
    net = ReJSHand(ModelConfig(backbone="fastvit_ma36", input_size=64)).eval()
    assert net.feature_channels == 608
    assert net.head_parameters() <= PAPER_HEAD_BUDGET
    with torch.no_grad():
        out = net(torch.randn(1, 3, 64, 64))
    assert out["vertices"].shape == (1, 778, 3) and torch.isfinite(out["vertices"]).all()


def test_unknown_backbone_and_missing_weights_file_are_clear(tmp_path):
    with pytest.raises(ValueError, match="not_a_model"):
        ReJSHand(ModelConfig(backbone="not_a_model"))
    missing = tmp_path / "fastvit_t8.safetensors"
    with pytest.raises(FileNotFoundError, match="fastvit_t8.safetensors"):
        ReJSHand(ModelConfig(backbone="fastvit_t8", input_size=64), pretrained=missing)


def test_local_backbone_weights_are_loaded(tmp_path):
    """A timm checkpoint on disk (offline machines) initialises the backbone."""
    import safetensors.torch
    import timm

    torch.manual_seed(3)
    reference = timm.create_model("fastvit_t8", pretrained=False)
    path = tmp_path / "fastvit_t8.safetensors"
    safetensors.torch.save_file(reference.state_dict(), str(path))
    net = ReJSHand(ModelConfig(backbone="fastvit_t8", input_size=64), pretrained=path)
    torch.testing.assert_close(net.backbone.body.stem_0.conv_kxk[0].conv.weight,
                               reference.stem[0].conv_kxk[0].conv.weight)
