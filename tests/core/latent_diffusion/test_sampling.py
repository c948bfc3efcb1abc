"""Sampling the latent denoisers (ldm, dit, sit) through the guided-sampling core, on tiny models.

The latent path round trip uses an ORACLE: a model that answers with the true noise (or
velocity) of one known clean latent, so every sampler must land on that latent, and the
decoded image must be the decoded clean latent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from latent_models import tiny_latent_model
from playground.core.checkpoints import CheckpointMeta, LoadedModel
from playground.core.data.shapes import PromptError
from playground.core.diffusion.sampling import initial_noise
from playground.core.latent_diffusion import FALLBACK_GUIDANCE
from playground.core.diffusion.init_noise import load_init_noise, sample_count
from playground.core.latent_diffusion.sampling import default_settings, default_steps
from playground.core.text2img.denoiser import GuidanceModels, make_denoiser
from playground.core.text2img.sampling import (
    GuidedSettings, decompose, generate, grid_steps, guided_steps, to_images,
)
from tolerance import assert_same_picture

FAMILIES = ("ldm", "dit", "sit")
SAMPLERS = {"ldm": ("ddpm", "ddim"), "dit": ("ddpm", "ddim"), "sit": ("euler", "heun", "sde")}


def responsive(model: nn.Module) -> nn.Module:
    """The model with its zero-initialised weights made random: an untrained DiT starts as the identity in
    every block (adaLN-Zero gates, the cross-attention's output at zero) and would ignore prompt and time."""
    torch.manual_seed(1)
    for p in model.parameters():
        if p.dim() > 1 and not p.any():
            torch.nn.init.normal_(p, std=0.1)
    return model


@pytest.fixture(scope="module")
def models() -> dict[str, nn.Module]:
    return {family: responsive(tiny_latent_model(family)).eval().requires_grad_(False) for family in FAMILIES}


def loaded(model: nn.Module, extra: dict | None = None) -> LoadedModel:
    family = model.config.family
    meta = CheckpointMeta(family=family, config={}, extra=extra if extra is not None else {"default_guidance": 2.0})
    return LoadedModel(model, model.config, meta, Path(f"{family}-tiny/model.safetensors"))


class Oracle(nn.Module):
    """A latent denoiser that knows the answer: the true eps (or velocity) of x_t for ONE clean latent z0,
    whatever the condition. Its first stage, prompt encoder and schedule are the wrapped model's."""

    def __init__(self, model: nn.Module, z0: torch.Tensor):
        super().__init__()
        self.inner, self.z0 = model, z0
        self.first_stage, self.null_embedding = model.first_stage, model.null_embedding
        self.config, self.noise_schedule = model.config, model.noise_schedule

    def embed(self, token_ids, batch=None):
        return self.inner.embed(token_ids, batch)

    def decode(self, latents):
        return self.inner.decode(latents)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond=None) -> torch.Tensor:
        x, z0 = x.double(), self.z0.to(x.device, torch.float64)
        if self.config.prediction == "velocity":     # the straight path's velocity from z0 through x: (x - z0) / s
            s = (t.double() / self.noise_schedule.intervals).view(-1, 1, 1, 1)
            return ((x - z0) / s).float()
        abar = self.noise_schedule.alphas_cumprod.double()[t.cpu()].view(-1, 1, 1, 1).to(x.device)
        return ((x - abar.sqrt() * z0) / (1 - abar).sqrt()).float()  # DDPM eq. 4 solved for eps


def clean_latent(model: nn.Module) -> torch.Tensor:
    """An image with a shape in it (a bright square on grey), through the tiny autoencoder."""
    image = torch.full((1, 3, 32, 32), -0.5)
    image[:, 0, 8:20, 10:24] = 0.9
    return model.encode(image)


