"""Sampling a diffusers checkpoint with the project's loop, seeded as diffusers' pipelines are.

Image i of a run seeded S starts from the noise `torch.Generator("cpu").manual_seed(S + i)`
draws for one image in the model's dtype (diffusers' `randn_tensor`, as DDPMPipeline,
DDIMPipeline and StableDiffusionPipeline draw with a list of generators, one per image),
and a stochastic step draws from the same generator after it (`sampling.NoiseStream`):
a diffusers result is reproduced here, and back, from its seed. (In fp16 diffusers also
draws DDPM's per-step noise in fp16; the project draws it in float32.)

Everything else is the project's own: `sample_steps` yields every step (the steps view,
branching, cancelling), `ClassifierFreeGuidance` guides with a free-text prompt encoded by
the model's own tokenizer and text encoder, the negative prompt in the unconditional
branch's place, exactly as StableDiffusionPipeline does.
"""

from __future__ import annotations

from typing import Iterator

import torch

from ..device import model_device
from ..diffusion.guidance import ClassifierFreeGuidance, GuidanceSchedule
from ..diffusion.sampling import NoiseStream, StepRecord, sample_steps
from ..diffusion.schedulers import Scheduler, make_scheduler
from ..text2img.sampling import image_shape
from .adapter import DiffusersDenoiser, StableDiffusionDenoiser


def initial_noise(model: DiffusersDenoiser, n: int, seed: int) -> torch.Tensor:
    """x_T (n, C, H, W) float32 on the CPU: image i is what a CPU generator seeded seed + i draws for one
    image in the model's dtype (the first draw of the run's `NoiseStream`)."""
    return NoiseStream(seed, n, image_shape(model), model.noise_schedule.noise_dtype).draw()


def scheduler_for(model: DiffusersDenoiser, sampler: str = "ddim", steps: int | None = None,
                  eta: float = 0.0) -> Scheduler:
    """The project's DDPM/DDIM stepping as the checkpoint's scheduler config says (`schedule.py`)."""
    return make_scheduler(sampler, model.noise_schedule, steps, eta=eta)


def denoiser(model: DiffusersDenoiser, prompt: str | list[str] = "", negative_prompt: str | list[str] = "",
             guidance_scale: float = 7.5, schedule: GuidanceSchedule = GuidanceSchedule()):
    """The model function to sample: the model itself (unconditional), or classifier-free guidance toward
    `prompt` (one, or one per image) and away from `negative_prompt` ("" is the empty prompt)."""
    if not isinstance(model, StableDiffusionDenoiser):
        if prompt or negative_prompt:
            raise ValueError("this diffusers model is unconditional: it takes no prompt")
        return model
    prompts = [prompt] if isinstance(prompt, str) else list(prompt)
    negatives = [negative_prompt] if isinstance(negative_prompt, str) else list(negative_prompt)
    cond = model.encode_prompts(prompts)
    uncond = model.encode_prompts(negatives) if any(negatives) else model.null_embedding
    return ClassifierFreeGuidance(model, cond, uncond.expand(len(negatives), -1), guidance_scale, schedule)


def run_steps(model: DiffusersDenoiser, *, prompt: str | list[str] = "", negative_prompt: str | list[str] = "",
              guidance_scale: float = 7.5, sampler: str = "ddim", steps: int | None = None, eta: float = 0.0,
              n: int = 1, seed: int = 0, x_T: torch.Tensor | None = None,
              schedule: GuidanceSchedule = GuidanceSchedule()) -> Iterator[StepRecord]:
    """`sample_steps` over a diffusers model: one record per step (x_t are latents for the SD layout)."""
    x = initial_noise(model, n, seed) if x_T is None else x_T
    return sample_steps(denoiser(model, prompt, negative_prompt, guidance_scale, schedule),
                        scheduler_for(model, sampler, steps, eta), n=len(x), seed=seed,
                        device=model_device(model), x_t=x)


def generate(model: DiffusersDenoiser, **settings) -> torch.Tensor:
    """The final images (N, 3, H, W) in [-1, 1], float32 on the CPU (a latent run's decoded)."""
    last = None
    for last in run_steps(model, **settings):
        pass
    x = last.x_prev
    if isinstance(model, StableDiffusionDenoiser):
        return model.decode(x.to(model_device(model))).cpu()
    return x.clamp(-1, 1)
