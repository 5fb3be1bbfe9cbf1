"""ONNX export (opset 17, legacy exporter, reparameterised) agrees with onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rejshand_ros.cli.model import export_onnx
from rejshand_ros.model import ModelConfig, ReJSHand, load_model_file, save_model_file

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def test_onnx_export_matches_torch_for_any_batch(tmp_path):
    torch.manual_seed(0)
    model = ReJSHand(ModelConfig(backbone="fastvit_t8", input_size=64)).eval()
    model_path, onnx_path = tmp_path / "m.safetensors", tmp_path / "m.onnx"
    save_model_file(model_path, model, mesh_id="m")
    note = export_onnx(model_path, onnx_path, opset=17)
    assert "verified" in note
    import onnx

    graph = onnx.load(str(onnx_path))
    assert graph.opset_import[0].version == 17
    assert [o.name for o in graph.graph.output] == [
        "uv", "joints", "vertices", "presence_logit", "handedness_logit"]
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    reference, _ = load_model_file(model_path)
    reference.reparameterize()
    images = torch.randn(3, 3, 64, 64)  # a batch size not used at export time
    got = session.run(None, {"images": images.numpy()})
    with torch.no_grad():
        want = reference(images)
    for name, value in zip(["uv", "joints", "vertices", "presence_logit",
                            "handedness_logit"], got):
        np.testing.assert_allclose(value, want[name].numpy(), atol=1e-4, rtol=1e-4,
                                   err_msg=name)


def _tiny_net_class(tmp_path, monkeypatch, body: str, tag: str):
    """A module class ``Tiny`` of module ``tiny_net`` (registered, as an imported module
    is) whose forward is ``body``: two versions share their name and differ only in code,
    as one class does before and after an edit."""
    import importlib.util
    import sys

    path = tmp_path / tag / "tiny_net.py"
    path.parent.mkdir()
    path.write_text("import torch\n\n\nclass Tiny(torch.nn.Module):\n"
                    "    def __init__(self):\n        super().__init__()\n"
                    "        self.conv = torch.nn.Conv2d(3, 4, 3)\n\n"
                    f"    def forward(self, x):\n        return {body}\n")
    spec = importlib.util.spec_from_file_location("tiny_net", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "tiny_net", module)
    return module.Tiny


def test_the_onnx_cache_key_follows_weights_code_and_input_size(tmp_path, monkeypatch):
    from rejshand_ros.perception.inference import export_onnx_cached, onnx_cache_key

    old_code = _tiny_net_class(tmp_path, monkeypatch, "self.conv(x)", "old")
    torch.manual_seed(0)
    net = old_code()
    key = onnx_cache_key(net, 32, ["out"])
    assert onnx_cache_key(net, 32, ["out"]) == key  # stable
    first = export_onnx_cached(net, 32, ["out"], "tiny", str(tmp_path / "cache"))
    assert export_onnx_cached(net, 32, ["out"], "tiny", str(tmp_path / "cache")) == first
    retrained = old_code()
    retrained.load_state_dict(net.state_dict())
    with torch.no_grad():
        retrained.conv.bias[0] += 1e-3
    assert onnx_cache_key(retrained, 32, ["out"]) != key
    assert onnx_cache_key(net, 64, ["out"]) != key
    assert onnx_cache_key(net, 32, ["y"]) != key
    # the module's code is edited (same name, same weights): a new key, a new export
    new_code = _tiny_net_class(tmp_path, monkeypatch, "self.conv(x).relu()", "new")
    rewritten = new_code()
    rewritten.load_state_dict(net.state_dict())  # same weights, new code
    assert onnx_cache_key(rewritten, 32, ["out"]) != key
    second = export_onnx_cached(rewritten, 32, ["out"], "tiny", str(tmp_path / "cache"))
    assert second != first
    images = torch.randn(1, 3, 32, 32)
    got = ort.InferenceSession(str(second), providers=["CPUExecutionProvider"]).run(
        None, {"images": images.numpy()})[0]
    assert got.min() >= 0.0  # the relu of the new code is in the graph
    with torch.no_grad():
        np.testing.assert_allclose(got, rewritten(images).numpy(), atol=1e-5)
