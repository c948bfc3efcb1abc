"""Every kind of bad file the loaders meet, beyond the damaged checkpoints of test_checkpoints.py:
malicious pickles under any name (with and without a JSON beside them), hand-edited or cut-off
JSON, configs that do not match their weights or ask for absurd sizes, NaN weights, files that
are not images, token grids with codes out of range, hand-edited PNG recipes.

Each loader answers with a ValueError subclass whose message names the file (the CLI prints it
as one line; the GUI shows it), and none runs code: a payload that would create a marker file
is loaded every way and the marker never appears.
"""

from __future__ import annotations

import json
import pickle
import shutil
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from playground.core.checkpoints import WEIGHTS_NAME, CheckpointError, load_checkpoint, read_meta, save_checkpoint
from playground.core.codebook.token_grid import TokenGridError, load_token_grid
from playground.core.data import load_dataset
from playground.core.data.folder import ImageFileError, load_image_file, load_image_folder
from playground.core.images import save_png
from playground.core.models.vae import VAE


class _CreatesMarker:
    """Unpickling this calls open(marker, "w"): a loader that unpickles it leaves the marker behind."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _pickle_payloads(marker: Path) -> dict[str, bytes]:
    """The payload as a plain pickle and as torch.save writes it (a zip holding a pickle)."""
    plain = pickle.dumps({"state_dict": _CreatesMarker(marker)})
    zipped = Path(str(marker) + ".zip")
    torch.save({"state_dict": _CreatesMarker(marker)}, zipped)
    return {"pickle": plain, "torch.save": zipped.read_bytes()}


def test_the_payload_runs_when_unpickled(tmp_path: Path):
    """Proof that the marker would appear if any loader unpickled the files below."""
    marker = tmp_path / "ran"
    pickle.loads(_pickle_payloads(marker)["pickle"])["state_dict"].close()
    assert marker.exists()


@pytest.fixture
def checkpoint(tmp_path: Path, tiny_checkpoint: Path) -> Path:
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, folder)
    return folder


NAMES = ["model.safetensors", "model.json", "model.pt", "model.bin", "model.ckpt", "model.pkl", "model"]


@pytest.mark.parametrize("kind", ["pickle", "torch.save"])
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("beside", ["valid JSON and weights beside", "nothing beside"])
def test_a_malicious_pickle_under_any_name_is_refused_without_running(tmp_path, checkpoint, kind, name, beside):
    marker = tmp_path / "ran"
    folder = tmp_path / "evil"
    if beside == "nothing beside":
        folder.mkdir()
    else:  # a real checkpoint's sidecar and weights around the pickle, so only the pickle is wrong
        shutil.copytree(checkpoint, folder)
    path = folder / name
    path.write_bytes(_pickle_payloads(marker)[kind])
    with pytest.raises(CheckpointError, match=str(folder)):
        load_checkpoint(path)
    if beside == "nothing beside" or name in ("model.safetensors", "model.json"):
        with pytest.raises(CheckpointError, match=str(folder)):
            load_checkpoint(folder)
    else:  # the pickle lies beside a real checkpoint: the folder loads that, and never opens the pickle
        assert load_checkpoint(folder).family == "vae"
    assert not marker.exists(), "a loader unpickled the file"


def test_listing_and_loading_an_assets_folder_of_pickles_runs_nothing(tmp_path, monkeypatch):
    from playground.core.assets import list_shipped, shipped_for

    marker = tmp_path / "ran"
    payload = _pickle_payloads(marker)["pickle"]
    for name in ("vae-shapes", "ddpm-shapes"):
        (tmp_path / "assets" / name).mkdir(parents=True)
        (tmp_path / "assets" / name / WEIGHTS_NAME).write_bytes(payload)
        (tmp_path / "assets" / name / "model.json").write_bytes(payload)
    monkeypatch.setenv("PLAYGROUND_ASSETS", str(tmp_path / "assets"))
    assert list_shipped() == [] and shipped_for("vae") is None  # broken ones are skipped
    assert not marker.exists()


def test_a_pickle_given_as_image_token_grid_or_png_recipe_runs_nothing(tmp_path):
    from playground.core.provenance import read_png_recipe

    marker = tmp_path / "ran"
    for kind, payload in _pickle_payloads(marker).items():
        for suffix in (".png", ".json", ".jpg"):
            path = tmp_path / f"{kind}{suffix}"
            path.write_bytes(payload)
            with pytest.raises(ImageFileError, match=str(path)):
                load_image_file(path)
            with pytest.raises(TokenGridError, match=str(path)):
                load_token_grid(path)
            with pytest.raises(ValueError, match=str(path)):
                read_png_recipe(path)
    assert not marker.exists()


# --- checkpoint JSON: cut off, malformed, hand-edited --------------------------------------


@pytest.mark.parametrize("keep", [0, 1, 10, 0.5, -2])
def test_a_cut_off_json_sidecar_names_the_file(checkpoint, keep):
    text = (checkpoint / "model.json").read_text()
    cut = int(len(text) * keep) if isinstance(keep, float) else (keep if keep >= 0 else len(text) + keep)
    (checkpoint / "model.json").write_text(text[:cut])
    with pytest.raises(CheckpointError, match=r"model\.json: not valid JSON"):
        load_checkpoint(checkpoint)


def test_deeply_nested_json_is_refused_not_a_recursion_crash(checkpoint):
    (checkpoint / "model.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(CheckpointError, match=r"model\.json: not valid JSON"):
        read_meta(checkpoint)


def _edit(folder: Path, change) -> None:
    raw = json.loads((folder / "model.json").read_text())
    change(raw)
    (folder / "model.json").write_text(json.dumps(raw))


@pytest.mark.parametrize("change, words", [
    (lambda r: r.update(family="transformer"), "unknown model family 'transformer'"),
    (lambda r: r.update(family=7), "'family' must be a JSON string"),
    (lambda r: r.update(steps="many"), "'steps' must be a JSON whole number"),
    (lambda r: r.update(metrics=[1, 2]), "'metrics' must be a JSON object"),
    (lambda r: r.update(metrics={"val_mse": "low"}), "metric 'val_mse' must be a number"),
    (lambda r: r.update(extra=None), "'extra' must be a JSON object"),
    (lambda r: r.update(config=[4, 8]), "'config' must be a JSON object"),
    (lambda r: r["config"].update(beta=float("nan")), "'beta' must be a finite number"),
    (lambda r: r["config"].update(beta=float("inf")), "'beta' must be a finite number"),
    (lambda r: r["config"].update(latent_dim=-4), "config cannot build"),
    (lambda r: r["config"].update(latent_dim=10**12), "'latent_dim' = 1000000000000 is beyond"),
    (lambda r: r["config"].update(image_size=100_000), "'image_size' = 100000 is beyond"),
    (lambda r: r["config"].update(channels=[8, "16"]), "'channels[1]' must be int"),
    (lambda r: r["config"].update(channels=[8, True]), "'channels[1]' must be int"),
    (lambda r: r["config"].update(channels=[8, 16.5]), "'channels[1]' must be int"),
    (lambda r: r["config"].update(latent_dim=5), "weights do not match the config"),
])
def test_a_hand_edited_sidecar_names_the_field(checkpoint, change, words):
    _edit(checkpoint, change)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(checkpoint)
    assert "model.json" in str(info.value) or "model.safetensors" in str(info.value)
    assert words in str(info.value)


def test_a_config_far_larger_than_its_weights_stops_before_allocating_it(checkpoint):
    """A layer of 1024 x 4096 x 3 x 3 weights is 150 MB, a thousand times what the file holds:
    refused as soon as it is registered, before anything is written into it."""
    _edit(checkpoint, lambda r: r["config"].update(channels=[1024, 4096]))
    started = time.perf_counter()
    with pytest.raises(CheckpointError, match="far larger .* than model.safetensors holds"):
        load_checkpoint(checkpoint)
    assert time.perf_counter() - started < 5


def test_a_config_for_other_weights_is_refused_before_the_weights_are_read(checkpoint, monkeypatch):
    """Only the header is read first: a mismatch is named without loading the tensors' data."""
    from playground.core import checkpoints

    def never(*args, **kwargs):
        raise AssertionError("the tensors were read")

    monkeypatch.setattr(checkpoints, "load_file", never)
    _edit(checkpoint, lambda r: r["config"].update(latent_dim=6))
    with pytest.raises(CheckpointError, match=r"weights do not match the config .* vs config's \(1024, 6\)"):
        load_checkpoint(checkpoint)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_weights_holding_nan_or_inf_are_refused(tmp_path, tiny_vae_config, value):
    model = VAE(tiny_vae_config)
    state = model.state_dict()
    first = next(k for k, v in state.items() if v.is_floating_point())
    state[first] = state[first].clone()
    state[first].view(-1)[3] = value
    save_checkpoint(tmp_path / "run" / WEIGHTS_NAME, model, tiny_vae_config, "vae", state_dict=state)
    with pytest.raises(CheckpointError, match=f"NaN or infinite values .*{first}"):
        load_checkpoint(tmp_path / "run")


