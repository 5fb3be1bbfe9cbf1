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
