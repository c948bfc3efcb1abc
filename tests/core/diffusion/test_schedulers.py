"""Schedulers against diffusers' DDPMScheduler / DDIMScheduler, step by step, to float32 precision.

diffusers defaults to clip_sample=True; ours does not clip, so the reference is built
with clipping off (and on, for the clip flag).
"""

from __future__ import annotations

import pytest
import torch

diffusers = pytest.importorskip("diffusers")

from playground.core.diffusion.schedulers import (  # noqa: E402
    DDIMScheduler, DDPMScheduler, inference_timesteps, make_scheduler,
)
from playground.core.diffusion.flow import FlowSchedule  # noqa: E402
from playground.core.diffusion.schedules import NoiseSchedule  # noqa: E402

DIFFUSERS_SCHEDULE = {"linear": "linear", "cosine": "squaredcos_cap_v2"}
DIFFUSERS_VARIANCE = {"posterior": "fixed_small", "beta": "fixed_large"}
SHAPE = (2, 3, 8, 8)


@pytest.fixture(scope="module", params=["linear", "cosine"])
def schedule_name(request: pytest.FixtureRequest) -> str:
    return request.param


def _tensors(t: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_t, model output, noise z) for the step at t, the same for both schedulers."""
    g = torch.Generator().manual_seed(1000 + t)
    return torch.randn(SHAPE, generator=g), torch.randn(SHAPE, generator=g), torch.randn(SHAPE, generator=g)


def _probe_timesteps(timesteps: torch.Tensor) -> list[int]:
    """Every timestep for short runs; the ends and a spread of middles for long ones."""
    ts = timesteps.tolist()
    return ts if len(ts) <= 60 else ts[:5] + ts[5:-5:47] + ts[-5:]


def test_schedule_matches_diffusers(schedule_name: str) -> None:
    ours = NoiseSchedule.from_name(schedule_name)
    ref = diffusers.DDPMScheduler(beta_schedule=DIFFUSERS_SCHEDULE[schedule_name])
    torch.testing.assert_close(ours.betas, ref.betas, rtol=0, atol=0)
    torch.testing.assert_close(ours.alphas_cumprod, ref.alphas_cumprod, rtol=0, atol=0)


@pytest.mark.parametrize("steps", [1000, 250, 50, 37, 1])
def test_timesteps_match_diffusers(steps: int) -> None:
    schedule = NoiseSchedule.from_name("linear")
    for ours, ref in [(DDPMScheduler(schedule), diffusers.DDPMScheduler()),
                      (DDIMScheduler(schedule), diffusers.DDIMScheduler())]:
        ours.set_timesteps(steps)
        ref.set_timesteps(steps)
        assert ours.timesteps.dtype == torch.int64
        assert ours.timesteps.tolist() == ref.timesteps.tolist()
        assert len(ours.timesteps) == steps


@pytest.mark.parametrize("spacing", ["leading", "trailing", "linspace"])
@pytest.mark.parametrize("steps", [1000, 100, 30])
def test_spacings_match_diffusers(spacing: str, steps: int) -> None:
    ref = diffusers.DDPMScheduler(timestep_spacing=spacing)
    ref.set_timesteps(steps)
    assert inference_timesteps(1000, steps, spacing).tolist() == ref.timesteps.tolist()


def test_default_timesteps_are_all_of_them() -> None:
    scheduler = DDPMScheduler(NoiseSchedule.from_name("cosine"))
    assert scheduler.timesteps.tolist() == list(range(999, -1, -1))


@pytest.mark.parametrize("steps", [1000, 100, 37])
@pytest.mark.parametrize("variance", ["posterior", "beta"])
def test_ddpm_step_matches_diffusers(schedule_name: str, variance: str, steps: int) -> None:
    ours = DDPMScheduler(NoiseSchedule.from_name(schedule_name), variance=variance)
    ref = diffusers.DDPMScheduler(beta_schedule=DIFFUSERS_SCHEDULE[schedule_name],
                                  variance_type=DIFFUSERS_VARIANCE[variance], clip_sample=False)
    ours.set_timesteps(steps)
    ref.set_timesteps(steps)
    for t in _probe_timesteps(ours.timesteps):
        x_t, eps, _ = _tensors(t)
        # diffusers' DDPM step draws its own noise: hand both the same generator state
        expected = ref.step(eps, t, x_t, generator=torch.Generator().manual_seed(t))
        z = torch.randn(SHAPE, generator=torch.Generator().manual_seed(t))
        got = ours.step(eps, t, x_t, noise=z)
        torch.testing.assert_close(got.prev_sample, expected.prev_sample)
        torch.testing.assert_close(got.pred_original_sample, expected.pred_original_sample)
        assert (got.noise is None) == (t == 0)
        # with the scheduler's own draw from an equal generator, the same step again
        again = ours.step(eps, t, x_t, generator=torch.Generator().manual_seed(t))
        torch.testing.assert_close(again.prev_sample, expected.prev_sample)


@pytest.mark.parametrize("steps", [1000, 50, 37, 10])
@pytest.mark.parametrize("eta", [0.0, 0.3, 1.0])
def test_ddim_step_matches_diffusers(schedule_name: str, steps: int, eta: float) -> None:
    ours = DDIMScheduler(NoiseSchedule.from_name(schedule_name), eta=eta)
    ref = diffusers.DDIMScheduler(beta_schedule=DIFFUSERS_SCHEDULE[schedule_name], clip_sample=False)
    ours.set_timesteps(steps)
    ref.set_timesteps(steps)
    for t in _probe_timesteps(ours.timesteps):
        x_t, eps, z = _tensors(t)
        expected = ref.step(eps, t, x_t, eta=eta, variance_noise=z if eta > 0 else None)
        got = ours.step(eps, t, x_t, noise=z)
        torch.testing.assert_close(got.prev_sample, expected.prev_sample)
        torch.testing.assert_close(got.pred_original_sample, expected.pred_original_sample)
        if eta == 0:
            assert got.noise is None and got.std == 0.0


@pytest.mark.parametrize("final_alpha_one, spacing", [(False, "leading"), (True, "trailing"), (False, "trailing")])
def test_ddim_options_match_diffusers(final_alpha_one: bool, spacing: str) -> None:
    ours = DDIMScheduler(NoiseSchedule.from_name("cosine"), eta=0.5, final_alpha_one=final_alpha_one, spacing=spacing)
    ref = diffusers.DDIMScheduler(beta_schedule="squaredcos_cap_v2", clip_sample=False,
                                  set_alpha_to_one=final_alpha_one, timestep_spacing=spacing)
    ours.set_timesteps(20)
    ref.set_timesteps(20)
    assert ours.timesteps.tolist() == ref.timesteps.tolist()
    for t in ours.timesteps.tolist():
        x_t, eps, z = _tensors(t)
        expected = ref.step(eps, t, x_t, eta=0.5, variance_noise=z)
        got = ours.step(eps, t, x_t, noise=z)
        torch.testing.assert_close(got.prev_sample, expected.prev_sample)
        torch.testing.assert_close(got.pred_original_sample, expected.pred_original_sample)


@pytest.mark.parametrize("kind", ["ddpm", "ddim"])
def test_clip_flag_matches_diffusers_clip_sample(kind: str) -> None:
    schedule = NoiseSchedule.from_name("cosine")
    if kind == "ddpm":
        ours, ref = DDPMScheduler(schedule, clip_x0=True), diffusers.DDPMScheduler(beta_schedule="squaredcos_cap_v2")
    else:
        ours, ref = DDIMScheduler(schedule, eta=0.5, clip_x0=True), diffusers.DDIMScheduler(beta_schedule="squaredcos_cap_v2")
    ours.set_timesteps(20)
    ref.set_timesteps(20)
    for t in ours.timesteps.tolist():
        x_t, eps, z = _tensors(t)
        if kind == "ddpm":
            expected = ref.step(eps, t, x_t, generator=torch.Generator().manual_seed(t))
            got = ours.step(eps, t, x_t, generator=torch.Generator().manual_seed(t))
        else:
            expected = ref.step(eps, t, x_t, eta=0.5, variance_noise=z)
            got = ours.step(eps, t, x_t, noise=z)
        assert got.pred_original_sample.abs().max() <= 1.0
        torch.testing.assert_close(got.prev_sample, expected.prev_sample)
        torch.testing.assert_close(got.pred_original_sample, expected.pred_original_sample)


def test_clipped_model_output_matches_diffusers() -> None:
    """The eps that the clipped x0 implies drives the step (diffusers' use_clipped_model_output)."""
    schedule = NoiseSchedule.from_name("cosine")
    ours = DDIMScheduler(schedule, eta=0.5, clip_x0=True, use_clipped_model_output=True)
    ref = diffusers.DDIMScheduler(beta_schedule="squaredcos_cap_v2")
    ours.set_timesteps(20)
    ref.set_timesteps(20)
    differs = 0
    for t in ours.timesteps.tolist():
        x_t, eps, z = _tensors(t)
        x_t = 3 * x_t  # far outside [-1, 1], so x0 clips and the two kinds of eps differ
        expected = ref.step(eps, t, x_t, eta=0.5, variance_noise=z, use_clipped_model_output=True)
        got = ours.step(eps, t, x_t, noise=z)
        torch.testing.assert_close(got.prev_sample, expected.prev_sample)
        plain = ref.step(eps, t, x_t, eta=0.5, variance_noise=z).prev_sample
        differs += not torch.allclose(got.prev_sample, plain)
    assert differs > 10


def test_add_noise_matches_diffusers(schedule_name: str) -> None:
    ours = DDIMScheduler(NoiseSchedule.from_name(schedule_name))
    ref = diffusers.DDPMScheduler(beta_schedule=DIFFUSERS_SCHEDULE[schedule_name])
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(6, 3, 8, 8, generator=g), torch.randn(6, 3, 8, 8, generator=g)
    t = torch.tensor([0, 1, 10, 500, 998, 999])
    torch.testing.assert_close(ours.add_noise(x0, noise, t), ref.add_noise(x0, noise, t))
    for one_t in (0, 250, 999):  # one timestep for the whole batch, as an int or a 0-d tensor
        expected = ref.add_noise(x0, noise, torch.full((6,), one_t))
        torch.testing.assert_close(ours.add_noise(x0, noise, one_t), expected)
        torch.testing.assert_close(ours.add_noise(x0, noise, torch.tensor(one_t)), expected)


@pytest.mark.parametrize("t", [0, 50, 300, 700, 999])
def test_forward_process_statistics_match_the_schedule(schedule_name: str, t: int) -> None:
    """Over many draws, x_t given x0 has mean sqrt(alpha-bar_t) x0 and variance 1 - alpha-bar_t."""
    scheduler = DDPMScheduler(NoiseSchedule.from_name(schedule_name))
    alpha_bar = float(scheduler.alphas_cumprod[t])
    draws = 20_000
    x0 = torch.linspace(-1, 1, 16).reshape(1, 1, 4, 4).expand(draws, 1, 4, 4)
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(t))
    x_t = scheduler.add_noise(x0, noise, torch.full((draws,), t)).double()
    std_err = (1 - alpha_bar) ** 0.5 / draws ** 0.5
    torch.testing.assert_close(x_t.mean(0), alpha_bar ** 0.5 * x0[0].double(), rtol=0, atol=5 * std_err + 1e-7)
    var = x_t.var(0)
    torch.testing.assert_close(var, torch.full_like(var, 1 - alpha_bar), rtol=0.05, atol=1e-9)


