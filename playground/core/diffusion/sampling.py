"""Sampling as a generator of per-step records (improved-diffusion's `p_sample_loop_progressive`).

`sample_steps` yields one `StepRecord` per step, so a caller gets previews, progress and
cancellation for free: cancelling is stopping the iteration (`break`, or `close()` on the
generator); nothing needs cleaning up. `sample` is the same loop keeping only the end.

Seeds: image i of a run seeded s draws all its noise (x_T first, then one draw per
stochastic step) from its own CPU generator seeded s + i. So a seed means the same
images on every device, image i of `seed=s, n=8` is image 0 of `seed=s + i, n=1`, and the
noise of step k is fixed by the seed whatever step a run starts from: starting at step k
from a cached x_t with the run's own seed replays the run exactly, and with another seed
gives the branch that seed would have taken from there. A sequence of seeds, one per
image, puts any images side by side in one batch (e.g. one seed at several guidance scales).

Memory: a record holds CPU float32 tensors x_t, pred_noise, pred_x0, noise (None when the
step adds none) and x_prev; x_prev is the next record's x_t (the same tensor), so a cached
trajectory costs 4 tensors per stochastic step and 3 per deterministic one. For
(3, 32, 32) images a tensor is 12 KiB per image: DDPM-1000 keeps about 47 MiB per image,
DDIM-50 with eta 0 about 1.8 MiB. `StepRecord.nbytes` counts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import Callable, Iterator, Sequence

import torch

from ..device import model_device
from .schedulers import Scheduler

# eps_theta(x_t, t) -> predicted noise; x_t is (N, C, H, W) on the sampling device and t is
# (N,) int64. A plain DiffusionModel fits; a guided model is a function of the same shape.
EpsModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class StepRecord:
    """One step of a run: from x_t at timestep t to x_prev at t_prev (CPU float32 tensors).

    The tensors are made under `torch.inference_mode` and never modified afterwards: read
    them freely, `clone()` one to get a tensor autograd may use.
    """

    index: int                  # position in the scheduler's timesteps, 0 = the noisiest
    num_steps: int
    t: int
    t_prev: int                 # -1 after the last step
    x_t: torch.Tensor
    pred_noise: torch.Tensor    # the model's epsilon at (x_t, t)
    pred_x0: torch.Tensor       # the clean image that epsilon implies (DDPM eq. 15)
    noise: torch.Tensor | None  # the standard-normal z injected, None when the step adds none
    noise_std: float            # sigma_t: the step added noise_std * noise
    x_prev: torch.Tensor        # x_{t-1}, the next record's x_t

    @property
    def is_last(self) -> bool:
        return self.index == self.num_steps - 1

    @property
    def nbytes(self) -> int:
        """Bytes this record adds to a cached trajectory (x_prev is counted with the next record)."""
        tensors = [self.x_t, self.pred_noise, self.pred_x0] + ([self.noise] if self.noise is not None else [])
        return sum(t.element_size() * t.numel() for t in tensors)


class NoiseStream:
    """The noise of a run: image i draws from its own CPU generator seeded seed + i (or seed[i]).

    `dtype` is the precision the draws are made in (returned as float32): a diffusers model in fp16
    draws its noise in fp16, as diffusers' `randn_tensor` does, and the CPU's fp16 normal draws are not
    the float32 ones rounded, so a seed means diffusers' picture only when drawn the same way."""

    def __init__(self, seed: int | Sequence[int], n: int, shape: tuple[int, ...], dtype: torch.dtype = torch.float32):
        self.shape = tuple(shape)
        self.dtype = dtype
        seeds = [int(seed) + i for i in range(n)] if isinstance(seed, Integral) else [int(s) for s in seed]
        if len(seeds) != n:
            raise ValueError(f"{len(seeds)} seeds for {n} images")
        self.generators = [torch.Generator().manual_seed(s) for s in seeds]
        self._scratch = torch.empty(self.shape, dtype=dtype)

    def draw(self) -> torch.Tensor:
        """(n, *shape) standard normal noise, the next draw of every image's generator."""
        if len(self.generators) == 1:
            return torch.randn(self.shape, generator=self.generators[0], dtype=self.dtype)[None].float()
        return torch.stack([torch.randn(self.shape, generator=g, dtype=self.dtype) for g in self.generators]).float()

    def skip(self, draws: int = 1) -> None:
        """Advance every generator past `draws` draws, as if they had been made."""
        for g in self.generators:
            for _ in range(draws):
                torch.randn(self.shape, generator=g, out=self._scratch)


