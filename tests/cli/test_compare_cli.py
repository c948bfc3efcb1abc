"""`playground compare` end to end on tiny models: the table, the HTML page and its JSON; bad input in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import playground
from playground.cli import main
from compare_models import save_tiny_family_checkpoints, use_small_comparison

SHIPPED_CLASSIFIER = Path(playground.__file__).resolve().parents[1] / "assets" / "classifier-shapes"


@pytest.fixture(scope="module")
def tiny_assets(tmp_path_factory):
    """An assets folder holding a tiny vae, gan and ddpm (and others the default list picks up)."""
    folders = save_tiny_family_checkpoints(tmp_path_factory.mktemp("assets"))
    (folders["vae"].parent / "classifier-shapes").symlink_to(SHIPPED_CLASSIFIER)  # the judge
    return folders


@pytest.fixture(autouse=True)
def small(monkeypatch, tmp_path, tiny_assets):
    monkeypatch.setenv("PLAYGROUND_ASSETS", str(next(iter(tiny_assets.values())).parent))
    return use_small_comparison(monkeypatch, tmp_path)


def test_compare_writes_the_table_the_page_and_the_json(tmp_path, tiny_assets, capsys):
    html, scores = tmp_path / "out" / "report.html", tmp_path / "out" / "scores.json"
    assert main(["compare", "--models", "vae-tiny", str(tiny_assets["gan"]), "--n", "4", "--seed", "3",
                 "--out", str(html), "--json", str(scores), "--threads", "1"]) == 0
    out, err = capsys.readouterr()
    assert "vae-tiny (vae)" in out and "gan-tiny (gan)" in out and "The VAE is more diverse than the GAN." in out
    assert "[1/2] vae-tiny" in err and "[2/2] gan-tiny: done" in err
    page = html.read_text()
    assert "data:image/png;base64," in page and "http" not in page
    data = json.loads(scores.read_text())
    assert [(m["name"], m["n"], m["seed"]) for m in data["models"]] == [("vae-tiny", 4, 3), ("gan-tiny", 4, 3)]

    # the second run reads the cache: the same numbers
    assert main(["compare", "--models", "vae-tiny", "--n", "4", "--seed", "3", "--json", str(scores)]) == 0
    again = json.loads(scores.read_text())["models"][0]
    assert again["ms_per_sample"] == data["models"][0]["ms_per_sample"]


def test_a_bad_model_name_is_one_line_naming_the_available_ones(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["compare", "--models", "nope", "--n", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'nope'" in err and "vae-tiny" in err and "gan-tiny" in err
    assert not out.exists()


@pytest.mark.parametrize("argv", [["--n", "0"], ["--seed", "-1"], ["--threads", "0"]])
def test_bad_numbers_are_one_line(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["compare", *argv])
    assert exited.value.code != 0
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_model_without_a_sampler_is_refused_in_one_line(capsys):
    assert main(["compare", "--models", str(SHIPPED_CLASSIFIER), "--n", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "classifier" in err and "vae" in err
