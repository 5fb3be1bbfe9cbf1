"""rejshand-bench: the interleaved timer, statistics, argument errors and a quick run of the
model and pipeline suites through the CLI."""

from __future__ import annotations

import json
import time

import pytest

from rejshand_ros.bench.common import (interleaved_timings, markdown_table, ratio, speedup,
                                       summarize)
from rejshand_ros.cli import bench


def test_interleaved_timer_calls_round_robin_after_warmup():
    calls: list[str] = []
    cases = {name: (lambda name=name: calls.append(name)) for name in "ABC"}
    rounds_seen: list[int] = []
    samples = interleaved_timings(cases, rounds=3, warmup=2,
                                  on_round=lambda: rounds_seen.append(len(calls)))
    assert calls == list("ABC") * 5
    assert rounds_seen == [3, 6, 9, 12, 15]
    assert {name: len(values) for name, values in samples.items()} == {"A": 3, "B": 3, "C": 3}


def test_interleaved_timer_measures_each_call():
    delays = {"short": 0.002, "long": 0.02}
    samples = interleaved_timings({k: (lambda d=d: time.sleep(d)) for k, d in delays.items()},
                                  rounds=3, warmup=0)
    assert min(samples["long"]) >= 0.02 and min(samples["short"]) >= 0.002
    assert summarize(samples["long"])["median"] > summarize(samples["short"])["median"]


def test_interleaved_timer_rejects_bad_rounds():
    with pytest.raises(ValueError, match="rounds"):
        interleaved_timings({"a": lambda: None}, rounds=0)


def test_summary_statistics_by_hand():
    stats = summarize([0.001 * v for v in range(1, 12)])  # 1..11 ms
    assert stats["n"] == 11 and stats["median"] == pytest.approx(6.0)
    assert stats["p10"] == pytest.approx(2.0) and stats["p90"] == pytest.approx(10.0)
    assert speedup(30.0, 10.0) == pytest.approx(3.0) and ratio(1.0, 0.0) != ratio(1.0, 0.0)


def test_markdown_table_formats_and_drops_absent_columns():
    table = markdown_table([{"name": "a", "ms": 123.456}, {"name": "b", "ms": 0.01234}],
                           [("name", "case"), ("ms", "median ms"), ("error", "error")])
    assert table.splitlines() == ["| case | median ms |", "|---|---|", "| a | 123 |",
                                  "| b | 0.0123 |"]


@pytest.mark.parametrize("argv,named", [
    (["--suite", "modle"], "--suite"),
    (["--suite", "model", "--threads", "0"], "--threads"),
    (["--suite", "model", "--rounds", "0"], "--rounds"),
    (["--suite", "model", "--warmup", "-1"], "--warmup"),
    (["--suite", "model", "--json", "/no/such/folder/out.json"], "--json"),
    (["--suite", "model", "--device", "tpu"], "--device"),
])
def test_bad_arguments_exit_2_naming_them(argv, named, capsys):
    with pytest.raises(SystemExit) as exit_info:
        bench.main(argv)
    assert exit_info.value.code == 2
    assert named in capsys.readouterr().err


def test_all_means_four_suites_and_missing_suites_are_skipped(monkeypatch):
    assert bench.parse_suites("all") == ["model", "pipeline", "node", "peers"]
    assert bench.parse_suites("pipeline,all,soak") == ["pipeline", "model", "node", "peers",
                                                       "soak"]
    result = bench.run_suite("peers", "cannot import rejshand_ros.bench.peers_suite: x", None)
    assert result == {"suite": "peers", "status": "skipped",
                      "reason": "cannot import rejshand_ros.bench.peers_suite: x"}


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    start = time.monotonic()
    code = bench.main(["--suite", "model,pipeline", "--quick", "--no-progress",
                       "--json", str(out / "bench.json"), "--markdown", str(out / "bench.md")])
    elapsed = time.monotonic() - start
    return code, elapsed, json.loads((out / "bench.json").read_text()), \
        (out / "bench.md").read_text()


def test_quick_run_writes_the_documented_report(quick_report):
    code, elapsed, report, markdown = quick_report
    assert code == 0
    assert elapsed < 180, f"quick model+pipeline took {elapsed:.0f} s"
    assert set(report) >= {"command", "argv", "machine", "options", "suites", "goals"}
    assert report["command"].startswith("rejshand-bench --suite model,pipeline --quick")
    assert {"cpu", "cores", "python", "torch", "onnxruntime"} <= set(report["machine"])
    suites = {s["suite"]: s for s in report["suites"]}
    assert list(suites) == ["model", "pipeline"]
    for suite in suites.values():
        assert suite["status"] == "ok", suite.get("reason")
        assert set(suite) >= {"suite", "rows", "markdown", "goals"}
        assert suite["markdown"] in markdown
        for entry in suite["goals"]:
            assert set(entry) == {"goal", "value", "target", "met"}
    assert report["goals"] == suites["model"]["goals"] + suites["pipeline"]["goals"]


