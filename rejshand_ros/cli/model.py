"""``rejshand-model``: inspect and export ReJSHand networks.

    rejshand-model summary [--backbone NAME] [--input-size N] [--features SRC] [--model FILE]
    rejshand-model export-onnx --model FILE --out FILE.onnx [--opset 17]

Errors name the bad argument or file and exit non-zero without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

PAPER_HEAD_BUDGET = 1.91e6


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 1."""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rejshand-model",
                                     description="Inspect and export ReJSHand networks.")
    sub = parser.add_subparsers(dest="command", required=True)
    summ = sub.add_parser("summary", help="parameters and FLOPs per block")
    summ.add_argument("--backbone", help="timm model name (default: fastvit_ma36)")
    summ.add_argument("--input-size", type=int, help="square input size in px (default 224)")
    summ.add_argument("--features", choices=("last_stage", "forward_features"),
                      help="which backbone output is F_B (default last_stage)")
    summ.add_argument("--model", type=Path, help="summarise a model file instead")
    onnx = sub.add_parser("export-onnx", help="export a model file to ONNX (reparameterised)")
    onnx.add_argument("--model", type=Path, required=True, help="model file (.safetensors)")
    onnx.add_argument("--out", type=Path, required=True, help="output .onnx file")
    onnx.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    return parser


def _summary(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from rejshand_ros.model.config import ModelConfig
    from rejshand_ros.model.model_file import load_model_file
    from rejshand_ros.model.rejshand import ReJSHand
    from rejshand_ros.model.summary import format_table, summarize

    if args.model is not None:
        if args.backbone or args.input_size or args.features:
            parser.error("--model cannot be combined with --backbone/--input-size/--features")
        model, _ = load_model_file(args.model)
        source = str(args.model)
    else:
        overrides = {k: v for k, v in (("backbone", args.backbone),
                                       ("input_size", args.input_size),
                                       ("backbone_features", args.features)) if v is not None}
        try:
            config = ModelConfig.from_dict({}, override=overrides)
        except ValueError as exc:
            bad = "--input-size" if "input_size" in str(exc) else "--backbone"
            parser.error(f"argument {bad}: {exc}")
        try:
            model = ReJSHand(config, pretrained=False)
        except ValueError as exc:
            parser.error(f"argument --backbone: {exc}")
        source = "random init"
    cfg = model.config
    rows = summarize(model)
    side = cfg.input_size // model.backbone.reduction
    title = (f"ReJSHand {cfg.backbone} ({source}), input {cfg.input_size}x{cfg.input_size}, "
             f"F_B {model.feature_channels}x{side}x{side}")
    print(format_table(rows, title))
    head = model.head_parameters()
    verdict = "within" if head <= PAPER_HEAD_BUDGET else "OVER"
    print(f"head parameters: {head / 1e6:.3f} M ({verdict} the paper's 1.91 M)")
    return 0


def export_onnx(model_path: Path, out: Path, opset: int = 17) -> str:
    """Export a model file to ONNX (reparameterised, batch axis dynamic, the outputs its
    configuration has, in ``POSE_MODEL.outputs`` order); returns a verification note."""
    import torch

    from rejshand_ros.perception.inference import TupleOutputs, export_onnx as write_onnx
    from rejshand_ros.model.model_file import POSE_MODEL, load_model_file

    model, _ = load_model_file(model_path)
    if not model.reparameterized:
        model.reparameterize()
    size = model.config.input_size
    example = torch.randn(2, 3, size, size)
    with torch.no_grad():
        reference = model(example)
    names = [name for name in POSE_MODEL.outputs if name in reference]
    write_onnx(TupleOutputs(model, names), out, size, names, opset)
    try:
        import onnxruntime as ort
    except ImportError:
        return "onnxruntime not installed: not verified"
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"images": example.numpy()})
    err = max(float(abs(g - reference[name].numpy()).max()) for g, name in zip(got, names))
    if err > 1e-3:
        raise CliError(f"{out}: onnxruntime output differs from torch by {err:.2e}")
    return f"verified with onnxruntime: max abs difference {err:.2e}"


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status (argparse errors exit 2)."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    from rejshand_ros.model.model_file import ModelFileError

    try:
        if args.command == "summary":
            return _summary(args, parser)
        if args.opset < 9:
            parser.error(f"argument --opset: must be >= 9, got {args.opset}")
        if args.out.suffix.lower() != ".onnx":
            parser.error(f"argument --out: expected a .onnx path, got {str(args.out)!r}")
        note = export_onnx(args.model, args.out, args.opset)
        print(f"wrote {args.out} (opset {args.opset}); {note}")
        return 0
    except (ModelFileError, CliError) as exc:
        print(f"rejshand-model: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
