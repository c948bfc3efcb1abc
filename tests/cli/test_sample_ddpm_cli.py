"""`playground sample ddpm` on a tiny untrained model made here, so the test needs no shipped asset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from playground.cli import main
from playground.core.checkpoints import WEIGHTS_NAME, save_checkpoint
from playground.core.images import read_gif_recipe, read_recipe
from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel


@pytest.fixture(scope="module")
def tiny_ddpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An assets-like folder holding ddpm-shapes/, a tiny U-Net with random (non-zero) output weights."""
    root = tmp_path_factory.mktemp("assets")
    torch.manual_seed(0)
    config = DDPMConfig(base_channels=8, channel_mults=(1, 2), schedule="linear")
    model = DiffusionModel(config)
    torch.nn.init.normal_(model.out.weight, std=0.05)  # the zero-initialised output layer would predict no noise
    save_checkpoint(root / "ddpm-shapes" / WEIGHTS_NAME, model, config, "ddpm", data="shapes", steps=1)
    return root


def _png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_out_dir_writes_one_png_per_sample_with_its_recipe_and_a_trajectory(tiny_ddpm: Path, tmp_path: Path) -> None:
    out, gif = tmp_path / "samples", tmp_path / "trajectory.gif"
    rc = main(["sample", "ddpm", "--checkpoint", str(tiny_ddpm / "ddpm-shapes"), "--sampler", "ddim", "--steps", "4",
               "--eta", "0.5", "--seed", "5", "--n", "3", "--out-dir", str(out), "--trajectory", str(gif)])
    assert rc == 0
    files = sorted(out.glob("*.png"))
    assert [f.name for f in files] == ["sample_0000.png", "sample_0001.png", "sample_0002.png"]
    recipe = read_recipe(files[1])
    assert recipe is not None
    assert {k: recipe[k] for k in ("model", "family", "sampler", "steps", "eta", "seed", "index", "image_seed", "n")} == {
        "model": "ddpm-shapes", "family": "ddpm", "sampler": "ddim", "steps": 4, "eta": 0.5, "seed": 5,
        "index": 1, "image_seed": 6, "n": 3,
    }
    assert _png(files[0]).shape == (32, 32, 3)
    with Image.open(gif) as animation:
        assert animation.n_frames == 5  # one per step, then the final images held
        width, height = animation.size
    assert width > 2 * height  # x_t and predicted x0 side by side
    gif_recipe = read_gif_recipe(gif)  # the animation says how it was made, as the PNGs do
    assert gif_recipe["picture"] == "trajectory" and gif_recipe["seed"] == 5 and gif_recipe["steps"] == 4

    # image i of a run is image 0 of a run seeded seed + i (the recipe's image_seed)
    alone = tmp_path / "alone"
    assert main(["sample", "ddpm", "--checkpoint", str(tiny_ddpm / "ddpm-shapes"), "--sampler", "ddim", "--steps", "4",
                 "--eta", "0.5", "--seed", "6", "--n", "1", "--out-dir", str(alone)]) == 0
    from tolerance import assert_same_picture  # a batch of 1 against a batch of 3: see tests/tolerance.py

    assert_same_picture(_png(alone / "sample_0000.png"), _png(files[1]))


def test_grid_with_ddpm_and_the_shipped_default(tiny_ddpm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLAYGROUND_ASSETS", str(tiny_ddpm))  # no --checkpoint: assets/ddpm-shapes
    grid = tmp_path / "grid.png"
    assert main(["sample", "ddpm", "--sampler", "ddpm", "--steps", "5", "--variance", "beta", "--n", "4",
                 "--out", str(grid)]) == 0
    recipe = read_recipe(grid)
    assert recipe is not None and recipe["n"] == 4
    assert recipe["grid_of"]["sampler"] == "ddpm" and recipe["grid_of"]["variance"] == "beta"
    assert recipe["grid_of"]["index"] is None
    assert _png(grid).shape[0] > 64  # a 2 x 2 grid, upscaled


def test_eta_with_the_ddpm_sampler_is_an_error(tiny_ddpm: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rc = main(["sample", "ddpm", "--checkpoint", str(tiny_ddpm / "ddpm-shapes"), "--sampler", "ddpm", "--eta", "0.3",
               "--out", str(tmp_path / "x.png")])
    assert rc == 2
    assert "--eta is a DDIM setting" in capsys.readouterr().err


def test_init_noise_from_invert_samples_the_round_trip_and_reproduces(tiny_ddpm: Path, tmp_path: Path, capsys) -> None:
    from tolerance import assert_same_picture

    checkpoint = str(tiny_ddpm / "ddpm-shapes")
    noise, round_trip, sampled, again = (tmp_path / n for n in ("noise.npy", "rt.png", "s.png", "again.png"))
    assert main(["invert", "ddpm", "--index", "3", "--steps", "5", "--out", str(noise), "--round-trip", str(round_trip),
                 "--scale", "1", "--checkpoint", checkpoint]) == 0
    assert np.load(noise).shape == (1, 3, 32, 32)
    # DDIM-5 forward from the inverted x_T, x0 unclipped as the inversion's own run: the round trip
    assert main(["sample", "ddpm", "--init-noise", str(noise), "--sampler", "ddim", "--steps", "5", "--no-clip",
                 "--seed", "2", "--out", str(sampled), "--scale", "1", "--checkpoint", checkpoint]) == 0
    assert_same_picture(_png(sampled)[2:-2, 2:-2], _png(round_trip)[:, 34:][2:-2, 2:-2])
    recipe = read_recipe(sampled)
    assert recipe["n"] == 1 and recipe["grid_of"]["init_noise"] == str(noise.resolve())
    assert len(recipe["grid_of"]["init_noise_sha256"]) == 64
    capsys.readouterr()
    assert main(["reproduce", str(sampled), "--out", str(again)]) == 0
    np.testing.assert_array_equal(_png(again), _png(sampled))


def test_init_noise_of_the_wrong_shape_is_one_line(tiny_ddpm: Path, tmp_path: Path, capsys) -> None:
    bad, out = tmp_path / "bad.npy", tmp_path / "x"
    np.save(bad, np.zeros((1, 4, 8, 8), np.float32))
    assert main(["sample", "ddpm", "--init-noise", str(bad), "--steps", "3", "--out-dir", str(out),
                 "--checkpoint", str(tiny_ddpm / "ddpm-shapes")]) == 2
    err = capsys.readouterr().err
    assert "must have shape (N, 3, 32, 32) or (3, 32, 32), not (1, 4, 8, 8)" in err and err.count("\n") == 1
    assert not out.exists()
