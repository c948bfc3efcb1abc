"""Likelihoods of the latent models: the flow's by its probability-flow ODE, and a bound on the image.

The flow (sit) moves data to noise along dx/ds = v(x, s), s from 0 (data) to 1 (noise). Along
that path the density obeys the instantaneous change of variables (Chen et al. 2018, FFJORD):

    log p_0(x_0) = log N(x_1; 0, I) + integral_0^1 div v(x_s, s) ds,

integrated here with Euler or Heun steps (`steps` evenly spaced), the divergence read by
Hutchinson's estimator z^T (dv/dx) z with one Rademacher z per image, drawn from a fixed seed
(seed + i for image i) and kept for the whole path (a vector-Jacobian product: one forward and one backward per
evaluation). It is an estimate: unbiased in the trace, biased by the steps' discretisation.

The image: the latent models draw x = decode(z / c) from a latent c z (c the autoencoder-kl's
scale_factor). With q(z | x) the autoencoder's Gaussian posterior, one draw z ~ q gives

    −log p(x) <= −log p(x | z) − log p_z(z) − H(q(z | x)),   log p_z(z) = log p_latent(c z) + d log c,

the ELBO of Kingma & Welling with the latent model as the prior; −log p(x | z) is the
discretised Gaussian decoder every family's bound uses (`tokens.likelihood.discretised_gaussian_bits`).
With the ODE's log p_latent it is an estimate of that bound; with a DDPM's variational bound on
the latent (`diffusion.likelihood`, continuous decoder) it is a bound throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from ..tokens.likelihood import DECODER_SIGMA, discretised_gaussian_bits

LN2 = math.log(2.0)
# v(x_t, t) with t = s * intervals (float): a flow model's velocity
VelocityFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# latents (B, C, h, w) -> (B,) log-density in nats (an estimate or a lower bound)
LogDensity = Callable[[torch.Tensor], torch.Tensor]


def standard_normal_log_density(x: torch.Tensor) -> torch.Tensor:
    """(B,) log N(x; 0, I) in nats."""
    x = x.double().flatten(1)
    return -0.5 * (x.pow(2) + math.log(2 * math.pi)).sum(dim=1)


def _velocity_and_divergence(fn: VelocityFunction, x: torch.Tensor, t: float, intervals: int,
                             probe: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        v = fn(x, torch.full((len(x),), t * intervals, device=x.device))
        (vjp,) = torch.autograd.grad((v * probe).sum(), x)
    return v.detach(), (vjp * probe).flatten(1).sum(dim=1).detach().double()


def flow_log_likelihood(fn: VelocityFunction, x0: torch.Tensor, steps: int = 20, solver: str = "heun",
                        intervals: int = 1000, seed: int = 0,
                        should_stop: Callable[[], bool] | None = None) -> torch.Tensor | None:
    """(B,) log p_0(x0) in nats by the probability-flow ODE (see the module docstring); None when stopped.

    `steps` Euler or Heun steps from s = 0 to 1: `steps` (Euler) or 2 * `steps` (Heun) forwards
    and backwards per image."""
    if solver not in ("euler", "heun"):
        raise ValueError(f"the ODE solver must be 'euler' or 'heun', not {solver!r}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, not {steps}")
    probe = torch.stack([torch.randint(0, 2, x0.shape[1:], generator=torch.Generator().manual_seed(seed + i)) * 2 - 1
                         for i in range(len(x0))]).to(x0.device, x0.dtype)  # image i's probe: seed + i, in any batch
    x, h = x0.detach().float(), 1.0 / steps
    integral = torch.zeros(len(x0), dtype=torch.float64, device=x0.device)
    for n in range(steps):
        if should_stop is not None and should_stop():
            return None
        s = n * h
        v, div = _velocity_and_divergence(fn, x, s, intervals, probe)
        if solver == "euler":
            x, integral = x + h * v, integral + h * div
        else:
            v_end, div_end = _velocity_and_divergence(fn, x + h * v, s + h, intervals, probe)
            x, integral = x + 0.5 * h * (v + v_end), integral + 0.5 * h * (div + div_end)
    return (standard_normal_log_density(x) + integral).cpu()


@dataclass(frozen=True)
class LatentBound:
    """Per image (B,), bits per dimension of the image: the decoder's term, the latent's (−log p_z − H(q)), the sum."""

    decoder_bits_per_dim: torch.Tensor
    latent_bits_per_dim: torch.Tensor
    sigma: float

    @property
    def total(self) -> torch.Tensor:
        return self.decoder_bits_per_dim + self.latent_bits_per_dim


@torch.no_grad()
def latent_bound(model: torch.nn.Module, images: torch.Tensor, log_density: LogDensity,
                 sigma: float = DECODER_SIGMA, seed: int = 0) -> LatentBound | None:
    """−log2 p(x) per dimension bounded through a latent model's first stage (module docstring): one z ~ q(z | x)
    per image, `log_density` of the scaled latent c z (None from it means stopped)."""
    stage = model.first_stage
    x = images.float()
    mean, logvar = stage.encode(x)
    noise = torch.randn(mean.shape, generator=torch.Generator().manual_seed(seed)).to(mean.device)
    z = mean + noise * torch.exp(0.5 * logvar)
    c = float(stage.scale_factor)
    log_p_latent = log_density(c * z)
    if log_p_latent is None:
        return None
    d = z[0].numel()
    log_p_z = log_p_latent.double().cpu() + d * math.log(c)
    entropy = (0.5 * (math.log(2 * math.pi * math.e) + logvar.double())).flatten(1).sum(dim=1).cpu()
    dims = x[0].numel()
    decoder = discretised_gaussian_bits(x.cpu(), model.decode(c * z).cpu(), sigma).double() / dims
    latent = (-log_p_z - entropy) / LN2 / dims
    return LatentBound(decoder.float(), latent.float(), float(sigma))