def test_quick_model_ratios_match_medians(quick_report):
    rows = quick_report[2]["suites"][0]["rows"]
    paths = {(r["path"], r["batch"]): r for r in rows if "median_ms" in r}
    base, fast = paths[("eager (baseline)", 1)], paths[("onnxruntime", 1)]
    assert fast["speedup"] == pytest.approx(base["median_ms"] / fast["median_ms"])
    assert fast["images_per_s"] == pytest.approx(1000.0 / fast["median_ms"])
    assert paths[("onnxruntime", 8)]["images_per_s"] == pytest.approx(
        8000.0 / paths[("onnxruntime", 8)]["median_ms"])
    assert base["speedup"] == 1.0 and base["diff_joints_mm"] == 0.0
    assert fast["p10_ms"] <= fast["median_ms"] <= fast["p90_ms"]
    assert fast["diff_joints_mm"] < 0.01 and fast["diff_uv_px"] < 0.01  # the predictor's rule
    head = next(r for r in rows if r.get("kind") == "head_overhead")
    assert head["head_overhead"] == pytest.approx(
        (head["full_ms"] - head["backbone_ms"]) / head["backbone_ms"])


def test_quick_pipeline_stages_and_preprocessing_share(quick_report):
    suite = quick_report[2]["suites"][1]
    stages = {r["stage"]: r for r in suite["rows"]}
    assert {"decode", "detect", "crop", "normalise", "network", "uncrop", "track_smooth",
            "convert"} <= set(stages)
    assert suite["frames_with_hands"] > 0
    network = stages["network"]["median_ms"]
    share = sum(stages[s]["median_ms"] for s in ("decode", "crop", "normalise")) / network
    assert suite["goals"][0]["value"] == pytest.approx(share)
    assert suite["goals"][0]["met"] == (share <= 0.10)


@pytest.mark.parametrize("backend,precision,device,expected", [
    ("auto", "auto", "cpu", ("onnxruntime", "fp32")),
    ("auto", "bf16", "cpu", ("eager", "bf16")),
    ("auto", "auto", "cuda", ("eager", "fp16")),
    ("onnxruntime", "auto", "cuda", ("onnxruntime", "fp32")),
    ("eager", "fp32", "cpu", ("eager", "fp32")),
    ("compile", "auto", "cpu", ("compile", "fp32")),
])
def test_auto_resolves_to_the_measured_fast_path(backend, precision, device, expected):
    import torch

    from rejshand_ros.perception.inference import resolve_path

    assert resolve_path(backend, precision, torch.device(device)) == expected


def test_node_default_is_the_fast_path_and_warms_up(monkeypatch):
    from rejshand_ros.perception.pipeline import HandPipeline, PipelineConfig
    from rejshand_ros.perception.predictor import Predictor
    from rejshand_ros.ros.node_params import HandPoseNodeConfig

    predictor = Predictor(HandPoseNodeConfig(device="cpu").predictor_config())
    assert (predictor.engine.backend, predictor.engine.precision) == ("onnxruntime", "fp32")
    batches: list[int] = []
    monkeypatch.setattr(predictor, "run_crops", lambda crops: batches.append(len(crops)))
    frames: list[tuple] = []

    class Detector:
        def detect(self, image):
            frames.append(image.shape)
            return []

    pipeline = HandPipeline(predictor, Detector(), PipelineConfig())
    pipeline.warm_up()
    assert frames == [(480, 640, 3)] and batches == [1, 2] and not pipeline.tracker.tracks


def _false_hands_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "synthetic_false_hands.py"
    spec = importlib.util.spec_from_file_location("synthetic_false_hands", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_false_hands_script_counts_frames_and_hands(capsys):
    """scripts/synthetic_false_hands.py (docs/models.md "Detectors"): a short sequence is
    tracked in every frame without a false hand; bad --seeds stops it naming them."""
    script = _false_hands_script()
    assert script.seed_range("0-2,5") == [0, 1, 2, 5]
    assert script.main(["--seeds", "0", "--frames", "4"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-2] == "seed 0: false-hand frames 0/4, hands found 4/4"
    assert out[-1] == "all: false-hand frames 0/4 (0.0 %), hands found 4/4"
    with pytest.raises(SystemExit) as exc:
        script.main(["--seeds", "a-b"])
    assert exc.value.code == 2 and "--seeds" in capsys.readouterr().err
