"""Smoke tests of `playground encode vqvae`, `sample vqvae` and `codebook` on a tiny model in tmp_path."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from playground.cli import main
from playground.core.checkpoints import WEIGHTS_NAME, save_checkpoint
from playground.core.data import load_dataset
from playground.core.images import read_recipe
from playground.core.models.vqvae import VQVAE, VQVAEConfig
from playground.core.codebook.token_grid import load_token_grid

CONFIG = VQVAEConfig(codebook_size=16, code_dim=8, channels=(8, 16))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ckpt") / "tiny-vqvae"
    torch.manual_seed(0)
    save_checkpoint(folder / WEIGHTS_NAME, VQVAE(CONFIG), CONFIG, "vqvae", data="shapes", steps=1,
                    extra={"codebook_usage": [1] * 8 + [0] * 8})
    return folder


@pytest.fixture
def image_file(tmp_path):
    path = tmp_path / "shape.png"
    Image.fromarray(load_dataset("shapes", n=1, seed=3).images[0]).save(path)
    return path


def test_encode_then_sample_round_trip(tmp_path, checkpoint, image_file):
    grid_path, recon = tmp_path / "grid.json", tmp_path / "recon.png"
    assert main(["encode", "vqvae", "--image", str(image_file), "--out", str(grid_path),
                 "--recon", str(recon), "--checkpoint", str(checkpoint), "--device", "cpu"]) == 0
    grid = load_token_grid(grid_path, grid_size=8, codebook_size=16)
    assert grid.model == "tiny-vqvae"
    out = tmp_path / "x.png"
    assert main(["sample", "vqvae", "--tokens", str(grid_path), "--out", str(out), "--scale", "1",
                 "--checkpoint", str(checkpoint), "--device", "cpu"]) == 0
    with Image.open(out) as img:
        assert img.size == (36, 36)  # one 32x32 image with the grid's 2px border
        decoded = np.asarray(img)[2:34, 2:34]
    with Image.open(recon) as img:
        assert np.array_equal(np.asarray(img)[::4, ::4], decoded)  # --recon is the same decode, upscaled 4x
    assert read_recipe(out)["grid_of"]["tokens_file"] == str(grid_path)


def test_encode_by_index_and_unigram_samples(tmp_path, checkpoint):
    folder = tmp_path / "images"
    folder.mkdir()
    for i, image in enumerate(load_dataset("shapes", n=3, seed=0).images):
        Image.fromarray(image).save(folder / f"{i}.png")
    grid_path, direct_path = tmp_path / "grid.json", tmp_path / "direct.json"
    assert main(["encode", "vqvae", "--data", str(folder), "--index", "2", "--out", str(grid_path),
                 "--checkpoint", str(checkpoint), "--device", "cpu"]) == 0
    assert main(["encode", "vqvae", "--image", str(folder / "2.png"), "--out", str(direct_path),
                 "--checkpoint", str(checkpoint), "--device", "cpu"]) == 0
    assert np.array_equal(load_token_grid(grid_path).indices, load_token_grid(direct_path).indices)
    assert main(["encode", "vqvae", "--data", str(folder), "--index", "3", "--out", str(grid_path),
                 "--checkpoint", str(checkpoint), "--device", "cpu"]) == 2
    out_dir = tmp_path / "samples"
    assert main(["sample", "vqvae", "--n", "3", "--out-dir", str(out_dir),
                 "--checkpoint", str(checkpoint), "--device", "cpu"]) == 0
    recipes = [read_recipe(p) for p in sorted(out_dir.glob("*.png"))]
    assert len(recipes) == 3
    assert all(max(max(row) for row in r["tokens"]) < 8 for r in recipes)  # drawn from the used codes only


def test_codebook_writes_atlas_and_histogram(tmp_path, checkpoint):
    atlas = tmp_path / "atlas.png"
    assert main(["codebook", "--out", str(atlas), "--checkpoint", str(checkpoint), "--data-size", "20",
                 "--columns", "4", "--scale", "1", "--tile", "centre", "--order", "usage", "--device", "cpu"]) == 0
    with Image.open(atlas) as img:
        assert img.size == (4 * 34 + 2, 4 * 34 + 2)
    histogram = tmp_path / "atlas_usage.png"
    with Image.open(histogram) as img:
        assert img.size == (960, 360)
    assert sum(read_recipe(histogram)["codebook_usage"]) == 20 * 64


def test_bad_token_grid_is_one_clear_error(tmp_path, checkpoint, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "playground-token-grid", "version": 1, "model": "tiny-vqvae",
                               "grid_size": [4, 4], "indices": [[0] * 4] * 4}))
    code = main(["sample", "vqvae", "--tokens", str(bad), "--out", str(tmp_path / "x.png"),
                 "--checkpoint", str(checkpoint), "--device", "cpu"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"{bad}: wrong size" in err and "Traceback" not in err
