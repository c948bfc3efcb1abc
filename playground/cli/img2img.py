"""`playground img2img FAMILY --image F --strength S --out X.png`: an image noised to a strength, then denoised.

FAMILY is any diffusion model: ddpm (unconditional, no prompt), text2img, ldm, dit, sit.
Strength s is the fraction of the run's steps redone (diffusers' img2img rule); the
start point it gives (t, noise level, signal-to-noise ratio) is printed. The PNG carries
its recipe. The options that pick the image and the run are shared with `invert`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from ..core import checks
from ..core.checks import IntRange
from ..core.assets import open_model
from ..core.checkpoints import LoadedModel
from ..core.device import pick_device
from ..core.diffusion.schedulers import FLOW_KINDS, SCHEDULER_KINDS

FAMILIES = ("ddpm", "text2img", "ldm", "dit", "sit")
GALLERY_SIZE = 96  # the data gallery's images (core.data.gallery_images)


def add_image_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("family", choices=FAMILIES, metavar="FAMILY", help=", ".join(FAMILIES))
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", help="an image file (scaled and centre-cropped to the model's size)")
    source.add_argument("--index", type=IntRange(0, GALLERY_SIZE - 1),
                        help="image INDEX of the data gallery instead of a file (the app's gallery: shapes none "
                             "of the models trained on)")


def add_run_arguments(parser: argparse.ArgumentParser, guidance_help: str) -> None:
    parser.add_argument("--prompt", default="", help='e.g. "a large red circle at the top left" (not for ddpm)')
    parser.add_argument("--negative-prompt", default="", help="guide away from this prompt (it replaces the null prompt)")
    parser.add_argument("--guidance", type=checks.guidance_scale, default=None, metavar="W", help=guidance_help)
    parser.add_argument("--sampler", choices=SCHEDULER_KINDS + FLOW_KINDS, default=None,
                        help="ddpm or ddim for ddpm, text2img, ldm and dit; euler, heun or sde for sit "
                             "(default: ddim, heun for sit)")
    parser.add_argument("--steps", type=checks.positive_int, default=None,
                        help="steps of the whole run (default: 50, 10 for heun, all of the schedule for ddpm)")
    parser.add_argument("--checkpoint", help="checkpoint folder or file (default: the shipped one)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=checks.threads, default=None, help="torch CPU threads")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("img2img", help="image to image: noise an image to a strength and denoise it")
    add_image_arguments(parser)
    parser.add_argument("--strength", type=_strength, required=True, metavar="S",
                        help="0 < S <= 1: the share of the run's steps redone (1: from pure noise, the image forgotten)")
    add_run_arguments(parser, "classifier-free guidance scale w (default: the model's; 1 plain conditional)")
    parser.add_argument("--eta", type=checks.eta, default=0.0, help="DDIM noise, 0 (deterministic) to 1")
    parser.add_argument("--seed", type=checks.seed, default=0, help="the noise added to the image (and DDPM's steps)")
    parser.add_argument("--out", required=True, help="the result as PNG (its recipe in the metadata)")
    parser.add_argument("--scale", type=checks.upscale, default=1, help="nearest-neighbour upscaling of the PNG")
    parser.set_defaults(run=run)


def _strength(text: str) -> float:
    from ..core.img2img.img2img import strength_range

    return strength_range(text)


def load_model_and_image(args: argparse.Namespace) -> tuple[LoadedModel, np.ndarray, dict[str, Any]]:
    """The model, the image (H, W, 3) uint8 at the model's size and the recipe keys naming its source."""
    import torch

    from ..core.data import gallery_images, load_image_file
    from ..core.provenance import weights_sha256

    if args.threads:
        torch.set_num_threads(args.threads)
    loaded = open_model(args.checkpoint, (args.family,), pick_device(args.device))
    size = int(loaded.model.config.image_size)
    if args.image:
        image = load_image_file(args.image, size)
        path = Path(args.image).resolve()
        source = {"image": str(path), "image_sha256": weights_sha256(path)}
    else:
        image, source = gallery_images("shapes", GALLERY_SIZE).images[args.index], {"image_index": args.index,
                                                                                  "data": "shapes gallery"}
    return loaded, image, source


def settings_from(loaded: LoadedModel, args: argparse.Namespace, **changes: Any):
    """The run's GuidedSettings: the family's defaults, the options given on top (checked against the model)."""
    from ..core.img2img.img2img import run_settings
    from .sample_latent_diffusion import refuse_eta_without_ddim, sampler_changes

    changes |= {"prompt": args.prompt, "negative_prompt": args.negative_prompt} | sampler_changes(args, loaded.model)
    settings = run_settings(loaded, **changes)
    refuse_eta_without_ddim(settings)
    return settings


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..core.images import save_png, upscale
    from ..core.img2img.img2img import img2img_recipe, prepare, to_model_space
    from ..core.provenance import picture_recipe
    from ..core.text2img.sampling import to_images

    loaded, image, source = load_model_and_image(args)
    settings = settings_from(loaded, args, eta=args.eta, seed=args.seed)
    model = loaded.model
    run_ = prepare(model, to_model_space(model, image[None]), settings, args.strength)
    print(run_.start.describe())
    final = run_.x_start
    for record in tqdm(run_.steps(), total=run_.start.steps_run, desc=f"{settings.sampler}-{settings.steps}",
                       unit="step", disable=None):
        final = record.x_prev
    result = to_images(model, final)[0]
    recipe = picture_recipe(loaded, "img2img", **img2img_recipe(loaded, settings, run_.start), **source,
                            scale=args.scale)
    save_png(args.out, upscale(result, args.scale), recipe)
    print(f"wrote {args.out}")
    return 0
