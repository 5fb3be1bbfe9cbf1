"""HandDetectorNet forward passes (timm-style: shapes, no NaN), configuration checks,
detector model files (round trip, clear errors naming the file) and HandDetector I/O."""

import numpy as np
import pytest
import torch

from rejshand_ros.detection.config import DetectorConfig, DetectorTrainSettings
from rejshand_ros.detection.detector import Detection, HandDetector
from rejshand_ros.detection.losses import detector_losses
from rejshand_ros.detection.model import (HandDetectorNet, load_detector_file,
                                          read_detector_metadata, save_detector_file)
from rejshand_ros.model.model_file import ModelFileError
from rejshand_ros.perception.hand_prediction import Handedness

TINY = DetectorConfig(backbone="test_convnext", input_size=128, feature_strides=(8, 16, 32),
                      neck_channels=32, head_channels=32)


@pytest.mark.parametrize("config", [
    DetectorConfig(input_size=128),                                   # fastvit_t8, stride 16
    DetectorConfig(input_size=96, feature_strides=(8, 16, 32)),       # fastvit_t8, stride 8
    TINY,
], ids=["fastvit_t8-s16", "fastvit_t8-s8", "test_convnext"])
def test_forward_shapes_and_finite_losses(config):
    torch.manual_seed(0)
    model = HandDetectorNet(config)
    images = torch.rand(2, 3, config.input_size, config.input_size)
    outputs = model(model.normalize(images))
    grid = config.grid_size
    expected = {"heatmap": 1, "log_size": 1, "offset": 2, "handedness": 1}
    assert {k: tuple(v.shape) for k, v in outputs.items()} == \
        {k: (2, c, grid, grid) for k, c in expected.items()}
    assert all(torch.isfinite(v).all() for v in outputs.values())
    batch = {"heatmap": torch.zeros(2, 1, grid, grid), "index": torch.zeros(2, 3).long(),
             "mask": torch.tensor([[1.0, 0, 0], [0, 0, 0]]), "log_size": torch.full((2, 3), -1.0),
             "offset": torch.full((2, 3, 2), 0.5), "right": torch.ones(2, 3)}
    batch["heatmap"][0, 0, 0, 0] = 1.0
    losses = detector_losses(outputs, batch, DetectorTrainSettings().loss)
    assert all(torch.isfinite(v) for v in losses.values())
    losses["total"].backward()


def test_head_is_small_on_top_of_the_backbone():
    model = HandDetectorNet(DetectorConfig())
    assert 100_000 < model.head_parameter_count() < 600_000


def test_config_validation_names_the_problem():
    with pytest.raises(ValueError, match="multiple of the largest stride"):
        DetectorConfig(input_size=100)
    with pytest.raises(ValueError, match="unknown key"):
        DetectorTrainSettings.from_dict({"model": {"backbone": "x", "stride": 4}})
    with pytest.raises(ValueError, match="unknown key"):
        DetectorTrainSettings.from_dict({"sigma": 1})
    with pytest.raises(ValueError, match="no feature level at stride"):
        HandDetectorNet(DetectorConfig(backbone="test_convnext", feature_strides=(2, 32)))
    assert DetectorConfig.from_dict(TINY.to_dict()) == TINY


def test_model_file_round_trip_gives_identical_outputs(tmp_path):
    torch.manual_seed(1)
    model = HandDetectorNet(TINY).eval()
    path = tmp_path / "det.safetensors"
    save_detector_file(path, model, model_id="tiny", training_data_id="toy/training")
    meta = read_detector_metadata(path)
    assert meta.config == TINY and meta.model_id == "tiny"
    loaded, _ = load_detector_file(path)
    images = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        a, b = model(model.normalize(images)), loaded(loaded.normalize(images))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_missing_corrupt_or_foreign_files_raise_naming_the_file(tmp_path):
    missing = tmp_path / "nothing.safetensors"
    with pytest.raises(ModelFileError, match="nothing.safetensors.*not found"):
        HandDetector(missing)
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x00\x01garbage")
    with pytest.raises(ModelFileError, match="corrupt.safetensors"):
        HandDetector(corrupt)
    truncated = tmp_path / "truncated.safetensors"
    save_detector_file(truncated, HandDetectorNet(TINY))
    truncated.write_bytes(truncated.read_bytes()[:-1000])
    with pytest.raises(ModelFileError, match="truncated.safetensors"):
        load_detector_file(truncated)
    import safetensors.torch

    foreign = tmp_path / "pose.safetensors"
    safetensors.torch.save_file({"x": torch.zeros(1)}, str(foreign),
                                metadata={"rejshand": '{"format": "rejshand-model"}'})
    with pytest.raises(ModelFileError, match="pose.safetensors.*not a hand detector"):
        load_detector_file(foreign)


def test_hand_detector_api_on_an_untrained_model(tmp_path):
    path = tmp_path / "det.safetensors"
    save_detector_file(path, HandDetectorNet(TINY))
    detector = HandDetector(path, device="cpu", score_threshold=0.0, max_hands=3)
    found = detector.detect(np.zeros((48, 64, 3), np.uint8))
    assert 1 <= len(found) <= 3 and all(isinstance(d, Detection) for d in found)
    assert all(d.handedness in (Handedness.LEFT, Handedness.RIGHT) for d in found)
    assert all(0.5 <= d.handedness_score <= 1 and d.size > 0 for d in found)
    assert found[0].box[2] == found[0].size
    with pytest.raises(ValueError, match="uint8"):
        detector.detect(np.zeros((48, 64, 3), np.float32))
    with pytest.raises(ValueError, match="max_hands"):
        HandDetector(path, max_hands=0)


def test_onnxruntime_backend_gives_the_eager_detections(tmp_path):
    """The shipped detector on a synthetic frame: same boxes from both backends (the
    export is cached by content hash in cache_dir)."""
    from rejshand_ros.detection.detector import default_detector_path
    from rejshand_ros.sources.synthetic import SyntheticSource

    image = SyntheticSource(seed=5, num_frames=1).render(0)[0]
    kwargs = dict(device="cpu", score_threshold=0.05, max_hands=4, num_threads=1)
    eager = HandDetector(default_detector_path(), backend="eager", **kwargs).detect(image)
    fast = HandDetector(default_detector_path(), backend="onnxruntime",
                        cache_dir=str(tmp_path), **kwargs)
    assert fast.backend == "onnxruntime" and len(list(tmp_path.glob("*.onnx"))) == 1
    found = fast.detect(image)
    assert len(found) == len(eager) >= 1
    for a, b in zip(found, eager):
        np.testing.assert_allclose([*a.center, a.size], [*b.center, b.size], atol=0.05)  # px
        assert abs(a.score - b.score) < 1e-3 and a.handedness == b.handedness
    auto = HandDetector(default_detector_path(), backend="auto", cache_dir=str(tmp_path),
                        **kwargs)
    assert auto.backend == "onnxruntime"
    with pytest.raises(ValueError, match="auto, eager or onnxruntime"):
        HandDetector(default_detector_path(), backend="compile", **kwargs)
