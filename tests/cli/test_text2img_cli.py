"""`playground sample text2img` and classifier-guided `sample ddpm` on tiny untrained models made here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from playground.cli import main
from playground.core.checkpoints import WEIGHTS_NAME, load_checkpoint, save_checkpoint
from playground.core.images import read_recipe
from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel
from playground.core.models.noisy_classifier import NoisyAttributeClassifier, NoisyClassifierConfig
from playground.core.models.text2img import Text2ImgConfig, TextToImageModel
from playground.core.text2img.sampling import GuidedSettings, generate


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """text2img, ddpm and noisy-classifier checkpoints, tiny, T = 100, random non-zero outputs."""
    root = tmp_path_factory.mktemp("assets")
    torch.manual_seed(0)
    t2i_config = Text2ImgConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(), text_dim=16,
                                text_layers=1, cond_dim=16, num_train_timesteps=100)
    model = TextToImageModel(t2i_config)
    torch.nn.init.normal_(model.out.weight, std=0.05)
    save_checkpoint(root / "text2img-tiny" / WEIGHTS_NAME, model, t2i_config, "text2img", data="shapes", steps=3)
    ddpm_config = DDPMConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(), num_train_timesteps=100)
    ddpm = DiffusionModel(ddpm_config)
    torch.nn.init.normal_(ddpm.out.weight, std=0.05)
    save_checkpoint(root / "ddpm-tiny" / WEIGHTS_NAME, ddpm, ddpm_config, "ddpm", data="shapes", steps=3)
    nc_config = NoisyClassifierConfig(channels=(8, 8, 8), num_train_timesteps=100)
    save_checkpoint(root / "nc-tiny" / WEIGHTS_NAME, NoisyAttributeClassifier(nc_config), nc_config, "noisy-classifier")
    return root


def _png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_out_dir_writes_one_png_per_sample_with_a_recipe_that_restores_the_run(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "samples"
    rc = main(["sample", "text2img", "--checkpoint", str(tiny / "text2img-tiny"), "--prompt", "a large red circle at the top left",
               "--negative-prompt", "blue", "--guidance", "3", "--guidance-start", "0.2", "--steps", "4", "--seed", "7",
               "--n", "2", "--out-dir", str(out)])
    assert rc == 0
    files = sorted(out.glob("*.png"))
    assert len(files) == 2
    recipe = read_recipe(files[1])
    assert recipe["prompt"] == "a large red circle at the top left" and recipe["negative_prompt"] == "blue"
    assert recipe["guidance_scale"] == 3.0 and recipe["guidance_start"] == 0.2 and recipe["image_seed"] == 8
    assert recipe["model"] == "text2img-tiny" and recipe["sampler"] == "ddim" and recipe["steps"] == 4
    # the recipe alone re-creates the image: sample 1 is seed 8
    model = load_checkpoint(tiny / "text2img-tiny").model
    settings = GuidedSettings.from_recipe(recipe).replace(seed=recipe["image_seed"])
    from tolerance import assert_same_picture  # a batch of 1 against the CLI's batch of 2: see tests/tolerance.py

    assert_same_picture(generate(model, settings)[0], _png(files[1]))


def test_out_writes_the_grid(tiny: Path, tmp_path: Path) -> None:
    rc = main(["sample", "text2img", "--checkpoint", str(tiny / "text2img-tiny"), "--prompt", "green", "--guidance", "0",
               "--steps", "2", "--n", "4", "--scale", "1", "--out", str(tmp_path / "grid.png")])
    assert rc == 0
    assert _png(tmp_path / "grid.png").shape == (2 + 2 * 34, 2 + 2 * 34, 3)
    assert read_recipe(tmp_path / "grid.png")["grid_of"]["guidance_scale"] == 0.0


def test_an_unknown_word_is_refused_and_nothing_is_written(tiny: Path, tmp_path: Path, capsys) -> None:
    rc = main(["sample", "text2img", "--checkpoint", str(tiny / "text2img-tiny"), "--prompt", "a red dog", "--steps", "2",
               "--out-dir", str(tmp_path / "none")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "'dog'" in err and "vocabulary is: a, at, the" in err
    assert not (tmp_path / "none").exists()


def test_classifier_guidance_options(tiny: Path, tmp_path: Path) -> None:
    common = ["--steps", "3", "--n", "1", "--seed", "3", "--classifier", str(tiny / "nc-tiny")]
    rc = main(["sample", "ddpm", "--checkpoint", str(tiny / "ddpm-tiny"), "--sampler", "ddim", "--prompt", "red circle",
               "--classifier-guidance", "20", *common, "--out-dir", str(tmp_path / "steered")])
    assert rc == 0
    recipe = read_recipe(tmp_path / "steered" / "sample_0000.png")
    assert recipe["classifier_scale"] == 20.0 and recipe["prompt"] == "red circle"
    rc = main(["sample", "ddpm", "--checkpoint", str(tiny / "ddpm-tiny"), "--sampler", "ddim", *common,
               "--out-dir", str(tmp_path / "plain")])
    assert rc == 0
    assert not np.array_equal(_png(tmp_path / "steered" / "sample_0000.png"), _png(tmp_path / "plain" / "sample_0000.png"))
    rc = main(["sample", "text2img", "--checkpoint", str(tiny / "text2img-tiny"), "--prompt", "red", "--guidance", "2",
               "--classifier-guidance", "5", *common, "--out-dir", str(tmp_path / "both")])
    assert rc == 0 and read_recipe(tmp_path / "both" / "sample_0000.png")["classifier_scale"] == 5.0
    # a prompt without classifier guidance means nothing to an unconditional DDPM: say so
    assert main(["sample", "ddpm", "--checkpoint", str(tiny / "ddpm-tiny"), "--prompt", "red", "--steps", "2",
                 "--sampler", "ddim", "--out-dir", str(tmp_path / "x")]) == 2


def test_init_noise_from_invert_samples_the_round_trip_and_reproduces(tiny: Path, tmp_path: Path, capsys) -> None:
    from tolerance import assert_same_picture

    checkpoint = str(tiny / "text2img-tiny")
    noise, round_trip, out = tmp_path / "noise.npy", tmp_path / "rt.png", tmp_path / "samples"
    assert main(["invert", "text2img", "--index", "5", "--prompt", "a red circle", "--steps", "4", "--out", str(noise),
                 "--round-trip", str(round_trip), "--scale", "1", "--checkpoint", checkpoint]) == 0
    assert np.load(noise).shape == (1, 3, 32, 32)
    # the same sampler, steps, prompt and w = 1, x0 unclipped as the inversion's run: the round trip
    assert main(["sample", "text2img", "--init-noise", str(noise), "--prompt", "a red circle", "--guidance", "1",
                 "--steps", "4", "--no-clip", "--out-dir", str(out), "--checkpoint", checkpoint]) == 0
    files = sorted(out.glob("*.png"))
    assert len(files) == 1  # one image per noise
    assert_same_picture(_png(files[0]), _png(round_trip)[2:-2, 36:-2])
    assert read_recipe(files[0])["init_noise"] == str(noise.resolve())
    capsys.readouterr()
    assert main(["reproduce", str(files[0]), "--out", str(tmp_path / "again.png")]) == 0
    np.testing.assert_array_equal(_png(tmp_path / "again.png"), _png(files[0]))
    np.save(noise, np.zeros((3, 32, 32), np.float32))  # the file changed since: reproduce refuses, in one line
    capsys.readouterr()
    assert main(["reproduce", str(files[0])]) == 2
    assert "is not the file the image was made from" in capsys.readouterr().err


def test_init_noise_of_the_wrong_shape_or_count_is_one_line(tiny: Path, tmp_path: Path, capsys) -> None:
    bad, out = tmp_path / "bad.npy", tmp_path / "x"
    np.save(bad, np.zeros((2, 3, 16, 16), np.float32))
    args = ["sample", "text2img", "--steps", "2", "--out-dir", str(out), "--checkpoint", str(tiny / "text2img-tiny")]
    assert main([*args, "--init-noise", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "must have shape (N, 3, 32, 32) or (3, 32, 32), not (2, 3, 16, 16)" in err and err.count("\n") == 1
    np.save(bad, np.zeros((2, 3, 32, 32), np.float32))
    assert main([*args, "--init-noise", str(bad), "--n", "3"]) == 2
    assert "3 images asked for, but bad.npy holds 2" in capsys.readouterr().err
    assert not out.exists()