@pytest.mark.parametrize("keep", [0, 8, 100, 0.5, 0.99])
def test_truncated_weights_are_refused(checkpoint, keep):
    data = (checkpoint / WEIGHTS_NAME).read_bytes()
    (checkpoint / WEIGHTS_NAME).write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    with pytest.raises(CheckpointError, match=r"model\.safetensors: corrupt or not a safetensors file"):
        load_checkpoint(checkpoint)


def test_a_folder_where_the_weights_should_be(checkpoint):
    (checkpoint / WEIGHTS_NAME).unlink()
    (checkpoint / WEIGHTS_NAME).mkdir()
    with pytest.raises(CheckpointError, match="weights file not found"):
        load_checkpoint(checkpoint)


# --- images and image folders ----------------------------------------------------------------


def _png_header_only(width: int, height: int) -> bytes:
    """A few dozen bytes claiming a width x height PNG: opening it must not decode billions of pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("content, words", [
    (b"", "not an image file"),
    (b"just some notes\n", "not an image file"),
    (b"\x89PNG\r\n\x1a\n cut short", "not an image file"),
    (_png_header_only(100_000, 100_000), "too many pixels"),
    (_png_header_only(32, 32), "damaged or cut short"),
])
def test_a_file_that_is_not_a_readable_image_names_itself(tmp_path, content, words):
    path = tmp_path / "picture.png"
    path.write_bytes(content)
    with pytest.raises(ImageFileError) as info:
        load_image_file(path)
    assert str(path) in str(info.value) and words in str(info.value)


def test_missing_files_and_folders_given_as_images(tmp_path):
    with pytest.raises(ImageFileError, match="no such file"):
        load_image_file(tmp_path / "missing.png")
    with pytest.raises(ImageFileError, match="is a folder"):
        load_image_file(tmp_path)
    with pytest.raises(ImageFileError, match="not a folder of images"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="not 'shapes', 'digits'"):
        load_dataset(str(tmp_path / "missing"))


def test_an_empty_folder_or_one_without_pictures_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("no images here")
    (tmp_path / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (tmp_path / "._shape.png").write_bytes(b"\0\5\26\7 AppleDouble")  # macOS's shadow of a copied file
    with pytest.raises(ImageFileError, match="no .png, .jpg or .webp images"):
        load_dataset(str(tmp_path))
    save_png(tmp_path / "shape.png", np.full((32, 32, 3), 90, np.uint8))
    images, names = load_image_folder(tmp_path)
    assert names == ["shape.png"] and images.shape == (1, 32, 32, 3)  # the hidden shadows are no pictures


# --- token grids -------------------------------------------------------------------------------


def _grid_file(path: Path, **changes) -> Path:
    raw = {"format": "playground-token-grid", "version": 1, "model": "vqvae-shapes", "grid_size": [2, 2],
           "codebook_size": 16, "indices": [[0, 1], [2, 3]]}
    raw.update(changes)
    path.write_text(json.dumps(raw))
    return path


@pytest.mark.parametrize("changes, words", [
    ({"indices": [[0, 1], [2, 16]]}, "16 at row 1, column 1"),
    ({"indices": [[0, 1], [-1, 3]]}, "-1 at row 1, column 0"),
    ({"indices": [[0, 10**30], [2, 3]]}, "out of range: 1e+30 at row 0, column 1"),
    ({"indices": [[0, 1.5], [2, 3]]}, "must be integers, got 1.5"),
    ({"indices": [[0, True], [2, 3]]}, "must be integers, got True"),
    ({"indices": [[0, None], [2, 3]]}, "must be integers, got None"),
    ({"indices": [[0, [1]], [2, 3]]}, "must be integers, got [1]"),
    ({"indices": [[0, 1], [2]]}, "rectangular"),
    ({"indices": []}, "non-empty list"),
    ({"indices": "0,1,2,3"}, "non-empty list"),
    ({"grid_size": [3, 3]}, "grid_size says 3x3"),
    ({"codebook_size": -4}, "codebook_size must be a positive integer"),
    ({"codebook_size": float("nan")}, "codebook_size must be a positive integer"),
    ({"model": 12}, "model must be a string"),
    ({"version": 99}, "version 99 is not supported"),
    ({"format": "something-else"}, "not a token grid file"),
])
def test_a_hand_edited_token_grid_names_the_problem(tmp_path, changes, words):
    path = _grid_file(tmp_path / "grid.json", **changes)
    with pytest.raises(TokenGridError) as info:
        load_token_grid(path, codebook_size=16)
    assert str(path) in str(info.value) and words in str(info.value)


def test_token_grid_files_that_are_not_grids(tmp_path):
    cases = {"empty.json": b"", "nested.json": b"[" * 100_000, "latin1.json": "\xe9t\xe9".encode("latin-1"),
             "huge.json": b" " * (17 * 2**20)}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(TokenGridError, match=name):
            load_token_grid(tmp_path / name)
    with pytest.raises(TokenGridError, match="no such file"):
        load_token_grid(tmp_path / "missing.json")
    with pytest.raises(TokenGridError, match="is a folder"):
        load_token_grid(tmp_path)


@pytest.mark.parametrize("recipe, words", [
    ({"model": "vqvae-shapes"}, "carries no token grid"),
    ({"tokens": [[0, 99], [1, 2]]}, "99 at row 0, column 1"),
    ({"tokens": "[[0, 1], [1, 2]]"}, "non-empty list"),
    ({"tokens": [[0, 1], [1, 2]], "codebook_size": "sixteen"}, "codebook_size must be a positive integer"),
])
def test_a_hand_edited_png_recipe_is_checked_like_a_grid_file(tmp_path, recipe, words):
    path = save_png(tmp_path / "edited.png", np.zeros((8, 8, 3), np.uint8), recipe)
    with pytest.raises(TokenGridError) as info:
        load_token_grid(path, codebook_size=16)
    assert str(path) in str(info.value) and words in str(info.value)


def test_a_png_recipe_that_is_not_json_at_all(tmp_path):
    from PIL import Image, PngImagePlugin

    from playground.core.images import RECIPE_KEY

    info = PngImagePlugin.PngInfo()
    info.add_text(RECIPE_KEY, '{"tokens": [[0, 1], [1, 2]')  # cut off by hand
    Image.new("RGB", (8, 8)).save(tmp_path / "cut.png", pnginfo=info)
    with pytest.raises(TokenGridError, match=r"cut\.png: cannot read the PNG's metadata"):
        load_token_grid(tmp_path / "cut.png")
