"""`playground sample dalle`, `playground likelihood dalle` and `reproduce` of dalle samples, on tiny models.

Also a quality check of the shipped dalle (skipped while it is not there).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from playground.cli import main
from playground.core.assets import shipped_for
from playground.core.checkpoints import WEIGHTS_NAME, save_checkpoint
from playground.core.images import read_recipe
from playground.core.reproduce import reproduce
from playground.core.tokens.render import decode_alone
from playground.core.tokens.sampling import TokenSettings, sample_tokens
from token_models import tiny_dalle

PROMPT = "a large red circle at the top left"


@pytest.fixture(scope="module")
def dalle(tiny_token_checkpoints) -> str:
    return str(tiny_token_checkpoints["dalle"])


@pytest.fixture(scope="module")
def clip(tiny_token_checkpoints) -> str:
    return str(tiny_token_checkpoints["clip"])


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main([*argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_samples_carry_their_recipe_and_reproduce_to_the_pixel(tmp_path, capsys, dalle):
    out = tmp_path / "samples"
    rc, stdout, _ = run(capsys, "sample", "dalle", "--prompt", PROMPT, "--n", "3", "--seed", "7", "--temperature", "0.9",
                        "--top-k", "8", "--top-p", "0.95", "--guidance", "2", "--out-dir", str(out),
                        "--checkpoint", dalle, "--device", "cpu")
    assert rc == 0 and "wrote 3 PNGs" in stdout
    model = tiny_dalle()
    expected = sample_tokens(model, PROMPT, TokenSettings(0.9, 8, 0.95, 2.0), n=3, seed=7)
    for i in range(3):
        png = out / f"sample_{i:04d}.png"
        recipe = read_recipe(png)
        assert recipe["family"] == "dalle" and recipe["picture"] == "sample" and recipe["prompt"] == PROMPT
        assert (recipe["temperature"], recipe["top_k"], recipe["top_p"], recipe["guidance"]) == (0.9, 8, 0.95, 2.0)
        assert recipe["image_seed"] == 7 + i and recipe["rerank"] == 1
        assert np.array_equal(np.asarray(recipe["tokens"]).reshape(-1), expected[i].numpy())
        assert np.array_equal(pixels(png), decode_alone(model, expected[i:i + 1])[0])
        image, _, differences = reproduce(png)
        assert differences == [] and np.array_equal(image, pixels(png))


def test_rerank_names_the_clip_and_its_score(tmp_path, capsys, dalle, clip):
    out = tmp_path / "reranked"
    rc, _, _ = run(capsys, "sample", "dalle", "--prompt", "red", "--n", "2", "--rerank", "3", "--out-dir", str(out),
                   "--checkpoint", dalle, "--clip", clip, "--device", "cpu")
    assert rc == 0
    recipes = [read_recipe(out / f"sample_{i:04d}.png") for i in range(2)]
    for i, recipe in enumerate(recipes):
        assert recipe["rerank"] == 3 and Path(recipe["clip"]).parent == Path(clip).resolve()
        assert len(recipe["clip_sha256"]) == 64 and isinstance(recipe["clip_score"], float)
        assert 3 * i <= recipe["image_seed"] < 3 * i + 3  # the best of candidates 3i .. 3i + 2
        image, _, differences = reproduce(out / f"sample_{i:04d}.png")
        assert differences == [] and np.array_equal(image, pixels(out / f"sample_{i:04d}.png"))


def test_a_grid_reproduces(tmp_path, capsys, dalle):
    grid = tmp_path / "grid.png"
    assert run(capsys, "sample", "dalle", "--n", "4", "--guidance", "0", "--out", str(grid), "--checkpoint", dalle,
               "--device", "cpu")[0] == 0
    image, _, differences = reproduce(grid)
    assert differences == [] and np.array_equal(image, pixels(grid))


def test_defaults_are_the_checkpoints_recorded_settings(tmp_path, capsys):
    model = tiny_dalle()
    folder = tmp_path / "dalle-best"
    best = {"temperature": 0.7, "top_k": 5, "top_p": 0.9, "guidance": 4.0}
    save_checkpoint(folder / WEIGHTS_NAME, model, model.config, "dalle", data="shapes", extra={"default_sampling": best})
    assert run(capsys, "sample", "dalle", "--n", "1", "--top-k", "3", "--out-dir", str(tmp_path / "o"),
               "--checkpoint", str(folder), "--device", "cpu")[0] == 0
    recipe = read_recipe(tmp_path / "o" / "sample_0000.png")
    assert (recipe["temperature"], recipe["top_k"], recipe["top_p"], recipe["guidance"]) == (0.7, 3, 0.9, 4.0)


@pytest.mark.parametrize("argv, words", [
    (["--prompt", "a blue banana"], "banana"),
    (["--top-p", "0"], "--top-p"),
    (["--top-p", "1.5"], "--top-p"),
    (["--temperature", "0"], "--temperature"),
    (["--temperature", "-1"], "--temperature"),
    (["--n", "0"], "--n"),
    (["--top-k", "-2"], "--top-k"),
    (["--guidance", "nan"], "--guidance"),
    (["--rerank", "0"], "--rerank"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, dalle, argv, words):
    out = tmp_path / "never"
    with pytest.raises(SystemExit) as exit_:
        main(["sample", "dalle", *argv, "--out-dir", str(out), "--checkpoint", dalle, "--device", "cpu"])
    assert exit_.value.code != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and words in err and "Traceback" not in err
    assert not out.exists()


def test_too_many_candidates_is_one_line(tmp_path, capsys, dalle):
    rc, _, err = run(capsys, "sample", "dalle", "--n", "1000", "--rerank", "8", "--out-dir", str(tmp_path / "x"),
                     "--checkpoint", dalle, "--device", "cpu")
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "--rerank" in err


def test_likelihood_prints_bits_per_token_and_per_dimension(tmp_path, capsys, dalle):
    from playground.core.data import load_dataset

    image = tmp_path / "shape.png"
    Image.fromarray(load_dataset("shapes", n=1, seed=2).images[0]).save(image)
    rc, stdout, _ = run(capsys, "likelihood", "dalle", "--image", str(image), "--prompt", "red", "--checkpoint", dalle,
                        "--device", "cpu")
    assert rc == 0 and "bits per token" in stdout and "bits per dim" in stdout
    rc, stdout, _ = run(capsys, "likelihood", "dalle", "--image", str(image), "--json", "--checkpoint", dalle,
                        "--device", "cpu")
    result = json.loads(stdout)
    assert rc == 0 and result["bits_per_token"] > 0
    assert result["bits_per_dim"] == pytest.approx(result["bits_per_token"] * 64 / 3072, rel=1e-3)
    assert result["image_bits_per_dim"] == pytest.approx(result["bits_per_dim"] + result["decoder_bits_per_dim"], abs=1e-4)
    rc, _, err = run(capsys, "likelihood", "dalle", "--image", str(tmp_path / "missing.png"), "--checkpoint", dalle,
                     "--device", "cpu")
    assert rc == 2 and len(err.strip().splitlines()) == 1


# --- the shipped model (skipped while it is not there) -------------------------------------------------


@pytest.mark.skipif(shipped_for("dalle") is None, reason="no shipped dalle checkpoint")
def test_the_shipped_prior_prefers_real_images_and_their_captions():
    from playground.core.checkpoints import load_checkpoint
    from playground.core.data import load_dataset, to_tensor
    from playground.core.tokens.likelihood import bits_per_token, token_nll_of_tokens

    model = load_checkpoint(shipped_for("dalle").path).model
    data = load_dataset("shapes", n=32, seed=1)
    tokens = model.encode(to_tensor(data.images))
    shuffled = tokens[:, torch.randperm(tokens.shape[1], generator=torch.Generator().manual_seed(0))]
    real = bits_per_token(token_nll_of_tokens(model, tokens, data.captions)).mean()
    assert real < bits_per_token(token_nll_of_tokens(model, shuffled, data.captions)).mean()
    assert real < bits_per_token(token_nll_of_tokens(model, tokens, "")).mean()  # the caption is worth bits


def test_a_hand_edited_token_is_refused_naming_it(tmp_path, capsys, dalle):
    from playground.core.images import save_png

    out = tmp_path / "s"
    assert run(capsys, "sample", "dalle", "--n", "1", "--out-dir", str(out), "--checkpoint", dalle, "--device", "cpu")[0] == 0
    recipe = read_recipe(out / "sample_0000.png")
    recipe["tokens"][2][3] = 99  # the tiny codebook has 16 codes
    edited = tmp_path / "edited.png"
    save_png(edited, pixels(out / "sample_0000.png"), recipe)
    rc, _, err = run(capsys, "reproduce", str(edited), "--device", "cpu")
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "'tokens'" in err and "99" in err
