"""Exact denoisers for Gaussian data N(mu, sigma^2 I): models whose samplers are the true ODE (up to steps).

For x0 ~ N(mu, sigma^2 I) the noisy marginals are Gaussian too, so the best prediction is
linear in x_t and known in closed form: DDIM with these models is the probability-flow
ODE of the data itself, and its inversion's error is the discretisation's alone.
"""

from __future__ import annotations

from types import SimpleNamespace

import torch
from torch import nn

from playground.core.diffusion.flow import FlowSchedule
from playground.core.diffusion.schedules import NoiseSchedule


class GaussianEpsOracle(nn.Module):
    """E[eps | x_t] = sqrt(1 - a) (x_t - sqrt(a) mu) / (a sigma^2 + 1 - a), a = alpha-bar_t."""

    def __init__(self, mu: torch.Tensor, sigma: float, schedule: NoiseSchedule | None = None):
        super().__init__()
        self.noise_schedule = schedule or NoiseSchedule.from_name("cosine", 1000)
        self.register_buffer("mu", mu.float()[None])
        self.sigma = float(sigma)
        self.config = SimpleNamespace(image_size=mu.shape[-1], in_channels=mu.shape[0])

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a = self.noise_schedule.alphas_cumprod.double()[t.cpu()].to(x.device).view(-1, 1, 1, 1)
        x = x.double()
        eps = (1 - a).sqrt() * (x - a.sqrt() * self.mu) / (a * self.sigma ** 2 + 1 - a)
        return eps.float()


class GaussianFlowOracle(nn.Module):
    """The exact velocity E[eps - x0 | x_s] of the linear interpolant x_s = (1 - s) x0 + s eps."""

    def __init__(self, mu: torch.Tensor, sigma: float, intervals: int = 1000):
        super().__init__()
        self.noise_schedule = FlowSchedule(intervals)
        self.register_buffer("mu", mu.float()[None])
        self.sigma = float(sigma)
        self.config = SimpleNamespace(image_size=mu.shape[-1], in_channels=mu.shape[0])

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        s = (t.double() / self.noise_schedule.intervals).to(x.device).view(-1, 1, 1, 1)
        x = x.double()
        var = (1 - s) ** 2 * self.sigma ** 2 + s ** 2
        centred = x - (1 - s) * self.mu
        x0 = self.mu + (1 - s) * self.sigma ** 2 * centred / var
        eps = s * centred / var
        return (eps - x0).float()


def oracle_image(seed: int = 0, size: int = 8) -> torch.Tensor:
    """A mean image mu (3, size, size) in [-0.5, 0.5]."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand((3, size, size), generator=g) - 0.5
