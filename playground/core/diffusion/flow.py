"""Flow matching (Lipman et al. 2023; Liu et al. 2023, rectified flow; Ma et al. 2024, SiT).

The interpolant between data and noise is a straight line:

    x_s = (1 - s) x0 + s eps,    s in [0, 1] (s = 0 data, s = 1 noise),

and the network learns its velocity dx_s/ds = eps - x0 (the conditional target, whose
regression gives the marginal velocity field v(x, s)). Sampling integrates the ODE
dx/ds = v(x, s) from s = 1 to 0 (Euler, or Heun's second-order method), or an SDE with the
same marginals (`sde`, below).

Time is kept on the integers like a DDPM's, t = 0..K with s = t / K (K = 1000), so the
step views, the scrubber, the guidance range and the trajectory cache work unchanged;
`FlowSchedule.num_train_timesteps` is K + 1 (t = K is pure noise, and a guidance range's
progress (K - t) / K runs from 0 to 1). From one model output v:

    x0^  = x_s - s v             (the predicted clean sample)
    eps^ = x_s + (1 - s) v       (the predicted noise)

The SDE sampler is Euler-Maruyama on the reverse-time SDE
dx = [v - g(s)^2 / 2 * score] ds + g(s) dW with g(s)^2 = s (SiT's "sigma" diffusion) and
score = -eps^ / s, so the noise term never divides by zero:

    x_{s-h} = x_s - h (v + eps^ / 2) + sqrt(s h) z,

and the last step (to s = 0) is the deterministic x0^.
"""

from __future__ import annotations

from typing import Callable, Literal

import numpy as np
import torch

from .schedulers import StepResult, _draw_noise

FlowSolver = Literal["euler", "heun", "sde"]
FLOW_SOLVERS: tuple[str, ...] = ("euler", "heun", "sde")


