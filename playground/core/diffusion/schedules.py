"""Noise schedules beta_1..beta_T and the quantities derived from them.

A schedule, once a checkpoint is trained with it, is part of that model and never
changes: the checkpoint's config names it, and `NoiseSchedule.from_name` rebuilds it
bit for bit (the same float32 arithmetic as diffusers, so results can be compared).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

ScheduleName = Literal["linear", "cosine"]
SCHEDULE_NAMES: tuple[str, ...] = ("linear", "cosine")


def linear_betas(T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """DDPM's linear schedule (Ho et al. 2020, section 4)."""
    return torch.linspace(beta_start, beta_end, T, dtype=torch.float32)


def cosine_betas(T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Improved DDPM's cosine schedule (Nichol & Dhariwal 2021, eq. 17), betas clipped at 0.999."""

    def alpha_bar(t: float) -> float:
        return math.cos((t + s) / (1 + s) * math.pi / 2) ** 2

    betas = [min(1 - alpha_bar((i + 1) / T) / alpha_bar(i / T), max_beta) for i in range(T)]
    return torch.tensor(betas, dtype=torch.float32)


@dataclass(frozen=True)
class NoiseSchedule:
    """beta_t, alpha_t = 1 - beta_t and alpha-bar_t = prod alpha_s, for t = 0..T-1."""

    name: str
    betas: torch.Tensor

    @classmethod
    def from_name(cls, name: str, T: int = 1000) -> "NoiseSchedule":
        if name == "linear":
            return cls(name, linear_betas(T))
        if name == "cosine":
            return cls(name, cosine_betas(T))
        raise ValueError(f"unknown noise schedule {name!r}; known: {', '.join(SCHEDULE_NAMES)}")

    @property
    def num_train_timesteps(self) -> int:
        return len(self.betas)

    @property
    def alphas(self) -> torch.Tensor:
        return 1.0 - self.betas

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        return torch.cumprod(self.alphas, dim=0)

    def log_snr(self) -> torch.Tensor:
        """log SNR(t) = log(alpha-bar_t / (1 - alpha-bar_t))."""
        ab = self.alphas_cumprod.double()
        return torch.log(ab / (1 - ab)).float()

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Sample q(x_t | x_0) = N(sqrt(alpha-bar_t) x_0, (1 - alpha-bar_t) I) (DDPM eq. 4)."""
        ab = self.alphas_cumprod.to(device=x0.device, dtype=x0.dtype)[t]
        shape = (-1,) + (1,) * (x0.ndim - 1)
        return ab.sqrt().reshape(shape) * x0 + (1 - ab).sqrt().reshape(shape) * noise
