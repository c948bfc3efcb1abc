"""`playground attention`: a strip of attention maps with its recipe; bad input is one line and writes nothing."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from playground.cli import main
from playground.core.checkpoints import load_checkpoint
from playground.core.images import read_recipe
from playground.core.latent_diffusion.attention_picture import render_attention

PROMPT = "a red circle at the top"


def run(family, checkpoints, out, *extra: str) -> int:
    """main() in-process; argparse's refusals end in SystemExit, as the installed command's do."""
    try:
        return main(["attention", family, "--checkpoint", str(checkpoints[family]), "--prompt", PROMPT, "--seed", "3",
                     "--steps", "4", "--threads", "1", "--scale", "2", "--out", str(out), *extra])
    except SystemExit as exc:
        return int(exc.code)


@pytest.mark.parametrize("family", ["ldm", "dit", "sit"])
def test_cross_attention_writes_a_tile_per_word_with_the_recipe(family, tiny_latent_checkpoints, tmp_path, capsys):
    out = tmp_path / "maps.png"
    assert run(family, tiny_latent_checkpoints, out, "--step", "2") == 0
    recipe = read_recipe(out)
    assert recipe["picture"] == "attention" and recipe["family"] == family and recipe["attention"] == "cross"
    assert recipe["step"] == 2 and recipe["steps"] == 4 and recipe["seed"] == 3 and recipe["prompt"] == PROMPT
    assert recipe["words"] == ["red", "circle", "at", "the", "top"]
    assert recipe["sampler"] == ("heun" if family == "sit" else "ddim") and recipe["weights_sha256"]
    assert recipe["layer"] is None and recipe["head"] is None
    width = np.asarray(Image.open(out)).shape[1]
    assert width > 6 * 64  # the sample and five words, 64 px each
    assert "cross-attention at step 2 of 4" in capsys.readouterr().out


def test_self_attention_of_a_cell_in_one_layer_and_head(tiny_latent_checkpoints, tmp_path):
    every, one = tmp_path / "every.png", tmp_path / "one.png"
    assert run("dit", tiny_latent_checkpoints, every, "--kind", "self", "--cell", "1,2") == 0
    assert run("dit", tiny_latent_checkpoints, one, "--kind", "self", "--cell", "1,2", "--layer", "2", "--head", "1") == 0
    recipe = read_recipe(one)
    assert recipe["attention"] == "self" and recipe["cell"] == [1, 2] and recipe["layer"] == 2 and recipe["head"] == 1
    assert recipe["layer_name"] == "block 2" and recipe["step"] == 2  # half-way by default
    assert np.asarray(Image.open(every)).shape[1] > np.asarray(Image.open(one)).shape[1]  # both layers and their mean


@pytest.mark.parametrize("family, extra", [("ldm", ["--head", "2"]), ("sit", ["--kind", "self", "--cell", "0,3"])])
def test_the_recipe_draws_the_same_strip_again(family, extra, tiny_latent_checkpoints, tmp_path):
    out = tmp_path / "maps.png"
    assert run(family, tiny_latent_checkpoints, out, *extra) == 0
    loaded = load_checkpoint(tiny_latent_checkpoints[family])
    np.testing.assert_array_equal(render_attention(read_recipe(out), loaded), np.asarray(Image.open(out)))


@pytest.mark.parametrize("extra, message", [
    (["--step", "4"], "--step must be a whole number from 0 to 3"),
    (["--step", "-1"], "--step"),
    (["--kind", "self", "--cell", "4,0"], "the row of --cell must be a whole number from 0 to 3"),
    (["--kind", "self", "--cell", "0,x"], "a cell is ROW,COL"),
    (["--cell", "1,1"], "--cell is for --kind self"),
    (["--layer", "3"], "--layer must be a whole number from 1 to 2"),
    (["--head", "3"], "--head must be a whole number from 1 to 2"),
    (["--sampler", "heun"], "the heun sampler does not fit"),
])
def test_bad_input_is_one_line_and_no_file(extra, message, tiny_latent_checkpoints, tmp_path, capsys):
    out = tmp_path / "maps.png"
    assert run("dit", tiny_latent_checkpoints, out, *extra) != 0
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert not out.exists()


def test_an_empty_prompt_has_no_words_but_self_attention_works(tiny_latent_checkpoints, tmp_path, capsys):
    out = tmp_path / "maps.png"
    args = ["attention", "ldm", "--checkpoint", str(tiny_latent_checkpoints["ldm"]), "--steps", "2", "--out", str(out)]
    assert main(args) != 0
    assert "no words to attend to" in capsys.readouterr().err
    assert main(args + ["--kind", "self", "--scale", "1"]) == 0
    assert read_recipe(out)["cell"] == [4, 4]  # the centre of the 8x8 grid


@pytest.mark.parametrize("edit, message", [({"step": 9}, "'step' must be a whole number from 0 to 3"),
                                           ({"attention": "both"}, "'attention' must be one of"),
                                           ({"sampler": "heun"}, "the heun sampler does not fit")])
def test_a_hand_edited_recipe_is_refused_naming_the_key(edit, message, tiny_latent_checkpoints, tmp_path):
    from playground.core.provenance import RecipeError

    out = tmp_path / "maps.png"
    assert run("dit", tiny_latent_checkpoints, out) == 0
    with pytest.raises(RecipeError, match=message):
        render_attention(read_recipe(out) | edit, load_checkpoint(tiny_latent_checkpoints["dit"]))