class FlowSchedule:
    """The linear interpolant on integer time t = 0..K, s = t / K."""

    name = "flow"

    def __init__(self, intervals: int = 1000):
        if intervals < 1:
            raise ValueError(f"a flow needs at least one time interval, not {intervals}")
        self.intervals = int(intervals)

    @property
    def num_train_timesteps(self) -> int:
        return self.intervals + 1

    def sigma(self, t: torch.Tensor | int | float) -> torch.Tensor:
        """s = t / K, the noise weight (and 1 - s the data weight)."""
        return torch.as_tensor(t, dtype=torch.float32) / self.intervals

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        """alpha-bar of the variance-preserving process with the same signal-to-noise ratio, per t:
        (1 - s)^2 / ((1 - s)^2 + s^2) (for the schedule plots, and img2img's strength)."""
        s = torch.arange(self.num_train_timesteps, dtype=torch.float64) / self.intervals
        return ((1 - s) ** 2 / ((1 - s) ** 2 + s ** 2)).float()

    def log_snr(self) -> torch.Tensor:
        s = torch.arange(self.num_train_timesteps, dtype=torch.float64) / self.intervals
        return (2 * torch.log((1 - s) / s)).float()  # +inf at t = 0, -inf at t = K

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor | int) -> torch.Tensor:
        s = _per_image(self.sigma(t), x0)
        return (1 - s) * x0 + s * noise

    def velocity_target(self, x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return noise - x0


def _per_image(s: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    s = s.to(like.device, like.dtype)
    return s.reshape((-1,) + (1,) * (like.ndim - 1)) if s.ndim else s


class FlowScheduler:
    """Euler, Heun or SDE steps from s = 1 to 0 over `num_inference_steps` evenly spaced times.

    Speaks the `Scheduler` interface the samplers use (timesteps, step, draws_noise,
    previous_timestep, add_noise); `step` is handed the model's velocity at x_t, and Heun
    also calls `model_fn(x, t)` once more at the end of the step (`needs_model`).
    """

    def __init__(self, schedule: FlowSchedule, solver: FlowSolver = "euler"):
        if solver not in FLOW_SOLVERS:
            raise ValueError(f"unknown flow solver {solver!r}; known: {', '.join(FLOW_SOLVERS)}")
        self.schedule = schedule
        self.solver = solver
        self.clip_x0 = False
        self.num_inference_steps = 0
        self.timesteps = torch.empty(0, dtype=torch.int64)
        self._prev: dict[int, int] = {}

    @property
    def needs_model(self) -> bool:
        return self.solver == "heun"

    @property
    def num_train_timesteps(self) -> int:
        return self.schedule.num_train_timesteps

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        return self.schedule.alphas_cumprod

    def set_timesteps(self, num_inference_steps: int) -> None:
        n, k = int(num_inference_steps), self.schedule.intervals
        if not 1 <= n <= k:
            raise ValueError(f"the number of flow steps must be between 1 and {k}, not {num_inference_steps}")
        grid = np.round(np.linspace(k, 0, n + 1)).astype(np.int64)
        self.num_inference_steps = n
        self.timesteps = torch.from_numpy(grid[:-1].copy())
        self._prev = {int(a): int(b) for a, b in zip(grid[:-1], grid[1:])}

    def _landing(self, t: int | torch.Tensor) -> int:
        try:
            return self._prev[int(t)]
        except KeyError:
            raise ValueError(f"t = {int(t)} is not one of this scheduler's {self.num_inference_steps} timesteps") from None

    def previous_timestep(self, t: int | torch.Tensor) -> int:
        """The timestep the step from t lands on (-1 after the last one: the clean sample)."""
        landing = self._landing(t)
        return landing if landing > 0 else -1

    def draws_noise(self, t: int | torch.Tensor) -> bool:
        return self.solver == "sde" and self._landing(t) > 0

    def noise_std(self, t: int | torch.Tensor) -> float:
        if not self.draws_noise(t):
            return 0.0
        k = self.schedule.intervals
        s, h = int(t) / k, (int(t) - self._landing(t)) / k
        return float(np.float32(s * h) ** 0.5)

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        return self.schedule.add_noise(x0, noise, t)

    def predict_x0(self, x_t: torch.Tensor, velocity: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        return x_t - _per_image(self.schedule.sigma(t), x_t) * velocity

    def predict_eps(self, x_t: torch.Tensor, x0: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """The noise that takes x0 to x_t (undefined at s = 0, where x_t is x0)."""
        s = _per_image(self.schedule.sigma(t), x_t)
        return (x_t - (1 - s) * x0) / s

    def step(self, model_output: torch.Tensor, t: int | torch.Tensor, x_t: torch.Tensor,
             noise: torch.Tensor | None = None, generator: torch.Generator | None = None,
             model_fn: Callable[[torch.Tensor, int], torch.Tensor] | None = None) -> StepResult:
        """x at the next time from x_t and the velocity v = model_output at t."""
        k = self.schedule.intervals
        t_prev = self._landing(t)
        s, s_prev = int(t) / k, t_prev / k
        v = model_output
        x0 = x_t - s * v
        eps = x_t + (1 - s) * v
        if t_prev == 0:                       # the last step lands on the predicted sample
            return StepResult(x0, x0, None, 0.0, pred_noise=eps)
        dt = s_prev - s                       # negative: from noise toward data
        if self.solver == "euler":
            return StepResult(x_t + dt * v, x0, None, 0.0, pred_noise=eps)
        if self.solver == "heun":
            if model_fn is None:
                raise ValueError("Heun's step evaluates the model a second time: pass model_fn")
            x_euler = x_t + dt * v
            v_end = model_fn(x_euler, t_prev).to(v.dtype)
            return StepResult(x_t + dt * 0.5 * (v + v_end), x0, None, 0.0, pred_noise=eps)
        z = noise if noise is not None else _draw_noise(x_t, generator)
        std = float(np.float32(s * -dt) ** 0.5)
        prev = x_t + dt * (v + 0.5 * eps) + std * z
        return StepResult(prev, x0, z, std, pred_noise=eps)
