"""`playground sample text2img --checkpoint SD_FOLDER`: a diffusers Stable Diffusion folder sampled by the
project's loop, with a free-text prompt read by the model's own tokenizer (core/diffusers_io).

Image i of a run seeded S is the image diffusers' StableDiffusionPipeline makes with
`generator=torch.Generator("cpu").manual_seed(S + i)` and the same settings."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..core.checkpoints import LoadedModel
from ..core.provenance import picture_recipe


def sample_text2img(loaded: LoadedModel, args: argparse.Namespace) -> tuple[np.ndarray, list[dict[str, Any]]]:
    import torch
    from tqdm import tqdm

    from ..core.data import to_uint8
    from ..core.device import model_device
    from ..core.diffusion.guidance import GuidanceSchedule
    from ..core.diffusers_io.sampling import run_steps
    from ..core.diffusers_io.schedule import max_steps
    from ..core.text2img.sampling import image_shape
    from .sample_text2img import init_noise_and_count

    if getattr(args, "classifier_guidance", 0) or getattr(args, "clip_guidance", 0) or getattr(args, "base", "") == "ddpm":
        raise ValueError("a diffusers model takes classifier-free guidance only (no classifier, CLIP guidance or "
                         "--base ddpm)")
    if args.threads:
        torch.set_num_threads(args.threads)
    model = loaded.model
    schedule = model.noise_schedule
    steps = args.steps or (max_steps(schedule) if args.sampler == "ddpm" else 50)
    init, n = init_noise_and_count(args, image_shape(model))
    print(f"{loaded.name}: {schedule.describe()} (the checkpoint's scheduler config); {args.sampler}-{steps}")
    final = None
    records = run_steps(model, prompt=args.prompt, negative_prompt=args.negative_prompt, guidance_scale=args.guidance,
                        sampler=args.sampler, steps=steps, eta=args.eta, n=n, seed=args.seed,
                        x_T=init.latents if init is not None else None,
                        schedule=GuidanceSchedule(args.guidance_start, args.guidance_stop))
    try:
        for record in tqdm(records, total=steps, desc=f"{args.sampler}-{steps} w={args.guidance:g}", unit="step",
                           disable=None):
            final = record.x_prev
        images = to_uint8(model.decode(final.to(model_device(model))).cpu())
    except torch.OutOfMemoryError:
        raise ValueError(f"out of {model_device(model).type} memory with {n} image(s) at once: ask for fewer "
                         f"(--n), or run on the CPU (--device cpu)") from None
    recipe = picture_recipe(loaded, "sample", kind="text2img", prompt=args.prompt, negative_prompt=args.negative_prompt,
                            guidance_scale=args.guidance, guidance_start=args.guidance_start,
                            guidance_stop=args.guidance_stop, sampler=args.sampler, steps=steps, eta=args.eta,
                            seed=args.seed, n=n, scale=1, diffusers=loaded.meta.extra["folder"],
                            **(init.recipe() if init is not None else {}))
    return images, [recipe | {"index": i, "image_seed": args.seed + i} for i in range(len(images))]
