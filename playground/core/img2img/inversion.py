"""DDIM inversion: run the deterministic sampler backwards, from an image to the noise that draws it.

DDIM with eta 0 is a discretised ODE (Song et al. 2021, section 4.3), so it can be run the
other way. A step from timestep t_cur up to t_next (alpha-bar a_cur, a_next) takes the
model's noise at the current sample and moves along it:

    eps^ = eps(x_cur, t_next),  x0^ = (x_cur - sqrt(1 - a_cur) eps^) / sqrt(a_cur),
    x_next = sqrt(a_next) x0^ + sqrt(1 - a_next) eps^,

the forward DDIM step solved for x_t with eps(x_t, t) replaced by its value at the
sample in hand (diffusers' DDIMInverseScheduler, whose `step` this matches: the model
sees the destination's timestep). The run starts from the clean image (a_cur = 1, or
alpha-bar_0 without `final_alpha_one`) and ends at the run's first timestep, whose x_T
sampling then maps back to (nearly) the image: the round trip. Its error comes from that
one approximation per step, so it shrinks with more steps and grows with guidance
(inverting under w > 1 drifts: Mokady et al. 2022, null-text inversion; the default here
inverts with w = 1, the plain conditional model).

For a flow the sampler is the ODE dx/ds = v(x, s) itself, integrated from s = 0 up to 1
with the same solver (Euler, or Heun; as in the forward solver, the step touching s = 0 is
an Euler step).

Editing: sampling from the inverted noise with another prompt or w changes the image
where the new condition disagrees and keeps the rest, the noise holding the layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch import nn

from ..device import model_device
from ..diffusion.trajectory import noise_to_uint8
from ..images import make_grid, upscale
from ..diffusion.flow import FlowScheduler
from ..diffusion.sampling import EpsModel, StepRecord, sample_steps
from ..diffusion.schedulers import DDIMScheduler, Scheduler
from ..latent_diffusion import is_latent
from ..text2img.sampling import GuidedSettings, to_images
from .img2img import for_model, is_text_conditioned, model_function, to_model_space

INVERTIBLE: tuple[str, ...] = ("ddim", "euler", "heun")


@dataclass(frozen=True)
class InversionStep:
    """One backward step: x (CPU float32) now sits at timestep `t` (the last step's t is the run's first)."""

    index: int
    num_steps: int
    t: int
    x: torch.Tensor


def inversion_scheduler(model: nn.Module, settings: GuidedSettings) -> Scheduler:
    """The deterministic sampler an inversion runs backwards (DDIM eta 0, Euler or Heun), x0 never clipped."""
    if settings.sampler not in INVERTIBLE or settings.eta != 0.0:
        sampler = settings.sampler + (f" with eta {settings.eta:g}" if settings.eta else "")
        raise ValueError(f"inversion runs a deterministic sampler backwards ({', '.join(INVERTIBLE)}; DDIM with "
                         f"eta 0), not {sampler}")
    return for_model(settings.replace(clip_x0=False), model).make_scheduler(model)


def ddim_inverse_step(eps: torch.Tensor, x: torch.Tensor, alpha_bar_cur: float, alpha_bar_next: float) -> torch.Tensor:
    """x at alpha-bar `alpha_bar_next` from x at `alpha_bar_cur` along the model's eps (module docstring)."""
    x0 = (x - (1 - alpha_bar_cur) ** 0.5 * eps) / alpha_bar_cur ** 0.5
    return alpha_bar_next ** 0.5 * x0 + (1 - alpha_bar_next) ** 0.5 * eps


def invert_steps(model_fn: EpsModel, scheduler: Scheduler, x0: torch.Tensor) -> Iterator[InversionStep]:
    """Run `scheduler`'s deterministic run backwards from x0 (N, C, H, W), yielding after every step."""
    device = model_device(model_fn)
    ascending = [int(t) for t in scheduler.timesteps.flip(0)]
    num_steps = len(ascending)
    x = x0.detach().to(device, torch.float32)
    flow = isinstance(scheduler, FlowScheduler)
    if not flow and not (isinstance(scheduler, DDIMScheduler) and scheduler.eta == 0.0):
        raise ValueError("DDIM inversion needs DDIM with eta 0 (DDPM and eta > 0 add noise: no inverse)")
    if flow:
        k = scheduler.schedule.intervals
        t_cur = 0
    else:
        alphas = scheduler.alphas_cumprod
        a_cur = 1.0 if scheduler.final_alpha_one else float(alphas[0])
    for index, t in enumerate(ascending):
        with torch.inference_mode():
            if flow:
                x = _flow_inverse_step(model_fn, scheduler.solver, x, t_cur, t, k, first=index == 0)
                t_cur = t
            else:
                eps = model_fn(x, torch.full((x.shape[0],), t, dtype=torch.int64, device=device)).float()
                a_next = float(alphas[t])
                x = ddim_inverse_step(eps, x, a_cur, a_next)
                a_cur = a_next
        yield InversionStep(index, num_steps, t, x.to("cpu", torch.float32))


def _flow_inverse_step(model_fn: EpsModel, solver: str, x: torch.Tensor, t_cur: int, t_next: int, k: int,
                       first: bool) -> torch.Tensor:
    """dx/ds = v(x, s) from s = t_cur / k up to t_next / k: Euler, or Heun (its first step Euler, as forward)."""
    def v(x_: torch.Tensor, t_: int) -> torch.Tensor:
        return model_fn(x_, torch.full((x_.shape[0],), t_, dtype=torch.int64, device=x_.device)).float()

    h = (t_next - t_cur) / k
    v_cur = v(x, t_cur)
    x_euler = x + h * v_cur
    if solver == "euler" or first:
        return x_euler
    return x + 0.5 * h * (v_cur + v(x_euler, t_next))


