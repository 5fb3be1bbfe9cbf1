"""The ``rejshand-model`` console script (called in-process through ``main``)."""

from __future__ import annotations

import pytest
import torch

from rejshand_ros.cli.model import main
from rejshand_ros.model import ModelConfig, ReJSHand, save_model_file


def test_summary_prints_a_table(capsys):
    assert main(["summary", "--backbone", "fastvit_t8", "--input-size", "128"]) == 0
    out = capsys.readouterr().out
    assert "fastvit_t8" in out and "F_B 384x4x4" in out
    for row in ("backbone", "keypoint_2d", "expansion", "interaction.block0 (21x256)",
                "interaction.block2 (336x64)", "mesh_token", "head total", "total"):
        assert row in out, row
    assert "within the paper's 1.91 M" in out


def test_summary_of_a_model_file(tmp_path, capsys):
    path = tmp_path / "m.safetensors"
    save_model_file(path, ReJSHand(ModelConfig(backbone="fastvit_t8", input_size=64)),
                    mesh_id="m")
    assert main(["summary", "--model", str(path)]) == 0
    assert str(path) in capsys.readouterr().out


@pytest.mark.parametrize("argv,needle", [
    (["summary", "--backbone", "no_such_net"], "--backbone"),
    (["summary", "--input-size", "abc"], "--input-size"),
    (["summary", "--input-size", "8"], "--input-size"),
    (["export-onnx", "--model", "x.safetensors"], "--out"),
    (["frobnicate"], "frobnicate"),
])
def test_bad_arguments_exit_nonzero_with_message(argv, needle, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code != 0
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_bad_model_file_exits_nonzero_naming_it(tmp_path, capsys):
    missing = tmp_path / "missing.safetensors"
    code = main(["export-onnx", "--model", str(missing), "--out", str(tmp_path / "o.onnx")])
    assert code == 1
    err = capsys.readouterr().err
    assert "missing.safetensors" in err and "Traceback" not in err
    assert not (tmp_path / "o.onnx").exists()


def test_export_onnx_via_cli(tmp_path, capsys):
    pytest.importorskip("onnx")
    torch.manual_seed(0)
    path = tmp_path / "m.safetensors"
    save_model_file(path, ReJSHand(ModelConfig(backbone="fastvit_t8", input_size=64)),
                    mesh_id="m")
    out = tmp_path / "m.onnx"
    assert main(["export-onnx", "--model", str(path), "--out", str(out)]) == 0
    assert out.is_file() and "opset 17" in capsys.readouterr().out