def initial_noise(n: int, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """x_T ~ N(0, I) of a run seeded `seed` (the first draw of its noise stream), on the CPU."""
    return NoiseStream(seed, n, shape).draw()


def sample_steps(
    model_fn: EpsModel,
    scheduler: Scheduler,
    *,
    n: int = 1,
    seed: int | Sequence[int] = 0,
    shape: tuple[int, ...] | None = None,
    device: torch.device | str | None = None,
    x_t: torch.Tensor | None = None,
    start_index: int = 0,
) -> Iterator[StepRecord]:
    """Run the reverse process step by step, yielding a `StepRecord` after every step.

    Starts from x_T drawn from `seed`, or, to branch, from a given `x_t` (n, C, H, W) at
    position `start_index` of `scheduler.timesteps` (e.g. `records[k].x_t` with
    `start_index=k`); the remaining steps then use `seed`'s noise for those steps.
    `shape` (C, H, W) and `device` default to the model's config and parameters.
    """
    timesteps = [int(t) for t in scheduler.timesteps]
    num_steps = len(timesteps)
    if x_t is not None:
        n, shape = x_t.shape[0], tuple(x_t.shape[1:])
    elif start_index != 0:
        raise ValueError("starting at a later step needs the x_t to start from")
    if not 0 <= start_index <= num_steps:
        raise ValueError(f"start_index must be between 0 and {num_steps}, not {start_index}")
    shape = tuple(shape) if shape is not None else _image_shape(model_fn)
    device = torch.device(device) if device is not None else model_device(model_fn)

    noise = NoiseStream(seed, n, shape, getattr(getattr(scheduler, "schedule", None), "noise_dtype", torch.float32))
    if x_t is None:
        x = noise.draw()                                         # x_T ~ N(0, I)
    else:
        noise.skip(1 + sum(scheduler.draws_noise(t) for t in timesteps[:start_index]))
        x = x_t.detach().to("cpu", torch.float32)
    x_cpu = x
    x = x.to(device)

    for index in range(start_index, num_steps):
        t = timesteps[index]
        with torch.inference_mode():
            t_batch = torch.full((n,), t, dtype=torch.int64, device=device)
            eps = model_fn(x, t_batch).float()
            z = noise.draw().to(device) if scheduler.draws_noise(t) else None
            if getattr(scheduler, "needs_model", False):  # a second-order step evaluates the model again
                out = scheduler.step(eps, t, x, noise=z, model_fn=lambda x2, t2: model_fn(x2, torch.full_like(t_batch, t2)).float())
            else:
                out = scheduler.step(eps, t, x, noise=z)
            if out.pred_noise is not None:
                eps = out.pred_noise
        x_prev_cpu = _cpu(out.prev_sample)
        yield StepRecord(
            index=index, num_steps=num_steps, t=t, t_prev=scheduler.previous_timestep(t),
            x_t=x_cpu, pred_noise=_cpu(eps), pred_x0=_cpu(out.pred_original_sample),
            noise=_cpu(out.noise) if out.noise is not None else None, noise_std=out.std, x_prev=x_prev_cpu,
        )
        x, x_cpu = out.prev_sample, x_prev_cpu


def sample(model_fn: EpsModel, scheduler: Scheduler, **kwargs) -> torch.Tensor:
    """The final x_0 (n, C, H, W) on the CPU, in [-1, 1] for a well-trained model.

    Takes the same keyword arguments as `sample_steps`, and is exactly its last record's x_prev.
    """
    last = kwargs.get("x_t")
    for record in sample_steps(model_fn, scheduler, **kwargs):
        last = record.x_prev
    if last is None:
        raise ValueError("nothing to sample: the scheduler has no timesteps")
    return last.detach().to("cpu", torch.float32)


def _cpu(x: torch.Tensor) -> torch.Tensor:
    return x.to("cpu", torch.float32)


def _image_shape(model_fn: EpsModel) -> tuple[int, ...]:
    config = getattr(model_fn, "config", None)
    if config is not None and hasattr(config, "latent_shape"):  # a latent denoiser samples its latent
        return tuple(config.latent_shape)
    if config is None or not hasattr(config, "image_size"):
        raise ValueError("pass shape=(C, H, W): the model function has no config to read it from")
    return (config.in_channels, config.image_size, config.image_size)