@pytest.mark.parametrize("family, sampler", [(f, s) for f in FAMILIES for s in SAMPLERS[f]])
def test_the_latent_path_round_trips_with_an_oracle(models, family, sampler):
    model = models[family]
    z0 = clean_latent(model)
    oracle = Oracle(model, z0)
    expected = to_images(model, z0)
    steps = 100 if sampler == "ddpm" else 10
    settings = GuidedSettings(prompt="red square", guidance_scale=3.0, sampler=sampler, steps=steps, seed=3)
    # from pure noise: every step predicts z0, and the last lands on it
    records = list(guided_steps(oracle, settings, 2))
    torch.testing.assert_close(records[-1].x_prev, z0.expand(2, -1, -1, -1), atol=2e-4, rtol=0)
    images = generate(oracle, settings, 2)
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.uint8
    for image in images:
        assert_same_picture(image, expected[0])
    # from z0 noised to a middle step of the run (img2img's start): the same clean latent comes back
    scheduler = settings.for_model(model).make_scheduler(model)
    k = len(scheduler.timesteps) // 2
    noise = torch.randn(z0.shape, generator=torch.Generator().manual_seed(0))
    x_t = scheduler.add_noise(z0, noise, int(scheduler.timesteps[k]))
    last = list(guided_steps(oracle, settings, x_t=x_t, start_index=k))[-1]
    torch.testing.assert_close(last.x_prev, z0, atol=2e-4, rtol=0)
    assert_same_picture(to_images(model, last.x_prev), expected)


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_samples_with_its_defaults(models, family):
    settings = default_settings(loaded(models[family]))
    expected = ("heun", 10) if family == "sit" else ("ddim", 50)
    assert (settings.sampler, settings.steps) == expected
    assert settings.guidance_scale == 2.0 and settings.clip_x0 is False
    assert default_settings(loaded(models[family], extra={})).guidance_scale == FALLBACK_GUIDANCE
    assert default_settings(loaded(models[family]), prompt="red", seed=4).replace(prompt="", seed=0) == settings
    assert default_steps("ddpm", models["dit"]) == 100 and default_steps("euler", models["sit"]) == 50


@pytest.mark.parametrize("family", FAMILIES)
def test_a_guided_run_gives_decoded_images_the_same_settings_again(models, family):
    model = models[family]
    settings = default_settings(loaded(model), prompt="a large red circle", steps=4, seed=11)
    images = generate(model, settings, 2)
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(generate(model, settings, 2), images)
    assert not np.array_equal(generate(model, settings.replace(guidance_scale=6.0), 2), images)
    assert not np.array_equal(generate(model, settings.replace(negative_prompt="blue"), 2), images)


@pytest.mark.parametrize("family, sampler", [("dit", "ddpm"), ("sit", "sde"), ("sit", "euler"), ("ldm", "ddim")])
def test_image_i_of_seed_s_is_image_0_of_seed_s_plus_i(models, family, sampler):
    model = models[family]
    settings = default_settings(loaded(model), prompt="green", sampler=sampler, steps=5, seed=20)
    batch = generate(model, settings, 3)
    for i in range(3):
        assert_same_picture(batch[i], generate(model, settings.replace(seed=20 + i), 1)[0])


@pytest.mark.parametrize("family, sampler", [("dit", "ddim"), ("sit", "sde")])
def test_a_given_x_T_replaces_the_seeds_first_draw(models, family, sampler):
    model = models[family]
    settings = default_settings(loaded(model), prompt="circle", sampler=sampler, steps=4, seed=7)
    x_T = initial_noise(2, tuple(model.config.latent_shape), 7)
    np.testing.assert_array_equal(generate(model, settings, 2, x_T=x_T), generate(model, settings, 2))
    assert not np.array_equal(generate(model, settings, 2, x_T=-x_T), generate(model, settings, 2))


def test_a_grid_image_is_the_single_run_at_its_scale(models):
    model = models["sit"]
    settings = default_settings(loaded(model), prompt="red", steps=3)
    last = list(grid_steps(model, settings, [0.0, 4.0], [5, 6]))[-1]
    grid = to_images(model, last.x_prev)
    assert grid.shape == (4, 32, 32, 3)
    assert_same_picture(grid[3], generate(model, settings.replace(seed=6, guidance_scale=4.0))[0])


@pytest.mark.parametrize("family", FAMILIES)
def test_the_decomposition_shows_decoded_predictions(models, family):
    model = models[family]
    settings = default_settings(loaded(model), prompt="red circle", guidance_scale=3.0, steps=4)
    record = next(iter(guided_steps(model, settings)))
    parts = decompose(model, settings, record.x_t[0], record.t)
    for image in (parts.uncond, parts.cond, parts.difference, parts.guided):
        assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert parts.guidance_scale == 3.0


@pytest.mark.parametrize("family", FAMILIES)
def test_guidance_models_guide_a_latent_model_without_helpers(models, family):
    model = models[family]
    settings = default_settings(loaded(model), prompt="red circle", guidance_scale=3.0, steps=3, seed=2)
    guided = GuidanceModels(find=lambda family: pytest.fail("no helper may be loaded")).guide(model, settings)
    assert guided.base is model and guided.classifier is None
    x, t = torch.randn(2, 4, 8, 8), torch.tensor([50, 50])
    with torch.no_grad():
        torch.testing.assert_close(guided.eps(x, t), make_denoiser(model, settings)(x, t), rtol=0, atol=0)


# --- what a latent model refuses, in one line ---------------------------------------------------------


@pytest.mark.parametrize("family, sampler, fits", [("sit", "ddim", "euler, heun, sde"), ("dit", "heun", "ddpm, ddim"),
                                                   ("ldm", "sde", "ddpm, ddim")])
