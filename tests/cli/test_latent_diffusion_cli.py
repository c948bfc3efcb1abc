"""`playground sample ldm|dit|sit` on the tiny untrained checkpoints (tests/latent_models.py), and `reproduce` of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from playground.cli import main
from playground.core.checkpoints import load_checkpoint
from playground.core.diffusion.sampling import initial_noise
from playground.core.images import read_recipe
from playground.core.provenance import weights_sha256
from playground.core.text2img.sampling import GuidedSettings, generate
from tolerance import assert_same_picture

FAMILIES = ("ldm", "dit", "sit")


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _sample(checkpoints: dict[str, Path], family: str, *args: str) -> int:
    return main(["sample", family, "--checkpoint", str(checkpoints[family]), *args])


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_samples_pngs_with_recipes_that_reproduce(tiny_latent_checkpoints, tmp_path, family, capsys):
    out = tmp_path / "samples"
    assert _sample(tiny_latent_checkpoints, family, "--prompt", "a large red circle", "--negative-prompt", "blue",
                   "--steps", "3", "--seed", "5", "--n", "2", "--out-dir", str(out)) == 0
    files = sorted(out.glob("*.png"))
    assert len(files) == 2 and _png(files[0]).shape == (32, 32, 3)
    recipe = read_recipe(files[1])
    sampler = "heun" if family == "sit" else "ddim"  # the family's default sampler; guidance from the checkpoint JSON
    assert (recipe["family"], recipe["model"], recipe["sampler"], recipe["steps"]) == (family, f"{family}-tiny", sampler, 3)
    assert recipe["guidance_scale"] == 2.0 and recipe["clip_x0"] is False and recipe["image_seed"] == 6
    assert recipe["prompt"] == "a large red circle" and recipe["negative_prompt"] == "blue" and recipe["n"] == 2
    # the recipe's settings re-create the image as image 0 of its own seed
    model = load_checkpoint(tiny_latent_checkpoints[family]).model
    settings = GuidedSettings.from_recipe(recipe, model=model).replace(seed=recipe["image_seed"])
    assert_same_picture(generate(model, settings)[0], _png(files[1]))
    capsys.readouterr()
    assert main(["reproduce", str(files[1])]) == 0
    assert "identical: 0 of 1024 pixels differ" in capsys.readouterr().out


def test_the_defaults_are_the_familys_sampler(tiny_latent_checkpoints, tmp_path):
    for family, expected in (("dit", ("ddim", 50)), ("sit", ("heun", 10))):
        assert _sample(tiny_latent_checkpoints, family, "--n", "1", "--out", str(tmp_path / f"{family}.png")) == 0
        inner = read_recipe(tmp_path / f"{family}.png")["grid_of"]
        assert (inner["sampler"], inner["steps"], inner["guidance_scale"], inner["prompt"]) == (*expected, 2.0, "")
    assert _sample(tiny_latent_checkpoints, "sit", "--sampler", "sde", "--guidance", "0", "--n", "1",
                   "--out", str(tmp_path / "sde.png")) == 0
    recipe = read_recipe(tmp_path / "sde.png")["grid_of"]
    assert (recipe["sampler"], recipe["steps"], recipe["guidance_scale"]) == ("sde", 50, 0.0)


def test_a_grid_and_its_reproduction(tiny_latent_checkpoints, tmp_path, capsys):
    grid = tmp_path / "grid.png"
    assert _sample(tiny_latent_checkpoints, "sit", "--prompt", "green", "--sampler", "euler", "--steps", "4",
                   "--n", "4", "--scale", "1", "--out", str(grid)) == 0
    assert _png(grid).shape == (2 + 2 * 34, 2 + 2 * 34, 3)
    recipe = read_recipe(grid)
    assert recipe["picture"] == "grid" and recipe["grid_of"]["sampler"] == "euler" and recipe["family"] == "sit"
    capsys.readouterr()
    assert main(["reproduce", str(grid)]) == 0
    assert "identical" in capsys.readouterr().out


def test_init_noise_starts_the_run_and_the_recipe_names_the_file(tiny_latent_checkpoints, tmp_path, capsys):
    noise = tmp_path / "noise.npy"
    np.save(noise, initial_noise(2, (4, 8, 8), 9).numpy())
    common = ["--prompt", "red", "--sampler", "ddpm", "--steps", "4"]
    assert _sample(tiny_latent_checkpoints, "dit", *common, "--init-noise", str(noise), "--seed", "9",
                   "--out-dir", str(tmp_path / "given")) == 0
    given = sorted((tmp_path / "given").glob("*.png"))
    assert len(given) == 2  # one image per noise
    recipe = read_recipe(given[1])
    assert recipe["init_noise"] == str(noise.resolve()) and recipe["init_noise_sha256"] == weights_sha256(noise)
    # the seed's own first draw as the file: the same images as the seed alone
    assert _sample(tiny_latent_checkpoints, "dit", *common, "--seed", "9", "--n", "2", "--out-dir", str(tmp_path / "seeded")) == 0
    for a, b in zip(given, sorted((tmp_path / "seeded").glob("*.png"))):
        np.testing.assert_array_equal(_png(a), _png(b))
    capsys.readouterr()
    assert main(["reproduce", str(given[1])]) == 0
    assert "identical" in capsys.readouterr().out
    # a single (4, 8, 8) noise is one image; another noise another image
    np.save(noise, -initial_noise(1, (4, 8, 8), 9).numpy()[0])
    assert _sample(tiny_latent_checkpoints, "dit", *common, "--init-noise", str(noise), "--seed", "9",
                   "--out-dir", str(tmp_path / "other")) == 0
    other = sorted((tmp_path / "other").glob("*.png"))
    assert len(other) == 1 and not np.array_equal(_png(other[0]), _png(given[0]))
    # the file changed since: reproduce refuses, in one line
    capsys.readouterr()
    assert main(["reproduce", str(given[1])]) == 2
    err = capsys.readouterr().err
    assert "is not the file the image was made from" in err and err.count("\n") == 1
    noise.unlink()
    assert main(["reproduce", str(given[1])]) == 2
    assert "is not there" in capsys.readouterr().err


@pytest.mark.parametrize("family, args, message", [
    ("ldm", ["--prompt", "a red dog"], "'dog'"),
    ("sit", ["--sampler", "ddim"], "the ddim sampler does not fit a flow-matching model (sit); use euler, heun, sde"),
    ("dit", ["--sampler", "heun"], "the heun sampler does not fit a model trained on a DDPM noise schedule (dit)"),
    ("sit", ["--steps", "101"], "--steps must be a whole number from 1 to 100"),
    ("dit", ["--steps", "0"], "--steps"),
    ("dit", ["--guidance", "nan"], "--guidance"),
    ("dit", ["--guidance", "-1"], "--guidance"),
    ("dit", ["--sampler", "ddpm", "--eta", "0.5"], "--eta is a DDIM setting"),
    ("dit", ["--n", "0"], "--n"),
    ("dit", ["--seed", "-3"], "--seed"),
    ("sit", ["--init-noise", "missing.npy"], "no such file"),
    ("dit", ["--classifier-guidance", "2"], "unrecognized arguments"),
])
def test_bad_input_is_one_line_and_writes_nothing(tiny_latent_checkpoints, tmp_path, capsys, family, args, message):
    out = tmp_path / "none"
    try:  # an option argparse refuses exits; a value the run refuses returns: both with code 2
        code = _sample(tiny_latent_checkpoints, family, *args, "--out-dir", str(out))
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_init_noise_of_the_wrong_shape_or_count(tiny_latent_checkpoints, tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((2, 4, 4, 4), np.float32))
    assert _sample(tiny_latent_checkpoints, "ldm", "--init-noise", str(bad), "--out-dir", str(tmp_path / "x")) == 2
    assert "must have shape (N, 4, 8, 8) or (4, 8, 8), not (2, 4, 4, 4)" in capsys.readouterr().err
    np.save(bad, np.zeros((2, 4, 8, 8), np.float32))
    assert _sample(tiny_latent_checkpoints, "ldm", "--init-noise", str(bad), "--n", "3", "--out-dir", str(tmp_path / "x")) == 2
    assert "3 images asked for, but bad.npy holds 2" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("family, picture, extra", [
    ("ldm", "frame", {"step_index": 1, "views": ["x_t", "pred_x0"]}),
    ("dit", "strip", {"strip_step_indices": [0, 2]}),
    ("sit", "evaluation-samples", {"rows": ["red circle", ""], "n": 2, "batch_size": 4}),
    ("dit", "grid", {"grid": {"axis": "w", "scales": [0.0, 3.0], "seeds": [1, 2]}}),
])
def test_the_apps_and_evals_pictures_reproduce(tiny_latent_checkpoints, tmp_path, capsys, family, picture, extra):
    """What the steps view, the guidance grid and `eval text2img` export for a latent model, drawn again."""
    from playground.core.images import save_png
    from playground.core.latent_diffusion.render import render
    from playground.core.latent_diffusion.sampling import default_settings
    from playground.core.provenance import picture_recipe

    loaded = load_checkpoint(tiny_latent_checkpoints[family])
    settings = default_settings(loaded, prompt="red", steps=3, seed=4)
    recipe = picture_recipe(loaded, picture, **settings.to_recipe(loaded.name, loaded.family), scale=2, **extra)
    image = render(recipe, loaded)
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
    save_png(tmp_path / "picture.png", image, recipe)
    capsys.readouterr()
    assert main(["reproduce", str(tmp_path / "picture.png")]) == 0
    assert "identical" in capsys.readouterr().out
