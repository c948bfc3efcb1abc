"""`playground img2img` and `playground invert` on tiny untrained models (no shipped asset needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from playground.cli import main
from playground.core.checkpoints import WEIGHTS_NAME, save_checkpoint
from playground.core.data import load_dataset
from playground.core.images import read_recipe
from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel
from tolerance import assert_same_picture


@pytest.fixture(scope="module")
def tiny_ddpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ddpm") / "ddpm-tiny"
    torch.manual_seed(0)
    config = DDPMConfig(base_channels=8, channel_mults=(1, 2), schedule="linear", num_train_timesteps=100)
    model = DiffusionModel(config)
    torch.nn.init.normal_(model.out.weight, std=0.05)
    save_checkpoint(folder / WEIGHTS_NAME, model, config, "ddpm", data="shapes", steps=1)
    return folder


@pytest.fixture(scope="module")
def picture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("in") / "shape.png"
    Image.fromarray(load_dataset("shapes", n=4, seed=1).images[2]).resize((64, 64)).save(path)
    return path


def _png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_img2img_latent_writes_the_result_with_its_recipe(tiny_latent_checkpoints, picture, tmp_path, capsys):
    out = tmp_path / "x.png"
    rc = main(["img2img", "ldm", "--image", str(picture), "--strength", "0.6", "--prompt", "a red circle",
               "--guidance", "2", "--steps", "10", "--seed", "4", "--out", str(out),
               "--checkpoint", str(tiny_latent_checkpoints["ldm"])])
    assert rc == 0
    assert "t = 50 of 99" in capsys.readouterr().out  # 10 steps of T = 100: start index 4
    recipe = read_recipe(out)
    assert recipe["picture"] == "img2img" and recipe["family"] == "ldm"
    assert (recipe["strength"], recipe["start_index"], recipe["start_t"], recipe["steps"]) == (0.6, 4, 50, 10)
    assert recipe["prompt"] == "a red circle" and recipe["guidance_scale"] == 2.0 and recipe["seed"] == 4
    assert recipe["image"] == str(picture.resolve()) and len(recipe["image_sha256"]) == 64
    assert _png(out).shape == (32, 32, 3)


def test_img2img_same_seed_same_picture_and_sit_uses_the_flow(tiny_latent_checkpoints, tmp_path):
    outs = []
    for name in ("a.png", "b.png"):
        outs.append(tmp_path / name)
        assert main(["img2img", "sit", "--index", "5", "--strength", "0.5", "--sampler", "euler", "--steps", "4",
                     "--out", str(outs[-1]), "--checkpoint", str(tiny_latent_checkpoints["sit"])]) == 0
    assert np.array_equal(_png(outs[0]), _png(outs[1]))
    recipe = read_recipe(outs[0])
    assert recipe["sampler"] == "euler" and recipe["start_t"] == 50 and recipe["image_index"] == 5


def test_img2img_pixel_ddpm_from_a_data_set_image(tiny_ddpm, tmp_path):
    out = tmp_path / "d.png"
    assert main(["img2img", "ddpm", "--index", "1", "--strength", "0.3", "--sampler", "ddpm", "--steps", "20",
                 "--scale", "2", "--out", str(out), "--checkpoint", str(tiny_ddpm)]) == 0
    assert _png(out).shape == (64, 64, 3)
    assert read_recipe(out)["start_index"] == 14


def test_invert_writes_the_noise_that_sample_init_noise_reads(tiny_latent_checkpoints, picture, tmp_path, capsys):
    noise, round_trip = tmp_path / "noise.npy", tmp_path / "rt.png"
    checkpoint = str(tiny_latent_checkpoints["dit"])
    assert main(["invert", "dit", "--image", str(picture), "--prompt", "a red circle", "--steps", "6",
                 "--out", str(noise), "--round-trip", str(round_trip), "--scale", "1", "--checkpoint", checkpoint]) == 0
    printed = capsys.readouterr().out
    assert "round trip: MSE" in printed and "PSNR" in printed and "--init-noise" in printed
    x_T = np.load(noise)
    assert x_T.dtype == np.float32 and x_T.shape == (1, 4, 8, 8) and np.isfinite(x_T).all()
    reconstruction = _png(round_trip)[:, 34:]  # input | round trip, 2 px apart
    # sampling the noise forward with the same sampler, steps, prompt and w = 1 is the round trip
    sampled = tmp_path / "s.png"
    assert main(["sample", "dit", "--init-noise", str(noise), "--sampler", "ddim", "--steps", "6",
                 "--prompt", "a red circle", "--guidance", "1", "--out", str(sampled), "--scale", "1",
                 "--checkpoint", checkpoint]) == 0
    assert_same_picture(_png(sampled)[2:-2, 2:-2], reconstruction[2:-2, 2:-2])


def test_invert_pixel_model(tiny_ddpm, tmp_path):
    noise = tmp_path / "n.npy"
    assert main(["invert", "ddpm", "--index", "0", "--steps", "5", "--out", str(noise), "--checkpoint", str(tiny_ddpm)]) == 0
    assert np.load(noise).shape == (1, 3, 32, 32)


@pytest.mark.parametrize("args, message", [
    (["img2img", "ddpm", "--index", "0", "--strength", "0"], "--strength"),
    (["img2img", "ddpm", "--index", "0", "--strength", "0.01", "--steps", "50"], "redoes no step"),
    (["img2img", "ddpm", "--index", "0", "--strength", "0.5", "--steps", "500"], "steps"),
    (["img2img", "ddpm", "--index", "0", "--strength", "0.5", "--prompt", "a red circle"], "takes no prompt"),
    (["img2img", "ddpm", "--index", "0", "--strength", "0.5", "--sampler", "heun"], "does not fit"),
    (["img2img", "ddpm", "--image", "missing.png", "--strength", "0.5"], "no such file"),
    (["invert", "ddpm", "--index", "0", "--sampler", "ddpm"], "deterministic"),
])
def test_bad_input_is_one_line_and_writes_nothing(tiny_ddpm, tmp_path, capsys, args, message):
    out = tmp_path / ("out.npy" if args[0] == "invert" else "out.png")
    out.write_bytes(b"keep")
    try:
        rc = main(args + ["--out", str(out), "--checkpoint", str(tiny_ddpm)])
    except SystemExit as exc:  # argparse refuses a malformed option itself
        rc = exc.code
    err = capsys.readouterr().err
    assert rc != 0 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert out.read_bytes() == b"keep"


def test_not_an_image_is_one_line(tiny_ddpm, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_text("not a picture")
    assert main(["img2img", "ddpm", "--image", str(bad), "--strength", "0.5", "--out", str(tmp_path / "o.png"),
                 "--checkpoint", str(tiny_ddpm)]) != 0
    assert "is not an image file" in capsys.readouterr().err


@pytest.mark.parametrize("family, extra", [("ldm", ["--image", "PICTURE", "--prompt", "a red circle", "--guidance", "2"]),
                                           ("ddpm", ["--index", "4", "--sampler", "ddpm"])])
def test_img2img_png_is_drawn_again_from_its_recipe(tiny_ddpm, tiny_latent_checkpoints, picture, tmp_path, family, extra):
    from playground.core.checkpoints import load_checkpoint
    from playground.core.img2img.render import render

    checkpoint = tiny_ddpm if family == "ddpm" else tiny_latent_checkpoints[family]
    out = tmp_path / "x.png"
    args = [str(picture) if a == "PICTURE" else a for a in extra]
    assert main(["img2img", family, *args, "--strength", "0.5", "--steps", "6", "--seed", "3", "--scale", "2",
                 "--out", str(out), "--checkpoint", str(checkpoint)]) == 0
    again = render(read_recipe(out), load_checkpoint(checkpoint))
    np.testing.assert_array_equal(again, _png(out))


def test_round_trip_png_is_drawn_again_and_a_changed_input_is_refused(tiny_latent_checkpoints, tmp_path):
    from playground.core.checkpoints import load_checkpoint
    from playground.core.img2img.render import render
    from playground.core.provenance import RecipeError

    source = tmp_path / "in.png"
    Image.fromarray(load_dataset("shapes", n=2, seed=3).images[1]).save(source)
    out, checkpoint = tmp_path / "rt.png", tiny_latent_checkpoints["sit"]
    assert main(["invert", "sit", "--image", str(source), "--steps", "4", "--out", str(tmp_path / "n.npy"),
                 "--round-trip", str(out), "--scale", "1", "--checkpoint", str(checkpoint)]) == 0
    loaded = load_checkpoint(checkpoint)
    np.testing.assert_array_equal(render(read_recipe(out), loaded), _png(out))
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(source)
    with pytest.raises(RecipeError, match="not the file"):
        render(read_recipe(out), loaded)


def test_playground_reproduce_redraws_an_img2img_png(tiny_latent_checkpoints, tmp_path, capsys):
    out, again = tmp_path / "x.png", tmp_path / "again.png"
    assert main(["img2img", "sit", "--index", "2", "--prompt", "a red circle", "--strength", "0.6", "--steps", "5",
                 "--out", str(out), "--checkpoint", str(tiny_latent_checkpoints["sit"])]) == 0
    assert main(["reproduce", str(out), "--out", str(again)]) == 0
    np.testing.assert_array_equal(_png(again), _png(out))
