"""`playground train dit` and `playground train sit`: one transformer, two objectives (noise, or a flow's velocity)."""

from __future__ import annotations

import argparse

from .. import checks
from ..models.dit import DiT, DiTConfig, SiTConfig
from .latent_diffusion_task import add_latent_arguments, latent_task
from .recipe import TrainRecipe


def _arguments(parser: argparse.ArgumentParser, flow: bool) -> None:
    add_latent_arguments(parser)
    if not flow:
        parser.add_argument("--schedule", choices=("linear", "cosine"), default="cosine")
    parser.add_argument("--patch-size", type=checks.IntRange(1, 8), default=2)
    parser.add_argument("--hidden", type=checks.IntRange(8, 2048), default=128)
    parser.add_argument("--depth", type=checks.IntRange(1, 64), default=8)
    parser.add_argument("--heads", type=checks.IntRange(1, 64), default=4)
    parser.add_argument("--cross-attention", choices=("on", "off"), default="on",
                        help="blocks also attend to the prompt's tokens (PixArt); off: adaLN on the pooled prompt only")


def _build(flow: bool):
    def build(args: argparse.Namespace, fields: dict) -> DiT:
        common = dict(patch_size=args.patch_size, hidden=args.hidden, depth=args.depth, heads=args.heads,
                      cross_attention=args.cross_attention == "on", **fields)
        return DiT(SiTConfig(**common) if flow else DiTConfig(schedule=args.schedule, **common))

    return build


DEFAULTS = {"batch_size": 64, "lr": 3e-4, "precision": "bf16", "ema_decay": 0.999}
DIT_RECIPE = TrainRecipe(lambda p: _arguments(p, False), latent_task(_build(False), "dit"), DEFAULTS)
SIT_RECIPE = TrainRecipe(lambda p: _arguments(p, True), latent_task(_build(True), "sit"), DEFAULTS)
