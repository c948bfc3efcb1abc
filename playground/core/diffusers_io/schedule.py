"""A diffusers scheduler config as the project's noise schedule and samplers.

The checkpoint's `scheduler/scheduler_config.json` fixes what the network was trained on
(beta schedule, T, prediction type) and how diffusers steps it (timestep spacing, steps
offset, clipping, the final alpha, DDPM's variance). `DiffusersSchedule` is a
`NoiseSchedule` that carries those settings, and `make_scheduler` (the project's one
factory) hands a schedule that has its own `make_scheduler` to it: every sampler of the
project (the CLI, the steps view, guidance) then steps a diffusers model as diffusers'
own DDPMScheduler / DDIMScheduler would. Whatever scheduler class the folder names
(PNDM for Stable Diffusion 1.x), the run is the project's DDPM or DDIM on that schedule.

A setting this cannot honour is a `ScheduleConfigError` naming it, never a quiet default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..diffusion.schedulers import DDIMScheduler, DDPMScheduler, Scheduler
from ..diffusion.schedules import NoiseSchedule, cosine_betas

PREDICTION_TYPES = ("epsilon", "v_prediction", "sample")
SPACINGS = ("leading", "trailing", "linspace")
VARIANCES = {"fixed_small": "posterior", "fixed_large": "beta"}
# keys that belong to a scheduler's own update rule (PNDM, Euler, DPM-Solver...): the project's DDPM/DDIM replace it
SAMPLER_ONLY_KEYS = {"skip_prk_steps", "interpolation_type", "use_karras_sigmas", "use_exponential_sigmas",
                     "use_beta_sigmas", "sigma_min", "sigma_max", "timestep_type", "final_sigmas_type",
                     "solver_order", "algorithm_type", "solver_type", "lower_order_final", "euler_at_final",
                     "lambda_min_clipped", "variance_type_dpm", "use_lu_lambdas", "predict_x0",
                     "solver_p", "disable_corrector", "use_flow_sigmas", "flow_shift"}
# keys only read when another setting switches them on (checked there)
DEPENDENT_KEYS = {"dynamic_thresholding_ratio", "sample_max_value", "clip_sample_range"}
KNOWN_KEYS = {"_class_name", "_diffusers_version", "num_train_timesteps", "beta_start", "beta_end",
              "beta_schedule", "trained_betas", "prediction_type", "timestep_spacing", "steps_offset",
              "clip_sample", "set_alpha_to_one", "variance_type", "thresholding", "rescale_betas_zero_snr"}
# what a sampler-only key may hold for the project's DDPM/DDIM to be the same model
NEUTRAL = {"use_karras_sigmas": False, "use_exponential_sigmas": False, "use_beta_sigmas": False,
           "use_flow_sigmas": False}


class ScheduleConfigError(ValueError):
    """A scheduler setting the project's samplers cannot honour; str() names it."""


@dataclass(frozen=True, eq=False)
class DiffusersSchedule(NoiseSchedule):
    """A noise schedule read from a diffusers scheduler config, with diffusers' stepping settings."""

    prediction_type: str = "epsilon"
    spacing: str = "leading"
    steps_offset: int = 0
    clip_sample: bool = True
    clip_range: float = 1.0
    set_alpha_to_one: bool = True
    variance: str = "posterior"
    scheduler_class: str = "DDPMScheduler"
    noise_dtype: torch.dtype = torch.float32  # the model's: sampling draws its noise as diffusers does (NoiseStream)

    def make_scheduler(self, kind: str, num_inference_steps: int | None = None, *, eta: float = 0.0,
                       use_clipped_model_output: bool = False) -> Scheduler:
        """The project's DDPM or DDIM stepping as diffusers' scheduler of that name with this config.
        Clipping and DDPM's variance are the checkpoint's (`describe` says which), not a caller's default."""
        if kind == "ddpm":
            if eta:
                raise ValueError("eta is a DDIM setting; DDPM's noise is set by the checkpoint's variance_type")
            scheduler: Scheduler = _DiffusersDDPM(self)
            default = self.num_train_timesteps
        elif kind == "ddim":
            scheduler = _DiffusersDDIM(self, eta=eta, use_clipped_model_output=use_clipped_model_output)
            default = min(50, self.num_train_timesteps)
        else:
            raise ValueError(f"the {kind} sampler does not fit a diffusers DDPM-schedule model; use ddpm, ddim")
        steps = min(default, max_steps(self)) if num_inference_steps is None else int(num_inference_steps)
        if not 1 <= steps <= max_steps(self):
            raise ValueError(f"steps must be a whole number from 1 to {max_steps(self)} "
                             f"(the schedule's length), not {num_inference_steps}")
        scheduler.set_timesteps(steps)
        return scheduler

    def describe(self) -> str:
        clip = f", x0 clipped to ±{self.clip_range:g}" if self.clip_sample else ""
        offset = f" + {self.steps_offset}" if self.steps_offset else ""
        return (f"{self.name} betas, T {self.num_train_timesteps}, {self.prediction_type}, "
                f"{self.spacing}{offset} spacing{clip}")


