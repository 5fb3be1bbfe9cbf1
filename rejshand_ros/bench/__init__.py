"""Benchmarks behind ``rejshand-bench``: interleaved, repeated timings of the model, the
per-frame pipeline, the node and the peers, reported as medians, ratios and spread.

Suite module API (every suite follows it; the CLI imports suites lazily by name):

- module ``rejshand_ros.bench.<suite>_suite`` (``model``, ``pipeline``, ``node``,
  ``peers``, ``soak``);
- ``add_arguments(parser: argparse.ArgumentParser) -> None`` (optional): adds the suite's
  own options; names must be prefixed with the suite (``--node-duration``) so suites never
  collide. Common options every suite receives on ``opts``: ``quick`` (bool), ``threads``
  (int), ``device`` ("auto" | "cpu" | "cuda"), ``rounds`` (int or None = suite default),
  ``warmup`` (int or None), ``progress`` (bool: a suite may draw a tqdm bar on stderr);
- ``run(opts: argparse.Namespace) -> dict`` returning
  ``{"suite": str, "rows": list[dict], "markdown": str,
  "goals": list[{"goal": str, "value": float, "target": str, "met": bool}]}``;
  rows are flat, JSON-serialisable dicts (times in ms, ratios as plain floats);
  ``markdown`` is the suite's table(s), ready to paste into docs/benchmarks.md;
- a suite that cannot run here (missing module, no rclpy, no mediapipe, no GPU) raises
  ``SuiteSkipped(reason)`` from ``rejshand_ros.bench.common``; the CLI reports it as
  skipped with the reason, and an ImportError raised while importing the suite module is
  treated the same way.

Shared machinery lives in ``rejshand_ros.bench.common``: ``interleaved_timings``
(warm-up, then round-robin rounds, ``perf_counter`` per call), ``summarize`` (median,
p10, p90, n), ``ratio``, ``markdown_table`` and ``machine_info``.
"""
