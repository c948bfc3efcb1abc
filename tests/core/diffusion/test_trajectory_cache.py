"""Frames of one run drawn from one computation: a lesson scrubbing a DDPM run (or a video of it)
makes the run once, and every frame is the pixels a fresh run would draw."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground.core.checkpoints import WEIGHTS_NAME, load_checkpoint, save_checkpoint
from playground.core.diffusion import render, trajectory_cache
from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel
from playground.core.reproduce import render_recipe


def _tiny_ddpm(folder):
    torch.manual_seed(0)
    config = DDPMConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(), num_train_timesteps=40)
    model = DiffusionModel(config)
    torch.nn.init.normal_(model.out.weight, std=0.05)
    save_checkpoint(folder / WEIGHTS_NAME, model, config, "ddpm", data="shapes", steps=0)
    return folder / WEIGHTS_NAME


def _frame(path, index):
    return {"family": "ddpm", "checkpoint": str(path), "picture": "frame", "sampler": "ddpm", "steps": 40,
            "clip_x0": True, "seed": 3, "step_index": index, "views": ["x_t", "pred_x0"], "scale": 2}


@pytest.fixture
def runs(monkeypatch) -> list[int]:
    """One entry per run the renderer makes (the cache emptied first)."""
    trajectory_cache.clear()
    made: list[int] = []
    real = render.trajectory_of
    monkeypatch.setattr(render, "trajectory_of", lambda *a, **k: made.append(1) or real(*a, **k))
    return made


def test_a_scrub_makes_the_run_once_and_draws_what_a_fresh_run_draws(tmp_path, runs):
    path = _tiny_ddpm(tmp_path / "ddpm")
    loaded = load_checkpoint(path)
    frames = [render_recipe(_frame(path, i), loaded=loaded)[0] for i in (0, 10, 39, 10)]
    assert len(runs) == 1  # four frames, one run
    assert not np.array_equal(frames[0], frames[2])  # noise at the start, a picture at the end
    assert np.array_equal(frames[1], frames[3])
    trajectory_cache.clear()
    fresh = render_recipe(_frame(path, 39), loaded=loaded)[0]
    assert len(runs) == 2 and np.array_equal(fresh, frames[2])  # same computation, same pixels


def test_another_seed_or_retrained_weights_are_another_run(tmp_path, runs):
    path = _tiny_ddpm(tmp_path / "ddpm")
    render_recipe(_frame(path, 5))
    render_recipe(_frame(path, 5) | {"seed": 4})
    assert len(runs) == 2
    loaded = load_checkpoint(path)
    with torch.no_grad():
        loaded.model.out.weight.add_(0.01)
    save_checkpoint(path, loaded.model, loaded.config, "ddpm", data="shapes", steps=1)  # the file changes
    render_recipe(_frame(path, 5))
    assert len(runs) == 3


def test_the_forward_picture_noises_a_data_image_without_the_network(tmp_path):
    """`picture: forward`: x_0 at t 0 (the data image, all but), then noisier; the same seed, the same noise."""
    from playground.core.latent.render import source_image

    path = _tiny_ddpm(tmp_path / "ddpm")
    recipe = {"family": "ddpm", "checkpoint": str(path), "picture": "forward", "image": "3",
              "forward_t": [0, 20, 39], "seed": 1, "scale": 1}
    image, _, _ = render_recipe(recipe)
    again, _, _ = render_recipe(recipe)
    assert np.array_equal(image, again)
    x0 = source_image("3", "shapes", 32)
    h, w = x0.shape[:2]
    windows = np.lib.stride_tricks.sliding_window_view(image, (h, w, 3))[..., 0, :, :, :]
    from playground.core.diffusion.forward import noised_image

    schedule = load_checkpoint(path).model.noise_schedule
    for t in (0, 39):
        assert (windows == noised_image(schedule, x0, t, 1)).all(axis=(-1, -2, -3)).any()  # each t's cell is there
    assert np.abs(noised_image(schedule, x0, 0, 1).astype(int) - x0).mean() < np.abs(
        noised_image(schedule, x0, 39, 1).astype(int) - x0).mean()  # noisier as t grows
    assert not np.array_equal(render_recipe(recipe | {"seed": 2})[0], image)
