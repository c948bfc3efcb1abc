"""Flow vs diffusion (paths, straightness, the steps sweep), the cost table, the autoencoder view's core."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from playground.core.checkpoints import load_checkpoint
from playground.core.diffusion.sampling import initial_noise
from playground.core.latent_diffusion import comparison, cost, first_stage


@pytest.fixture(scope="module")
def models(tiny_latent_checkpoints):
    return {f: load_checkpoint(tiny_latent_checkpoints[f] / "model.safetensors").model for f in ("dit", "sit")}


def test_straightness_is_one_for_a_straight_path_and_less_for_a_curved_one():
    a, b = np.zeros((4, 2, 2)), np.ones((4, 2, 2))
    straight = np.stack([a + s * (b - a) for s in np.linspace(0, 1, 7)])
    assert comparison.straightness(straight) == pytest.approx(1.0)
    angle = np.linspace(0, np.pi / 2, 20)                     # a quarter circle: chord / arc = 2 sqrt(2) / pi
    arc = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    assert comparison.straightness(arc) == pytest.approx(2 * np.sqrt(2) / np.pi, rel=1e-2)
    assert comparison.straightness(arc) < 1


def test_chord_deviation_is_zero_for_a_value_moving_at_constant_speed_in_the_noise_level():
    levels = np.linspace(1, 0, 6)
    linear = 2.0 - 3.0 * levels
    bent = linear + np.sin(np.pi * levels)                    # bulges by 1 in the middle
    assert comparison.chord_deviation(linear, levels) == pytest.approx(0.0, abs=1e-12)
    assert comparison.chord_deviation(bent, levels) == pytest.approx(np.sin(np.pi * 0.4), rel=1e-6)


def test_every_sampler_starts_from_the_same_noise_and_walks_from_noise_level_1_to_0(models):
    paths = comparison.compare(models, 5, seed=3)
    assert [p.sampler for p in paths] == ["ddpm", "ddim", "euler", "heun"]
    x_T = initial_noise(1, (4, 8, 8), 3)[0].numpy()
    for p in paths:
        assert p.latents.shape == (6, 4, 8, 8)
        np.testing.assert_array_equal(p.latents[0], x_T)
        assert p.levels[-1] == 0.0 and p.timesteps[-1] == -1
        assert np.all(np.diff(p.levels) <= 0)
        assert p.image.shape == (32, 32, 3) and p.image.dtype == np.uint8
        assert 0 < p.straightness <= 1 + 1e-9
        assert p.value_path(1, 2, 3).shape == (6,) and p.deviation(1, 2, 3) >= 0
    np.testing.assert_array_equal(comparison.shared_noise(models["sit"], 3), x_T)
    assert paths[2].levels[0] == 1.0   # the flow starts at s = 1, pure noise
    # "leading" spacing (the samplers' default) starts 5 steps of T = 100 at t = 80: x_T stands in for x_80
    assert paths[1].timesteps[0] == 80 and 0.5 < paths[1].levels[0] < 1.0
    trailing = comparison.compare(models, 5, seed=3, samplers=["ddim"], spacing="trailing")[0]
    assert trailing.timesteps[0] == 99 and trailing.levels[0] > 0.99   # from pure noise, as the flow
    np.testing.assert_array_equal(trailing.latents[0], x_T)
    assert [p.evaluations for p in paths] == [5, 5, 5, 9]     # Heun: a second forward on all but the last step


def test_one_euler_step_is_a_straight_line(models):
    (path,) = comparison.compare(models, 1, seed=0, samplers=["euler"])
    assert path.straightness == pytest.approx(1.0)


def test_a_prompt_guides_the_samplers(models):
    """On a copy whose zero-initialised layers (adaLN-Zero gates, the cross-attention's output) are
    made random: an untrained DiT starts as the identity in every block and ignores its prompt."""
    import copy

    dit = copy.deepcopy(models["dit"])
    torch.manual_seed(0)
    for p in dit.parameters():
        if p.dim() > 1 and not p.any():
            torch.nn.init.normal_(p, std=0.1)
    models = {"dit": dit}
    plain = comparison.compare(models, 2, seed=1, samplers=["ddim"])[0]
    prompted = comparison.compare(models, 2, seed=1, samplers=["ddim"], prompt="a red circle", guidance_scale=3.0)[0]
    np.testing.assert_array_equal(plain.latents[0], prompted.latents[0])
    assert not np.allclose(plain.latents[-1], prompted.latents[-1])


def test_the_sweep_returns_one_sample_per_steps_count_and_draws_them_as_a_table(models):
    sweep = comparison.steps_sweep(models, [1, 2, 4], seed=0)
    assert sorted(sweep) == [1, 2, 4]
    assert all(len(paths) == 4 and [p.steps for p in paths] == [n] * 4 for n, paths in sweep.items())
    picture = comparison.sweep_picture(sweep, scale=2)
    assert picture.ndim == 3 and picture.shape[0] > 4 * 64 and picture.shape[1] > 3 * 64
    table = comparison.straightness_table(sweep)
    assert "Heun (flow)" in table and len(table.splitlines()) == 6
    assert comparison.sweep_steps_total([1, 2, 4]) == 28


def test_flops_match_a_hand_count_for_a_linear_model():
    linear = nn.Linear(3, 5)
    assert cost.count_flops(linear, torch.zeros(2, 3)) == 2 * 2 * 3 * 5   # 2 per multiply-add


def test_the_cost_table_has_positive_numbers(tiny_latent_checkpoints):
    loaded = [load_checkpoint(tiny_latent_checkpoints[f] / "model.safetensors") for f in ("ldm", "dit", "sit")]
    costs = [cost.cached_measure(m, repeats=3) for m in loaded]
    for c in costs:
        assert c.values == 4 * 8 * 8
        assert c.gflops > 0 and c.ms_batch1 > 0 and c.ms_batch2 > 0 and c.parameters > 0
    assert cost.is_cached(loaded[0], repeats=3) and cost.cached_measure(loaded[0], repeats=3) is costs[0]
    assert costs[2].kind == "latent SiT" and "latent DiT" in cost.cost_table(costs)


def test_the_autoencoder_view_round_trips_an_image_and_a_latent_edit_changes_it(tiny_latent_checkpoints):
    ae = load_checkpoint(tiny_latent_checkpoints["autoencoder-kl"] / "model.safetensors").model
    dit = load_checkpoint(tiny_latent_checkpoints["dit"] / "model.safetensors").model
    assert first_stage.first_stage_of(ae) is ae and first_stage.first_stage_of(dit) is dit.first_stage
    image = np.zeros((32, 32, 3), np.uint8)
    image[8:20, 10:24] = (220, 30, 30)
    recon = first_stage.reconstruct(ae, image)
    assert recon.latent.shape == (4, 8, 8) and recon.image.shape == (32, 32, 3) and recon.mse >= 0
    edited = recon.latent.copy()
    edited[2, 3, 4] += 3.0
    moved = first_stage.reconstruct(ae, image, edited)
    assert not np.array_equal(moved.image, recon.image)
    colours = first_stage.channel_image(np.array([[-3.0, 0.0, 3.0]]))
    assert colours[0, 0, 2] > colours[0, 0, 0] and colours[0, 2, 0] > colours[0, 2, 2]
    assert tuple(colours[0, 1]) == (235, 235, 235)
