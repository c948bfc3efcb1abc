"""DDIM inversion: one step against diffusers' DDIMInverseScheduler, round trips on exact and tiny models."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gaussian_oracle import GaussianEpsOracle, GaussianFlowOracle, oracle_image
from latent_models import tiny_latent_model
from playground.core.data import to_uint8
from playground.core.img2img.inversion import (
    edit, invert, invert_steps, inversion_scheduler, pixel_error, sample_from_noise,
)
from playground.core.text2img.sampling import GuidedSettings


def test_inversion_matches_diffusers_ddim_inverse_scheduler():
    from diffusers import DDIMInverseScheduler

    model = GaussianEpsOracle(oracle_image(), 0.5)
    ours = inversion_scheduler(model, GuidedSettings(steps=10))
    theirs = DDIMInverseScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", clip_sample=False,
                                  set_alpha_to_one=True, steps_offset=0)
    theirs.set_timesteps(10)
    assert torch.allclose(theirs.alphas_cumprod, model.noise_schedule.alphas_cumprod, atol=1e-6)
    assert theirs.timesteps.tolist() == ours.timesteps.flip(0).tolist()

    x = torch.randn((1, 3, 8, 8), generator=torch.Generator().manual_seed(0))
    steps = list(invert_steps(model, ours, x))
    expected = x
    for t in theirs.timesteps.tolist():  # the whole backward run, step by step
        eps = model(expected, torch.tensor([t]))
        expected = theirs.step(eps, t, expected).prev_sample
        step = steps[theirs.timesteps.tolist().index(t)]
        assert step.t == t
        torch.testing.assert_close(step.x, expected, rtol=1e-5, atol=1e-5)


def test_round_trip_of_the_exact_model_is_close_and_improves_with_steps():
    mu = oracle_image(0)
    model = GaussianEpsOracle(mu, 0.5)
    image = to_uint8((mu + 0.4 * oracle_image(2))[None])[0]
    errors = {steps: invert(model, image, GuidedSettings(steps=steps)).mse for steps in (10, 100)}
    assert errors[100] < errors[10]
    assert errors[100] < 1e-4  # about a tenth of a uint8 level


def test_flow_inversion_round_trip():
    mu = oracle_image(0)
    model = GaussianFlowOracle(mu, 0.5)
    image = to_uint8((mu + 0.4 * oracle_image(2))[None])[0]
    heun = invert(model, image, GuidedSettings(sampler="heun", steps=20))
    euler = invert(model, image, GuidedSettings(sampler="euler", steps=20))
    assert heun.psnr > 40 and heun.mse < euler.mse
    assert heun.t == 1000 and heun.noise.shape == (1, 3, 8, 8)


def test_inverted_noise_of_a_data_sample_looks_like_noise():
    """Invert a sample the exact model drew: the noise found is the noise it was drawn from."""
    mu = oracle_image(0)
    model = GaussianEpsOracle(mu, 0.5)
    scheduler = inversion_scheduler(model, GuidedSettings(steps=100))
    x_T = torch.randn((1, 3, 8, 8), generator=torch.Generator().manual_seed(3))
    drawn = None
    for drawn in sample_from_noise(model, scheduler, x_T):
        pass
    found = list(invert_steps(model, scheduler, drawn.x_prev))[-1].x
    assert float((found - x_T).abs().max()) < 0.1  # x_T's values are N(0, 1)


@pytest.mark.parametrize("family", ["ldm", "dit", "sit"])
def test_inversion_on_tiny_latent_models_is_finite(family):
    model = tiny_latent_model(family).eval()
    settings = GuidedSettings(sampler="heun" if family == "sit" else "ddim", steps=5, prompt="a red circle",
                              guidance_scale=1.0)
    image = np.full((32, 32, 3), 90, np.uint8)
    result = invert(model, image, settings)
    assert result.noise.shape == (1, 4, 8, 8) and result.noise.dtype == torch.float32
    assert torch.isfinite(result.noise).all() and math.isfinite(result.mse)
    assert result.autoencoder_psnr is not None and result.reconstruction.shape == (1, 32, 32, 3)
    # an edit at the inversion's own prompt and w = 1 is the round trip itself
    assert np.array_equal(edit(model, result.noise, settings), result.reconstruction)
    other = edit(model, result.noise, settings.replace(prompt="a green square", guidance_scale=3.0))
    assert other.shape == (1, 32, 32, 3)


def test_stochastic_samplers_cannot_be_inverted():
    model = GaussianEpsOracle(oracle_image(), 0.5)
    with pytest.raises(ValueError, match="deterministic"):
        inversion_scheduler(model, GuidedSettings(sampler="ddpm"))
    with pytest.raises(ValueError, match="deterministic"):
        inversion_scheduler(model, GuidedSettings(eta=0.5))
    with pytest.raises(ValueError, match="deterministic"):
        inversion_scheduler(GaussianFlowOracle(oracle_image(), 0.5), GuidedSettings(sampler="sde"))


def test_pixel_error():
    a = np.zeros((1, 4, 4, 3), np.uint8)
    assert pixel_error(a, a) == (0.0, math.inf)
    mse, psnr = pixel_error(a, a + 255)
    assert (mse, psnr) == (1.0, 0.0)


# --- on the shipped checkpoints (skipped where one is missing) ---------------------------------------

SHIPPED_RUNS = {"sit": ("heun", 10, 40.0), "ldm": ("ddim", 20, 32.0), "text2img": ("ddim", 20, 28.0)}


@pytest.mark.parametrize("family", list(SHIPPED_RUNS))
def test_shipped_model_inverts_and_edits_one_attribute_keeping_the_rest(family):
    """Invert gallery shapes under their captions, then sample the noise back with the colour changed
    in the prompt: the round trip is close (measured: sit Heun-10 49 dB, at the autoencoder's own 49;
    ldm DDIM-20 41; text2img DDIM-20 36), and the classifier reads the new colour, the old shape
    and position (6 of 6 for every model at w = 1 and 3)."""
    from playground.core.assets import shipped_for
    from playground.core.checkpoints import load_checkpoint
    from playground.core.data import gallery_images, shapes
    from playground.core.evaluation.judge import classify
    from playground.core.img2img.img2img import run_settings

    if shipped_for(family) is None or shipped_for("classifier") is None:
        pytest.skip(f"no shipped {family} or classifier checkpoint")
    loaded = load_checkpoint(shipped_for(family).path)
    classifier = load_checkpoint(shipped_for("classifier").path).model.eval()
    sampler, steps, min_psnr = SHIPPED_RUNS[family]
    colors = shapes.ATTRIBUTE_VALUES["color"]
    data = gallery_images("shapes", 8)
    for image, caption, labels in list(zip(data.images, data.captions, data.labels))[:2]:
        settings = run_settings(loaded, sampler=sampler, steps=steps, prompt=caption, guidance_scale=1.0)
        result = invert(loaded.model, image, settings)
        assert result.psnr > min_psnr, caption
        new_color = (labels[1] + 2) % len(colors)
        prompt = caption.replace(colors[labels[1]], colors[new_color])
        edited = edit(loaded.model, result.noise, settings.replace(prompt=prompt, guidance_scale=3.0))
        read = classify(classifier, edited)[0][0]
        assert (read[0], read[1], read[3]) == (labels[0], new_color, labels[3]), (caption, prompt)
