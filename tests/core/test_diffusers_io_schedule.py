"""A diffusers scheduler config drives the project's DDPM/DDIM exactly as diffusers' schedulers step.

No network: a fixed random "model output" is stepped through every timestep by both, for
each spacing, steps offset, final alpha, clipping, variance and prediction type.
"""

from __future__ import annotations

import inspect

import pytest
import torch

pytest.importorskip("diffusers")

from playground.core.diffusers_io.schedule import ScheduleConfigError, schedule_from_config  # noqa: E402
from playground.core.diffusion.schedulers import make_scheduler  # noqa: E402

CASES = [
    dict(beta_schedule="linear", timestep_spacing="leading", steps_offset=0),
    dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, steps_offset=1, set_alpha_to_one=False,
         clip_sample=False),
    dict(beta_schedule="squaredcos_cap_v2", timestep_spacing="trailing", clip_sample_range=1.5),
    dict(beta_schedule="linear", timestep_spacing="linspace", prediction_type="v_prediction"),
    dict(beta_schedule="linear", timestep_spacing="trailing", prediction_type="sample", variance_type="fixed_large"),
]


def to_eps(kind: str, output: torch.Tensor, x: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    if kind == "epsilon":
        return output
    if kind == "v_prediction":
        return ab.sqrt() * output + (1 - ab).sqrt() * x
    return (x - ab.sqrt() * output) / (1 - ab).sqrt()


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("steps", [7, 10])
def test_steps_equal_diffusers_scheduler(case, sampler, steps):
    from diffusers import DDIMScheduler, DDPMScheduler

    config = {"num_train_timesteps": 1000, **case}
    kind = config.get("prediction_type", "epsilon")
    theirs_class = DDIMScheduler if sampler == "ddim" else DDPMScheduler
    allowed = set(inspect.signature(theirs_class.__init__).parameters)
    theirs = theirs_class(**{k: v for k, v in config.items() if k in allowed})
    theirs.set_timesteps(steps)
    schedule = schedule_from_config(config)
    eta = 0.5 if sampler == "ddim" else 0.0
    ours = make_scheduler(sampler, schedule, steps, eta=eta)
    assert ours.timesteps.tolist() == theirs.timesteps.tolist()
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 4)
    x_ours = x.clone()
    for t in theirs.timesteps.tolist():
        output = torch.randn_like(x)
        noise = torch.randn_like(x)
        kwargs = {"eta": eta, "variance_noise": noise} if sampler == "ddim" else {}
        if sampler == "ddpm":
            step = theirs.step(output, t, x, generator=torch.Generator().manual_seed(t))
            z = torch.randn(x.shape, generator=torch.Generator().manual_seed(t)) if t > 0 else None
        else:
            step = theirs.step(output, t, x, **kwargs)
            z = noise
        eps = to_eps(kind, output, x_ours, schedule.alphas_cumprod[t])
        mine = ours.step(eps, t, x_ours, noise=z)
        torch.testing.assert_close(mine.prev_sample, step.prev_sample, atol=2e-5, rtol=1e-4)
        x, x_ours = step.prev_sample, mine.prev_sample


def test_steps_offset_limits_the_step_count():
    schedule = schedule_from_config({"num_train_timesteps": 10, "steps_offset": 1})
    make_scheduler("ddim", schedule, 9)
    with pytest.raises(ValueError, match="steps must be a whole number from 1 to 9"):
        make_scheduler("ddim", schedule, 10)


def test_unknown_setting_is_named():
    with pytest.raises(ScheduleConfigError, match="use_karras_sigmas"):
        schedule_from_config({"use_karras_sigmas": True})
    with pytest.raises(ScheduleConfigError, match="'mystery'"):
        schedule_from_config({"mystery": 1})
