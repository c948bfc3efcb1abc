"""`playground sample FAMILY ...`: image grids or one PNG per sample, each with its recipe."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..core import checks
from ..core.assets import open_model
from ..core.checkpoints import LoadedModel
from ..core.device import pick_device
from ..core.images import make_grid, save_png, upscale
from ..core.provenance import picture_recipe
from ..core.text2img.sampling import step_limit
from .backends import BACKEND_FAMILIES, add_backend_argument, backend_that_ran, use_backend
from . import sample_dalle, sample_ddpm, sample_latent, sample_latent_diffusion, sample_text2img, sample_vqgan_clip, sample_vqvae

# family -> (add its options, make (images, recipes) from the loaded model and args): one line each
Sampler = Callable[[LoadedModel, argparse.Namespace], tuple[np.ndarray, list[dict[str, Any]]]]
SAMPLERS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Sampler]] = {
    "vae": (sample_latent.add_arguments, sample_latent.sample),
    "ae": (sample_latent.add_arguments, sample_latent.sample),
    "gan": (sample_latent.add_arguments, sample_latent.sample),  # a GAN generator decodes z like a VAE decoder
    "vqvae": (sample_vqvae.add_arguments, sample_vqvae.sample),
    "ddpm": (sample_ddpm.add_arguments, sample_ddpm.sample),
    "text2img": (sample_text2img.text2img_arguments, sample_text2img.sample_text2img),
    "ldm": (sample_latent_diffusion.add_arguments, sample_latent_diffusion.sample),
    "dit": (sample_latent_diffusion.add_arguments, sample_latent_diffusion.sample),
    "sit": (sample_latent_diffusion.add_arguments, sample_latent_diffusion.sample),
    "vqgan-clip": (sample_vqgan_clip.add_arguments, sample_vqgan_clip.sample),  # opens a vqgan and a clip: its own run
    "dalle": (sample_dalle.add_arguments, sample_dalle.sample),
}


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("sample", help="sample a model to PNG files")
    families = parser.add_subparsers(dest="family", metavar="FAMILY", required=True)
    for name, (add_arguments, _) in SAMPLERS.items():
        sub = families.add_parser(name, help=f"sample a {name}")
        add_arguments(sub)
        if name in BACKEND_FAMILIES:
            add_backend_argument(sub)
        sub.add_argument("--seed", type=checks.seed, default=0)
        out = sub.add_mutually_exclusive_group(required=True)
        out.add_argument("--out", help="one PNG with all samples in a grid")
        out.add_argument("--out-dir", help="a folder with one PNG per sample, recipe in its metadata")
        sub.add_argument("--scale", type=checks.upscale, default=2, help="nearest-neighbour upscaling of the grid")
        sub.add_argument("--checkpoint", help="checkpoint folder or file (default: the shipped one)")
        sub.add_argument("--device", default="auto")
        sub.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "tokens", None):  # a token grid file is decoded as it is: no seeds
        checks.check_seed_span(args.seed, getattr(args, "n", 1))
    device = pick_device(args.device)
    # a VAE's and an AE's checkpoints are the same network: each samples the other's
    interchangeable = ("vae", "ae") if args.family in ("vae", "ae") else ()
    loaded = open_model(args.checkpoint, (args.family, *(f for f in interchangeable if f != args.family)), device)
    if getattr(args, "steps", None) is not None:  # its range is known now: the model's schedule length
        checks.check_steps(args.steps, step_limit(loaded.model))  # a flow's K intervals, else T
    loaded, backend = use_backend(loaded, args)
    images, recipes = SAMPLERS[args.family][1](loaded, args)
    backend = backend_that_ran(loaded, backend)
    ran_on = {"backend": backend} if backend else {}  # the backend that ran: `reproduce` uses the same
    recipes = [recipe | ran_on for recipe in recipes]
    if args.out:
        grid = upscale(make_grid(images), args.scale)
        # a grid of one keeps its sample's recipe whole; of many, what differs per image is left out
        per_sample = {key: None for key in ("index", "latent", "tokens", "image_seed", "clip_score") if key in recipes[0]}
        grid_of = recipes[0] | (per_sample if len(recipes) > 1 else {}) | {"scale": 1}
        save_png(args.out, grid, picture_recipe(loaded, "grid", grid_of=grid_of, n=len(recipes), scale=args.scale,
                                                **ran_on))
        print(f"wrote {args.out} ({len(images)} samples)")
    else:
        for i, (image, recipe) in enumerate(zip(images, recipes)):
            save_png(Path(args.out_dir) / f"sample_{i:04d}.png", image, recipe)
        print(f"wrote {len(images)} PNGs to {args.out_dir}")
    return 0
