"""`--checkpoint DIFFUSERS_FOLDER` on the sampling commands and `playground info FOLDER`.

The PNGs the commands write are the pictures diffusers' own pipelines make from the same seeds."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from diffusers_pipelines import sd_pipeline, unconditional_pipeline  # noqa: E402

from playground.cli import main  # noqa: E402
from playground.core.provenance import read_png_recipe  # noqa: E402
from tolerance import assert_same_picture  # noqa: E402


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("diffusers-cli")
    return {"ddpm": unconditional_pipeline(root / "ddpm", "v_prediction"), "sd": sd_pipeline(root)}


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def pngs(folder: Path) -> np.ndarray:
    return np.stack([np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.png"))])


def to_uint8(images: np.ndarray) -> np.ndarray:
    return (images * 255).round().astype(np.uint8)


def generators(seed: int, n: int) -> list[torch.Generator]:
    return [torch.Generator("cpu").manual_seed(seed + i) for i in range(n)]


def test_sample_ddpm_on_a_diffusers_folder_is_ddim_pipelines_picture(folders, tmp_path, capsys):
    from diffusers import DDIMPipeline

    rc, _, err = run(["sample", "ddpm", "--checkpoint", str(folders["ddpm"]), "--steps", "5", "--n", "2",
                      "--seed", "4", "--out-dir", str(tmp_path / "out"), "--device", "cpu"], capsys)
    assert rc == 0, err
    theirs = DDIMPipeline.from_pretrained(folders["ddpm"])(batch_size=2, generator=generators(4, 2),
                                                           num_inference_steps=5, output_type="np").images
    assert_same_picture(pngs(tmp_path / "out"), to_uint8(theirs))
    second = sorted((tmp_path / "out").glob("*.png"))[1]
    recipe = read_png_recipe(second)
    assert (recipe["family"], recipe["model"], recipe["image_seed"]) == ("ddpm", "ddpm", 5)
    rc, out, err = run(["reproduce", str(second), "--out", str(tmp_path / "again.png"), "--device", "cpu"], capsys)
    assert rc == 0 and "identical" in out, out + err  # the recipe names the folder's unet: it opens again


def test_sample_text2img_on_a_stable_diffusion_folder_takes_free_text(folders, tmp_path, capsys):
    from diffusers import StableDiffusionPipeline

    prompt, negative = "an astronaut riding a horse", "blurry"
    rc, out, err = run(["sample", "text2img", "--checkpoint", str(folders["sd"]), "--prompt", prompt,
                        "--negative-prompt", negative, "--guidance", "6", "--steps", "3", "--n", "2", "--seed", "9",
                        "--out-dir", str(tmp_path / "out"), "--device", "cpu"], capsys)
    assert rc == 0, err
    assert "leading + 1 spacing" in out  # the checkpoint's scheduler config, said
    pipe = StableDiffusionPipeline.from_pretrained(folders["sd"], safety_checker=None, requires_safety_checker=False)
    theirs = pipe(prompt, negative_prompt=negative, guidance_scale=6.0, num_inference_steps=3, num_images_per_prompt=2,
                  generator=generators(9, 2), output_type="np").images
    assert_same_picture(pngs(tmp_path / "out"), to_uint8(theirs))
    first = sorted((tmp_path / "out").glob("*.png"))[1]
    recipe = read_png_recipe(first)
    assert (recipe["prompt"], recipe["negative_prompt"], recipe["guidance_scale"]) == (prompt, negative, 6.0)
    rc, out, err = run(["reproduce", str(first), "--out", str(tmp_path / "again.png"), "--device", "cpu"], capsys)
    assert rc == 0 and "identical" in out, out + err  # a free-text prompt is read by the model's tokenizer again


def test_info_describes_the_folder(folders, capsys):
    rc, out, _ = run(["info", str(folders["sd"])], capsys)
    assert rc == 0
    for words in ("StableDiffusionPipeline", "family      text2img", "M parameters", "prediction  epsilon",
                  "resolution  16x16 pixels, latent 8x8"):
        assert words in out
    rc, out, _ = run(["info", str(folders["ddpm"])], capsys)
    assert "prediction  v_prediction" in out and "resolution  8x8 pixels" in out


def test_wrong_family_and_pickle_weights_are_one_line_refusals(folders, tmp_path, capsys):
    from diffusers import DDPMPipeline

    rc, _, err = run(["sample", "ddpm", "--checkpoint", str(folders["sd"]), "--out", str(tmp_path / "x.png"),
                      "--device", "cpu"], capsys)
    assert rc != 0 and "not a ddpm" in err and "Traceback" not in err
    pickled = tmp_path / "pickled"
    DDPMPipeline.from_pretrained(folders["ddpm"]).save_pretrained(pickled, safe_serialization=False)
    capsys.readouterr()  # diffusers' own progress bars
    rc, _, err = run(["sample", "ddpm", "--checkpoint", str(pickled), "--out", str(tmp_path / "y.png"),
                      "--device", "cpu"], capsys)
    assert rc != 0 and "only pickle weights" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "y.png").exists()
