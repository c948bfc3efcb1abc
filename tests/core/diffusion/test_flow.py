"""Flow matching's math (core/diffusion/flow.py): the interpolant, and its samplers on velocity fields known exactly.

Two data distributions have a velocity field in closed form, so the samplers can be checked
against the true ODE solution rather than against themselves:

- one data point a: x_s = (1 - s) a + s eps, so v(x, s) = (x - a) / s and every path is a
  straight line to a (Euler is exact at any step count);
- Gaussian data N(mu, sd^2) per value: x_s ~ N((1 - s) mu, V(s)) with V(s) = (1 - s)^2 sd^2 + s^2,
  v(x, s) = E[eps - x0 | x_s = x] = (s - (1 - s) sd^2) / V(s) (x - (1 - s) mu) - mu, and the ODE
  carries the noise z = x_1 to x_s = (1 - s) mu + sqrt(V(s)) z, ending at mu + sd z.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from playground.core.diffusion.flow import FlowSchedule, FlowScheduler
from playground.core.diffusion.sampling import sample_steps
from playground.core.diffusion.schedulers import make_scheduler

K = 1000
MU, SD = 1.0, 0.5


def variance(s: float | torch.Tensor, sd: float = SD):
    return (1 - s) ** 2 * sd**2 + s**2


def gaussian_velocity(x: torch.Tensor, t: torch.Tensor, mu: float = MU, sd: float = SD) -> torch.Tensor:
    """The exact marginal velocity of the linear interpolant for data N(mu, sd^2), at time t (s = t / K)."""
    s = (t.to(torch.float64) / K).reshape(-1, *([1] * (x.ndim - 1)))
    v = (s - (1 - s) * sd**2) / variance(s, sd) * (x.double() - (1 - s) * mu) - mu
    return v.to(x.dtype)


def point_velocity(a: torch.Tensor):
    def velocity(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        s = (t.to(torch.float64) / K).reshape(-1, *([1] * (x.ndim - 1)))
        return ((x.double() - a.double()) / s).to(x.dtype)
    return velocity


def run(velocity, solver: str, steps: int, x_T: torch.Tensor, seed: int = 0) -> list:
    scheduler = make_scheduler(solver, FlowSchedule(K), steps)
    return list(sample_steps(velocity, scheduler, x_t=x_T, seed=seed, device="cpu"))


# --- the forward process -------------------------------------------------------------------------


@pytest.mark.parametrize("t", [0, 250, 500, 900, 1000])
def test_the_interpolant_has_the_marginals_of_the_straight_line(t):
    schedule, s = FlowSchedule(K), t / K
    g = torch.Generator().manual_seed(0)
    x0 = MU + SD * torch.randn(200_000, generator=g, dtype=torch.float64)
    eps = torch.randn(200_000, generator=g, dtype=torch.float64)
    x_s = schedule.add_noise(x0, eps, t)
    assert x_s.mean().item() == pytest.approx((1 - s) * MU, abs=0.01)
    assert x_s.var().item() == pytest.approx(variance(s), rel=0.02)
    # the regression target is the path's velocity, and one output gives back both ends of the path
    v = schedule.velocity_target(x0, eps)
    scheduler = FlowScheduler(schedule)
    torch.testing.assert_close(scheduler.predict_x0(x_s, v, t), x0)
    if t > 0:
        torch.testing.assert_close(scheduler.predict_eps(x_s, x0, t), eps)


def test_the_schedule_plots_as_the_variance_preserving_process_with_the_same_snr():
    schedule = FlowSchedule(K)
    abar = schedule.alphas_cumprod.double()
    s = torch.arange(K + 1, dtype=torch.float64) / K
    snr = (1 - s) ** 2 / s**2  # signal over noise variance of x_s = (1 - s) x0 + s eps; abar / (1 - abar) for VP
    inner = slice(1, K)  # the SNR is infinite at t = 0
    torch.testing.assert_close(abar[inner], (snr / (1 + snr))[inner], rtol=1e-6, atol=1e-7)  # float32
    assert abar[0] == 1 and abar[-1] == 0 and schedule.num_train_timesteps == K + 1


# --- the ODE on known velocity fields ----------------------------------------------------------------


@pytest.mark.parametrize("steps", [1, 3, 10])
def test_euler_is_exact_on_the_straight_paths_to_one_data_point(steps):
    g = torch.Generator().manual_seed(1)
    a, x_T = torch.randn(1, 4, 8, 8, generator=g), torch.randn(1, 4, 8, 8, generator=g)
    records = run(point_velocity(a), "euler", steps, x_T)
    for record in records:  # every step lands on the line from x_T to a
        s = max(record.t_prev, 0) / K
        torch.testing.assert_close(record.x_prev, (1 - s) * a + s * x_T, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(record.pred_x0, a, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(record.pred_noise, x_T, atol=1e-5, rtol=1e-5)  # the implied noise is the start


def gaussian_error(solver: str, steps: int) -> float:
    z = torch.randn(1, 1, 1, 512, generator=torch.Generator().manual_seed(2))
    final = run(gaussian_velocity, solver, steps, z)[-1].x_prev
    return (final - (MU + SD * z)).abs().max().item()


def test_the_ode_carries_the_noise_along_the_gaussian_flow_map():
    z = torch.randn(1, 1, 1, 512, generator=torch.Generator().manual_seed(3))
    for record in run(gaussian_velocity, "heun", 50, z)[:-1]:
        s = record.t_prev / K
        torch.testing.assert_close(record.x_prev, (1 - s) * MU + math.sqrt(variance(s)) * z, atol=5e-4, rtol=0)


def test_euler_converges_at_first_order_and_heun_at_second():
    euler = [gaussian_error("euler", n) for n in (10, 20, 40)]
    heun = [gaussian_error("heun", n) for n in (10, 20, 40)]
    for errors, order in ((euler, 1), (heun, 2)):
        rates = [math.log2(a / b) for a, b in zip(errors, errors[1:])]
        assert all(abs(rate - order) < 0.3 for rate in rates), (order, errors, rates)
    assert heun[0] < euler[-1]  # Heun-10 (19 evaluations) beats Euler-40
    assert heun[-1] < 3e-3  # measured 1.7e-3 (Euler-40: 0.06)


def test_heun_evaluates_the_model_twice_a_step_but_once_on_the_last():
    calls = []

    def velocity(x, t):
        calls.append(int(t[0]))
        return gaussian_velocity(x, t)

    run(velocity, "heun", 5, torch.randn(1, 1, 1, 4, generator=torch.Generator().manual_seed(0)))
    assert calls == [1000, 800, 800, 600, 600, 400, 400, 200, 200]


# --- the SDE sampler ---------------------------------------------------------------------------------


def test_the_sde_sampler_keeps_the_gaussian_marginals():
    z = torch.randn(1, 1, 1, 40_000, generator=torch.Generator().manual_seed(4))
    records = run(gaussian_velocity, "sde", 100, z, seed=5)
    assert sum(r.noise is not None for r in records) == 99  # the last step is the deterministic x0
    for record in records[24::25]:
        x, s = record.x_prev.double(), max(record.t_prev, 0) / K
        assert x.mean().item() == pytest.approx((1 - s) * MU, abs=0.02), s
        assert x.std().item() == pytest.approx(math.sqrt(variance(s)), rel=0.03), s
    # stochastic: not the ODE's sample of the same noise, yet the same distribution
    ode = run(gaussian_velocity, "euler", 100, z)[-1].x_prev
    assert (records[-1].x_prev - ode).abs().mean().item() > 0.1


def test_the_sde_noise_comes_from_the_seed():
    z = torch.randn(1, 1, 1, 64, generator=torch.Generator().manual_seed(0))
    a, b, c = (run(gaussian_velocity, "sde", 10, z, seed=s)[-1].x_prev for s in (7, 7, 8))
    assert torch.equal(a, b) and not torch.equal(a, c)


# --- against diffusers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [1, 4, 10])
def test_our_euler_steps_are_diffusers_flow_match_euler_steps(steps):
    diffusers = pytest.importorskip("diffusers")
    ours = make_scheduler("euler", FlowSchedule(K), steps)
    sigmas = (ours.timesteps.double() / K).tolist()  # ours run from s = 1; diffusers appends the final 0
    theirs = diffusers.FlowMatchEulerDiscreteScheduler(num_train_timesteps=K, shift=1.0)
    theirs.set_timesteps(sigmas=sigmas)
    np.testing.assert_allclose(theirs.sigmas.numpy(), np.append(sigmas, 0.0), rtol=0, atol=1e-7)
    g = torch.Generator().manual_seed(0)
    x_ours = x_theirs = torch.randn(2, 4, 8, 8, generator=g)
    for t_ours, t_theirs in zip(ours.timesteps, theirs.timesteps):
        assert float(t_theirs) == pytest.approx(float(t_ours), abs=1e-3)  # diffusers' timestep is sigma * K
        v = torch.randn(2, 4, 8, 8, generator=g)  # any model output: the update is what is compared
        x_ours = ours.step(v, t_ours, x_ours).prev_sample
        x_theirs = theirs.step(v, t_theirs, x_theirs).prev_sample
        torch.testing.assert_close(x_ours, x_theirs, rtol=1e-6, atol=1e-6)
