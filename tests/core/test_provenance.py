"""The recipe every export carries: its header, exact latents, reading it back, and refusing hand-edits."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from playground.core.assets import DEFAULT_CHECKPOINTS, shipped_for
from playground.core.checkpoints import WEIGHTS_NAME, load_checkpoint, save_checkpoint
from playground.core.device import model_device
from playground.core.images import save_png
from playground.core.latent.sampling import decode
from playground.core.models.vae import VAE
from playground.core.provenance import (
    RecipeError, RecipeFields, checkpoint_differences, exact_floats, helper_checkpoint, model_header,
    picture_recipe, read_png_recipe,
)


def test_the_header_names_the_model_its_checkpoint_and_the_weights_hash(tiny_checkpoint: Path) -> None:
    loaded = load_checkpoint(tiny_checkpoint)
    header = model_header(loaded)
    digest = hashlib.sha256((tiny_checkpoint / WEIGHTS_NAME).read_bytes()).hexdigest()
    assert header == {"recipe_version": 1, "model": "tiny-vae", "family": "vae",
                      "checkpoint": str((tiny_checkpoint / WEIGHTS_NAME).resolve()), "weights_sha256": digest,
                      "steps_trained": 7, "device": "cpu", "torch_threads": torch.get_num_threads()}
    recipe = picture_recipe(loaded, "decode", seed=3, scale=1)
    assert recipe == header | {"picture": "decode", "seed": 3, "scale": 1}


def test_other_weights_in_the_same_file_are_a_difference(tiny_checkpoint: Path, tiny_vae_config, tmp_path: Path) -> None:
    folder = tmp_path / "tiny-vae"
    shutil.copytree(tiny_checkpoint, folder)
    recipe = model_header(load_checkpoint(folder))
    assert checkpoint_differences(recipe, load_checkpoint(folder)) == []
    torch.manual_seed(1)
    save_checkpoint(folder / WEIGHTS_NAME, VAE(tiny_vae_config), tiny_vae_config, "vae", steps=7)
    [difference] = checkpoint_differences(recipe, load_checkpoint(folder))
    assert difference.startswith("weights:") and "other weights" in difference


def test_latents_stored_as_exact_floats_decode_to_the_same_pixels(tiny_checkpoint: Path) -> None:
    model = load_checkpoint(tiny_checkpoint).model
    z = torch.randn(5, model.latent_dim, generator=torch.Generator().manual_seed(0)).numpy()
    back = np.asarray(json.loads(json.dumps(exact_floats(z))), np.float32)
    assert np.array_equal(back, z)
    assert np.array_equal(decode(model, back), decode(model, z))


def test_a_png_is_read_back_or_refused_naming_the_file(tmp_path: Path) -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    save_png(tmp_path / "with.png", image, {"family": "vae", "seed": 1})
    assert read_png_recipe(tmp_path / "with.png") == {"family": "vae", "seed": 1}
    save_png(tmp_path / "plain.png", image)
    (tmp_path / "notes.png").write_text("not an image")
    Image.fromarray(image).save(tmp_path / "photo.jpg")
    for name, problem in [("plain.png", "carries no playground recipe"), ("notes.png", "not an image file"),
                          ("photo.jpg", "a JPEG image"), ("missing.png", "no such file")]:
        with pytest.raises(ValueError, match=problem) as info:
            read_png_recipe(tmp_path / name)
        assert str(info.value).startswith(str(tmp_path / name))


HAND_EDITED = json.loads('{"steps": 0, "eta": NaN, "w": Infinity, "seed": -1, "scale": "2", "clip_x0": "yes",'
                         ' "sampler": "euler", "latent": [0.5, null], "tokens": [[1, 2], [3, 130]],'
                         ' "grid": {"seeds": [1.5]}, "views": ["x_t", "x_t"]}')


@pytest.mark.parametrize("read, message", [
    (lambda f: f.integer("steps", 1, 1000), "'steps' must be a whole number from 1 to 1000, not 0"),
    (lambda f: f.number("eta", 0.0, 1.0), "'eta' must be a number from 0 to 1, not nan"),
    (lambda f: f.number("w"), "'w' must be a finite number, not inf"),
    (lambda f: f.seed(), "'seed' must be a whole number from 0 to 2147483647, not -1"),
    (lambda f: f.scale(), "'scale' must be a whole number from 1 to 16, not \"2\""),
    (lambda f: f.flag("clip_x0"), "'clip_x0' must be true or false, not \"yes\""),
    (lambda f: f.choice("sampler", ("ddpm", "ddim")), "'sampler' must be one of 'ddpm', 'ddim', not \"euler\""),
    (lambda f: f.numbers("latent", (2,)), "'latent' must be a list of 2 numbers"),
    (lambda f: f.int_grid("tokens", (2, 2), 0, 127), "holds 130 at position [1, 1]"),
    (lambda f: f.mapping("grid").integers("seeds", 0, 9), "'grid.seeds' must be a list of integers"),
    (lambda f: f.names("views", ("x_t", "pred_x0")), "'views' must be a list of distinct names"),
    (lambda f: f.integer("n", 1, 8), "the recipe has no 'n'"),
])
def test_a_hand_edited_value_is_refused_naming_its_key(read, message) -> None:
    with pytest.raises(ValueError) as info:
        read(RecipeFields(HAND_EDITED))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_optional_keys_take_their_default_and_a_batch_member_is_checked() -> None:
    fields = RecipeFields({"n": 4, "index": 3})
    assert fields.integer("steps", 1, 10, default=5) == 5
    assert fields.batch_member() == (4, 3)
    assert RecipeFields({}).batch_member() == (1, 0)
    with pytest.raises(RecipeError, match="'index' must be a whole number from 0 to 1"):
        RecipeFields({"n": 2, "index": 2}).batch_member()
    with pytest.raises(RecipeError, match="must be a JSON object"):
        RecipeFields([1, 2])


def test_a_helper_network_that_is_gone_falls_back_to_the_shipped_one(tmp_path: Path) -> None:
    shipped = shipped_for("noisy-classifier")
    assert shipped is not None
    assert helper_checkpoint({"classifier": str(tmp_path / "gone.safetensors")}, "classifier") == shipped.path
    assert helper_checkpoint({"classifier": str(shipped.path)}, "classifier") == shipped.path
    assert helper_checkpoint({}, "base_model") == shipped_for("ddpm").path


def test_the_shipped_checkpoint_of_a_family_is_its_default_else_the_first_of_it(tmp_path: Path, monkeypatch,
                                                                                 tiny_checkpoint: Path) -> None:
    for name in ("b-vae", "a-vae", DEFAULT_CHECKPOINTS["vae"]):
        shutil.copytree(tiny_checkpoint, tmp_path / name)
    monkeypatch.setenv("PLAYGROUND_ASSETS", str(tmp_path))
    assert shipped_for("vae").name == DEFAULT_CHECKPOINTS["vae"]
    shutil.rmtree(tmp_path / DEFAULT_CHECKPOINTS["vae"])
    assert shipped_for("vae").name == "a-vae"
    assert shipped_for("ddpm") is None


def test_a_models_device_is_where_its_weights_are() -> None:
    assert model_device(torch.nn.Linear(2, 2)) == torch.device("cpu")
    buffers_only = torch.nn.BatchNorm1d(2, affine=False)
    assert model_device(buffers_only) == torch.device("cpu")
    assert model_device(lambda x, t: x) == torch.device("cpu")
