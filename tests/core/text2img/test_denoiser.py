"""The one guided-denoiser builder, the one "clipped x0's eps" rule, and every number checked against its range."""

from __future__ import annotations

import math

import pytest
import torch

from playground.core.checkpoints import save_checkpoint
from playground.core.diffusion.guidance import ClassifierFreeGuidance, ClassifierGuidance
from playground.core.diffusion.trajectory import SamplerSettings
from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel
from playground.core.models.noisy_classifier import NoisyAttributeClassifier, NoisyClassifierConfig
from playground.core.models.text2img import Text2ImgConfig, TextToImageModel
from playground.core.text2img.denoiser import GuidanceModels, guided_sampler, make_denoiser, steps_with_clipped_eps
from playground.core.text2img.sampling import GuidedSettings, grid_steps, guided_steps

TINY = Text2ImgConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(), text_dim=16, text_layers=1,
                      cond_dim=16, num_train_timesteps=100)


@pytest.fixture(scope="module")
def model() -> TextToImageModel:
    torch.manual_seed(0)
    return TextToImageModel(TINY).eval().requires_grad_(False)


@pytest.fixture(scope="module")
def helpers(tmp_path_factory) -> dict:
    """Checkpoints of an unconditional DDPM and a noisy classifier (T = 100), as assets/ would ship them."""
    root = tmp_path_factory.mktemp("helpers")
    torch.manual_seed(0)
    ddpm_config = DDPMConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(), num_train_timesteps=100)
    nc_config = NoisyClassifierConfig(channels=(4, 8, 8), num_train_timesteps=100)
    paths = {"ddpm": root / "ddpm" / "model.safetensors", "noisy-classifier": root / "nc" / "model.safetensors"}
    save_checkpoint(paths["ddpm"], DiffusionModel(ddpm_config), ddpm_config, "ddpm", data="shapes", steps=0)
    save_checkpoint(paths["noisy-classifier"], NoisyAttributeClassifier(nc_config), nc_config, "noisy-classifier",
                    data="shapes", steps=0)
    return paths


def test_a_guided_run_steps_with_the_clipped_x0s_eps_and_the_plain_model_does_not():
    assert steps_with_clipped_eps(True) and not steps_with_clipped_eps(False)
    assert not steps_with_clipped_eps(True, guided=False)
    plain = SamplerSettings("ddim", 10, 0.0, clip_x0=True)
    assert guided_sampler(plain).use_clipped_model_output and not plain.use_clipped_model_output
    assert not guided_sampler(SamplerSettings("ddim", 10, clip_x0=False)).use_clipped_model_output
    assert GuidedSettings(clip_x0=True).sampler_settings() == guided_sampler(SamplerSettings("ddim", 50, 0.0, True))


def test_the_models_a_setting_asks_for_are_loaded_once_and_guided_by_the_one_builder(model, helpers):
    loads = []
    models = GuidanceModels(find=lambda family: loads.append(family) or helpers[family])
    plain = models.guide(model, GuidedSettings(prompt="red"))
    assert plain.base is model and plain.classifier is None and isinstance(plain.eps, ClassifierFreeGuidance)
    assert loads == []  # nothing extra for classifier-free guidance alone
    steered = models.guide(model, GuidedSettings(prompt="red circle", classifier_scale=2.0, base="ddpm"))
    assert isinstance(steered.base, DiffusionModel) and isinstance(steered.eps, ClassifierGuidance)
    assert steered.eps.base is steered.base  # the DDPM itself, steered by the classifier only
    models.guide(model, GuidedSettings(prompt="red", classifier_scale=1.0))
    assert sorted(loads) == ["ddpm", "noisy-classifier"]  # each loaded once, then kept
    assert isinstance(make_denoiser(steered.base, GuidedSettings(base="ddpm")), DiffusionModel)  # s = 0: the DDPM


def test_a_missing_shipped_helper_model_is_a_message(model):
    models = GuidanceModels(find=lambda family: (_ for _ in ()).throw(ValueError(f"no shipped {family} checkpoint")))
    with pytest.raises(ValueError, match="no shipped ddpm checkpoint"):
        models.guide(model, GuidedSettings(base="ddpm", classifier_scale=1.0))


BAD_NUMBERS = [
    ("guidance_scale", math.nan, "guidance scale w"), ("guidance_scale", math.inf, "guidance scale w"),
    ("guidance_scale", -1.0, "guidance scale w"), ("guidance_scale", 1e9, "guidance scale w"),
    ("guidance_start", math.nan, "guidance start"), ("guidance_stop", 1.5, "guidance stop"),
    ("guidance_start", -0.1, "guidance start"),
    ("classifier_scale", -0.5, "classifier guidance scale s"), ("classifier_scale", math.inf, "classifier"),
    ("eta", math.nan, "eta"), ("eta", 2.0, "eta"),
    ("steps", 0, "steps"), ("steps", -3, "steps"), ("steps", 2.5, "steps"),
    ("seed", -1, "seed"), ("seed", 2**40, "seed"), ("seed", math.nan, "seed"),
]


@pytest.mark.parametrize("name, value, label", BAD_NUMBERS)
def test_every_number_is_checked_against_its_range_with_a_message_naming_it(name, value, label):
    with pytest.raises(ValueError, match=label) as error:
        GuidedSettings(**{name: value}).validate()
    assert "from" in str(error.value) and "to" in str(error.value)  # the allowed range is named


def test_steps_must_fit_the_models_schedule_and_the_range_must_start_before_it_stops(model):
    with pytest.raises(ValueError, match="steps must be a whole number from 1 to 100"):
        guided_steps(model, GuidedSettings(steps=101))
    with pytest.raises(ValueError, match="guidance range must start before it stops"):
        GuidedSettings(guidance_start=0.8, guidance_stop=0.2).validate()


@pytest.mark.parametrize("scales, message", [
    ([math.nan], "each guidance scale w of the grid"), ([1.0, math.inf], "guidance scale w"), ([-2.0], "from 0"),
    ([], "1 to 10 scales"), ([1.0] * 11, "1 to 10 scales"),
])
def test_grid_scales_are_checked_before_any_model_call(model, scales, message):
    with pytest.raises(ValueError, match=message):
        grid_steps(model, GuidedSettings(steps=2), scales, [0])


@pytest.mark.parametrize("edit, message", [
    ({"guidance_scale": "3"}, "guidance scale w"), ({"guidance_scale": math.nan}, "guidance scale w"),
    ({"seed": "seven"}, "seed"), ({"steps": 1e12}, "steps"), ({"clip_x0": "false"}, "clip_x0"),
    ({"prompt": 5}, "prompt must be text"), ({"sampler": "euler"}, "unknown sampler"),
])
def test_a_hand_edited_recipe_is_refused_naming_the_setting(edit, message):
    recipe = GuidedSettings(prompt="red circle", steps=10, seed=3).to_recipe("text2img-shapes") | edit
    with pytest.raises(ValueError, match=message):
        GuidedSettings.from_recipe(recipe)


def test_a_recipe_written_by_json_keeps_its_values():
    recipe = GuidedSettings(prompt="red", guidance_scale=4.0, seed=3).to_recipe() | {"guidance_scale": 4, "seed": 3.0}
    settings = GuidedSettings.from_recipe(recipe)
    assert settings.guidance_scale == 4.0 and settings.seed == 3 and isinstance(settings.seed, int)
    with pytest.raises(ValueError, match="steps must be a whole number from 1 to 100"):
        GuidedSettings.from_recipe(recipe | {"steps": 500}, num_train_timesteps=100)
