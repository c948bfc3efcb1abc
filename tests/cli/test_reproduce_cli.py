"""`playground reproduce`: every family's exported PNG re-renders to the same pixels, and says so.

Same machine, same checkpoint, same computation: the pixels must be identical (the
renderers repeat the batch that made an image). What differs is said: a checkpoint whose
weights changed, one that is gone (the shipped one of that name stands in). A PNG that
cannot be reproduced is one line and exit code 2, and an existing --out is left alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, PngImagePlugin

from playground.cli import main
from playground.core.assets import shipped_for
from playground.core.checkpoints import WEIGHTS_NAME, load_checkpoint, save_checkpoint
from playground.core.diffusion.render import labelled_strip
from playground.core.diffusion.trajectory import SamplerSettings, run_trajectory
from playground.core.diffusion.trajectory_pictures import frame_row
from playground.core.images import RECIPE_KEY, save_png
from playground.core.models.vae import VAE
from playground.core.provenance import picture_recipe, read_png_recipe
from playground.core.text2img.denoiser import make_denoiser
from playground.core.text2img.sampling import GuidedSettings, image_shape

DIFFUSION_STEPS = ["--steps", "2"]
FAMILIES = {"vae": [], "ae": [], "gan": [], "vqvae": [], "ddpm": DIFFUSION_STEPS,
            "text2img": DIFFUSION_STEPS + ["--prompt", "a red circle"]}


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def reproduce(capsys, png: Path, out: Path | None = None) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(["reproduce", str(png), "--device", "cpu"] + (["--out", str(out)] if out else []))
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def with_recipe(source: Path, target: Path, edit) -> Path:
    """`source`'s pixels with its recipe edited by hand (JSON as typed, NaN allowed)."""
    recipe = read_png_recipe(source)
    edit(recipe)
    info = PngImagePlugin.PngInfo()
    info.add_text(RECIPE_KEY, json.dumps(recipe))
    Image.fromarray(pixels(source)).save(target, pnginfo=info)
    return target


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_familys_samples_reproduce_to_the_pixel(family: str, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "samples"
    assert main(["sample", family, "--n", "2", "--seed", "3", "--out-dir", str(folder), "--device", "cpu"]
                + FAMILIES[family]) == 0
    original, out = folder / "sample_0001.png", tmp_path / "again.png"
    rc, stdout, _ = reproduce(capsys, original, out)
    assert rc == 0
    assert "identical: 0 of 1024 pixels differ" in stdout
    assert np.array_equal(pixels(out), pixels(original))
    assert read_png_recipe(out)["picture"] == read_png_recipe(original)["picture"]


@pytest.mark.parametrize("family", ["vae", "ddpm"])
def test_a_grid_reproduces(family: str, tmp_path: Path, capsys) -> None:
    grid = tmp_path / "grid.png"
    assert main(["sample", family, "--n", "3", "--out", str(grid), "--device", "cpu"] + FAMILIES[family]) == 0
    rc, stdout, _ = reproduce(capsys, grid)
    assert rc == 0 and "identical: 0 of" in stdout


def test_changed_weights_are_named_and_the_pixels_counted(tiny_checkpoint: Path, tiny_vae_config, tmp_path: Path,
                                                          capsys) -> None:
    checkpoint = tmp_path / "tiny-vae"
    shutil.copytree(tiny_checkpoint, checkpoint)
    assert main(["sample", "vae", "--checkpoint", str(checkpoint), "--n", "1", "--out-dir", str(tmp_path / "s")]) == 0
    torch.manual_seed(1)  # retrain, as it were: other weights in the same file
    save_checkpoint(checkpoint / WEIGHTS_NAME, VAE(tiny_vae_config), tiny_vae_config, "vae", steps=8)
    rc, stdout, _ = reproduce(capsys, tmp_path / "s" / "sample_0000.png")
    assert rc == 1
    assert "differs: weights:" in stdout and "other weights" in stdout
    changed = int(stdout.split("different: ")[1].split(" of ")[0])
    assert 0 < changed <= 1024


def test_a_checkpoint_that_is_gone_is_replaced_by_the_shipped_one_of_its_name(tmp_path: Path, capsys) -> None:
    shipped = shipped_for("vae")
    copy = tmp_path / shipped.name
    shutil.copytree(shipped.path.parent, copy)
    assert main(["sample", "vae", "--checkpoint", str(copy), "--n", "1", "--out-dir", str(tmp_path / "s")]) == 0
    shutil.rmtree(copy)
    rc, stdout, _ = reproduce(capsys, tmp_path / "s" / "sample_0000.png")
    assert rc == 0
    assert f"is not there; used the shipped {shipped.name}" in stdout
    assert "identical: 0 of 1024 pixels differ" in stdout


def test_a_guiding_classifier_that_is_gone_is_said(tmp_path: Path, capsys) -> None:
    classifier = tmp_path / "my-classifier"
    shutil.copytree(shipped_for("noisy-classifier").path.parent, classifier)
    assert main(["sample", "ddpm", "--n", "2", "--prompt", "red circle", "--classifier-guidance", "5", "--classifier",
                 str(classifier), "--out", str(tmp_path / "grid.png")] + DIFFUSION_STEPS) == 0
    shutil.rmtree(classifier)
    rc, stdout, _ = reproduce(capsys, tmp_path / "grid.png")
    assert "differs: classifier:" in stdout and "is not there; used the shipped" in stdout
    assert rc == 0 and "identical: 0 of" in stdout  # the shipped classifier is the same weights


def _ddpm_run(seed: int, **branch):
    loaded = load_checkpoint(shipped_for("ddpm").path)
    model = loaded.model
    return loaded, run_trajectory(model, model.noise_schedule, SamplerSettings("ddim", 4, 0.5, True), seed, **branch)


def test_the_apps_frame_strip_and_branch_exports_reproduce(tmp_path: Path, capsys) -> None:
    """The Diffusion tab's exports, built as the tab builds them (core functions, the same recipe keys)."""
    loaded, parent = _ddpm_run(7)
    _, branch = _ddpm_run(11, branch_from=parent, branch_step=2)
    views = ["x_t", "pred_noise", "pred_x0", "noise"]
    frame = picture_recipe(loaded, "frame", **branch.recipe(), step_index=3, t=int(branch.t[3]), views=views, scale=8)
    save_png(tmp_path / "frame.png", frame_row(branch, 3, tuple(views), 8), frame)
    strip = picture_recipe(loaded, "strip", **parent.recipe(), strip_step_indices=[0, 2, 3],
                           strip_t=[int(parent.t[s]) for s in (0, 2, 3)], views=["x_t", "pred_x0"], scale=4)
    save_png(tmp_path / "strip.png", labelled_strip(parent, [0, 2, 3], scale=4), strip)
    for name in ("frame.png", "strip.png"):
        rc, stdout, _ = reproduce(capsys, tmp_path / name)
        assert rc == 0 and "identical: 0 of" in stdout, name
    edited = with_recipe(tmp_path / "frame.png", tmp_path / "edited.png", lambda r: r.update(t=5))
    rc, _, stderr = reproduce(capsys, edited)
    assert rc == 2 and "'t'" in stderr


def test_a_guided_runs_frame_reproduces(tmp_path: Path, capsys) -> None:
    """The Text-to-image tab's step view: the guided recipe and the run's recipe in one."""
    loaded = load_checkpoint(shipped_for("text2img").path)
    model = loaded.model
    settings = GuidedSettings(prompt="a small blue square", guidance_scale=4.0, steps=3, seed=5)
    trajectory = run_trajectory(make_denoiser(model, settings), model.noise_schedule, settings.sampler_settings(),
                                settings.seed, shape=image_shape(model))
    recipe = picture_recipe(loaded, "frame", **(settings.to_recipe(loaded.name) | trajectory.recipe()), step_index=2,
                            t=int(trajectory.t[2]), views=["x_t", "pred_x0"], scale=8)
    save_png(tmp_path / "frame.png", frame_row(trajectory, 2, ("x_t", "pred_x0"), 8), recipe)
    rc, stdout, _ = reproduce(capsys, tmp_path / "frame.png")
    assert rc == 0 and "identical: 0 of" in stdout


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("samples")
    assert main(["sample", "vae", "--n", "2", "--out-dir", str(folder / "vae"), "--device", "cpu"]) == 0
    assert main(["sample", "ddpm", "--n", "2", "--out-dir", str(folder / "ddpm"), "--device", "cpu"]
                + DIFFUSION_STEPS) == 0
    assert main(["sample", "vqvae", "--n", "1", "--out-dir", str(folder / "vqvae"), "--device", "cpu"]) == 0
    assert main(["sample", "text2img", "--n", "1", "--out-dir", str(folder / "text2img"), "--device", "cpu"]
                + FAMILIES["text2img"]) == 0
    return folder


def _set(**changes):
    return lambda recipe: recipe.update(changes)


def _drop(key):
    return lambda recipe: recipe.pop(key)


BAD_RECIPES = [
    ("vae", _drop("latent"), "the recipe has no 'latent'"),
    ("vae", _set(latent=[float("nan")] * 16), "'latent' must be a list of 16 numbers"),
    ("vae", _set(latent=[0.0] * 3), "'latent' must be a list of 16 numbers"),
    ("vae", _set(scale="2"), "'scale' must be a whole number from 1 to 16"),
    ("vae", _set(index=7), "'index' must be a whole number from 0 to 1"),
    ("vae", _set(temperature=1e9), "'temperature' must be a number from 0 to 10"),
    ("vae", _set(picture="hologram"), "'picture' must be one of"),
    ("vae", _set(family="unicorn"), "'family' must be one of"),
    ("vae", _set(recipe_version=99), "'recipe_version'"),
    ("vae", _set(torch_threads=0), "'torch_threads' must be a whole number from 1"),
    ("vae", _set(checkpoint="/nowhere/x.safetensors", model="nothing-shipped"), "no shipped checkpoint is called"),
    ("vae", _set(family="ddpm"), "holds a vae"),
    ("ddpm", _set(steps=0), "'steps' must be a whole number from 1 to 1000"),
    ("ddpm", _set(eta=float("inf")), "'eta' must be a number from 0 to 1"),
    ("ddpm", _set(seed=-1), "'seed' must be a whole number from 0 to"),
    ("ddpm", _set(clip_x0="false"), "'clip_x0' must be true or false"),
    ("ddpm", _set(sampler="euler"), "'sampler' must be one of 'ddpm', 'ddim'"),
    ("ddpm", _set(image_seed=99), "'image_seed'"),
    ("vqvae", _set(tokens=[[999] * 8] * 8), "holds 999 at position [0, 0]"),
    ("vqvae", _set(tokens="all of them"), "'tokens' must be a 8x8 grid"),
    ("text2img", _set(guidance_scale=float("nan")), "guidance scale w must be a number from 0 to 50"),
    ("text2img", _set(prompt="a gigantic circle"), "gigantic"),
    ("text2img", _set(steps=5000), "steps must be a whole number from 1 to 1000"),
    ("text2img", _set(picture="grid", grid={"axis": "w", "scales": [1, 2], "seeds": [-4]}), "'grid.seeds'"),
    ("text2img", _set(picture="evaluation-chart"), "run that command again"),
    ("text2img", _set(guidance_scale=10**400), "guidance scale w must be a number from 0 to 50"),
    ("text2img", _set(classifier_scale=5.0, classifier=str(shipped_for("vae").path)), "holds a vae model, not a noisy-classifier"),
    ("ddpm", _set(classifier_scale=5.0, prompt="red", classifier=str(shipped_for("vae").path)),
     "holds a vae model, not a noisy-classifier"),
]


def test_another_kind_of_device_is_said(samples: Path, tmp_path: Path, capsys) -> None:
    made_on_gpu = with_recipe(samples / "vae" / "sample_0000.png", tmp_path / "gpu.png", _set(device="cuda"))
    rc, stdout, _ = reproduce(capsys, made_on_gpu)
    assert "differs: device: the image was made on cuda, re-rendered on cpu" in stdout
    assert rc == 0 and "identical" in stdout  # only the label was edited: the pixels were made here


@pytest.mark.parametrize("family, edit, message", BAD_RECIPES)
def test_a_hand_edited_recipe_is_one_line_exit_2_and_out_is_left_alone(samples: Path, family: str, edit, message: str,
                                                                        tmp_path: Path, capsys) -> None:
    edited = with_recipe(samples / family / "sample_0000.png", tmp_path / "edited.png", edit)
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    rc, stdout, stderr = reproduce(capsys, edited, out)
    assert rc == 2
    assert message in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr
    assert stderr.startswith(f"playground reproduce: error: {edited}")
    assert out.read_bytes() == b"keep me"


def test_files_that_are_no_playground_png_are_refused(tmp_path: Path, capsys) -> None:
    save_png(tmp_path / "plain.png", np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "notes.png").write_text("a text file")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    assert main(["sample", "vae", "--n", "1", "--out-dir", str(tmp_path / "s"), "--device", "cpu"]) == 0
    whole = (tmp_path / "s" / "sample_0000.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(whole[:-40])  # the recipe is there, the pixels are cut short
    with_recipe_text = tmp_path / "text.png"
    info = PngImagePlugin.PngInfo()
    info.add_text(RECIPE_KEY, "{not json")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(with_recipe_text, pnginfo=info)
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    for name, message in [("plain.png", "carries no playground recipe"), ("notes.png", "not an image"),
                          ("broken.png", "a damaged PNG"),
                          ("cut.png", "cannot be read"), ("text.png", "not valid JSON"), ("gone.png", "no such file")]:
        rc, _, stderr = reproduce(capsys, tmp_path / name, out)
        assert rc == 2, name
        assert message in stderr and len(stderr.strip().splitlines()) == 1, stderr
        assert out.read_bytes() == b"keep me"
