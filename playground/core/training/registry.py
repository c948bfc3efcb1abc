"""Every family's training recipe by name, and the one way a `train` command line becomes a run.

`playground train FAMILY ...` and the GUI's Train panel both go through `parse_train_args`
and `build_trainer`, so a run started in the window and the command written into its
model.json are the same training. Adding a family adds one line to `RECIPES`.
"""

from __future__ import annotations

import argparse
import shlex

from .. import checks, distributed
from ..checks import positive_float, positive_int
from ..data import load_dataset
from ..device import pick_device, seed_everything
from . import autoencoder_kl_task, classifier_task, clip_task, dae_task, dalle_task, dit_task, ldm_task, ddpm_task, gan_task, noisy_classifier_task, text2img_task, vae_task, vqgan_task, vqvae_task
from .loop import TrainConfig, Trainer
from .presets import PRESETS, PresetAction
from .recipe import TrainRecipe

RECIPES: dict[str, TrainRecipe] = {
    "vae": vae_task.VAE_RECIPE,
    "ae": vae_task.AE_RECIPE,
    "dae": dae_task.RECIPE,
    "text2img": text2img_task.RECIPE,
    "classifier": classifier_task.RECIPE,
    "noisy-classifier": noisy_classifier_task.RECIPE,
    "ddpm": ddpm_task.RECIPE,
    "vqvae": vqvae_task.RECIPE,
    "vqgan": vqgan_task.RECIPE,
    "dalle": dalle_task.RECIPE,
    "clip": clip_task.RECIPE,
    "gan": gan_task.RECIPE,
    "autoencoder-kl": autoencoder_kl_task.RECIPE,
    "ldm": ldm_task.RECIPE,
    "dit": dit_task.DIT_RECIPE,
    "sit": dit_task.SIT_RECIPE,
}

# arguments that steer how a run is watched, not what it trains: never part of the recipe's command
_NOT_IN_COMMAND = {"command", "family", "run", "fresh", "quiet", "threads", "live", "live_every", "preview_every", "preset"}


def add_train_arguments(families: argparse._SubParsersAction) -> dict[str, argparse.ArgumentParser]:
    """One sub-parser per family under `families`, each with the shared and the family's own options."""
    parsers = {}
    for name, recipe in RECIPES.items():
        sub = families.add_parser(name, help=f"train a {name}")
        sub.add_argument("--data", default="shapes", help="shapes, digits or a folder of images")
        sub.add_argument("--data-size", type=positive_int, default=None, help="number of shapes to generate (default 20000)")
        presets = [p.name for p in PRESETS.values() if p.family == name]
        sub.add_argument("--steps", type=positive_int, required=not presets, help="required unless --preset" if presets else None)
        sub.add_argument("--preset", action=PresetAction, const=name, metavar="|".join(presets) or "NAME",
                         help="a named run (core/training/presets.py; demo: a VAE learning shapes in about two "
                              "minutes on a CPU); options given too override it")
        sub.add_argument("--out", required=True, help="output folder (resumes if it holds a run)")
        sub.add_argument("--batch-size", type=positive_int, default=recipe.defaults.get("batch_size", 128))
        sub.add_argument("--lr", type=positive_float, default=recipe.defaults.get("lr", 2e-3))
        sub.add_argument("--ema", type=checks.FloatRange(0.0, 1.0, high_open=True), default=recipe.defaults.get("ema_decay"),
                         help="EMA decay, e.g. 0.999")
        sub.add_argument("--precision", choices=("fp32", "bf16"), default=recipe.defaults.get("precision", "fp32"))
        sub.add_argument("--checkpoint-every", type=positive_int, default=500)
        sub.add_argument("--seed", type=checks.seed, default=0)
        sub.add_argument("--device", default="auto")
        sub.add_argument("--threads", type=checks.threads, default=None, help="torch CPU threads")
        sub.add_argument("--fresh", action="store_true", help="ignore an earlier run in --out")
        sub.add_argument("--quiet", action="store_true", help="no progress bar")
        sub.add_argument("--live", action="store_true",
                         help="report to a watching program: JSON lines on stdout, pause/resume/stop lines on "
                              "stdin (how the app's Train panel runs training)")
        sub.add_argument("--live-every", type=positive_int, default=10, help="with --live: report every N steps")
        sub.add_argument("--preview-every", type=positive_int, default=100, help="with --live: a preview every N steps")
        recipe.add_arguments(sub)
        parsers[name] = sub
    return parsers


def parse_train_args(argv: list[str]) -> argparse.Namespace:
    """Parse `FAMILY --flag ...` exactly as `playground train` does (argparse errors raise ValueError)."""
    parser = _RaisingParser(prog="playground train")
    add_train_arguments(parser.add_subparsers(dest="family", required=True, parser_class=_RaisingParser))
    return parser.parse_args(list(argv))


def build_trainer(args: argparse.Namespace) -> Trainer:
    """Data, task and Trainer for parsed arguments; resumes from --out unless --fresh."""
    if args.steps is None:
        raise ValueError("--steps is required (or a --preset)")
    if args.ema is not None and not 0.0 <= args.ema < 1.0:
        raise ValueError(f"--ema must be in [0, 1), got {args.ema}")
    device = distributed.init_from_env(pick_device(args.device))  # under torchrun: join the other processes
    seed_everything(args.seed)
    data = load_dataset(args.data, n=args.data_size, seed=args.seed)
    recipe = RECIPES[args.family]
    task = recipe.make_task(args)
    config = TrainConfig(
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, ema_decay=args.ema,
        precision=args.precision, checkpoint_every=args.checkpoint_every, seed=args.seed,
        **{k: v for k, v in recipe.defaults.items() if k not in ("batch_size", "lr", "ema_decay", "precision")},
    )
    trainer = Trainer(task, data, config, args.out, device=device, command=reconstruct_command(args))
    if not args.fresh:
        trainer.try_resume()
    return trainer


def reconstruct_command(args: argparse.Namespace) -> str:
    """The `playground train ...` line that re-creates this run (written into its model.json)."""
    parts = ["playground", "train", args.family]
    for key, value in vars(args).items():
        if key in _NOT_IN_COMMAND or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        parts += [flag] if value is True else [flag, shlex.quote(str(value))]
    return " ".join(parts)


class _RaisingParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are a ValueError (for the GUI), not a SystemExit."""

    def error(self, message: str):  # noqa: D401 (argparse's name)
        raise ValueError(message)
