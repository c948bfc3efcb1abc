"""Image to image: strength as diffusers counts it, the start point, the seed's noise, and what strength keeps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gaussian_oracle import GaussianEpsOracle, GaussianFlowOracle, oracle_image
from latent_models import tiny_latent_model
from playground.core.data import to_uint8
from playground.core.diffusion.sampling import sample
from playground.core.img2img.img2img import (
    for_model, img2img, model_function, prepare, run_to_end, start_index, start_point, to_model_space,
)
from playground.core.text2img.sampling import GuidedSettings


def scheduler_of(model, settings):
    return for_model(settings, model).make_scheduler(model)


def diffusers_start_index(strength: float, num_steps: int) -> int:
    """StableDiffusionImg2ImgPipeline.get_timesteps (diffusers 0.42), scheduler order 1: t_start."""
    init_timestep = min(int(num_steps * strength), num_steps)
    return max(num_steps - init_timestep, 0)


@pytest.mark.parametrize("strength, steps", [(1.0, 50), (0.6, 50), (0.3, 10), (0.29, 100), (0.75, 4), (0.05, 20)])
def test_start_index_is_diffusers_rule(strength, steps):
    assert start_index(strength, steps) == diffusers_start_index(strength, steps)


@pytest.mark.parametrize("strength", [0.0, -0.1, 1.5, float("nan"), 0.01])
def test_strength_that_redoes_nothing_or_is_out_of_range_is_refused(strength):
    with pytest.raises(ValueError, match="strength"):
        start_index(strength, 50)  # 0.01 x 50 = 0.5: no step redone


def test_start_point_reports_t_noise_level_and_snr():
    model = GaussianEpsOracle(oracle_image(), 0.5)
    scheduler = scheduler_of(model, GuidedSettings(steps=50))
    start = start_point(scheduler, 0.5)
    assert (start.index, start.t, start.steps_run) == (25, 480, 25)
    alpha_bar = float(model.noise_schedule.alphas_cumprod[480])
    assert start.noise_level == pytest.approx((1 - alpha_bar) ** 0.5)
    assert start.snr == pytest.approx(alpha_bar / (1 - alpha_bar), rel=1e-5)
    assert "t = 480" in start.describe() and "25 of 50 steps" in start.describe()
    assert start_point(scheduler, 1.0).pure_noise and start_point(scheduler, 1.0).snr == 0.0

    flow = GaussianFlowOracle(oracle_image(), 0.5)
    flow_start = start_point(scheduler_of(flow, GuidedSettings(sampler="euler", steps=10)), 0.3)
    assert (flow_start.t, flow_start.noise_level) == (300, pytest.approx(0.3))
    assert flow_start.snr == pytest.approx(0.7 ** 2 / 0.3 ** 2)


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_strength_one_is_plain_sampling_from_the_same_seed(sampler):
    model = tiny_latent_model("ldm").eval()
    settings = GuidedSettings(prompt="a red circle", guidance_scale=2.0, sampler=sampler, steps=8, seed=5)
    image = np.zeros((1, 32, 32, 3), np.uint8)
    run = prepare(model, to_model_space(model, image), settings, 1.0)
    plain = sample(model_function(model, settings), scheduler_of(model, settings), n=1, seed=5)
    assert torch.equal(run_to_end(run), plain)


def test_strength_one_is_plain_sampling_for_a_flow():
    model = tiny_latent_model("sit").eval()
    settings = GuidedSettings(sampler="heun", steps=5, seed=3)
    run = prepare(model, to_model_space(model, np.zeros((1, 32, 32, 3), np.uint8)), settings, 1.0)
    plain = sample(model_function(model, settings), scheduler_of(model, settings), n=1, seed=3)
    assert torch.equal(run_to_end(run), plain)


def test_start_noise_is_the_seeds_first_draw_and_the_run_is_reproducible():
    model = GaussianEpsOracle(oracle_image(), 0.5)
    image = to_uint8(oracle_image(1)[None] * 2)
    settings = GuidedSettings(steps=20, seed=7)
    run = prepare(model, to_model_space(model, image), settings, 0.5)
    x0 = to_model_space(model, image)
    eps = torch.randn((3, 8, 8), generator=torch.Generator().manual_seed(7))[None]
    assert torch.equal(run.x_start, run.scheduler.add_noise(x0, eps, run.start.t))
    assert np.array_equal(img2img(model, image, settings, 0.5).output, img2img(model, image, settings, 0.5).output)
    assert not np.array_equal(img2img(model, image, settings, 0.5).output,
                              img2img(model, image, settings.replace(seed=8), 0.5).output)


@pytest.mark.parametrize("oracle, sampler", [(GaussianEpsOracle, "ddim"), (GaussianEpsOracle, "ddpm"),
                                             (GaussianFlowOracle, "heun")])
def test_small_strength_keeps_the_image_and_strength_one_forgets_it(oracle, sampler):
    """The data are N(mu, 0.3^2); the input lies far from mu. A small strength keeps it, a large one draws
    a data sample near mu instead: the distance to the input grows with strength."""
    mu = oracle_image(0)
    model = oracle(mu, 0.3)
    image = to_uint8((-mu)[None] * 1.5)          # the opposite of what the model draws
    steps = 20
    distance = {}
    for strength in (0.1, 0.5, 1.0):
        out = img2img(model, image, GuidedSettings(sampler=sampler, steps=steps, seed=1), strength).output
        distance[strength] = float(np.abs(out.astype(float) - image.astype(float)).mean()) / 255
    far = float(np.abs(to_uint8(mu[None]).astype(float) - image.astype(float)).mean()) / 255
    assert distance[0.1] < 0.2 * far
    assert distance[0.1] < distance[0.5] < distance[1.0]
    assert distance[1.0] > 0.7 * far


@pytest.mark.parametrize("family", ["ldm", "dit", "sit"])
def test_latent_img2img_runs_in_the_latent_and_shows_pixels(family):
    model = tiny_latent_model(family).eval()
    settings = GuidedSettings(sampler="euler" if family == "sit" else "ddim", steps=6, prompt="a blue square")
    result = img2img(model, np.full((1, 32, 32, 3), 128, np.uint8), settings, 0.5)
    assert result.output.shape == result.noised.shape == (1, 32, 32, 3)
    assert result.output.dtype == np.uint8
    assert result.start.index == 3 and result.start.flow == (family == "sit")


def test_bad_settings_are_one_line_errors():
    model = tiny_latent_model("sit").eval()
    with pytest.raises(ValueError, match="ddim sampler does not fit a flow"):
        for_model(GuidedSettings(sampler="ddim"), model)
    with pytest.raises(ValueError, match="steps"):
        for_model(GuidedSettings(sampler="euler", steps=0), model)
    with pytest.raises(ValueError, match="no prompt"):
        for_model(GuidedSettings(prompt="a red circle"), GaussianEpsOracle(oracle_image(), 0.5))
