"""Schedulers: the update rule from x_t to x_{t-1}, kept apart from the network.

A scheduler owns a `NoiseSchedule` and a list of inference timesteps and knows nothing
of the U-Net: `step` is handed the model's output for x_t (one U-Net, many samplers).
The arithmetic follows diffusers' DDPMScheduler / DDIMScheduler operation for operation
in float32 (tests compare the two to float32 precision), but every per-step coefficient
is computed once in `set_timesteps`, so a step is a handful of elementwise tensor ops.

Notation: alpha-bar_t is `schedule.alphas_cumprod[t]`; the DDIM paper writes it alpha_t.
Only epsilon prediction is supported, the only kind the models here are trained for.

Clipping the predicted x0 to [-1, 1] is off by default (diffusers' clip_sample is on by
default). Without it, DDPM from t = 999 on the cosine schedule (beta_999 = 0.999,
sqrt(alpha-bar_999) ~ 5e-5) multiplies any error in the first epsilon by ~30 in x_998, and an
imperfect model never recovers: a 500-step ddpm-shapes checkpoint ends at |x| ~ 1e4
unclipped and draws clean shapes with `clip_x0=True`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from .schedules import NoiseSchedule

TimestepSpacing = Literal["leading", "trailing", "linspace"]
DDPMVariance = Literal["posterior", "beta"]
SchedulerKind = Literal["ddpm", "ddim", "euler", "heun", "sde"]
SCHEDULER_KINDS: tuple[str, ...] = ("ddpm", "ddim")        # for models trained on a DDPM noise schedule
FLOW_KINDS: tuple[str, ...] = ("euler", "heun", "sde")     # for flow-matching models (diffusion/flow.py)


@dataclass(frozen=True)
class StepResult:
    """What one step from x_t produced.

    `noise` is the standard-normal draw z of this step (None when the step adds none);
    the noise actually added to x_{t-1} is `std * noise`. Passing the same z back to
    `step` repeats the step exactly.
    """

    prev_sample: torch.Tensor           # x_{t-1}
    pred_original_sample: torch.Tensor  # x0 predicted from x_t and the model's epsilon
    noise: torch.Tensor | None = None
    std: float = 0.0                    # sigma_t of this step
    pred_noise: torch.Tensor | None = None  # the noise the model output implies, when that output is not eps (a flow's velocity)


@dataclass(frozen=True)
class _Coefficients:
    """Per-timestep scalars, float32 values held as Python floats."""

    t: int
    t_prev: int                 # -1 after the last step
    sqrt_alpha_bar: float       # sqrt(alpha-bar_t)
    sqrt_one_minus_alpha_bar: float
    x0_coef: float              # weight of predicted x0 in x_{t-1}
    second_coef: float          # DDPM: weight of x_t; DDIM: weight of epsilon
    std: float                  # sigma_t
    draws_noise: bool           # whether a step at t consumes a noise draw


def inference_timesteps(num_train_timesteps: int, num_inference_steps: int, spacing: TimestepSpacing = "leading") -> np.ndarray:
    """Descending timesteps for a run of `num_inference_steps` (diffusers' three spacings).

    "leading" (diffusers' default): 0, k, 2k, ... with k = T // n, so the last step is at t = 0;
    "trailing": ends at t = k - 1 and starts at T - 1; "linspace": rounded linspace(0, T - 1, n).
    """
    T, n = num_train_timesteps, num_inference_steps
    if not 1 <= n <= T:
        raise ValueError(f"the number of inference steps must be between 1 and {T}, not {n}")
    if spacing == "leading":
        ratio = T // n
        steps = (np.arange(0, n) * ratio).round()[::-1].copy().astype(np.int64)
    elif spacing == "trailing":
        ratio = T / n
        steps = np.round(np.arange(T, 0, -ratio)).astype(np.int64) - 1
    elif spacing == "linspace":
        steps = np.linspace(0, T - 1, n).round()[::-1].copy().astype(np.int64)
    else:
        raise ValueError(f"timestep spacing must be 'leading', 'trailing' or 'linspace', not {spacing!r}")
    return steps


def _draw_noise(like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Standard normal noise shaped like `like`, drawn on the generator's device (CPU by default)."""
    device = generator.device if generator is not None else like.device
    return torch.randn(like.shape, generator=generator, device=device, dtype=like.dtype).to(like.device)


class Scheduler(ABC):
    """The interface every sampler shares: set_timesteps, timesteps, step, add_noise.

    The model is never owned: the caller evaluates it at x_t and passes its output in.
    """

    def __init__(self, schedule: NoiseSchedule, *, clip_x0: bool = False, clip_range: float = 1.0,
                 spacing: TimestepSpacing = "leading"):
        self.schedule = schedule
        self.clip_x0 = clip_x0          # diffusers' clip_sample (which defaults to True there)
        self.clip_range = clip_range
        self.spacing = spacing
        self.alphas_cumprod = schedule.alphas_cumprod          # float32, as in diffusers
        self._sqrt_alphas_cumprod = self.alphas_cumprod ** 0.5
        self._sqrt_one_minus_alphas_cumprod = (1 - self.alphas_cumprod) ** 0.5
        self.num_inference_steps = 0
        self.timesteps = torch.empty(0, dtype=torch.int64)
        self._by_t: dict[int, _Coefficients] = {}
        self.set_timesteps(schedule.num_train_timesteps)

    @property
    def num_train_timesteps(self) -> int:
        return self.schedule.num_train_timesteps

    def set_timesteps(self, num_inference_steps: int) -> None:
        """Choose the steps of a run and precompute each step's coefficients."""
        steps = inference_timesteps(self.num_train_timesteps, num_inference_steps, self.spacing)
        self.num_inference_steps = int(num_inference_steps)
        self.timesteps = t = torch.from_numpy(steps)
        t_prev = torch.cat([t[1:], torch.tensor([-1])])  # each step lands on the next timestep of the run
        self._by_t = {c.t: c for c in self._coefficients(t, t_prev)}

    def _at(self, t: int | torch.Tensor) -> _Coefficients:
        try:
            return self._by_t[int(t)]
        except KeyError:
            raise ValueError(f"t = {int(t)} is not one of this scheduler's {self.num_inference_steps} timesteps") from None

    def _final_alpha_bar(self) -> torch.Tensor:
        """alpha-bar after the last step: 1, a clean image with nothing left to remove."""
        return torch.tensor(1.0)

    def _alpha_bar(self, t: torch.Tensor) -> torch.Tensor:
        """alpha-bar at each of `t` (float32), the final alpha-bar where t = -1."""
        return torch.where(t >= 0, self.alphas_cumprod[t.clamp(min=0)], self._final_alpha_bar())

    def previous_timestep(self, t: int | torch.Tensor) -> int:
        """The timestep the step from t lands on (-1 after the last one)."""
        return self._at(t).t_prev

    def draws_noise(self, t: int | torch.Tensor) -> bool:
        """Whether a step at t consumes a noise draw (so a sampler can replay its noise stream)."""
        return self._at(t).draws_noise

    def noise_std(self, t: int | torch.Tensor) -> float:
        """sigma_t: the standard deviation of the noise the step at t adds."""
        return self._at(t).std

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """The forward process q(x_t | x_0) = N(sqrt(alpha-bar_t) x_0, (1 - alpha-bar_t) I) (DDPM eq. 4).

        `t` is one timestep or one per image.
        """
        a, b = self._per_image(self._sqrt_alphas_cumprod, t, x0), self._per_image(self._sqrt_one_minus_alphas_cumprod, t, x0)
        return a * x0 + b * noise

    def predict_x0(self, x_t: torch.Tensor, eps: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """x0 from x_t and its noise: (x_t - sqrt(1 - alpha-bar_t) eps) / sqrt(alpha-bar_t) (DDPM eq. 15)."""
        a, b = self._per_image(self._sqrt_alphas_cumprod, t, x_t), self._per_image(self._sqrt_one_minus_alphas_cumprod, t, x_t)
        return (x_t - b * eps) / a

    def predict_eps(self, x_t: torch.Tensor, x0: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """The noise that takes x0 to x_t: eq. 4 solved for eps (the 'perfect denoiser')."""
        a, b = self._per_image(self._sqrt_alphas_cumprod, t, x_t), self._per_image(self._sqrt_one_minus_alphas_cumprod, t, x_t)
        return (x_t - a * x0) / b

    @staticmethod
    def _per_image(table: torch.Tensor, t: int | torch.Tensor, like: torch.Tensor) -> torch.Tensor | float:
        if isinstance(t, int) or (isinstance(t, torch.Tensor) and t.ndim == 0):
            return float(table[int(t)])
        values = table.to(like.device, like.dtype)[t.to(like.device)]
        return values.reshape((-1,) + (1,) * (like.ndim - 1))

    def _predict_x0(self, c: _Coefficients, model_output: torch.Tensor, x_t: torch.Tensor) -> torch.Tensor:
        # DDPM eq. 15: (x_t - sqrt(1 - alpha-bar_t) eps) / sqrt(alpha-bar_t), rounded as diffusers rounds it (its
        # error is amplified ~1/sqrt(alpha-bar_t), ~2e4 at the cosine schedule's first step), dividing in place:
        # on small tensors an allocation costs about as much as the arithmetic
        x0 = (x_t - c.sqrt_one_minus_alpha_bar * model_output).div_(c.sqrt_alpha_bar)
        if self.clip_x0:
            x0 = x0.clamp_(-self.clip_range, self.clip_range)
        return x0

    def _noise_for(self, c: _Coefficients, like: torch.Tensor, noise: torch.Tensor | None,
                   generator: torch.Generator | None) -> torch.Tensor | None:
        if not c.draws_noise:
            return None
        return noise if noise is not None else _draw_noise(like, generator)

    @abstractmethod
    def _coefficients(self, t: torch.Tensor, t_prev: torch.Tensor) -> list[_Coefficients]:
        """The scalars of the steps from each t to its t_prev, computed for all steps at once.

        Elementwise float32 arithmetic in diffusers' order of operations, so each value is
        the float32 number diffusers computes with 0-d tensors inside its step.
        """

    @abstractmethod
    def step(self, model_output: torch.Tensor, t: int | torch.Tensor, x_t: torch.Tensor,
             noise: torch.Tensor | None = None, generator: torch.Generator | None = None) -> StepResult:
        """x_{t-1} from x_t and the model's predicted noise at t.

        `noise` is the standard-normal z to inject (drawn from `generator` when None and
        the step is stochastic).
        """


class DDPMScheduler(Scheduler):
    """Ancestral sampling (Ho et al. 2020, Algorithm 2), also on a subset of the timesteps.

    variance "posterior" is beta-tilde_t, the variance of q(x_{t-1} | x_t, x_0) (diffusers'
    "fixed_small"); "beta" is beta_t itself (diffusers' "fixed_large"). With fewer steps
    than T, the step from t to t' uses alpha_t = alpha-bar_t / alpha-bar_t', as diffusers does.
    """

    def __init__(self, schedule: NoiseSchedule, *, variance: DDPMVariance = "posterior", clip_x0: bool = False,
                 clip_range: float = 1.0, spacing: TimestepSpacing = "leading"):
        if variance not in ("posterior", "beta"):
            raise ValueError(f"DDPM variance must be 'posterior' or 'beta', not {variance!r}")
        self.variance = variance
        super().__init__(schedule, clip_x0=clip_x0, clip_range=clip_range, spacing=spacing)

    def _coefficients(self, t: torch.Tensor, t_prev: torch.Tensor) -> list[_Coefficients]:
        alpha_bar_t, alpha_bar_prev = self._alpha_bar(t), self._alpha_bar(t_prev)
        beta_bar_t, beta_bar_prev = 1 - alpha_bar_t, 1 - alpha_bar_prev
        alpha_t = alpha_bar_t / alpha_bar_prev
        beta_t = 1 - alpha_t
        # DDPM eq. 7: mu-tilde = sqrt(alpha-bar_{t-1}) beta_t / (1 - alpha-bar_t) x0 + sqrt(alpha_t) (1 - alpha-bar_{t-1}) / (1 - alpha-bar_t) x_t
        x0_coef = alpha_bar_prev ** 0.5 * beta_t / beta_bar_t
        xt_coef = alpha_t ** 0.5 * beta_bar_prev / beta_bar_t
        if self.variance == "posterior":
            variance = torch.clamp(beta_bar_prev / beta_bar_t * beta_t, min=1e-20)  # DDPM eq. 7: beta-tilde_t
        else:
            variance = beta_t                                                        # sigma_t^2 = beta_t (section 3.2)
        std = torch.where(t > 0, variance ** 0.5, 0.0)                              # no noise into x_0 (Algorithm 2)
        return [
            _Coefficients(*row, row[0] > 0)
            for row in zip(t.tolist(), t_prev.tolist(), (alpha_bar_t ** 0.5).tolist(), (beta_bar_t ** 0.5).tolist(),
                           x0_coef.tolist(), xt_coef.tolist(), std.tolist())
        ]

    def step(self, model_output: torch.Tensor, t: int | torch.Tensor, x_t: torch.Tensor,
             noise: torch.Tensor | None = None, generator: torch.Generator | None = None) -> StepResult:
        c = self._at(t)
        x0 = self._predict_x0(c, model_output, x_t)
        # rounded as diffusers' (a fused multiply-add drifts from it over 1000 steps), in place where it can be
        prev = torch.mul(x0, c.x0_coef).add_(torch.mul(x_t, c.second_coef))  # DDPM eq. 7: mu-tilde_t(x_t, x0)
        z = self._noise_for(c, model_output, noise, generator)
        if z is not None:
            prev.add_(torch.mul(z, c.std))                # DDPM eq. 6: x_{t-1} ~ N(mu-tilde, sigma_t^2 I)
        return StepResult(prev, x0, z, c.std)


class DDIMScheduler(Scheduler):
    """DDIM (Song et al. 2021): any number of steps, eta from 0 (deterministic) to 1.

    `final_alpha_one` is diffusers' `set_alpha_to_one` (default True): the last step lands
    on alpha-bar = 1, a clean image, rather than on alpha-bar_0. A step lands on the next
    timestep of the run; diffusers lands on t - T // n, the same for "leading" spacing (its
    default) and for "trailing" when n divides T.

    `use_clipped_model_output` (diffusers' flag of that name, off by default there) steps
    with the eps that the clipped x0 implies rather than the model's own. Guidance needs
    it: at w = 3 the guided x0 of the first steps overshoots to ~3, the clip keeps 1, and
    the unclipped eps then carries the excess back into x_{t-1} with the opposite sign, a
    bias larger than the signal there. Runs then drew the prompt's opposite (a yellow
    shape at the bottom right for "a red circle at the top left"): adherence fell as w rose.
    """

    def __init__(self, schedule: NoiseSchedule, *, eta: float = 0.0, clip_x0: bool = False, clip_range: float = 1.0,
                 spacing: TimestepSpacing = "leading", final_alpha_one: bool = True,
                 use_clipped_model_output: bool = False):
        if not 0.0 <= eta <= 1.0:
            raise ValueError(f"DDIM eta must be between 0 and 1, not {eta}")
        self._eta = float(eta)
        self.final_alpha_one = final_alpha_one
        self.use_clipped_model_output = use_clipped_model_output
        super().__init__(schedule, clip_x0=clip_x0, clip_range=clip_range, spacing=spacing)

    @property
    def eta(self) -> float:
        return self._eta

    @eta.setter
    def eta(self, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"DDIM eta must be between 0 and 1, not {value}")
        self._eta = float(value)
        self.set_timesteps(self.num_inference_steps)

    def _final_alpha_bar(self) -> torch.Tensor:
        return torch.tensor(1.0) if self.final_alpha_one else self.alphas_cumprod[0]

    def _coefficients(self, t: torch.Tensor, t_prev: torch.Tensor) -> list[_Coefficients]:
        alpha_bar_t, alpha_bar_prev = self._alpha_bar(t), self._alpha_bar(t_prev)
        beta_bar_t, beta_bar_prev = 1 - alpha_bar_t, 1 - alpha_bar_prev
        # DDIM eq. 16: sigma_t(eta)^2 = eta^2 (1 - alpha_{t-1}) / (1 - alpha_t) (1 - alpha_t / alpha_{t-1})
        variance = (beta_bar_prev / beta_bar_t) * (1 - alpha_bar_t / alpha_bar_prev)
        std = self._eta * variance ** 0.5
        direction = torch.clamp(1 - alpha_bar_prev - std ** 2, min=0.0) ** 0.5  # sqrt(1 - alpha_{t-1} - sigma_t^2)
        return [
            _Coefficients(*row, self._eta > 0)
            for row in zip(t.tolist(), t_prev.tolist(), (alpha_bar_t ** 0.5).tolist(), (beta_bar_t ** 0.5).tolist(),
                           (alpha_bar_prev ** 0.5).tolist(), direction.tolist(), std.tolist())
        ]

    def step(self, model_output: torch.Tensor, t: int | torch.Tensor, x_t: torch.Tensor,
             noise: torch.Tensor | None = None, generator: torch.Generator | None = None) -> StepResult:
        c = self._at(t)
        x0 = self._predict_x0(c, model_output, x_t)            # DDIM eq. 12, "predicted x0"
        if self.clip_x0 and self.use_clipped_model_output:
            model_output = (x_t - c.sqrt_alpha_bar * x0) / c.sqrt_one_minus_alpha_bar  # the eps that x0 implies
        # DDIM eq. 12: x_{t-1} = sqrt(alpha_{t-1}) x0 + sqrt(1 - alpha_{t-1} - sigma_t^2) eps + sigma_t z
        prev = torch.mul(x0, c.x0_coef).add_(model_output, alpha=c.second_coef)  # fused: two kernels, not three
        z = self._noise_for(c, model_output, noise, generator)
        if z is not None:
            prev.add_(z, alpha=c.std)
        if c.std == 0.0:
            z = None  # drawn (to keep the noise stream in step with diffusers) but nothing was added
        return StepResult(prev, x0, z, c.std)


def make_scheduler(kind: SchedulerKind, schedule: NoiseSchedule, num_inference_steps: int | None = None, *,
                   eta: float = 0.0, variance: DDPMVariance = "posterior", clip_x0: bool = False,
                   use_clipped_model_output: bool = False) -> Scheduler:
    """A scheduler by name, set to `num_inference_steps` (default: all T for DDPM, 50 for DDIM).

    `use_clipped_model_output` (DDIM; DDPM's update needs no eps) steps with the eps that
    the clipped x0 implies, so both halves of the update agree (see DDIMScheduler).
    """
    if kind in FLOW_KINDS or getattr(schedule, "name", "") == "flow":
        return _flow_scheduler(kind, schedule, num_inference_steps)
    if hasattr(schedule, "make_scheduler"):  # a schedule that steps its own way (a diffusers config: core/diffusers_io)
        return schedule.make_scheduler(kind, num_inference_steps, eta=eta, use_clipped_model_output=use_clipped_model_output)
    if kind == "ddpm":
        if eta != 0.0:
            raise ValueError("eta is a DDIM setting; DDPM's noise is set by its variance ('posterior' or 'beta')")
        scheduler: Scheduler = DDPMScheduler(schedule, variance=variance, clip_x0=clip_x0)
        default_steps = schedule.num_train_timesteps
    elif kind == "ddim":
        scheduler = DDIMScheduler(schedule, eta=eta, clip_x0=clip_x0, use_clipped_model_output=use_clipped_model_output)
        default_steps = min(50, schedule.num_train_timesteps)
    else:
        raise ValueError(f"unknown sampler {kind!r}; known: {', '.join(SCHEDULER_KINDS + FLOW_KINDS)}")
    steps = default_steps if num_inference_steps is None else int(num_inference_steps)
    if not 1 <= steps <= schedule.num_train_timesteps:  # 0 must not quietly mean "the default"
        raise ValueError(f"steps must be a whole number from 1 to {schedule.num_train_timesteps} "
                         f"(the schedule's length), not {num_inference_steps}")
    scheduler.set_timesteps(steps)
    return scheduler


def _flow_scheduler(kind: str, schedule, num_inference_steps: int | None):
    """A flow solver for a flow-matching model; a DDPM/DDIM name for one (or a flow solver for a
    noise-prediction model) is refused with the samplers that fit."""
    from .flow import FlowScheduler

    is_flow = getattr(schedule, "name", "") == "flow"
    if kind not in FLOW_KINDS or not is_flow:
        fits = FLOW_KINDS if is_flow else SCHEDULER_KINDS
        model = "a flow-matching model" if is_flow else "a model trained on a DDPM noise schedule"
        raise ValueError(f"the {kind} sampler does not fit {model}; use {', '.join(fits)}")
    scheduler = FlowScheduler(schedule, kind)
    scheduler.set_timesteps(10 if num_inference_steps is None else int(num_inference_steps))
    return scheduler