def _timesteps(schedule: DiffusersSchedule, n: int) -> np.ndarray:
    """diffusers' set_timesteps: the three spacings, steps_offset added to "leading" only."""
    T = schedule.num_train_timesteps
    if not 1 <= n <= T:
        raise ValueError(f"the number of inference steps must be between 1 and {T}, not {n}")
    if schedule.spacing == "linspace":
        return np.linspace(0, T - 1, n).round()[::-1].copy().astype(np.int64)
    if schedule.spacing == "leading":
        return (np.arange(0, n) * (T // n)).round()[::-1].copy().astype(np.int64) + schedule.steps_offset
    return np.round(np.arange(T, 0, -T / n)).astype(np.int64) - 1


def max_steps(schedule: DiffusersSchedule) -> int:
    """The most inference steps whose timesteps stay below T ("leading" spacing adds steps_offset)."""
    T = schedule.num_train_timesteps
    if schedule.spacing != "leading" or not schedule.steps_offset:
        return T
    return next(n for n in range(T, 0, -1) if (n - 1) * (T // n) + schedule.steps_offset <= T - 1)


class _DiffusersStepping:
    """set_timesteps as diffusers: its timesteps, and each step's landing point (`_landing`)."""

    schedule: DiffusersSchedule

    def set_timesteps(self, num_inference_steps: int) -> None:
        T = self.schedule.num_train_timesteps
        if self.num_inference_steps == 0 and num_inference_steps == T:  # the base class's first call: any valid n
            num_inference_steps = max_steps(self.schedule)
        steps = _timesteps(self.schedule, num_inference_steps)
        if steps.max() >= T:
            raise ValueError(f"{num_inference_steps} steps with steps_offset {self.schedule.steps_offset} would start "
                             f"at t = {steps.max()}, past the schedule's last timestep {T - 1}; use at most "
                             f"{max_steps(self.schedule)} steps")
        self.num_inference_steps = int(num_inference_steps)
        self.timesteps = t = torch.from_numpy(steps)
        t_prev = self._landing(t)
        self._by_t = {c.t: c for c in self._coefficients(t, t_prev)}

    def _landing(self, t: torch.Tensor) -> torch.Tensor:
        return torch.cat([t[1:], torch.tensor([-1])])  # DDPM: the next timestep of the run


class _DiffusersDDPM(_DiffusersStepping, DDPMScheduler):
    def __init__(self, schedule: DiffusersSchedule):
        DDPMScheduler.__init__(self, schedule, variance=schedule.variance, clip_x0=schedule.clip_sample,
                               clip_range=schedule.clip_range)


class _DiffusersDDIM(_DiffusersStepping, DDIMScheduler):
    def __init__(self, schedule: DiffusersSchedule, eta: float, use_clipped_model_output: bool):
        DDIMScheduler.__init__(self, schedule, eta=eta, clip_x0=schedule.clip_sample, clip_range=schedule.clip_range,
                               final_alpha_one=schedule.set_alpha_to_one,
                               use_clipped_model_output=use_clipped_model_output)

    def _landing(self, t: torch.Tensor) -> torch.Tensor:
        """diffusers' DDIM lands on t - T // n whatever the spacing (below 0: the final alpha-bar)."""
        prev = t - self.num_train_timesteps // self.num_inference_steps
        return prev.clamp(min=-1)


def betas_for(config: dict[str, Any]) -> tuple[str, torch.Tensor]:
    """(schedule name, betas) as diffusers builds them, float32."""
    T = config.get("num_train_timesteps", 1000)
    if not isinstance(T, int) or isinstance(T, bool) or not 1 <= T <= 100_000:
        raise ScheduleConfigError(f"num_train_timesteps must be a whole number from 1 to 100000, not {T!r}")
    trained = config.get("trained_betas")
    if trained is not None:
        betas = torch.tensor(trained, dtype=torch.float32)
        if betas.ndim != 1 or len(betas) != T or not bool(((betas > 0) & (betas < 1)).all()):
            raise ScheduleConfigError(f"trained_betas must be {T} numbers between 0 and 1")
        return "trained", betas
    name = config.get("beta_schedule", "linear")
    start, end = float(config.get("beta_start", 0.0001)), float(config.get("beta_end", 0.02))
    if name == "linear":
        return name, torch.linspace(start, end, T, dtype=torch.float32)
    if name == "scaled_linear":
        return name, torch.linspace(start ** 0.5, end ** 0.5, T, dtype=torch.float32) ** 2
    if name == "squaredcos_cap_v2":
        return name, cosine_betas(T)
    raise ScheduleConfigError(f"beta_schedule {name!r} is not supported (supported: linear, scaled_linear, "
                              f"squaredcos_cap_v2, or trained_betas)")


def schedule_from_config(config: dict[str, Any]) -> DiffusersSchedule:
    """The schedule a diffusers scheduler config describes; ScheduleConfigError naming any setting it cannot honour."""
    unknown = sorted(k for k in config if k not in KNOWN_KEYS | SAMPLER_ONLY_KEYS | DEPENDENT_KEYS)
    if unknown:
        raise ScheduleConfigError(f"scheduler setting {unknown[0]!r} = {config[unknown[0]]!r} is not supported")
    for key, neutral in NEUTRAL.items():
        if config.get(key, neutral) != neutral:
            raise ScheduleConfigError(f"scheduler setting {key} = {config[key]!r} is not supported (only "
                                      f"{neutral!r}: the project samples with DDPM/DDIM on the training schedule)")
    if config.get("thresholding", False):
        raise ScheduleConfigError("scheduler setting thresholding = true (dynamic thresholding) is not supported")
    if config.get("rescale_betas_zero_snr", False):
        raise ScheduleConfigError("scheduler setting rescale_betas_zero_snr = true (zero terminal SNR) is not "
                                  "supported")
    prediction = config.get("prediction_type", "epsilon")
    if prediction not in PREDICTION_TYPES:
        raise ScheduleConfigError(f"prediction_type {prediction!r} is not supported ({', '.join(PREDICTION_TYPES)})")
    spacing = config.get("timestep_spacing", "leading")
    if spacing not in SPACINGS:
        raise ScheduleConfigError(f"timestep_spacing {spacing!r} is not supported ({', '.join(SPACINGS)})")
    variance_type = config.get("variance_type") or "fixed_small"  # DPM-Solver's configs hold null
    if variance_type not in VARIANCES:
        raise ScheduleConfigError(f"variance_type {variance_type!r} is not supported (fixed_small, fixed_large)")
    offset = config.get("steps_offset", 0)
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset < 1000:
        raise ScheduleConfigError(f"steps_offset must be a small whole number, not {offset!r}")
    clip_range = float(config.get("clip_sample_range", 1.0))
    if not clip_range > 0:
        raise ScheduleConfigError(f"clip_sample_range must be positive, not {clip_range!r}")
    name, betas = betas_for(config)
    return DiffusersSchedule(
        name=name, betas=betas, prediction_type=prediction, spacing=spacing, steps_offset=offset,
        clip_sample=bool(config.get("clip_sample", True)), clip_range=clip_range,
        set_alpha_to_one=bool(config.get("set_alpha_to_one", True)), variance=VARIANCES[variance_type],
        scheduler_class=str(config.get("_class_name", "DDPMScheduler")))
