"""`playground sample ddpm`: DDPM or DDIM runs of the unconditional model (optionally classifier-guided),
each PNG with its recipe, and the run as an MP4 or GIF (`--trajectory run.mp4`, `--fps`, `--size`);
`--init-noise NOISE.npy` starts from a given x_T
(e.g. `playground invert ddpm`'s)."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..core import checks
from ..core.checkpoints import LoadedModel
from ..core.device import model_device
from ..core.diffusion.trajectory_pictures import HOLD_LAST_S, guidance_lines
from ..core.images import make_grid, upscale
from ..core.provenance import picture_recipe
from ..core.video import step_lines
from .sample_text2img import (add_classifier_guidance_arguments, add_guidance_schedule_arguments,
                             add_init_noise_argument, classifier_guided, init_noise_and_count)
from .video_options import add_video_arguments, video_path, write

TRAJECTORY_MAX_FRAMES = 60  # a video of every step of DDPM-1000 would be tens of megabytes (and minutes long)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sampler", choices=("ddpm", "ddim"), default="ddim")
    parser.add_argument("--steps", type=checks.positive_int, default=None,
                        help="inference steps, 1 to the schedule's length (default: all of it for ddpm, 50 for ddim)")
    parser.add_argument("--eta", type=checks.eta, default=0.0, help="DDIM noise, 0 (deterministic) to 1")
    parser.add_argument("--variance", choices=("posterior", "beta"), default="posterior",
                        help="DDPM step noise: the posterior's beta-tilde_t (default) or beta_t")
    parser.add_argument("--clip", action=argparse.BooleanOptionalAction, default=True,
                        help="clip the predicted x0 to [-1, 1] at every step (default on, as in diffusers and "
                             "the DDPM paper's code; the cosine schedule's first step amplifies errors ~30x without it)")
    add_init_noise_argument(parser, "3, 32, 32")
    parser.add_argument("--trajectory", type=video_path, metavar="RUN.mp4|RUN.gif",
                        help="also write the run as a video (MP4 or GIF, by the suffix): x_t beside the predicted x0, "
                             f"at most {TRAJECTORY_MAX_FRAMES} steps, each frame with its step, t, noise level and w; "
                             "the samples held at the end")
    add_video_arguments(parser)
    parser.add_argument("--threads", type=checks.threads, default=None, help="torch CPU threads")
    parser.add_argument("--prompt", default="", help="with --classifier-guidance: the attributes to steer toward")
    add_classifier_guidance_arguments(parser)
    add_guidance_schedule_arguments(parser)


def sample(loaded: LoadedModel, args: argparse.Namespace) -> tuple[np.ndarray, list[dict[str, Any]]]:
    import torch
    from tqdm import tqdm

    from ..core.data import to_uint8
    from ..core.diffusion.sampling import sample_steps
    from ..core.diffusion.schedulers import make_scheduler
    from ..core.latent_diffusion.comparison import noise_level
    from ..core.text2img.denoiser import steps_with_clipped_eps

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.sampler == "ddpm" and args.eta:
        raise ValueError("--eta is a DDIM setting; DDPM's noise is chosen with --variance")
    device = model_device(loaded.model)
    config = loaded.model.config
    schedule = loaded.model.noise_schedule
    if hasattr(schedule, "clip_sample"):  # a diffusers folder: its scheduler config sets clipping and variance
        args.clip, args.variance = schedule.clip_sample, schedule.variance
        print(f"{loaded.name}: {schedule.describe()}, DDPM variance {schedule.variance} (the checkpoint's "
              f"scheduler config; --clip and --variance follow it)")
    init, n = init_noise_and_count(args, (config.in_channels, config.image_size, config.image_size))
    model_fn, guidance_recipe = classifier_guided(loaded.model, args, device)
    # a guided run steps with the eps its clipped x0 implies, as the GUI's does (see DDIMScheduler)
    scheduler = make_scheduler(args.sampler, loaded.model.noise_schedule, args.steps, eta=args.eta,
                               variance=args.variance, clip_x0=args.clip,
                               use_clipped_model_output=steps_with_clipped_eps(args.clip, bool(guidance_recipe)))
    steps = scheduler.num_inference_steps
    every = -(-steps // TRAJECTORY_MAX_FRAMES)
    frames, captions, final = [], [], None
    alphas_cumprod = loaded.model.noise_schedule.alphas_cumprod
    records = sample_steps(model_fn, scheduler, n=n, seed=args.seed, device=device,
                           **({"x_t": init.latents} if init is not None else {}))
    for record in tqdm(records, total=steps, desc=f"{args.sampler}-{steps}", unit="step", disable=None):
        if args.trajectory and (record.index % every == 0 or record.is_last):
            frames.append(_trajectory_frame(to_uint8(record.x_t), to_uint8(record.pred_x0), args.scale))
            captions.append(step_lines(record.index + 1, steps, record.t, noise_level(alphas_cumprod, record.t)))
        final = record.x_prev
    images = to_uint8(final)
    recipe = picture_recipe(loaded, "sample", schedule=loaded.config.schedule, sampler=args.sampler, steps=steps,
                            eta=args.eta, variance=args.variance, clip_x0=args.clip, seed=args.seed, n=n,
                            scale=1, **guidance_recipe, **(init.recipe() if init is not None else {}))
    if args.trajectory:
        frames.append(_trajectory_frame(images, images, args.scale))
        captions.append(["sample", "noise level 0.00"])
        guidance = guidance_lines(guidance_recipe)
        write(args, args.trajectory, frames, [lines + guidance for lines in captions],
              recipe | {"picture": "trajectory", "frames_every": every, "fps": args.fps}, hold_last=HOLD_LAST_S)
        print(f"wrote {args.trajectory} ({len(frames)} frames: x_t | predicted x0; the samples held {HOLD_LAST_S:g} s)")
    recipes = [recipe | {"index": i, "image_seed": args.seed + i} for i in range(len(images))]
    return images, recipes


def _trajectory_frame(x_t: np.ndarray, x0: np.ndarray, scale: int) -> np.ndarray:
    """One video frame: the grid of x_t, a gap, the grid of predicted x0."""
    left, right = make_grid(x_t), make_grid(x0)
    gap = np.zeros((left.shape[0], 6, 3), np.uint8)
    return upscale(np.concatenate([left, gap, right], axis=1), scale)
