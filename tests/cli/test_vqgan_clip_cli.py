"""`playground sample vqgan-clip` on tiny models: one PNG with its recipe, the same pixels for the same
seed, and bad input as one line with exit code != 0 (no file written)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from playground.cli import main
from playground.core.checkpoints import load_checkpoint
from playground.core.codebook.analysis import decode_tokens
from playground.core.images import read_recipe, upscale
from playground.core.reproduce import reproduce

PROMPT = "a small green square"


@pytest.fixture(scope="module")
def models(tiny_token_checkpoints) -> list[str]:
    return ["--vqgan", str(tiny_token_checkpoints["vqgan"]), "--clip", str(tiny_token_checkpoints["clip"]),
            "--device", "cpu"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def pixels(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_writes_a_png_with_its_recipe(tmp_path, capsys, models, tiny_token_checkpoints):
    out = tmp_path / "v.png"
    rc, stdout, _ = run(capsys, "sample", "vqgan-clip", "--prompt", PROMPT, "--steps", "4", "--seed", "2",
                        "--lr", "0.3", "--augment", "2", "--out", str(out), *models)
    assert rc == 0 and "wrote" in stdout and "CLIP score" in stdout
    recipe = read_recipe(out)
    assert recipe["picture"] == "vqgan-clip" and recipe["family"] == "vqgan"
    assert (recipe["prompt"], recipe["steps"], recipe["seed"], recipe["lr"], recipe["augment"]) == (PROMPT, 4, 2, 0.3, 2)
    assert recipe["clip"].endswith("model.safetensors") and len(recipe["clip_sha256"]) == 64
    assert -1.0 <= recipe["score"] <= recipe["best_score"] <= 1.0
    # the picture is its tokens decoded (what `reproduce` draws), at the grid's scale
    vq = load_checkpoint(tiny_token_checkpoints["vqgan"]).model
    tokens = np.asarray(recipe["tokens"])
    assert tokens.shape == (8, 8) and tokens.min() >= 0 and tokens.max() < vq.codebook_size
    with torch.no_grad():
        expected = upscale(decode_tokens(vq, tokens[None])[0], recipe["scale"])
    assert np.array_equal(pixels(out), expected)
    image, _, differences = reproduce(out)  # the tokens decoded again: no re-optimisation
    assert np.array_equal(image, pixels(out)) and differences == []
    again = tmp_path / "again.png"
    assert run(capsys, "sample", "vqgan-clip", "--prompt", PROMPT, "--steps", "4", "--seed", "2", "--lr", "0.3",
               "--augment", "2", "--out", str(again), *models)[0] == 0
    assert np.array_equal(pixels(again), pixels(out))


@pytest.mark.parametrize("argv, says", [
    (["--prompt", "a purple blob"], "unknown word 'blob'"),
    (["--prompt", "  "], "--prompt is empty"),
    (["--prompt", PROMPT, "--steps", "0"], "--steps"),
    (["--prompt", PROMPT, "--lr", "nan"], "--lr"),
    (["--prompt", PROMPT, "--augment", "-1"], "--augment"),
])
def test_bad_input_is_one_line(tmp_path, capsys, models, argv, says):
    out = tmp_path / "bad.png"
    try:  # argparse refuses a bad number itself (SystemExit 2); the rest is refused by the command (exit 2)
        rc = main(["sample", "vqgan-clip", *argv, "--out", str(out), *models])
    except SystemExit as exc:
        rc = exc.code
    err = capsys.readouterr().err
    assert rc != 0 and says in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_a_clip_checkpoint_is_no_vq_model(tmp_path, capsys, tiny_token_checkpoints):
    out = tmp_path / "x.png"
    rc, _, err = run(capsys, "sample", "vqgan-clip", "--prompt", PROMPT, "--vqgan", str(tiny_token_checkpoints["clip"]),
                     "--clip", str(tiny_token_checkpoints["clip"]), "--out", str(out), "--device", "cpu")
    assert rc != 0 and "holds a clip model, not a vqgan or vqvae" in err and not out.exists()
