"""A DDPM's variational bound on −log p(x0) (Ho et al. 2020, eq. 5), in nats or bits per dimension.

    L_vlb = L_T + sum_{t=2..T} L_{t-1} + L_0
    L_T     = KL(q(x_T | x0) || N(0, I))
    L_{t-1} = E_q KL(q(x_{t-1} | x_t, x0) || p(x_{t-1} | x_t))        (two Gaussians: closed form)
    L_0     = E_q −log p(x0 | x1)

Indices here are the code's, t = 0..T-1 (the paper's t = 1..T): the term at index t >= 1 is the
KL at the paper's t + 1, the term at index 0 is the decoder L_0. p(x_{t-1} | x_t) has the mean the
samplers step to (the predicted x0 put into q's posterior mean, DDPM eq. 7; clipped to [-1, 1] for
pixels, as improved-diffusion's `calc_bpd_loop` does) and the fixed variance of the sampler's
choice (`variance`: "posterior" = beta-tilde_t, the DDPMScheduler default; "beta" = beta_t), with
index 0's variance beta-tilde of index 1 (improved-diffusion's clipped log-variance: beta-tilde_0 is 0).

L_0 on 8-bit pixels is the discretised Gaussian (`tokens.likelihood.discretised_gaussian_bits`,
the decoder every family's bound here uses; improved-diffusion's
`discretized_gaussian_log_likelihood`), with the model's own std at index 0. On a continuous
latent (`decoder="continuous"`), it is the Gaussian density itself: a bound on −log p of the latent.

The T terms are summed without bias: L_0 (by far the largest on 8-bit pixels, and drawn
once in T) and the last term (x0 from pure noise) exactly, the other T - 2 by sampling K timesteps per image among them (with
replacement, uniformly or from a mixture that favours the low-noise terms: `proposal_weights`)
and averaging term / probability, with its standard error. Each term's x_t is
drawn from a generator seeded by (seed, image, t), so `exact_vlb` (all T terms) is the very sum
the estimate samples from: the two agree within the reported standard error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from ..tokens.likelihood import discretised_gaussian_bits

LN2 = math.log(2.0)
# eps_theta(x_t, t) -> predicted noise (a DiffusionModel, or a closure giving it its null prompt)
EpsFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class VlbCoefficients:
    """Float64 tables over t = 0..T-1 of q's posterior and p's fixed variance (the model's choice)."""

    alphas_cumprod: torch.Tensor
    x0_coef: torch.Tensor       # weight of x0 in mu-tilde_t (DDPM eq. 7)
    xt_coef: torch.Tensor       # weight of x_t
    posterior_variance: torch.Tensor   # beta-tilde_t (0 at t = 0)
    model_variance: torch.Tensor       # sigma_t^2 of p(x_{t-1} | x_t)

    @classmethod
    def of(cls, betas: torch.Tensor, variance: str = "posterior") -> "VlbCoefficients":
        betas = betas.double()
        ab = torch.cumprod(1 - betas, dim=0)
        ab_prev = torch.cat([torch.ones(1, dtype=torch.float64), ab[:-1]])
        x0_coef = ab_prev.sqrt() * betas / (1 - ab)
        xt_coef = (1 - betas).sqrt() * (1 - ab_prev) / (1 - ab)
        posterior = (1 - ab_prev) / (1 - ab) * betas
        if variance == "posterior":
            model = posterior.clone()
        elif variance == "beta":
            model = betas.clone()
        else:
            raise ValueError(f"DDPM variance must be 'posterior' or 'beta', not {variance!r}")
        model[0] = posterior[1] if len(posterior) > 1 else betas[0]
        return cls(ab, x0_coef, xt_coef, posterior, model)

    @property
    def T(self) -> int:
        return len(self.alphas_cumprod)


def prior_nats(x0: torch.Tensor, coefficients: VlbCoefficients) -> torch.Tensor:
    """(B,) L_T = KL(N(sqrt(ab_T) x0, (1 - ab_T) I) || N(0, I)) in nats."""
    ab = coefficients.alphas_cumprod[-1]
    x = x0.double().flatten(1)
    return 0.5 * (ab * x.pow(2) + (1 - ab) - 1 - torch.log(1 - ab)).sum(dim=1)


def term_noise(seed: int, image: int, t: int, shape: tuple[int, ...]) -> torch.Tensor:
    """The standard-normal noise of term t of image `image`: the same whichever terms are evaluated."""
    key = ((int(seed) * 1_000_003 + int(image)) * 1_000_003 + int(t)) % (2 ** 63)
    return torch.randn(shape, generator=torch.Generator().manual_seed(key))


def term_nats(eps_fn: EpsFunction, coefficients: VlbCoefficients, x0: torch.Tensor, t: torch.Tensor,
              noise: torch.Tensor, clip: bool = True, decoder: str = "discrete") -> torch.Tensor:
    """(N,) the terms at timesteps t (N,) of images x0 (N, ...), in nats (see the module docstring)."""
    c = coefficients
    shape = (-1,) + (1,) * (x0.ndim - 1)
    device = x0.device
    at = lambda table: table[t.cpu()].reshape(shape).to(device)  # noqa: E731
    ab = at(c.alphas_cumprod)
    x0d = x0.double()
    x_t = (ab.sqrt() * x0d + (1 - ab).sqrt() * noise.double().to(device)).float()
    with torch.no_grad():
        eps = eps_fn(x_t, t.to(device)).double()
    x0_hat = (x_t.double() - (1 - ab).sqrt() * eps) / ab.sqrt()
    if clip:
        x0_hat = x0_hat.clamp(-1, 1)
    mean_p = at(c.x0_coef) * x0_hat + at(c.xt_coef) * x_t.double()
    mean_q = at(c.x0_coef) * x0d + at(c.xt_coef) * x_t.double()
    var_p, var_q = at(c.model_variance), at(c.posterior_variance).clamp_min(1e-30)
    kl = 0.5 * (torch.log(var_p / var_q) + var_q / var_p - 1 + (mean_q - mean_p).pow(2) / var_p)
    kl = kl.flatten(1).sum(dim=1)
    if decoder == "discrete":
        nll = discretised_gaussian_bits(x0.cpu(), mean_p.cpu(), float(c.model_variance[0].sqrt())).double() * LN2
    elif decoder == "continuous":
        nll = (0.5 * (math.log(2 * math.pi) + torch.log(var_p)) + (x0d - mean_p).pow(2) / (2 * var_p)).flatten(1).sum(1)
        nll = nll.cpu()
    else:
        raise ValueError(f"decoder must be 'discrete' or 'continuous', not {decoder!r}")
    return torch.where(t.cpu() == 0, nll, kl.cpu())


@dataclass(frozen=True)
class VlbEstimate:
    """Per image (B,), in nats: L_T, the estimated sum of the T terms, and that sum's standard error."""

    prior: torch.Tensor
    terms: torch.Tensor
    standard_error: torch.Tensor
    samples: int            # K timesteps per image (T for the exact sum, whose error is 0)
    dims: int

    @property
    def total(self) -> torch.Tensor:
        return self.prior + self.terms

    def bits_per_dim(self) -> torch.Tensor:
        return self.total / LN2 / self.dims

    def mean_bits_per_dim(self) -> tuple[float, float]:
        """The mean over the images and its standard error (timestep sampling only), bits/dim."""
        scale = LN2 * self.dims
        error = self.standard_error.pow(2).sum().sqrt() / len(self.total)
        return float(self.total.mean() / scale), float(error / scale)


def _evaluate(eps_fn: EpsFunction, coefficients: VlbCoefficients, x0: torch.Tensor, timesteps: torch.Tensor,
              seed: int, clip: bool, decoder: str, batch: int, progress: Progress | None,
              should_stop: Callable[[], bool] | None) -> torch.Tensor | None:
    """(B, K) nats of the terms at timesteps (B, K), evaluated `batch` at a time; None when stopped."""
    B, K = timesteps.shape
    pairs = [(i, k) for i in range(B) for k in range(K)]
    out = torch.zeros(B, K, dtype=torch.float64)
    shape = tuple(x0.shape[1:])
    for start in range(0, len(pairs), batch):
        if should_stop is not None and should_stop():
            return None
        chunk = pairs[start:start + batch]
        rows = torch.tensor([i for i, _ in chunk])
        t = torch.tensor([int(timesteps[i, k]) for i, k in chunk])
        noise = torch.stack([term_noise(seed, i, int(timesteps[i, k]), shape) for i, k in chunk])
        values = term_nats(eps_fn, coefficients, x0[rows], t, noise, clip, decoder)
        for (i, k), v in zip(chunk, values):
            out[i, k] = v
        if progress is not None:
            progress(min(start + batch, len(pairs)), len(pairs))
    return out


def proposal_weights(coefficients: VlbCoefficients, exact_first: int, proposal: str, exact_last: int = 0) -> torch.Tensor:
    """(T - exact_first - exact_last,) probabilities of drawing each t in [exact_first, T - exact_last).

    "uniform": 1 / (T - exact_first). "mixture": half uniform, half in proportion to SNR(t-1) - SNR(t), the
    weight a term has when the network's error in eps is the same at every t (Kingma et al. 2021, VDM):
    the few low-noise terms that carry most of the bound are drawn often, and the uniform half keeps
    every ratio term / probability bounded (defensive importance sampling)."""
    width = coefficients.T - exact_first - exact_last
    uniform = torch.full((width,), 1.0 / width, dtype=torch.float64)
    if proposal == "uniform":
        return uniform
    if proposal != "mixture":
        raise ValueError(f"the timestep proposal must be 'uniform' or 'mixture', not {proposal!r}")
    ab = coefficients.alphas_cumprod
    snr = ab / (1 - ab)
    drop = torch.cat([torch.zeros(1, dtype=torch.float64), snr[:-1] - snr[1:]])[exact_first:exact_first + width]
    drop = drop.clamp_min(0)
    if not float(drop.sum()) > 0:
        return uniform
    return 0.5 * uniform + 0.5 * drop / drop.sum()


def estimate_vlb(eps_fn: EpsFunction, betas: torch.Tensor, x0: torch.Tensor, samples: int = 32, seed: int = 0,
                 variance: str = "posterior", clip: bool = True, decoder: str = "discrete", exact_first: int = 1,
                 exact_last: int = 1, proposal: str = "mixture", batch: int = 64, progress: Progress | None = None,
                 should_stop: Callable[[], bool] | None = None) -> VlbEstimate | None:
    """The bound of images x0 (B, ...), unbiased, with its standard error; None when `should_stop()` said so.

    The first `exact_first` terms (t = 0: the decoder L_0, the largest by far and 1/T likely to be drawn)
    and the last `exact_last` (t = T-1: x0 predicted from pure noise; on the cosine schedule, beta = 0.999,
    an unclipped latent's term there is ~150 nats) are computed exactly, the sum of the others from
    K = `samples` timesteps drawn from `proposal` (`proposal_weights`) as the mean of term / probability:
    `samples + exact_first + exact_last` network evaluations per image. "uniform" is the plain estimate, but its error is heavy-tailed (a few low-noise terms
    carry most of the sum and K draws often miss them all, so the sample error understates it)."""
    if samples < 2:
        raise ValueError(f"the estimate needs at least 2 timesteps per image for its error, not {samples}")
    c = VlbCoefficients.of(betas, variance)
    if not (exact_first >= 0 and exact_last >= 0 and exact_first + exact_last < c.T):
        raise ValueError(f"exact_first + exact_last must leave terms to sample among {c.T}, "
                         f"not {exact_first} + {exact_last}")
    q = proposal_weights(c, exact_first, proposal, exact_last)
    drawn = torch.stack([torch.multinomial(q, samples, replacement=True,
                                           generator=torch.Generator().manual_seed(seed * 7919 + i))
                         for i in range(len(x0))]) + exact_first
    exact = torch.cat([torch.arange(exact_first), torch.arange(c.T - exact_last, c.T)])
    timesteps = torch.cat([exact.expand(len(x0), -1), drawn], dim=1)
    terms = _evaluate(eps_fn, c, x0, timesteps, seed, clip, decoder, batch, progress, should_stop)
    if terms is None:
        return None
    weighted = terms[:, len(exact):] / q[drawn - exact_first]
    sums = terms[:, :len(exact)].sum(dim=1) + weighted.mean(dim=1)
    error = weighted.std(dim=1) / math.sqrt(samples)
    return VlbEstimate(prior_nats(x0.cpu(), c), sums, error, samples, x0[0].numel())


def exact_vlb(eps_fn: EpsFunction, betas: torch.Tensor, x0: torch.Tensor, seed: int = 0, variance: str = "posterior",
              clip: bool = True, decoder: str = "discrete", batch: int = 64) -> VlbEstimate:
    """The bound with every one of the T terms (T evaluations per image): what `estimate_vlb` estimates."""
    c = VlbCoefficients.of(betas, variance)
    timesteps = torch.arange(c.T).expand(len(x0), -1)
    terms = _evaluate(eps_fn, c, x0, timesteps, seed, clip, decoder, batch, None, None)
    return VlbEstimate(prior_nats(x0.cpu(), c), terms.sum(dim=1), torch.zeros(len(x0), dtype=torch.float64), c.T,
                       x0[0].numel())
