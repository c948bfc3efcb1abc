"""`playground sample text2img --prompt P --guidance W ...`: prompt-guided samples, each with its recipe.

CLIP guidance (`--clip-guidance S`, the CLIP of `--clip-model`, else the shipped clip-shapes) steers
toward the prompt by the CLIP's similarity, beside w; `--base ddpm` steers the shipped unconditional
DDPM instead of the text-to-image model (by the classifier or the CLIP alone).

Also the options `sample ddpm` (and `sample ldm|dit|sit`) share: classifier guidance (a noisy
classifier steering an unconditional DDPM toward a prompt's attributes), the guidance schedule,
and `--init-noise NOISE.npy`, a given x_T (e.g. `playground invert`'s) instead of the seeds' first
draw, whose file and SHA-256 the recipe names (`core/diffusion/init_noise.py`).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from torch import nn

from ..core import checks
from ..core.assets import open_model
from ..core.checkpoints import LoadedModel
from ..core.device import model_device
from ..core.provenance import helper_header, picture_recipe
from ..core.text2img.clip_guidance import CLIP_ROLE


def add_guidance_schedule_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--guidance-start", type=checks.fraction, default=0.0,
                        help="guidance on from this fraction of the way from noise (0) to image (1)")
    parser.add_argument("--guidance-stop", type=checks.fraction, default=1.0, help="... up to this fraction (default 1: the end)")


def add_classifier_guidance_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--classifier-guidance", type=checks.classifier_scale, default=0.0, metavar="S",
                        help="classifier guidance scale s toward the prompt's attributes (0: off)")
    parser.add_argument("--classifier", help="noisy classifier checkpoint (default: the shipped noisy-classifier-shapes)")


def add_clip_guidance_arguments(parser: argparse.ArgumentParser) -> None:
    from ..core.text2img.clip_guidance import clip_scale

    parser.add_argument("--clip-guidance", type=clip_scale, default=0.0, metavar="S",
                        help="CLIP guidance scale s toward the prompt, on the CLIP's reading of the predicted x0 "
                             "(0: off; tens to hundreds)")
    parser.add_argument("--clip-model", metavar="CHECKPOINT",
                        help="CLIP checkpoint for --clip-guidance (default: the shipped clip-shapes)")
    parser.add_argument("--base", choices=("text2img", "ddpm"), default="text2img",
                        help="ddpm: steer the shipped unconditional DDPM by the classifier and/or CLIP alone "
                             "(--guidance and --negative-prompt then do not apply)")


def load_noisy_classifier(args: argparse.Namespace, device) -> LoadedModel | None:
    """The noisy classifier when classifier guidance is asked for, else None."""
    if not args.classifier_guidance:
        return None
    loaded = open_model(args.classifier, ("noisy-classifier",), device)
    return loaded


def add_init_noise_argument(parser: argparse.ArgumentParser, shape: str) -> None:
    """`--init-noise NOISE.npy` (e.g. what `playground invert` wrote); `--n` then defaults to its count."""
    parser.add_argument("--n", type=checks.sample_count, default=argparse.SUPPRESS,
                        help="number of samples, image i seeded seed + i (default 16; with --init-noise, one per noise)")
    parser.add_argument("--init-noise", metavar="NOISE.npy",
                        help=f"start from this x_T (e.g. `playground invert`'s): an .npy float array (N, {shape}) or ({shape})")


def init_noise_and_count(args: argparse.Namespace, shape: tuple[int, ...]):
    """(the --init-noise file's x_T or None, the number of images), checked (one-line ValueError)."""
    from ..core.diffusion.init_noise import load_init_noise, sample_count

    init = load_init_noise(args.init_noise, shape) if args.init_noise else None
    n = sample_count(init, getattr(args, "n", None))
    checks.check_seed_span(args.seed, n)
    return init, n


def text2img_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prompt", default="", help='e.g. "a large red circle at the top left" ("" = unconditional)')
    parser.add_argument("--negative-prompt", default="", help="guide away from this prompt (it replaces the null prompt)")
    parser.add_argument("--guidance", type=checks.guidance_scale, default=3.0, metavar="W",
                        help="classifier-free guidance scale w: 0 unconditional, 1 plain conditional, >1 stronger")
    add_guidance_schedule_arguments(parser)
    add_classifier_guidance_arguments(parser)
    add_clip_guidance_arguments(parser)
    parser.add_argument("--sampler", choices=("ddpm", "ddim"), default="ddim")
    parser.add_argument("--steps", type=checks.positive_int, default=None,
                        help="inference steps, 1 to the schedule's length (default: all of it for ddpm, 50 for ddim)")
    parser.add_argument("--eta", type=checks.eta, default=0.0, help="DDIM noise, 0 (deterministic) to 1")
    parser.add_argument("--clip", action=argparse.BooleanOptionalAction, default=True,
                        help="clip the predicted x0 to [-1, 1] at every step, and step with the eps it implies "
                             "(default on; large w overshoots without it)")
    add_init_noise_argument(parser, "3, 32, 32")
    parser.add_argument("--threads", type=checks.threads, default=None, help="torch CPU threads")


def sample_text2img(loaded: LoadedModel, args: argparse.Namespace) -> tuple[np.ndarray, list[dict[str, Any]]]:
    import torch
    from tqdm import tqdm

    from ..core.data import to_uint8
    from ..core.text2img.sampling import GuidedSettings, guided_steps, image_shape
    from ..core.diffusers_io.load import is_diffusers

    if is_diffusers(loaded):  # a diffusers Stable Diffusion folder: free-text prompts, its own tokenizer
        from .sample_diffusers import sample_text2img as sample_diffusers

        return sample_diffusers(loaded, args)
    if args.threads:
        torch.set_num_threads(args.threads)
    steps = args.steps or (loaded.model.noise_schedule.num_train_timesteps if args.sampler == "ddpm" else 50)
    settings = GuidedSettings(
        prompt=args.prompt, negative_prompt=args.negative_prompt, guidance_scale=args.guidance,
        guidance_start=args.guidance_start, guidance_stop=args.guidance_stop,
        classifier_scale=args.classifier_guidance, sampler=args.sampler, steps=steps, eta=args.eta,
        clip_x0=args.clip, seed=args.seed, clip_scale=args.clip_guidance, base=args.base,
    ).validate()  # a bad prompt is refused here, before anything else is loaded
    device = model_device(loaded.model)
    helpers = {"base_model": open_model(None, ("ddpm",), device) if args.base == "ddpm" else None,
               "classifier": load_noisy_classifier(args, device),
               CLIP_ROLE: open_model(args.clip_model, ("clip",), device) if args.clip_guidance else None}
    base = helpers["base_model"].model if helpers["base_model"] else loaded.model
    init, n = init_noise_and_count(args, image_shape(base))
    final = None
    records = guided_steps(base, settings, n, helpers["classifier"].model if helpers["classifier"] else None,
                           helpers[CLIP_ROLE].model if helpers[CLIP_ROLE] else None,
                           **({"x_t": init.latents} if init is not None else {}))
    for record in tqdm(records, total=steps, desc=f"{args.sampler}-{steps} w={args.guidance:g}", unit="step", disable=None):
        final = record.x_prev
    images = to_uint8(final)
    recipe = picture_recipe(loaded, "sample", **settings.to_recipe(loaded.name), n=n, scale=1,
                            **(init.recipe() if init is not None else {}))
    for role, helper in helpers.items():
        if helper is not None:
            recipe |= helper_header(role, helper)
    return images, [recipe | {"index": i, "image_seed": args.seed + i} for i in range(len(images))]


def classifier_guided(model: nn.Module, args: argparse.Namespace, device) -> tuple[Any, dict[str, Any]]:
    """For `sample ddpm`: the model function (the DDPM, steered by the noisy classifier if asked) and recipe keys."""
    from ..core.data.shapes import parse_prompt
    from ..core.text2img.sampling import GuidedSettings, make_denoiser

    parse_prompt(args.prompt)
    classifier = load_noisy_classifier(args, device)
    if classifier is None:
        if args.prompt:
            raise ValueError("an unconditional DDPM follows a --prompt only with --classifier-guidance S (S > 0)")
        return model, {}
    settings = GuidedSettings(prompt=args.prompt, classifier_scale=args.classifier_guidance, base="ddpm",
                              guidance_start=args.guidance_start, guidance_stop=args.guidance_stop)
    guided = make_denoiser(model, settings, classifier.model)
    return guided, {"prompt": args.prompt, "classifier_scale": args.classifier_guidance,
                    "guidance_start": args.guidance_start, "guidance_stop": args.guidance_stop,
                    **helper_header("classifier", classifier)}

