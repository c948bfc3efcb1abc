"""`playground train FAMILY --data shapes|digits|PATH --steps N --out DIR`.

Each family's recipe (its options and how they build its task) lives in the core
(`core/training/registry.py`), shared with the GUI's Train panel; this file only wires it to
the command line. Re-running the same command with the same --out resumes where the last
run stopped.
"""

from __future__ import annotations

import argparse
import sys

from ..core.distributed import ProcessGroupFailed
from ..core.training.registry import add_train_arguments, build_trainer


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("train", help="train a model headlessly")
    families = parser.add_subparsers(dest="family", metavar="FAMILY", required=True)
    for sub in add_train_arguments(families).values():
        sub.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.live:
        from ..core.training.live_child import serve

        return serve(args)
    try:
        trainer = build_trainer(args)
        main = trainer.parallel.is_main  # under torchrun only process 0 speaks
        if trainer.step and main:
            how = "its optimizer state" if trainer.resumed_from == "state" else "its weights (fresh optimizer, new warm-up)"
            print(f"resuming {args.out} from step {trainer.step}, from {how}", file=sys.stderr)
        n_params = sum(p.numel() for p in trainer.task.model.parameters())
        if main:
            print(f"training {args.family} ({n_params / 1e6:.2f}M parameters) on {trainer.data_name} "
                  f"({len(trainer.train_images) + len(trainer.validation.x)} images) on {trainer.device}"
                  f"{trainer.parallel.describe(trainer.config.batch_size)}", file=sys.stderr)
        path = trainer.run(progress=not args.quiet)
    except ProcessGroupFailed as exc:
        print(f"playground train: stopped: {exc}", file=sys.stderr)
        return 1
    if main:
        print(f"saved {path}")
    return 0
