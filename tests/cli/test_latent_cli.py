"""The VAE panel's views from the command line: encode, interpolate, latent map."""

from __future__ import annotations

import numpy as np
from PIL import Image

from playground.cli import main
from playground.core.checkpoints import load_checkpoint
from playground.core.data import load_dataset
from playground.core.images import read_recipe
from playground.core.latent.sampling import encode


def test_encode_writes_original_and_reconstruction_with_the_latent(tiny_checkpoint, tmp_path):
    out = tmp_path / "enc.png"
    assert main(["encode", "vae", "--image", "3", "--out", str(out), "--checkpoint", str(tiny_checkpoint), "--scale", "1"]) == 0
    recipe = read_recipe(out)
    model = load_checkpoint(tiny_checkpoint).model
    image = load_dataset("shapes", n=4, seed=1).images[3]
    mean, _ = encode(model, image[None])
    np.testing.assert_allclose(recipe["latent"], mean[0], atol=1e-5)
    pair = np.asarray(Image.open(out))
    assert pair.shape == (32, 66, 3)
    np.testing.assert_array_equal(pair[:, :32], image)


def test_interpolate_writes_a_strip_whose_ends_are_the_encodings(tiny_checkpoint, tmp_path):
    out = tmp_path / "strip.png"
    args = ["interpolate", "vae", "--a", "1", "--b", "2", "--frames", "5", "--scale", "1", "--mode", "linear"]
    assert main(args + ["--out", str(out), "--checkpoint", str(tiny_checkpoint)]) == 0
    recipe = read_recipe(out)
    latents = np.array(recipe["latents"])
    assert latents.shape[0] == 5
    np.testing.assert_allclose(latents[2], (latents[0] + latents[4]) / 2, atol=1e-5)
    assert np.asarray(Image.open(out)).shape == (32, 32 * 5, 3)


def test_latent_map_draws_the_encoded_points(tiny_checkpoint, tmp_path):
    out = tmp_path / "map.png"
    assert main(["latent-map", "vae", "--n", "200", "--size", "300", "--out", str(out),
                 "--checkpoint", str(tiny_checkpoint)]) == 0
    image = np.asarray(Image.open(out))
    assert image.shape == (300, 300, 3)
    red = (np.abs(image.astype(int) - (230, 50, 50)).sum(-1) < 10).sum()
    assert red > 20, "points coloured by their shape colour"


def test_latent_map_refuses_an_unknown_label(tiny_checkpoint, tmp_path, capsys):
    code = main(["latent-map", "vae", "--n", "50", "--color-by", "mood", "--out", str(tmp_path / "m.png"),
                 "--checkpoint", str(tiny_checkpoint)])
    assert code == 2
    assert "mood" in capsys.readouterr().err