def test_a_sampler_that_does_not_fit_the_model_is_refused(models, family, sampler, fits):
    settings = GuidedSettings(sampler=sampler, steps=4, clip_x0=False)
    for call in (lambda: settings.for_model(models[family]), lambda: generate(models[family], settings),
                 lambda: GuidedSettings.from_recipe(settings.to_recipe(family=family), model=models[family])):
        with pytest.raises(ValueError, match=f"the {sampler} sampler does not fit .*; use {fits}$") as info:
            call()
        assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="unknown sampler 'plms'; known: ddpm, ddim"):
        GuidedSettings(sampler="plms").validate(model=models["dit"])


def test_the_pixel_text2img_settings_still_know_only_ddpm_and_ddim():
    with pytest.raises(ValueError, match="unknown sampler 'euler'; known: ddpm, ddim"):
        GuidedSettings(sampler="euler").validate()


@pytest.mark.parametrize("family", FAMILIES)
def test_classifier_guidance_is_refused_for_a_latent_model(models, family):
    model = models[family]
    settings = default_settings(loaded(model), prompt="red", steps=2)
    for bad in (settings.replace(classifier_scale=2.0), settings.replace(base="ddpm")):
        with pytest.raises(ValueError, match="classifier guidance needs a pixel diffusion model") as info:
            generate(model, bad)
        assert "\n" not in str(info.value)
        with pytest.raises(ValueError, match="noisy classifier reads images"):
            make_denoiser(model, bad, classifier=None)
        with pytest.raises(ValueError, match="classifier-free guidance only"):  # before loading any helper
            GuidanceModels(find=lambda family: pytest.fail("no helper may be loaded")).networks(model, bad)


def test_a_latent_model_never_clips_its_predicted_latent(models):
    model = models["dit"]
    settings = GuidedSettings(prompt="red", steps=3, clip_x0=True)
    assert settings.for_model(model).clip_x0 is False
    assert settings.for_model(model).make_scheduler(model).clip_x0 is False
    np.testing.assert_array_equal(generate(model, settings), generate(model, settings.replace(clip_x0=False)))
    recipe = settings.for_model(model).to_recipe("dit-tiny", "dit")
    assert recipe["family"] == "dit" and recipe["clip_x0"] is False and recipe["kind"] == "text2img"


def test_steps_are_checked_against_the_models_schedule(models):
    with pytest.raises(ValueError, match="steps must be a whole number from 1 to 100"):
        GuidedSettings(sampler="heun", steps=101).for_model(models["sit"])  # a flow's K = 100 intervals
    with pytest.raises(PromptError):
        default_settings(loaded(models["ldm"]), prompt="purple blob")


# --- an initial noise from a file ---------------------------------------------------------------------


def test_an_init_noise_file_is_read_and_checked(tmp_path):
    shape = (4, 8, 8)
    one = tmp_path / "one.npy"
    np.save(one, np.ones(shape, np.float32))
    init = load_init_noise(one, shape)
    assert init.latents.shape == (1, *shape) and init.count == 1 and len(init.sha256) == 64
    assert init.recipe() == {"init_noise": str(one.resolve()), "init_noise_sha256": init.sha256}
    many = tmp_path / "many.npy"
    np.save(many, np.zeros((3, *shape), np.float64))
    assert load_init_noise(many, shape).latents.dtype == torch.float32
    assert sample_count(load_init_noise(many, shape), None) == 3 and sample_count(None, None) == 16
    with pytest.raises(ValueError, match="5 images asked for, but many.npy holds 3"):
        sample_count(load_init_noise(many, shape), 5)
    bad = {
        "shape.npy": (np.zeros((2, 4, 4, 4), np.float32), r"must have shape \(N, 4, 8, 8\) or \(4, 8, 8\), not \(2, 4, 4, 4\)"),
        "nan.npy": (np.full(shape, np.nan, np.float32), "not finite"),
        "ints.npy": (np.zeros(shape, np.int64), "array of floats"),
        "empty.npy": (np.zeros((0, *shape), np.float32), "must have shape"),
    }
    for name, (array, message) in bad.items():
        np.save(tmp_path / name, array)
        with pytest.raises(ValueError, match=message) as info:
            load_init_noise(tmp_path / name, shape)
        assert name in str(info.value) and "\n" not in str(info.value)
    (tmp_path / "text.npy").write_text("not an array")
    with pytest.raises(ValueError, match="not a NumPy .npy array"):
        load_init_noise(tmp_path / "text.npy", shape)
    with pytest.raises(ValueError, match="no such file"):
        load_init_noise(tmp_path / "gone.npy", shape)
