"""Image to image (SDEdit, Meng et al. 2022): noise an image part of the way, then denoise the rest.

`strength` s in (0, 1] is the fraction of the run's steps that are redone, exactly as
diffusers' StableDiffusionImg2ImgPipeline counts it: of a run of n steps the last
int(n * s) are run, so the run starts at index n - int(n * s) of the scheduler's
timesteps, at timestep t. The image x0 (for a latent model its scaled latent,
`model.encode`) is noised to that t by the forward process,

    x_t = sqrt(alpha-bar_t) x0 + sqrt(1 - alpha-bar_t) eps    (DDPM eq. 4), or
    x_s = (1 - s) x0 + s eps                                   (a flow, s = t / 1000),

and the sampler takes over from there. What "strength" means is therefore the noise level
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

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from .. import checks
from ..data import to_tensor, to_uint8
from ..data.shapes import parse_prompt
from ..device import model_device
from ..latent_diffusion import default_guidance, default_sampler, is_latent
from .guidance import ClassifierFreeGuidance
from .sampling import EpsModel, NoiseStream, StepRecord, sample_steps
from .schedulers import Scheduler, make_scheduler

strength_range = checks.FloatRange(0.0, 1.0, low_open=True)
PIXEL_TEXT_GUIDANCE = 3.0  # the text-to-image model's usual w (its sampler's default)


@dataclass(frozen=True)
class Img2ImgSettings:
    """What decides an image-to-image run (or an inversion, which ignores `strength`) besides the weights.

    `prompt`, `negative_prompt` and `guidance_scale` steer a text-conditioned model by
    classifier-free guidance (w = 1: the plain conditional model); an unconditional DDPM
    takes none. `sampler` is ddpm/ddim for a noise predictor, euler/heun/sde for a flow.
    """

    strength: float = 0.6
    prompt: str = ""
    negative_prompt: str = ""
    guidance_scale: float = 1.0
    sampler: str = "ddim"
    steps: int = 50
    eta: float = 0.0
    seed: int = 0

    def replace(self, **changes: Any) -> "Img2ImgSettings":
        return dataclasses.replace(self, **changes)

    def validate(self, model: nn.Module) -> "Img2ImgSettings":
        """Raise a one-line ValueError naming the bad setting, before any model call."""
        strength_range.check(self.strength, "strength")
        checks.guidance_scale.check(self.guidance_scale, "guidance scale w")
        checks.eta.check(self.eta, "eta")
        checks.seed.check(self.seed, "seed")
        checks.check_steps(self.steps, model.noise_schedule.num_train_timesteps, "steps")
        parse_prompt(self.prompt)
        parse_prompt(self.negative_prompt)
        if not is_text_conditioned(model) and (self.prompt or self.negative_prompt):
            raise ValueError("an unconditional DDPM takes no prompt; use a text-to-image, ldm, dit or sit model")
        make_run_scheduler(model, self)  # the sampler fits the model's schedule, and the steps the sampler
        return self

    def to_recipe(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def default_settings(family: str, extra: dict[str, Any] | None = None, **changes: Any) -> Img2ImgSettings:
    """A family's usual sampler and guidance (DDIM-50 for pixel models, ldm and dit; Heun-10 for sit)."""
    sampler, steps = default_sampler(family)
    w = {"ddpm": 1.0, "text2img": PIXEL_TEXT_GUIDANCE}.get(family, None)
    guidance = default_guidance(extra) if w is None else w
    return Img2ImgSettings(sampler=sampler, steps=steps, guidance_scale=guidance).replace(**changes)


def is_text_conditioned(model: nn.Module) -> bool:
    """A text-to-image or latent denoiser (it embeds prompts), not the unconditional pixel DDPM."""
    return hasattr(model, "embed")


def denoiser(model: nn.Module, settings: Img2ImgSettings) -> EpsModel:
    """The model function: classifier-free guidance for a text-conditioned model, the DDPM itself otherwise."""
    if not is_text_conditioned(model):
        return model
    return ClassifierFreeGuidance.for_prompt(model, settings.prompt, settings.guidance_scale,
                                             negative_prompt=settings.negative_prompt)


def make_run_scheduler(model: nn.Module, settings: Img2ImgSettings, *, clip: bool | None = None) -> Scheduler:
    """The settings' sampler. A pixel model's predicted x0 is clipped to [-1, 1] (as its samplers do; a guided
    run steps with the eps the clipped x0 implies, see DDIMScheduler); a latent's never is."""
    clip = (not is_latent(model)) if clip is None else clip
    guided = is_text_conditioned(model) and settings.guidance_scale != 1.0
    eta = settings.eta if settings.sampler == "ddim" else 0.0
    return make_scheduler(settings.sampler, model.noise_schedule, settings.steps, eta=eta, clip_x0=clip,
                          use_clipped_model_output=clip and guided)


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


def to_pixels(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """x in the model's space (N, C, H, W) -> uint8 images (N, H, W, 3); a latent is decoded first."""
    if is_latent(model):
        with torch.inference_mode():
            x = model.decode(x.to(model_device(model)))
    return to_uint8(x.float().cpu())


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


def prepare(model: nn.Module, x0: torch.Tensor, settings: Img2ImgSettings) -> Img2ImgRun:
    """The run of `settings` from x0 (N, C, H, W) in the model's space (`to_model_space`)."""
    settings.validate(model)
    scheduler = make_run_scheduler(model, settings)
    start = start_point(scheduler, settings.strength)
    return Img2ImgRun(start, noised_start(scheduler, start, x0, settings.seed), scheduler,
                      denoiser(model, settings), settings.seed)


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


def img2img(model: nn.Module, images: np.ndarray, settings: Img2ImgSettings) -> Img2ImgResult:
    """Image to image for uint8 images (N, H, W, 3) of the model's size, in one call."""
    run = prepare(model, to_model_space(model, images), settings)
    final = run_to_end(run)
    return Img2ImgResult(run.start, np.asarray(images), to_pixels(model, run.x_start), to_pixels(model, final))
