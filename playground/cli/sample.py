"""`playground sample FAMILY ...`: image grids or one PNG per sample, each with its recipe."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..core import checks
from ..core.assets import default_checkpoint
from ..core.checkpoints import LoadedModel, load_checkpoint
from ..core.device import model_device, pick_device
from ..core.images import make_grid, save_gif, save_png, upscale
from ..core.provenance import exact_floats, picture_recipe
from .sample_text2img import (
    add_classifier_guidance_arguments, add_guidance_schedule_arguments, classifier_guided, sample_text2img,
    text2img_arguments,
)

# family -> (add its options, make (images, recipes) from the loaded model and args)
Sampler = Callable[[LoadedModel, argparse.Namespace], tuple[np.ndarray, list[dict[str, Any]]]]
SAMPLERS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Sampler]] = {}


def _latent_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=checks.sample_count, default=64, help="number of samples")
    parser.add_argument("--temperature", type=checks.temperature, default=1.0, help="scale of the prior noise")


def _sample_latent_model(loaded: LoadedModel, args: argparse.Namespace) -> tuple[np.ndarray, list[dict[str, Any]]]:
    from ..core.latent.sampling import sample_prior

    images, latents = sample_prior(loaded.model, args.n, args.seed, temperature=args.temperature)
    recipe = picture_recipe(loaded, "decode", seed=args.seed, temperature=args.temperature, n=args.n, scale=1)
    return images, [recipe | {"index": i, "latent": exact_floats(latents[i])} for i in range(len(images))]


SAMPLERS["vae"] = (_latent_arguments, _sample_latent_model)
SAMPLERS["ae"] = (_latent_arguments, _sample_latent_model)
SAMPLERS["gan"] = (_latent_arguments, _sample_latent_model)  # a GAN generator decodes z like a VAE decoder


def _vqvae_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tokens", help="decode this token grid JSON (from `playground encode vqvae` or the GUI)")
    parser.add_argument("--n", type=checks.sample_count, default=16,
                        help="without --tokens: grids with each cell drawn from the codebook usage (no learned prior)")


def _sample_vqvae(loaded: LoadedModel, args: argparse.Namespace) -> tuple[np.ndarray, list[dict[str, Any]]]:
    import sys

    from ..core.codebook.analysis import decode_tokens
    from ..core.codebook.render import unigram_tokens
    from ..core.codebook.token_grid import load_token_grid

    model = loaded.model
    recipe = picture_recipe(loaded, "tokens", grid_size=[model.grid_size] * 2, codebook_size=model.codebook_size, scale=1)
    if args.tokens:
        grid = load_token_grid(args.tokens, grid_size=model.grid_size, codebook_size=model.codebook_size)
        if grid.model and grid.model != loaded.name:
            print(f"warning: {args.tokens} was made with {grid.model!r}, decoding with {loaded.name!r}", file=sys.stderr)
        tokens, recipe["tokens_file"] = grid.indices[None], str(args.tokens)
    else:
        tokens = unigram_tokens(loaded, args.n, args.seed)
        recipe |= {"prior": "unigram codebook usage", "seed": args.seed, "n": args.n}
    images = decode_tokens(model, tokens)
    return images, [recipe | {"index": i, "tokens": tokens[i].tolist()} for i in range(len(images))]


SAMPLERS["vqvae"] = (_vqvae_arguments, _sample_vqvae)


TRAJECTORY_MAX_FRAMES = 60  # a GIF of every step of DDPM-1000 would be tens of megabytes


def _diffusion_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sampler", choices=("ddpm", "ddim"), default="ddim")
    parser.add_argument("--steps", type=checks.positive_int, default=None,
                        help="inference steps, 1 to the schedule's length (default: all of it for ddpm, 50 for ddim)")
    parser.add_argument("--eta", type=checks.eta, default=0.0, help="DDIM noise, 0 (deterministic) to 1")
    parser.add_argument("--variance", choices=("posterior", "beta"), default="posterior",
                        help="DDPM step noise: the posterior's beta-tilde_t (default) or beta_t")
    parser.add_argument("--clip", action=argparse.BooleanOptionalAction, default=True,
                        help="clip the predicted x0 to [-1, 1] at every step (default on, as in diffusers and "
                             "the DDPM paper's code; the cosine schedule's first step amplifies errors ~30x without it)")
    parser.add_argument("--n", type=checks.sample_count, default=16, help="number of samples (image i is seeded seed + i)")
    parser.add_argument("--trajectory", help="also write an animated GIF of x_t beside the predicted x0")
    parser.add_argument("--threads", type=checks.threads, default=None, help="torch CPU threads")
    parser.add_argument("--prompt", default="", help="with --classifier-guidance: the attributes to steer toward")
    add_classifier_guidance_arguments(parser)
    add_guidance_schedule_arguments(parser)


def _sample_diffusion(loaded: LoadedModel, args: argparse.Namespace) -> tuple[np.ndarray, list[dict[str, Any]]]:
    import torch
    from tqdm import tqdm

    from ..core.data import to_uint8
    from ..core.diffusion.sampling import sample_steps
    from ..core.diffusion.schedulers import make_scheduler
    from ..core.text2img.denoiser import steps_with_clipped_eps

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.sampler == "ddpm" and args.eta:
        raise ValueError("--eta is a DDIM setting; DDPM's noise is chosen with --variance")
    device = model_device(loaded.model)
    model_fn, guidance_recipe = classifier_guided(loaded.model, args, device)
    # a guided run steps with the eps its clipped x0 implies, as the GUI's does (see DDIMScheduler)
    scheduler = make_scheduler(args.sampler, loaded.model.noise_schedule, args.steps, eta=args.eta,
                               variance=args.variance, clip_x0=args.clip,
                               use_clipped_model_output=steps_with_clipped_eps(args.clip, bool(guidance_recipe)))
    steps = scheduler.num_inference_steps
    every = -(-steps // TRAJECTORY_MAX_FRAMES)
    frames, final = [], None
    records = sample_steps(model_fn, scheduler, n=args.n, seed=args.seed, device=device)
    for record in tqdm(records, total=steps, desc=f"{args.sampler}-{steps}", unit="step", disable=None):
        if args.trajectory and (record.index % every == 0 or record.is_last):
            frames.append(_trajectory_frame(to_uint8(record.x_t), to_uint8(record.pred_x0), args.scale))
        final = record.x_prev
    images = to_uint8(final)
    recipe = picture_recipe(loaded, "sample", schedule=loaded.config.schedule, sampler=args.sampler, steps=steps,
                            eta=args.eta, variance=args.variance, clip_x0=args.clip, seed=args.seed, n=args.n,
                            scale=1, **guidance_recipe)
    if args.trajectory:
        frames.append(_trajectory_frame(images, images, args.scale))
        save_gif(args.trajectory, frames, [80] * (len(frames) - 1) + [1500],
                 recipe | {"picture": "trajectory", "frames_every": every})
        print(f"wrote {args.trajectory} ({len(frames)} frames: x_t | predicted x0)")
    recipes = [recipe | {"index": i, "image_seed": args.seed + i} for i in range(len(images))]
    return images, recipes


def _trajectory_frame(x_t: np.ndarray, x0: np.ndarray, scale: int) -> np.ndarray:
    """One GIF frame: the grid of x_t, a gap, the grid of predicted x0."""
    left, right = make_grid(x_t), make_grid(x0)
    gap = np.zeros((left.shape[0], 6, 3), np.uint8)
    return upscale(np.concatenate([left, gap, right], axis=1), scale)


SAMPLERS["ddpm"] = (_diffusion_arguments, _sample_diffusion)
SAMPLERS["text2img"] = (text2img_arguments, sample_text2img)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("sample", help="sample a model to PNG files")
    families = parser.add_subparsers(dest="family", metavar="FAMILY", required=True)
    for name, (add_arguments, _) in SAMPLERS.items():
        sub = families.add_parser(name, help=f"sample a {name}")
        add_arguments(sub)
        sub.add_argument("--seed", type=checks.seed, default=0)
        out = sub.add_mutually_exclusive_group(required=True)
        out.add_argument("--out", help="one PNG with all samples in a grid")
        out.add_argument("--out-dir", help="a folder with one PNG per sample, recipe in its metadata")
        sub.add_argument("--scale", type=checks.upscale, default=2, help="nearest-neighbour upscaling of the grid")
        sub.add_argument("--checkpoint", help="checkpoint folder or file (default: the shipped one)")
        sub.add_argument("--device", default="auto")
        sub.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    checks.check_seed_span(args.seed, getattr(args, "n", 1))
    device = pick_device(args.device)
    path = Path(args.checkpoint) if args.checkpoint else default_checkpoint(args.family)
    loaded = load_checkpoint(path, device)
    if loaded.family != args.family and not {loaded.family, args.family} <= {"vae", "ae"}:
        raise ValueError(f"{path} holds a {loaded.family} model, not a {args.family}")
    if getattr(args, "steps", None) is not None:  # its range is known now: the model's schedule length
        checks.check_steps(args.steps, loaded.model.noise_schedule.num_train_timesteps)
    images, recipes = SAMPLERS[args.family][1](loaded, args)
    if args.out:
        grid = upscale(make_grid(images), args.scale)
        # a grid of one keeps its sample's recipe whole; of many, what differs per image is left out
        per_sample = {key: None for key in ("index", "latent", "tokens", "image_seed") if key in recipes[0]}
        grid_of = recipes[0] | (per_sample if len(recipes) > 1 else {}) | {"scale": 1}
        save_png(args.out, grid, picture_recipe(loaded, "grid", grid_of=grid_of, n=len(recipes), scale=args.scale))
        print(f"wrote {args.out} ({len(images)} samples)")
    else:
        for i, (image, recipe) in enumerate(zip(images, recipes)):
            save_png(Path(args.out_dir) / f"sample_{i:04d}.png", image, recipe)
        print(f"wrote {len(images)} PNGs to {args.out_dir}")
    return 0