def test_predict_x0_inverts_add_noise() -> None:
    scheduler = DDIMScheduler(NoiseSchedule.from_name("linear"))
    g = torch.Generator().manual_seed(3)
    x0, eps = torch.rand(4, 3, 8, 8, generator=g) * 2 - 1, torch.randn(4, 3, 8, 8, generator=g)
    t = torch.tensor([0, 100, 400, 800])
    x_t = scheduler.add_noise(x0, eps, t)
    torch.testing.assert_close(scheduler.predict_x0(x_t, eps, t), x0, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(scheduler.predict_eps(x_t, x0, t), eps, rtol=1e-4, atol=1e-4)
    # the same function a step uses: a step's predicted x0 is predict_x0 at its t
    scheduler.set_timesteps(10)
    step = scheduler.step(eps, 900, x_t)
    torch.testing.assert_close(step.pred_original_sample, scheduler.predict_x0(x_t, eps, 900))


def test_ddim_is_deterministic_at_eta_zero() -> None:
    scheduler = DDIMScheduler(NoiseSchedule.from_name("cosine"), eta=0.0)
    scheduler.set_timesteps(25)
    x_t, eps, _ = _tensors(0)
    assert not any(scheduler.draws_noise(t) for t in scheduler.timesteps)
    a = scheduler.step(eps, 480, x_t, generator=torch.Generator().manual_seed(1))
    b = scheduler.step(eps, 480, x_t, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a.prev_sample, b.prev_sample) and a.noise is None


def test_eta_setter_recomputes_the_noise() -> None:
    scheduler = DDIMScheduler(NoiseSchedule.from_name("linear"))
    scheduler.set_timesteps(20)
    assert scheduler.noise_std(500) == 0.0
    scheduler.eta = 1.0
    assert scheduler.noise_std(500) > 0.0 and len(scheduler.timesteps) == 20


def test_bad_settings_are_refused() -> None:
    schedule = NoiseSchedule.from_name("linear")
    with pytest.raises(ValueError, match="between 1 and 1000"):
        DDIMScheduler(schedule).set_timesteps(1001)
    with pytest.raises(ValueError, match="eta"):
        DDIMScheduler(schedule, eta=1.5)
    with pytest.raises(ValueError, match="variance"):
        DDPMScheduler(schedule, variance="learned")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not one of"):
        make_scheduler("ddim", schedule, 10).step(torch.zeros(SHAPE), 5, torch.zeros(SHAPE))
    with pytest.raises(ValueError, match="eta is a DDIM setting"):
        make_scheduler("ddpm", schedule, eta=0.5)
    with pytest.raises(ValueError, match="unknown sampler"):
        make_scheduler("lms", schedule)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="the euler sampler does not fit a model trained on a DDPM noise schedule"):
        make_scheduler("euler", schedule)
    with pytest.raises(ValueError, match="the ddim sampler does not fit a flow-matching model"):
        make_scheduler("ddim", FlowSchedule(), 10)


def test_make_scheduler_defaults() -> None:
    schedule = NoiseSchedule.from_name("cosine")
    assert len(make_scheduler("ddpm", schedule).timesteps) == 1000
    ddim = make_scheduler("ddim", schedule, eta=0.5)
    assert isinstance(ddim, DDIMScheduler) and len(ddim.timesteps) == 50 and ddim.eta == 0.5
