"""`playground flow-compare`: the side-by-side picture with its recipe, the straightness numbers, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from playground.cli import main
from playground.core.images import read_recipe


@pytest.fixture
def tiny(tiny_latent_checkpoints):
    return ["--dit", str(tiny_latent_checkpoints["dit"]), "--sit", str(tiny_latent_checkpoints["sit"])]


def test_flow_compare_writes_the_table_of_samples_with_its_recipe_and_prints_straightness(tiny, tmp_path, capsys):
    out = tmp_path / "cmp.png"
    assert main(["flow-compare", "--seed", "4", "--steps", "2,1,3", "--scale", "2", "--out", str(out), *tiny]) == 0
    printed = capsys.readouterr().out
    assert "straightness" in printed and "Euler (flow)" in printed and "DDPM" in printed
    recipe = read_recipe(out)
    assert recipe["picture"] == "flow-compare" and recipe["family"] == "sit" and recipe["seed"] == 4
    assert recipe["steps"] == [1, 2, 3] and recipe["dit"].endswith("model.safetensors")
    assert recipe["samplers"] == ["ddpm", "ddim", "euler", "heun"] and recipe["spacing"] == "leading"
    assert recipe["straightness"]["euler"][0] == pytest.approx(1.0)   # one Euler step is a straight line
    picture = np.asarray(Image.open(out))
    assert picture.shape[0] > 4 * 64 and picture.shape[1] > 3 * 64


def test_flow_compare_runs_one_family_alone(tiny_latent_checkpoints, tmp_path):
    out = tmp_path / "flow.png"
    args = ["flow-compare", "--steps", "1", "--samplers", "heun,euler", "--scale", "1", "--out", str(out),
            "--sit", str(tiny_latent_checkpoints["sit"])]
    assert main(args) == 0
    assert read_recipe(out)["samplers"] == ["euler", "heun"]


@pytest.mark.parametrize("bad, words", [
    (["--steps", "0,5"], "from 1 to 100"),
    (["--steps", "101"], "from 1 to 100"),
    (["--samplers", "ddim,plms"], "choose from"),
    (["--prompt", "a purple banana"], "purple"),
    (["--seed", "-1"], "--seed"),
    (["--spacing", "middle"], "--spacing"),
])
def test_bad_input_is_one_line_and_writes_nothing(tiny, tmp_path, capsys, bad, words):
    out = tmp_path / "cmp.png"
    try:
        code = main(["flow-compare", "--out", str(out), *tiny, *bad])
    except SystemExit as exc:  # argparse's own refusal of an option's value
        code = exc.code
    assert code != 0
    err = capsys.readouterr().err.strip()
    assert words in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_a_hundred_steps_fit_both_schedules(tiny, tmp_path):
    """The tiny models' schedule has 100 steps: 100 fits, the flow's K = 100 intervals too."""
    out = tmp_path / "cmp.png"
    assert main(["flow-compare", "--steps", "100", "--samplers", "euler", "--scale", "1", "--out", str(out), *tiny]) == 0


def test_reproduce_draws_the_same_table_again_with_the_dit_as_helper(tiny, tmp_path, capsys):
    out, again = tmp_path / "cmp.png", tmp_path / "again.png"
    assert main(["flow-compare", "--seed", "3", "--steps", "1,2", "--prompt", "red circle", "--guidance", "2",
                 "--scale", "1", "--out", str(out), *tiny]) == 0
    capsys.readouterr()
    assert main(["reproduce", str(out), "--out", str(again)]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert np.array_equal(np.asarray(Image.open(again)), np.asarray(Image.open(out)))
