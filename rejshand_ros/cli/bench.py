"""``rejshand-bench``: interleaved, repeated benchmarks with medians, ratios and spread.

    rejshand-bench --suite model|pipeline|node|peers|soak|detectors|all[,...] [--quick]
                   [--json FILE] [--markdown FILE] [--threads N] [--device auto|cpu|cuda]
                   [--rounds N] [--warmup N] [--no-progress] [suite options]

``all`` = model, pipeline, node, peers (not soak, nor detectors: it needs annotated
real frames, ``--detect-frames``). Each suite lives in
``rejshand_ros.bench.<suite>_suite`` (API in ``rejshand_ros.bench``) and is imported only
when selected; one that cannot run here (module or prerequisite missing) is reported as
skipped with the reason. Prints every suite's tables and goals; ``--json`` adds the
machine description and the exact command line. Exit status: 0, 1 when a suite failed,
2 for bad arguments.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import shlex
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

SUITES = ("model", "pipeline", "node", "peers", "soak", "detectors")
ALL_SUITES = ("model", "pipeline", "node", "peers")
PROG = "rejshand-bench"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Benchmark the model, the per-frame pipeline, the node and "
        "the peers; cases are interleaved round-robin and reported as medians with p10/p90.")
    parser.add_argument("--suite", default="all",
                        help=f"comma-separated suites from {', '.join(SUITES)} or all "
                        f"(= {','.join(ALL_SUITES)}); default all")
    parser.add_argument("--quick", action="store_true",
                        help="small models and few rounds (a smoke run, ~1 min)")
    parser.add_argument("--json", type=Path, help="write all results to this JSON file")
    parser.add_argument("--markdown", type=Path, help="write the tables to this file")
    parser.add_argument("--threads", type=int, default=2,
                        help="CPU threads for torch / ONNX Runtime / OpenCV (default 2)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu",
                        help="where the network runs (default cpu; auto = CUDA if present)")
    parser.add_argument("--rounds", type=int, help="timed rounds (default: per suite)")
    parser.add_argument("--warmup", type=int, help="untimed warm-up rounds (default: per suite)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bar on stderr")
    return parser


def parse_suites(text: str) -> list[str]:
    """'model,pipeline' / 'all' -> suite names in order, without duplicates."""
    names: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if part not in SUITES + ("all",):
            raise ValueError(f"argument --suite: unknown suite {part!r} "
                             f"(choose from {', '.join(SUITES)}, all)")
        names.extend(ALL_SUITES if part == "all" else (part,))
    return list(dict.fromkeys(names))


def load_suite(name: str) -> ModuleType | str:
    """The suite module, or the reason it cannot be imported here."""
    try:
        return importlib.import_module(f"rejshand_ros.bench.{name}_suite")
    except ImportError as exc:
        return f"cannot import rejshand_ros.bench.{name}_suite: {exc}"


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.threads < 1:
        parser.error(f"argument --threads: must be >= 1, got {args.threads}")
    if args.rounds is not None and args.rounds < 1:
        parser.error(f"argument --rounds: must be >= 1, got {args.rounds}")
    if args.warmup is not None and args.warmup < 0:
        parser.error(f"argument --warmup: must be >= 0, got {args.warmup}")
    for option in ("json", "markdown"):
        path = getattr(args, option)
        if path is not None and not path.parent.is_dir():
            parser.error(f"argument --{option}: folder does not exist: {path.parent}")


def _parse(argv: list[str]) -> tuple[argparse.Namespace, dict[str, ModuleType | str]]:
    """Two passes: the common options choose the suites, whose own options are then added."""
    parser = build_parser()
    first, _ = parser.parse_known_args(argv)
    try:
        names = parse_suites(first.suite)
    except ValueError as exc:
        parser.error(str(exc))
    wanted = SUITES if any(a in ("-h", "--help") for a in argv) else names
    modules = {name: load_suite(name) for name in wanted}
    for module in modules.values():
        if isinstance(module, ModuleType) and hasattr(module, "add_arguments"):
            module.add_arguments(parser)
    args = parser.parse_args(argv)
    _check_args(parser, args)
    return args, {name: modules[name] for name in names}


def run_suite(name: str, module: ModuleType | str, args: argparse.Namespace) -> dict[str, Any]:
    """The suite's result dict, or {"suite", "status": skipped|failed, "reason"}."""
    from rejshand_ros.bench.common import SuiteSkipped

    if isinstance(module, str):
        return {"suite": name, "status": "skipped", "reason": module}
    start = time.monotonic()
    try:
        result = module.run(args)
    except SuiteSkipped as exc:
        return {"suite": name, "status": "skipped", "reason": str(exc)}
    except ImportError as exc:
        return {"suite": name, "status": "skipped", "reason": f"missing module: {exc}"}
    except Exception as exc:  # noqa: BLE001 - one failing suite must not hide the others
        traceback.print_exc(file=sys.stderr)
        return {"suite": name, "status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    return {**result, "status": "ok", "seconds": round(time.monotonic() - start, 1)}


def render(results: list[dict[str, Any]], machine_line: str, command: str) -> str:
    parts = [f"Machine: {machine_line}", f"Command: `{command}`"]
    for result in results:
        if result["status"] != "ok":
            parts.append(f"### {result['suite']}\n\n{result['status']}: {result['reason']}")
        else:
            parts.append(f"### {result['suite']}\n\n{result['markdown']}")
    return "\n\n".join(parts) + "\n"


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args, modules = _parse(argv)
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(message)s")
    from rejshand_ros.bench.common import machine_info, machine_line

    command = shlex.join([PROG, *argv])
    machine = machine_info()
    results = [run_suite(name, module, args) for name, module in modules.items()]
    text = render(results, machine_line(machine), command)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.json:
        options = {k: v for k, v in vars(args).items() if k not in ("json", "markdown")}
        report = {"command": command, "argv": argv, "machine": machine, "options": options,
                  "suites": results,
                  "goals": [g for r in results for g in r.get("goals", [])]}
        args.json.write_text(json.dumps(report, indent=1, default=_json_default) + "\n",
                             encoding="utf-8")
    return 1 if any(r["status"] == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
