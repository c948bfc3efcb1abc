"""The DDPM's variational bound: the sampled estimate against the exact sum, and each term against closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from gaussian_oracle import GaussianEpsOracle, oracle_image
from playground.core.diffusion.likelihood import (
    VlbCoefficients, estimate_vlb, exact_vlb, prior_nats, term_nats, term_noise,
)
from playground.core.diffusion.schedules import NoiseSchedule
from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel
from playground.core.tokens.likelihood import discretised_gaussian_bits


def tiny_ddpm() -> DiffusionModel:
    """An untrained tiny DDPM (T = 100) whose zero-initialised output layer gets random weights, so it predicts."""
    torch.manual_seed(0)
    model = DiffusionModel(DDPMConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(),
                                      num_train_timesteps=100))
    torch.nn.init.normal_(model.out.weight, std=0.05)
    return model.eval()


@pytest.mark.parametrize("exact_first, exact_last", [(1, 1), (4, 0)])
def test_estimate_agrees_with_the_exact_sum_within_its_standard_error(exact_first, exact_last):
    model = tiny_ddpm()
    g = torch.Generator().manual_seed(3)
    x0 = (torch.rand((2, 3, 32, 32), generator=g) * 2 - 1)
    betas = model.noise_schedule.betas
    exact = exact_vlb(model, betas, x0)
    estimate = estimate_vlb(model, betas, x0, samples=24, exact_first=exact_first, exact_last=exact_last)
    assert exact.samples == 100 and estimate.samples == 24
    assert torch.equal(exact.prior, estimate.prior)
    error = estimate.standard_error
    assert (error > 0).all()
    assert ((estimate.terms - exact.terms).abs() <= 4 * error).all(), (estimate.terms, exact.terms, error)
    # the batch mean and its error in bits per dimension
    value, value_error = estimate.mean_bits_per_dim()
    exact_value, _ = exact.mean_bits_per_dim()
    assert abs(value - exact_value) <= 4 * value_error
    assert value > 0


def test_the_estimate_is_reproducible_and_stops_on_request():
    model = tiny_ddpm()
    x0 = torch.zeros((1, 3, 32, 32))
    a = estimate_vlb(model, model.noise_schedule.betas, x0, samples=4, seed=1)
    b = estimate_vlb(model, model.noise_schedule.betas, x0, samples=4, seed=1)
    assert torch.equal(a.total, b.total)
    assert estimate_vlb(model, model.noise_schedule.betas, x0, samples=4, should_stop=lambda: True) is None
    with pytest.raises(ValueError):
        estimate_vlb(model, model.noise_schedule.betas, x0, samples=1)
    with pytest.raises(ValueError):
        estimate_vlb(model, model.noise_schedule.betas, x0, exact_first=60, exact_last=40)


def test_prior_term_is_the_closed_form_kl():
    schedule = NoiseSchedule.from_name("linear", 1000)
    c = VlbCoefficients.of(schedule.betas)
    x0 = torch.full((1, 3, 4, 4), 0.5)
    ab = c.alphas_cumprod[-1]
    expected = 48 * 0.5 * (ab * 0.25 + (1 - ab) - 1 - math.log(1 - ab))
    assert float(prior_nats(x0, c)) == pytest.approx(float(expected), rel=1e-9)


def test_decoder_term_is_the_discretised_gaussian_of_the_models_std():
    mu = oracle_image(0, 4)
    schedule = NoiseSchedule.from_name("cosine", 100)
    model = GaussianEpsOracle(mu, 0.3, schedule)
    c = VlbCoefficients.of(schedule.betas)
    x0 = ((mu[None] + 1) * 127.5).round() / 127.5 - 1
    noise = term_noise(0, 0, 0, tuple(mu.shape))[None]
    nats = term_nats(model, c, x0, torch.tensor([0]), noise)
    x1 = c.alphas_cumprod[0].sqrt() * x0 + (1 - c.alphas_cumprod[0]).sqrt() * noise
    x0_hat = ((x1 - (1 - c.alphas_cumprod[0]).sqrt() * model(x1.float(), torch.tensor([0]))) /
              c.alphas_cumprod[0].sqrt()).clamp(-1, 1)  # at t = 0 the model's mean is its x0
    expected = discretised_gaussian_bits(x0, x0_hat, float(c.posterior_variance[1].sqrt())) * math.log(2)
    assert float(nats) == pytest.approx(float(expected), rel=1e-4)


def test_kl_terms_of_the_exact_denoiser_match_the_closed_form():
    """For Gaussian data N(mu, s^2) and its exact denoiser, E KL_t = d c0^2 Var(x0 | x_t) / (2 beta-tilde_t):
    the means differ by c0 (x0 - E[x0 | x_t]) and the variances are equal."""
    mu, s = oracle_image(1, 4), 0.3
    schedule = NoiseSchedule.from_name("cosine", 1000)
    model = GaussianEpsOracle(mu, s, schedule)
    c = VlbCoefficients.of(schedule.betas)
    n = 256
    x0 = mu + s * torch.randn((n,) + tuple(mu.shape), generator=torch.Generator().manual_seed(2))
    d = mu.numel()
    for t in (1, 10, 200, 700):
        noise = torch.stack([term_noise(5, i, t, tuple(mu.shape)) for i in range(n)])
        kl = term_nats(model, c, x0, torch.full((n,), t), noise, clip=False, decoder="continuous")
        ab = c.alphas_cumprod[t]
        var_x0 = s ** 2 * (1 - ab) / (ab * s ** 2 + 1 - ab)
        expected = d * c.x0_coef[t] ** 2 * var_x0 / (2 * c.posterior_variance[t])
        assert float(kl.mean()) == pytest.approx(float(expected), rel=0.1), t
