"""Latent-model sampling (prior samples, interpolation) and the `sample` / `info` commands."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch
import pytest
from PIL import Image

from playground.cli import main
from playground.core.checkpoints import load_checkpoint
from playground.core.images import read_recipe
from playground.core.latent.sampling import decode, encode, interpolate, prior_latents, sample_prior


@pytest.fixture(scope="module")
def tiny_model(tiny_checkpoint: Path):
    return load_checkpoint(tiny_checkpoint).model


# --- prior samples ---------------------------------------------------------------------------


def test_prior_samples_are_deterministic_per_seed(tiny_model):
    images, latents = sample_prior(tiny_model, 4, seed=5)
    again, latents_again = sample_prior(tiny_model, 4, seed=5)
    assert images.shape == (4, 32, 32, 3) and images.dtype == np.uint8
    assert latents.shape == (4, 4)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(latents, latents_again)
    other, other_latents = sample_prior(tiny_model, 4, seed=6)
    assert not np.array_equal(latents, other_latents)
    assert not np.array_equal(images, other)


def test_temperature_scales_the_prior_latents():
    np.testing.assert_allclose(prior_latents(4, 3, 1, temperature=0.5).numpy(), 0.5 * prior_latents(4, 3, 1).numpy())


def test_decoding_the_returned_latents_gives_the_returned_images(tiny_model):
    images, latents = sample_prior(tiny_model, 3, seed=2)
    np.testing.assert_array_equal(decode(tiny_model, latents), images)
    from tolerance import assert_same_picture  # a batch of 1 against a batch of 3: see tests/tolerance.py

    assert_same_picture(decode(tiny_model, latents[1]), images[1:2])


def test_encode_returns_one_mean_and_log_variance_per_image(tiny_model, small_shapes):
    mean, logvar = encode(tiny_model, small_shapes.images[:10], batch_size=4)
    assert mean.shape == logvar.shape == (10, 4)
    assert np.isfinite(mean).all() and np.isfinite(logvar).all()


# --- interpolation ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["linear", "spherical"])
def test_interpolation_endpoints_are_the_inputs(mode):
    rng = np.random.default_rng(0)
    z0, z1 = rng.standard_normal(8), rng.standard_normal(8)
    path = interpolate(z0, z1, np.linspace(0, 1, 5), mode=mode)
    assert path.shape == (5, 8)
    np.testing.assert_allclose(path[0], z0, atol=1e-6)
    np.testing.assert_allclose(path[-1], z1, atol=1e-6)
    single = interpolate(z0, z1, 0.25, mode=mode)
    assert single.shape == (8,)
    np.testing.assert_allclose(single, path[1], atol=1e-6)


def test_slerp_keeps_the_norm_where_lerp_shrinks_it():
    rng = np.random.default_rng(1)
    z0 = rng.standard_normal(16)
    z1 = rng.standard_normal(16)
    z1 *= np.linalg.norm(z0) / np.linalg.norm(z1)
    t = np.linspace(0, 1, 9)
    norms = np.linalg.norm(interpolate(z0, z1, t, mode="spherical"), axis=1)
    np.testing.assert_allclose(norms, np.linalg.norm(z0), rtol=1e-5)
    lerp_mid = np.linalg.norm(interpolate(z0, z1, 0.5, mode="linear"))
    assert lerp_mid < 0.9 * np.linalg.norm(z0)


def test_linear_interpolation_midpoint_is_the_average():
    np.testing.assert_allclose(interpolate(np.zeros(3), np.array([2.0, 4.0, -6.0]), 0.5), [1.0, 2.0, -3.0])


def test_unknown_interpolation_mode_is_an_error():
    with pytest.raises(ValueError, match="linear"):
        interpolate(np.zeros(2), np.ones(2), 0.5, mode="cubic")


# --- playground sample / info -------------------------------------------------------------------


def test_cli_sample_grid(tiny_checkpoint: Path, tmp_path: Path, capsys):
    out = tmp_path / "grid.png"
    code = main(["sample", "vae", "--checkpoint", str(tiny_checkpoint), "--n", "4", "--out", str(out), "--device", "cpu"])
    assert code == 0
    assert str(out) in capsys.readouterr().out
    with Image.open(out) as image:
        # 2 x 2 tiles of 32 px with 2 px padding, upscaled 2x
        assert image.size == (2 * (2 * 34 + 2), 2 * (2 * 34 + 2))
    recipe = read_recipe(out)
    assert recipe["n"] == 4
    assert recipe["grid_of"]["model"] == "tiny-vae"
    assert recipe["grid_of"]["seed"] == 0


def test_cli_sample_one_png_per_sample_with_its_recipe(tiny_checkpoint: Path, tiny_model, tmp_path: Path):
    out_dir = tmp_path / "samples"
    argv = ["sample", "vae", "--checkpoint", str(tiny_checkpoint), "--n", "3", "--seed", "4",
            "--out-dir", str(out_dir), "--device", "cpu"]
    assert main(argv) == 0
    files = sorted(out_dir.glob("*.png"))
    assert [f.name for f in files] == ["sample_0000.png", "sample_0001.png", "sample_0002.png"]
    expected_images, expected_latents = sample_prior(tiny_model, 3, seed=4)
    for i, path in enumerate(files):
        recipe = read_recipe(path)
        assert recipe["model"] == "tiny-vae" and recipe["family"] == "vae"
        assert recipe["seed"] == 4 and recipe["index"] == i
        np.testing.assert_allclose(recipe["latent"], expected_latents[i], atol=1e-6)
        image = np.asarray(Image.open(path).convert("RGB"))
        np.testing.assert_array_equal(image, expected_images[i])
        # the recipe alone re-creates the picture (latents are stored to 6 decimals)
        again = decode(tiny_model, np.array(recipe["latent"], np.float32))[0]
        assert np.abs(again.astype(int) - image.astype(int)).max() <= 1


def test_cli_sample_ae_accepts_a_vae_checkpoint(tiny_checkpoint: Path, tmp_path: Path):
    assert main(["sample", "ae", "--checkpoint", str(tiny_checkpoint), "--n", "1", "--out", str(tmp_path / "x.png")]) == 0


def _one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


def test_cli_sample_missing_checkpoint_is_a_one_line_error(tmp_path: Path, capsys):
    missing = tmp_path / "no-such-checkpoint"
    code = main(["sample", "vae", "--checkpoint", str(missing), "--n", "2", "--out", str(tmp_path / "g.png")])
    assert code == 2
    line = _one_line_error(capsys)
    assert line.startswith("playground sample: error:")
    assert str(missing) in line
    assert not (tmp_path / "g.png").exists()


def test_cli_sample_corrupt_checkpoint_is_a_one_line_error(tiny_checkpoint: Path, tmp_path: Path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_checkpoint, broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 100)
    code = main(["sample", "vae", "--checkpoint", str(broken), "--n", "2", "--out", str(tmp_path / "g.png")])
    assert code == 2
    line = _one_line_error(capsys)
    assert str(broken / "model.safetensors") in line and "corrupt" in line


def test_cli_sample_without_shipped_checkpoint_says_what_to_do(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("PLAYGROUND_ASSETS", str(tmp_path / "empty-assets"))
    code = main(["sample", "vae", "--n", "1", "--out", str(tmp_path / "g.png")])
    assert code == 2
    line = _one_line_error(capsys)
    assert "--checkpoint" in line or "README" in line


def test_cli_info_lists_shipped_checkpoints_and_the_device(tiny_checkpoint: Path, tmp_path: Path, monkeypatch, capsys):
    assets = tmp_path / "assets"
    shutil.copytree(tiny_checkpoint, assets / "vae-shapes")
    (assets / "broken").mkdir()
    (assets / "broken" / "model.safetensors").write_bytes(b"junk")  # no JSON: skipped, not fatal
    monkeypatch.setenv("PLAYGROUND_ASSETS", str(assets))
    assert main(["info", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "device cpu" in out
    assert str(assets) in out
    listed = [line.split() for line in out.splitlines() if line.startswith("  ")]
    assert [row[:2] for row in listed] == [["vae-shapes", "vae"]]
    assert "val_mse" in out


def test_cli_info_runs_with_the_default_assets(capsys):
    assert main(["info"]) == 0
    assert "shipped checkpoints in" in capsys.readouterr().out


def test_cli_unknown_device_is_a_one_line_error(capsys):
    assert main(["info", "--device", "tpu"]) == 2
    assert "tpu" in _one_line_error(capsys)


def test_latent_i_of_a_seed_is_the_single_latent_of_seed_plus_i():
    from playground.core.latent.sampling import prior_latents

    many = prior_latents(5, 6, seed=9)
    for i in range(6):
        torch.testing.assert_close(many[i], prior_latents(5, 1, seed=9 + i)[0])
