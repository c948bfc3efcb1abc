"""Image to image (SDEdit, Meng et al. 2022): noise an image part of the way, then denoise the rest.

`strength` s in (0, 1] is the fraction of the run's steps that are redone, exactly as
diffusers' StableDiffusionImg2ImgPipeline counts it: of a run of n steps the last
int(n * s) are run, so the run starts at index n - int(n * s) of the scheduler's
timesteps, at timestep t. The image x0 (for a latent model its scaled latent,
`model.encode`) is noised to that t by the forward process,

    x_t = sqrt(alpha-bar_t) x0 + sqrt(1 - alpha-bar_t) eps    (DDPM eq. 4), or
    x_s = (1 - s) x0 + s eps                                   (a flow, s = t / 1000),

and the sampler takes over from there: any sampler, model function and guidance the
text-to-image samplers run (`text2img.sampling.GuidedSettings`: prompt, negative prompt,
w and its range, DDPM/DDIM or a flow's Euler/Heun/SDE, steps, eta, seed). What "strength" means is therefore the noise level
of that start point, not a share of the image: `StartPoint` reports t, the noise level
sqrt(1 - alpha-bar_t) (s for a flow) and the signal-to-noise ratio, and on the cosine
schedule a strength of 0.5 already leaves a signal-to-noise ratio near 1.

Seeds: eps is the first draw of the seed's noise stream (`sampling.NoiseStream`), the
same draw a plain run takes as x_T, and the later stochastic steps take the draws a plain
run of that seed takes at those steps. At strength 1 the run starts from that noise
alone, as diffusers' inpainting pipeline does at strength 1 (`pure_noise`): the plain run
of the seed, exactly (on a DDPM schedule the first timestep of a short run still keeps
some signal, e.g. sqrt(alpha-bar_980) = 0.03 on the cosine schedule).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from .. import checks
from ..checkpoints import LoadedModel
from ..data import to_tensor
from ..device import model_device
from ..diffusion.sampling import EpsModel, NoiseStream, StepRecord, sample_steps
from ..diffusion.schedulers import Scheduler
from ..latent_diffusion import LATENT_FAMILIES, is_latent
from ..text2img.denoiser import make_denoiser
from ..text2img.sampling import GuidedSettings, to_images

strength_range = checks.FloatRange(0.0, 1.0, low_open=True)


def is_text_conditioned(model: nn.Module) -> bool:
    """A text-to-image or latent denoiser (it embeds prompts), not the unconditional pixel DDPM."""
    return hasattr(model, "embed")


def run_settings(loaded: LoadedModel, **changes: Any) -> GuidedSettings:
    """The settings an image-to-image run or an inversion of `loaded` takes by default, with `changes`:
    the family's sampler and guidance scale (`latent_diffusion.sampling.default_settings` for ldm, dit and
    sit; DDIM-50 and w = 3 for the pixel text-to-image model); the unconditional DDPM is its own model
    function (the "ddpm" base, no classifier) and takes no prompt."""
    if loaded.family in LATENT_FAMILIES:
        from ..latent_diffusion.sampling import default_settings

        return default_settings(loaded, **changes)
    return for_model(GuidedSettings().replace(**changes), loaded.model)


def for_model(settings: GuidedSettings, model: nn.Module) -> GuidedSettings:
    """`settings` as `model` runs them (`GuidedSettings.for_model`), the pixel DDPM on its own base."""
    if not is_text_conditioned(model):
        if settings.prompt or settings.negative_prompt:
            raise ValueError("an unconditional DDPM takes no prompt; use a text-to-image, ldm, dit or sit model")
        settings = settings.replace(base="ddpm", classifier_scale=0.0)
    return settings.for_model(model)


def model_function(model: nn.Module, settings: GuidedSettings) -> EpsModel:
    """Classifier-free guidance for a text-conditioned model (`make_denoiser`), the DDPM itself otherwise."""
    return make_denoiser(model, for_model(settings, model))


# --- pixels <-> the space the model denoises ------------------------------------------------------


def image_size(model: nn.Module) -> int:
    return int(model.config.image_size)


def to_model_space(model: nn.Module, images: np.ndarray) -> torch.Tensor:
    """uint8 images (N, H, W, 3) -> x0 on the model's device: pixels in [-1, 1], or a latent model's scaled latent."""
    x = to_tensor(np.asarray(images)).to(model_device(model))
    if is_latent(model):
        with torch.inference_mode():
            x = model.encode(x)
    return x.float()


# --- the start point ---------------------------------------------------------------------------


def start_index(strength: float, num_steps: int) -> int:
    """Where a run of `num_steps` starts for `strength` (diffusers' img2img `get_timesteps`): the last
    int(num_steps * strength) steps are run. A strength that redoes no step is refused."""
    strength = strength_range.check(strength, "strength")
    redone = min(int(num_steps * strength), num_steps)
    if redone < 1:
        raise ValueError(f"strength {strength:g} with {num_steps} steps redoes no step (int({num_steps} x "
                         f"{strength:g}) = 0); use a strength of at least {1 / num_steps:.3g} or more steps")
    return num_steps - redone


@dataclass(frozen=True)
class StartPoint:
    """Where an image-to-image run starts: index `index` of the run's `num_steps`, at timestep `t`.

    `signal_level` and `noise_level` are the weights of the image and of the noise in x_t:
    sqrt(alpha-bar_t) and sqrt(1 - alpha-bar_t), or 1 - s and s for a flow; the
    signal-to-noise ratio is signal_level^2 / noise_level^2. `pure_noise`: strength 1,
    the run starts from the seed's noise alone (levels 0 and 1).
    """

    strength: float
    index: int
    num_steps: int
    t: int
    num_train_timesteps: int
    signal_level: float
    noise_level: float
    flow: bool
    pure_noise: bool

    @property
    def steps_run(self) -> int:
        return self.num_steps - self.index

    @property
    def snr(self) -> float:
        return self.signal_level ** 2 / self.noise_level ** 2 if self.noise_level > 0 else float("inf")

    def describe(self) -> str:
        level = "s" if self.flow else "noise level"
        start = "pure noise, " if self.pure_noise else ""
        return (f"strength {self.strength:g}: {start}t = {self.t} of {self.num_train_timesteps - 1}, {level} "
                f"{self.noise_level:.3f}, SNR {self.snr:.3g}; {self.steps_run} of {self.num_steps} steps redone")

    def to_recipe(self) -> dict[str, Any]:
        return {"start_index": self.index, "start_t": self.t, "noise_level": self.noise_level,
                "snr": self.snr if self.snr != float("inf") else None}


def start_point(scheduler: Scheduler, strength: float) -> StartPoint:
    """The start point of `strength` on `scheduler`'s run (its timesteps already set)."""
    timesteps = [int(t) for t in scheduler.timesteps]
    index = start_index(strength, len(timesteps))
    t = timesteps[index]
    flow = getattr(scheduler.schedule, "name", "") == "flow"
    pure = index == 0 and float(strength) == 1.0
    if pure:
        signal, noise = 0.0, 1.0
    elif flow:
        s = float(scheduler.schedule.sigma(t))
        signal, noise = 1.0 - s, s
    else:
        alpha_bar = float(scheduler.alphas_cumprod[t])
        signal, noise = alpha_bar ** 0.5, (1.0 - alpha_bar) ** 0.5
    return StartPoint(float(strength), index, len(timesteps), t, scheduler.num_train_timesteps, signal, noise,
                      flow, pure)


def noised_start(scheduler: Scheduler, start: StartPoint, x0: torch.Tensor, seed: int) -> torch.Tensor:
    """x_t at the start point (CPU float32): x0 noised with the first draw of the seed's stream (image i: seed + i)."""
    eps = NoiseStream(seed, x0.shape[0], tuple(x0.shape[1:])).draw()
    if start.pure_noise:
        return eps
    return scheduler.add_noise(x0.detach().float().cpu(), eps, start.t)


# --- the run ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Img2ImgRun:
    """A prepared run: its start point, x_t there, the sampler and the model function."""

    start: StartPoint
    x_start: torch.Tensor     # (N, C, H, W) CPU float32, in the model's space
    scheduler: Scheduler
    model_fn: EpsModel
    seed: int

    def steps(self) -> Iterator[StepRecord]:
        """`sample_steps` from the start point: a record per redone step (progress, previews, cancel)."""
        return sample_steps(self.model_fn, self.scheduler, seed=self.seed, x_t=self.x_start,
                            start_index=self.start.index, device=model_device(self.model_fn))


def prepare(model: nn.Module, x0: torch.Tensor, settings: GuidedSettings, strength: float) -> Img2ImgRun:
    """The run of `settings` at `strength` from x0 (N, C, H, W) in the model's space (`to_model_space`)."""
    settings = for_model(settings, model)
    scheduler = settings.make_scheduler(model)
    start = start_point(scheduler, strength)
    return Img2ImgRun(start, noised_start(scheduler, start, x0, settings.seed), scheduler,
                      model_function(model, settings), settings.seed)


def run_to_end(run: Img2ImgRun) -> torch.Tensor:
    """The final x0 (N, C, H, W) on the CPU, in the model's space."""
    last = None
    for last in run.steps():
        pass
    return last.x_prev


@dataclass(frozen=True)
class Img2ImgResult:
    """The pictures of one run, uint8 (N, H, W, 3): the input, x_t at the start point (decoded for a
    latent model), and the result."""

    start: StartPoint
    input: np.ndarray
    noised: np.ndarray
    output: np.ndarray


def img2img(model: nn.Module, images: np.ndarray, settings: GuidedSettings, strength: float) -> Img2ImgResult:
    """Image to image for uint8 images (N, H, W, 3) of the model's size, in one call."""
    run = prepare(model, to_model_space(model, images), settings, strength)
    final = run_to_end(run)
    return Img2ImgResult(run.start, np.asarray(images), to_images(model, run.x_start), to_images(model, final))


def img2img_recipe(loaded: LoadedModel, settings: GuidedSettings, start: StartPoint) -> dict[str, Any]:
    """The settings keys of an image-to-image picture's recipe (the run's, its strength and start point)."""
    return settings.to_recipe(loaded.name, loaded.family) | {"strength": start.strength} | start.to_recipe()
