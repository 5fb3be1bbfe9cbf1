"""Model-file and training-state round trips, and their error messages."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import safetensors.torch
import torch

from rejshand_ros.model import (ModelConfig, ModelFileError, ReJSHand, load_model_file,
                                read_model_metadata, save_model_file)
from rejshand_ros.train.training_state import load_training_state, save_training_state

SIZE = 64


@pytest.fixture(scope="module")
def model() -> ReJSHand:
    torch.manual_seed(0)
    net = ReJSHand(ModelConfig(backbone="fastvit_t8", input_size=SIZE))
    net.set_joint_regressor(torch.softmax(torch.randn(21, 778), dim=1))
    with torch.no_grad():  # non-trivial BatchNorm statistics
        net.train()(torch.randn(4, 3, SIZE, SIZE))
    return net.eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randn(2, 3, SIZE, SIZE)


def _outputs(net: ReJSHand, images: torch.Tensor) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        return net.eval()(images)


def test_round_trip_gives_identical_outputs(model, images, tmp_path):
    path = tmp_path / "hand.safetensors"
    faces = np.array([[0, 1, 2], [2, 1, 3]])
    save_model_file(path, model, mesh_id="procedural-v1", training_data_id="synthetic-0",
                    model_id="test-model", faces=faces)
    loaded, meta = load_model_file(path)
    assert not loaded.training
    assert meta.config == model.config and meta.input_size == SIZE
    assert meta.mean == model.config.mean and meta.std == model.config.std
    assert (meta.keypoint_order, meta.mesh_id, meta.training_data_id, meta.model_id) == (
        "freihand21", "procedural-v1", "synthetic-0", "test-model")
    assert meta.faces.tolist() == faces.tolist()
    torch.testing.assert_close(loaded.joint_regressor, model.joint_regressor)
    a, b = _outputs(model, images), _outputs(loaded, images)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    header = read_model_metadata(path)  # cheap: no weights, no model build
    assert header.config == model.config and header.mesh_id == "procedural-v1"
    assert [p.name for p in tmp_path.iterdir()] == ["hand.safetensors"]  # no temp left


def test_fp16_storage_is_smaller_and_close(model, images, tmp_path):
    full, half = tmp_path / "full.safetensors", tmp_path / "half.safetensors"
    save_model_file(full, model, mesh_id="m")
    meta = save_model_file(half, model, mesh_id="m", fp16=True)
    assert meta.storage_dtype == "float16"
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded, _ = load_model_file(half)
    assert next(loaded.parameters()).dtype == torch.float32
    assert torch.equal(loaded.joint_regressor, model.joint_regressor)  # kept in fp32
    a, b = _outputs(model, images), _outputs(loaded, images)
    torch.testing.assert_close(b["uv"], a["uv"], atol=2e-3, rtol=0)
    torch.testing.assert_close(b["vertices"], a["vertices"], atol=1e-3, rtol=0)  # 1 mm
    torch.testing.assert_close(b["joints"], a["joints"], atol=1e-3, rtol=0)


def test_reparameterized_model_round_trip(model, images, tmp_path):
    import copy

    fused = copy.deepcopy(model).reparameterize()
    path = tmp_path / "fused.safetensors"
    save_model_file(path, fused, mesh_id="m")
    loaded, meta = load_model_file(path)
    assert meta.reparameterized and loaded.reparameterized
    a, b = _outputs(fused, images), _outputs(loaded, images)
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nowhere.safetensors"
    with pytest.raises(ModelFileError, match="nowhere.safetensors.*not found"):
        load_model_file(path)


def test_truncated_file_names_the_path(model, tmp_path):
    path = tmp_path / "cut.safetensors"
    save_model_file(path, model, mesh_id="m")
    data = path.read_bytes()
    for size in (len(data) // 2, 100, 0):
        path.write_bytes(data[:size])
        with pytest.raises(ModelFileError, match="cut.safetensors"):
            load_model_file(path)


def test_other_architecture_is_refused(model, tmp_path):
    path = tmp_path / "other.safetensors"
    save_model_file(path, model, mesh_id="m")
    tensors = safetensors.torch.load_file(str(path))
    with safetensors.safe_open(str(path), framework="pt") as f:
        header = f.metadata()
    meta = json.loads(header["rejshand"])
    meta["config"]["channels"] = [128, 64, 32]  # claims a different head
    header["rejshand"] = json.dumps(meta)
    safetensors.torch.save_file(tensors, str(path), metadata=header)
    with pytest.raises(ModelFileError, match="other.safetensors.*other architecture"):
        load_model_file(path)


def test_foreign_safetensors_file_is_refused(tmp_path):
    path = tmp_path / "foreign.safetensors"
    safetensors.torch.save_file({"w": torch.zeros(3)}, str(path))
    with pytest.raises(ModelFileError, match="foreign.safetensors.*not a rejshand model"):
        load_model_file(path)


def test_training_state_round_trip(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 2)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        net(torch.randn(8, 4)).pow(2).mean().backward()
        optimizer.step()
        scheduler.step()
    path = tmp_path / "state.pt"
    save_training_state(path, optimizer=optimizer, scheduler=scheduler, step=3, epoch=1,
                        extra={"best_pa_mpjpe_mm": 7.5})
    draws = (torch.rand(3), np.random.rand(3), random.random())

    raw = torch.load(path, weights_only=True)  # must not need pickle beyond weights_only
    assert raw["step"] == 3 and raw["epoch"] == 1

    optimizer2 = torch.optim.AdamW(net.parameters(), lr=1e-3)
    scheduler2 = torch.optim.lr_scheduler.StepLR(optimizer2, step_size=5, gamma=0.1)
    state = load_training_state(path, optimizer=optimizer2, scheduler=scheduler2)
    assert state["extra"] == {"best_pa_mpjpe_mm": 7.5}
    assert scheduler2.state_dict() == scheduler.state_dict()
    s1, s2 = optimizer.state_dict()["state"], optimizer2.state_dict()["state"]
    for key in s1:
        torch.testing.assert_close(s2[key]["exp_avg_sq"], s1[key]["exp_avg_sq"])
    assert torch.equal(torch.rand(3), draws[0])  # RNG states restored
    assert np.array_equal(np.random.rand(3), draws[1])
    assert random.random() == draws[2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.pt"]


def test_training_state_errors_name_the_path(tmp_path):
    with pytest.raises(ModelFileError, match="absent.pt"):
        load_training_state(tmp_path / "absent.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ModelFileError, match="bad.pt"):
        load_training_state(bad)
