"""`playground sample ldm|dit|sit --prompt P --guidance W ...`: latent-diffusion samples, each with its recipe.

Defaults are the checkpoint's (`core/latent_diffusion/sampling.default_settings`): DDIM-50
for ldm and dit, Heun-10 for sit, and the guidance scale its JSON records as best.
`--init-noise noise.npy` starts from a given x_T (e.g. `playground invert`'s output)
instead of the seeds' first draw; the recipe names the file and its SHA-256.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..core import checks
from ..core.checkpoints import LoadedModel
from ..core.diffusion.schedulers import FLOW_KINDS, SCHEDULER_KINDS
from ..core.provenance import picture_recipe
from .sample_text2img import add_guidance_schedule_arguments, add_init_noise_argument, init_noise_and_count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prompt", default="", help='e.g. "a large red circle at the top left" ("" = unconditional)')
    parser.add_argument("--negative-prompt", default="", help="guide away from this prompt (it replaces the null prompt)")
    parser.add_argument("--guidance", type=checks.guidance_scale, default=None, metavar="W",
                        help="classifier-free guidance scale w: 0 unconditional, 1 plain conditional, >1 stronger "
                             "(default: the checkpoint's measured best, its JSON's default_guidance)")
    add_guidance_schedule_arguments(parser)
    parser.add_argument("--sampler", choices=SCHEDULER_KINDS + FLOW_KINDS, default=None,
                        help="ddpm or ddim for ldm and dit, euler, heun or sde for sit (default: ddim for ldm "
                             "and dit, heun for sit)")
    parser.add_argument("--steps", type=checks.positive_int, default=None,
                        help="inference steps (default: 50 for ldm and dit, 10 for sit; with --sampler: all of the "
                             "schedule for ddpm, 10 for heun, 50 otherwise)")
    parser.add_argument("--eta", type=checks.eta, default=0.0, help="DDIM noise, 0 (deterministic) to 1")
    add_init_noise_argument(parser, "4, 8, 8")
    parser.add_argument("--threads", type=checks.threads, default=None, help="torch CPU threads")


def sampler_changes(args: argparse.Namespace, model) -> dict[str, Any]:
    """The settings --guidance, --sampler and --steps ask for (a sampler without --steps: its default count)."""
    from ..core.latent_diffusion.sampling import default_steps

    changes: dict[str, Any] = {}
    if args.guidance is not None:
        changes["guidance_scale"] = args.guidance
    if args.sampler is not None:
        changes |= {"sampler": args.sampler, "steps": default_steps(args.sampler, model)}
    if args.steps is not None:
        changes["steps"] = args.steps
    return changes


def refuse_eta_without_ddim(settings) -> None:
    if settings.eta != 0.0 and settings.sampler != "ddim":
        raise ValueError(f"--eta is a DDIM setting; the {settings.sampler} sampler takes none (leave --eta out)")


def settings_from_args(loaded: LoadedModel, args: argparse.Namespace):
    """The GuidedSettings the sampling options ask for, over the family's defaults (sampler, steps, best w);
    a bad prompt, a sampler that does not fit the model or an eta without DDIM is refused in one line."""
    from ..core.latent_diffusion.sampling import default_settings

    changes: dict[str, Any] = dict(prompt=args.prompt, negative_prompt=args.negative_prompt, eta=args.eta,
                                   guidance_start=args.guidance_start, guidance_stop=args.guidance_stop, seed=args.seed)
    settings = default_settings(loaded, **changes, **sampler_changes(args, loaded.model))
    refuse_eta_without_ddim(settings)
    return settings


def sample(loaded: LoadedModel, args: argparse.Namespace) -> tuple[np.ndarray, list[dict[str, Any]]]:
    import torch
    from tqdm import tqdm

    from ..core.text2img.sampling import guided_steps, to_images

    if args.threads:
        torch.set_num_threads(args.threads)
    model = loaded.model
    settings = settings_from_args(loaded, args)
    init, n = init_noise_and_count(args, tuple(model.config.latent_shape))

    final = None
    records = guided_steps(model, settings, n, **({"x_t": init.latents} if init is not None else {}))
    desc = f"{settings.sampler}-{settings.steps} w={settings.guidance_scale:g}"
    for record in tqdm(records, total=settings.steps, desc=desc, unit="step", disable=None):
        final = record.x_prev
    images = to_images(model, final)
    recipe = picture_recipe(loaded, "sample", **settings.to_recipe(loaded.name, loaded.family), n=n, scale=1,
                            **(init.recipe() if init is not None else {}))
    return images, [recipe | {"index": i, "image_seed": args.seed + i} for i in range(len(images))]