def noise_picture(noise: torch.Tensor) -> np.ndarray:
    """x_T (1, C, H, W) as one uint8 picture: a pixel model's noise at +-2 sigma, a latent's channels
    tiled two by two on the autoencoder view's colour ramp (blue below 0, red above), each 8x8 shown 4x."""
    x = noise[0].detach().float().cpu()
    if x.shape[0] == 3:
        return noise_to_uint8(x)
    from ..latent_diffusion.first_stage import channel_image

    tiles = np.stack([upscale(channel_image(channel.numpy()), 4) for channel in x])
    return make_grid(tiles, columns=2, padding=2, background=48)


def sample_from_noise(model_fn: EpsModel, scheduler: Scheduler, noise: torch.Tensor) -> Iterator[StepRecord]:
    """The forward run from x_T = `noise` (the round trip, or an edit with another model function)."""
    return sample_steps(model_fn, scheduler, x_t=noise, start_index=0, device=model_device(model_fn))


# --- the whole story for one image ----------------------------------------------------------------


def pixel_error(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(MSE, PSNR in dB) of two uint8 pictures, values in [0, 1] (PSNR inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) / 255 - b.astype(np.float64) / 255) ** 2))
    return mse, (10 * math.log10(1 / mse) if mse > 0 else math.inf)


@dataclass(frozen=True)
class Inversion:
    """An image's inverted noise and the round trip back (pictures uint8 (1, H, W, 3)).

    `mse`/`psnr` compare the round trip with the input in pixels; for a latent model
    `autoencoder_psnr` is the first stage's own reconstruction (decode(encode(x))), the best a
    round trip through its latent can reach, and `latent_mse` the round trip's error there.
    """

    noise: torch.Tensor            # x_T (1, C, H, W) CPU float32: the .npy `invert` writes
    t: int                         # the timestep x_T sits at (the run's first)
    input: np.ndarray
    reconstruction: np.ndarray
    mse: float
    psnr: float
    latent_mse: float
    autoencoder_psnr: float | None

    @property
    def noise_std(self) -> float:
        """Near 1 when the image inverts to something a sampler could have drawn."""
        return float(self.noise.std())

    def describe(self) -> str:
        floor = f" (the autoencoder alone: {self.autoencoder_psnr:.1f} dB)" if self.autoencoder_psnr is not None else ""
        return (f"round trip: MSE {self.mse:.2e}, PSNR {self.psnr:.1f} dB{floor}; "
                f"noise std {self.noise_std:.2f} at t = {self.t}")


def invert_image(model: nn.Module, image: np.ndarray, settings: GuidedSettings) -> Iterator[InversionStep | Inversion]:
    """Invert one uint8 image (H, W, 3) and sample it back: yields an InversionStep per step of both runs
    (index 0..2n-1 of num_steps 2n: the backward run, then the forward one), then the `Inversion`."""
    scheduler = inversion_scheduler(model, settings)
    model_fn = model_function(model, settings)
    x0 = to_model_space(model, np.asarray(image)[None])
    n = len(scheduler.timesteps)
    noise = None
    for step in invert_steps(model_fn, scheduler, x0):
        noise = step.x
        yield InversionStep(step.index, 2 * n, step.t, step.x)
    final = noise
    for record in sample_from_noise(model_fn, scheduler, noise):
        final = record.x_prev
        yield InversionStep(n + record.index, 2 * n, record.t, final)
    recon = to_images(model, final)
    shown_input = np.asarray(image)[None]
    mse, psnr = pixel_error(recon, shown_input)
    ae_psnr = pixel_error(to_images(model, x0), shown_input)[1] if is_latent(model) else None
    yield Inversion(noise, int(scheduler.timesteps[0]), shown_input, recon, mse, psnr,
                    float(((final - x0.cpu()) ** 2).mean()), ae_psnr)


def invert(model: nn.Module, image: np.ndarray, settings: GuidedSettings) -> Inversion:
    """`invert_image` to the end."""
    result = None
    for result in invert_image(model, image, settings):
        pass
    return result


def edit_steps(model: nn.Module, noise: torch.Tensor, settings: GuidedSettings) -> Iterator[StepRecord]:
    """Sample from inverted noise with `settings`' prompt and w (its sampler and steps must be the inversion's).
    A pixel model's x0 is clipped only under guidance (w != 1), as its guided sampler clips it; at the
    inversion's own prompt and w = 1 the edit is the round trip itself."""
    inversion_scheduler(model, settings)  # the deterministic sampler the noise came from, or a one-line error
    clip = settings.clip_x0 and is_text_conditioned(model) and settings.guidance_scale != 1.0
    scheduler = for_model(settings.replace(clip_x0=clip), model).make_scheduler(model)
    return sample_from_noise(model_function(model, settings), scheduler, noise)


def edit(model: nn.Module, noise: torch.Tensor, settings: GuidedSettings) -> np.ndarray:
    """`edit_steps` to the end: uint8 images (N, H, W, 3)."""
    last = None
    for last in edit_steps(model, noise, settings):
        pass
    return to_images(model, last.x_prev)
