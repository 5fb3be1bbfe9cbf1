"""Soak benchmark: the statistics on a hand-made record, and a short real soak (4x
overload, real processes over DDS) whose numbers must be sane and whose node must live."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from rejshand_ros.bench.soak_monitor import SoakRecord, read_rss_bytes
from rejshand_ros.bench.soak_suite import soak_goals, summarize_soak

MIB = 2 ** 20

# Bounds of the 15 s soak below: the worst of fifteen runs of exactly its command + 50 %:
# five on the shared 2-core machine at load 5.6-6.3 (commit c8e4577), five idle and five
# with `python3 -c 'while True: pass'` beside it (commit e34296e, 2026-12-06; a CI run with
# a busy process had failed at 0.72 % RSS growth against the old 0.69 % bound).
#   latency p99 / inference period: 5.27, 3.92, 1.81, 5.56, 5.51;
#                                   2.09, 1.93, 1.91, 1.77, 1.88; 7.07, 3.58, 5.14, 3.34, 16.02
#   RSS growth after warm-up (%):   0.009, 0.076, 0.462, 0.085, 0.148;
#                                   0.097, 0.086, -0.010, 0.102, -0.007; 0.187, 0.970, 0.026,
#                                   0.077, 0.023
# The goals in docs/reliability.md (< 2 periods, < 5 %) are judged by the 5-minute soak
# benchmark; this run catches a dead node, broken numbers and a gross leak (10 % fails).
MAX_P99_PERIODS = 16.02 * 1.5
MAX_RSS_GROWTH_PCT = 0.970 * 1.5


def short_soak_problems(row: dict) -> list[str]:
    """What is wrong with a 15 s soak row (empty: within the measured bounds)."""
    problems = []
    period_ms = 1e3 / row["output_hz"]
    if not 0 < row["latency_ms_p50"] <= row["latency_ms_p99"] < MAX_P99_PERIODS * period_ms:
        problems.append(f"latency p50 {row['latency_ms_p50']:.0f} ms, p99 "
                        f"{row['latency_ms_p99']:.0f} ms = "
                        f"{row['latency_ms_p99'] / period_ms:.2f} inference periods "
                        f"(bound {MAX_P99_PERIODS:.2f})")
    if not abs(row["rss_growth_pct"]) < MAX_RSS_GROWTH_PCT:
        problems.append(f"RSS grew {row['rss_growth_pct']:.2f} % after warm-up "
                        f"(bound {MAX_RSS_GROWTH_PCT:.2f} %)")
    if row["node_exit_code"] != 0:
        problems.append(f"node exit code {row['node_exit_code']}")
    return problems


def _record(growth_mib: float) -> SoakRecord:
    """Outputs at 5 Hz for 10 s with latency 100..199 ms, counters at t=0 and t=11,
    memory 500 MiB plus ``growth_mib`` spread evenly over the 10 s."""
    record = SoakRecord()
    record.outputs = [(0.2 * i, 100.0 + (i % 100)) for i in range(50)]
    record.diagnostics = [
        (-0.5, dict(frames_received="100", frames_processed="20", frames_dropped="70",
                    frames_failed="1", frame_age_ms_max="150.0")),
        (11.0, dict(frames_received="300", frames_processed="70", frames_dropped="220",
                    frames_failed="1", frame_age_ms_max="180.5")),
    ]
    record.rss = [(float(t), int((500 + growth_mib * t / 10) * MIB)) for t in range(11)]
    return record


def test_summary_takes_percentiles_counter_deltas_and_growth_after_warm_up():
    row = summarize_soak(_record(growth_mib=10.0), start=0.0, end=10.0, inference_hz=5.0,
                         source_hz=20.0, node_exit=0)
    assert row["outputs"] == 50 and row["output_hz"] == pytest.approx(5.0)
    assert (row["frames_received"], row["frames_processed"], row["frames_dropped"],
            row["frames_failed"]) == (200, 50, 150, 0)
    latencies = 100.0 + np.arange(50)
    assert row["latency_ms_p50"] == pytest.approx(np.percentile(latencies, 50))
    assert row["latency_ms_p99"] == pytest.approx(np.percentile(latencies, 99))
    assert row["overload"] == 4.0 and row["frame_age_ms_max_last"] == 180.5
    assert row["rss_warm_mib"] == pytest.approx(502.0)  # the sample at 20 % of the window
    assert row["rss_end_mib"] == pytest.approx(510.0) == row["rss_peak_mib"]
    assert row["rss_growth_pct"] == pytest.approx(100 * 8 / 502)
    assert {g["goal"]: g["met"] for g in soak_goals(row)}[
        "node RSS growth after warm-up (%)"]  # 1.6 % < 5 %
    json.dumps(row)  # rows are JSON-serialisable


def test_goals_judge_growth_latency_and_crashes():
    flat = summarize_soak(_record(growth_mib=0.0), 0.0, 10.0, 5.0, 20.0, node_exit=0)
    goals = {g["goal"]: g for g in soak_goals(flat)}
    assert goals["node RSS growth after warm-up (%)"]["met"]
    assert goals["node RSS growth after warm-up (%)"]["value"] == 0.0
    # p99 198 ms against a 200 ms period (5 Hz output): under 2 periods
    assert goals["latency p99 / inference period"]["met"]
    assert goals["node crashes"]["met"]
    leaking = summarize_soak(_record(growth_mib=40.0), 0.0, 10.0, 5.0, 20.0, node_exit=-11)
    goals = {g["goal"]: g for g in soak_goals(leaking)}
    assert not goals["node RSS growth after warm-up (%)"]["met"]
    assert goals["node RSS growth after warm-up (%)"]["value"] == pytest.approx(
        100 * 32 / 508)
    assert not goals["node crashes"]["met"]


def _measured_like_record(leak_pct: float) -> SoakRecord:
    """A 15 s soak as measured here (8 outputs/s, latency p99 ~4 periods, RSS 1262 MiB),
    with RSS rising by ``leak_pct`` % between the warm-up sample (20 % of the window) and
    the end."""
    record = SoakRecord()
    record.outputs = [(0.125 * i, 100.0 + 400.0 * (i % 50 == 49)) for i in range(120)]
    record.diagnostics = [(-0.5, dict(frames_received="0", frames_processed="0",
                                      frames_dropped="0", frames_failed="0")),
                          (16.0, dict(frames_received="480", frames_processed="120",
                                      frames_dropped="360", frames_failed="0"))]
    warm = 1262.0 * MIB
    record.rss = [(float(t), int(warm * (1 + leak_pct / 100 * max(t - 3, 0) / 12)))
                  for t in range(16)]
    return record


def test_a_short_soak_leaking_ten_percent_of_its_memory_fails():
    clean = summarize_soak(_measured_like_record(0.0), 0.0, 15.0, 8.0, 32.0, node_exit=0)
    assert short_soak_problems(clean) == [], clean
    leaking = summarize_soak(_measured_like_record(10.0), 0.0, 15.0, 8.0, 32.0, node_exit=0)
    assert leaking["rss_growth_pct"] == pytest.approx(10.0)
    assert short_soak_problems(leaking) == [
        f"RSS grew 10.00 % after warm-up (bound {MAX_RSS_GROWTH_PCT:.2f} %)"]


def test_rss_of_this_process_and_of_a_gone_one():
    rss = read_rss_bytes(__import__("os").getpid())
    assert rss is not None and 10 * MIB < rss < 64 * 1024 * MIB
    assert read_rss_bytes(2 ** 22 + 12345) is None  # above the default pid_max


@pytest.mark.ros
def test_short_soak_at_4x_overload_reports_sane_numbers_and_the_node_lives(
        ros_env, venv_bin, tmp_path):
    report_path = tmp_path / "soak.json"
    proc = subprocess.run(
        [str(venv_bin / "rejshand-bench"), "--suite", "soak", "--quick", "--threads", "1",
         "--device", "cpu", "--no-progress", "--soak-duration", "15",
         "--soak-calibration", "4", "--json", str(report_path)],
        env=ros_env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(report_path.read_text())["suites"][0]
    assert result["status"] == "ok", result
    assert result["suite"] == "soak" and "| latency p50 ms |" in proc.stdout
    row = result["rows"][0]
    report = json.dumps(row, indent=1)
    assert row["node_exit_code"] == 0, report
    assert 14.0 <= row["duration_s"] <= 16.0 and row["rss_samples"] >= 12, report
    assert 0 < row["inference_hz"] < 100 and row["overload"] == pytest.approx(4.0), report
    assert row["outputs"] >= 5 and row["frames_processed"] >= row["outputs"] - 2, report
    assert row["frames_failed"] == 0, report
    # 4x overload: most frames are dropped by the one-slot buffer, and reported
    assert row["frames_dropped"] > 0.3 * row["frames_received"], report
    assert 100 < row["rss_warm_mib"] < 8192, report
    assert short_soak_problems(row) == [], report
    goals = {g["goal"] for g in result["goals"]}
    assert goals == {"node RSS growth after warm-up (%)", "latency p99 / inference period",
                     "node crashes"}
