"""`playground sample FAMILY ...`: image grids or one PNG per sample, each with its recipe."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..core.assets import default_checkpoint
from ..core.checkpoints import LoadedModel, load_checkpoint
from ..core.device import pick_device
from ..core.images import make_grid, save_png, upscale

# family -> (add its options, make (images, recipes) from the loaded model and args)
Sampler = Callable[[LoadedModel, argparse.Namespace], tuple[np.ndarray, list[dict[str, Any]]]]
SAMPLERS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Sampler]] = {}


def _latent_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=64, help="number of samples")
    parser.add_argument("--temperature", type=float, default=1.0, help="scale of the prior noise")


def _sample_latent_model(loaded: LoadedModel, args: argparse.Namespace) -> tuple[np.ndarray, list[dict[str, Any]]]:
    from ..core.sampling.latent import sample_prior

    images, latents = sample_prior(loaded.model, args.n, args.seed, temperature=args.temperature)
    recipes = [
        {"model": loaded.name, "family": loaded.family, "checkpoint": str(loaded.path), "seed": args.seed,
         "index": i, "temperature": args.temperature, "latent": [round(float(v), 6) for v in latents[i]]}
        for i in range(len(images))
    ]
    return images, recipes


SAMPLERS["vae"] = (_latent_arguments, _sample_latent_model)
SAMPLERS["ae"] = (_latent_arguments, _sample_latent_model)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("sample", help="sample a model to PNG files")
    families = parser.add_subparsers(dest="family", metavar="FAMILY", required=True)
    for name, (add_arguments, _) in SAMPLERS.items():
        sub = families.add_parser(name, help=f"sample a {name}")
        add_arguments(sub)
        sub.add_argument("--seed", type=int, default=0)
        out = sub.add_mutually_exclusive_group(required=True)
        out.add_argument("--out", help="one PNG with all samples in a grid")
        out.add_argument("--out-dir", help="a folder with one PNG per sample, recipe in its metadata")
        sub.add_argument("--scale", type=int, default=2, help="nearest-neighbour upscaling of the grid")
        sub.add_argument("--checkpoint", help="checkpoint folder or file (default: the shipped one)")
        sub.add_argument("--device", default="auto")
        sub.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    device = pick_device(args.device)
    path = Path(args.checkpoint) if args.checkpoint else default_checkpoint(args.family)
    loaded = load_checkpoint(path, device)
    if loaded.family != args.family and not {loaded.family, args.family} <= {"vae", "ae"}:
        raise ValueError(f"{path} holds a {loaded.family} model, not a {args.family}")
    images, recipes = SAMPLERS[args.family][1](loaded, args)
    if args.out:
        grid = upscale(make_grid(images), args.scale)
        save_png(args.out, grid, {"grid_of": recipes[0] | {"index": None, "latent": None}, "n": len(recipes)})
        print(f"wrote {args.out} ({len(images)} samples)")
    else:
        for i, (image, recipe) in enumerate(zip(images, recipes)):
            save_png(Path(args.out_dir) / f"sample_{i:04d}.png", image, recipe)
        print(f"wrote {len(images)} PNGs to {args.out_dir}")
    return 0
