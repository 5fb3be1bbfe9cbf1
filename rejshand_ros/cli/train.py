"""rejshand-train: train ReJSHand from a YAML config (single process or torchrun)."""

from __future__ import annotations

import argparse
import logging
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rejshand-train",
        description="Train the ReJSHand network. Configs: config/train/*.yaml "
        "(freihand_paper.yaml reproduces the paper; synthetic_cpu.yaml trains the shipped "
        "model). Multi-GPU: torchrun --nproc_per_node=N $(which rejshand-train) --config ...")
    parser.add_argument("--config", required=True, help="training config YAML")
    parser.add_argument("--out", help="output directory (overrides out_dir)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUT/checkpoint.pt (step, optimizer, scheduler, RNG)")
    parser.add_argument("--max-steps", type=int, help="stop after this many steps in total")
    parser.add_argument("--data", help="dataset directory (overrides data.root)")
    parser.add_argument("--skip-bad", action="store_true",
                        help="skip malformed annotations and missing images (logged) "
                        "instead of stopping")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a config value, e.g. optim.lr=1e-4")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from rejshand_ros.data.freihand import DatasetError
    from rejshand_ros.model.model_file import ModelFileError
    from rejshand_ros.train.config import load_train_config
    from rejshand_ros.train.trainer import CHECKPOINT, Trainer

    overrides = list(args.overrides)
    if args.out:
        overrides.append(f"out_dir={args.out}")
    if args.max_steps is not None:
        overrides.append(f"max_steps={args.max_steps}")
    if args.data:
        overrides.append(f"data.root={args.data}")
    if args.skip_bad:
        overrides.append("data.skip_bad=true")
    try:
        config = load_train_config(args.config, overrides)
        trainer = Trainer(config)
        if args.resume:
            if not trainer.resume():
                print(f"note: no {trainer.out_dir / CHECKPOINT} yet, starting from scratch",
                      file=sys.stderr)
        elif (trainer.out_dir / CHECKPOINT).exists():
            print(f"error: {trainer.out_dir / CHECKPOINT} exists; pass --resume to continue "
                  "or choose another --out", file=sys.stderr)
            return 2
        metrics = trainer.fit(progress=not args.no_progress)
    except (ValueError, DatasetError, ModelFileError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if trainer.is_main and metrics:
        import json

        print(json.dumps({k: round(v, 4) for k, v in metrics.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
