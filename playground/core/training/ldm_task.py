"""`playground train ldm`: the latent U-Net with cross-attention (the shared task in latent_diffusion_task.py)."""

from __future__ import annotations

import argparse

from .. import checks
from ..models.ldm import LDM, LDMConfig
from .latent_diffusion_task import add_latent_arguments, latent_task
from .recipe import TrainRecipe, int_list


def _arguments(parser: argparse.ArgumentParser) -> None:
    add_latent_arguments(parser)
    parser.add_argument("--schedule", choices=("linear", "cosine"), default="cosine")
    parser.add_argument("--base-channels", type=checks.IntRange(8, 1024), default=64)
    parser.add_argument("--channel-mults", default="1,2", help="one per level of the 8x8 latent (8, 4, ...)")


def _build(args: argparse.Namespace, fields: dict) -> LDM:
    return LDM(LDMConfig(schedule=args.schedule, base_channels=args.base_channels,
                         channel_mults=int_list(args.channel_mults), **fields))


RECIPE = TrainRecipe(_arguments, latent_task(_build, "ldm"),
                     {"batch_size": 64, "lr": 5e-4, "precision": "bf16", "ema_decay": 0.999})
