"""Train presets: `demo` is a small, fast run (a live demo) and `playground train vae --preset demo` is it."""

from __future__ import annotations

import json

import pytest

from playground.cli import main
from playground.core.training.presets import PRESETS, find_preset
from playground.core.training.registry import RECIPES, parse_train_args


def _parameters(argv: list[str]) -> int:
    args = parse_train_args(argv)
    return sum(p.numel() for p in RECIPES[args.family].make_task(args).model.parameters())


def test_the_demo_preset_is_a_small_run_that_fits_two_minutes():
    demo = find_preset("demo")
    assert demo.family in RECIPES and demo.budget_seconds <= 120
    args = parse_train_args([demo.family, "--preset", "demo", "--out", "unused"])
    assert args.steps == demo.steps <= 1500 and args.batch_size <= 64 and args.data_size <= 5000
    default = parse_train_args([demo.family, "--steps", "2000", "--out", "unused"])
    assert args.batch_size * args.steps <= default.batch_size * default.steps / 3  # a third of the images or less
    assert _parameters([demo.family, "--preset", "demo", "--out", "x"]) <= _parameters([demo.family, "--steps", "1", "--out", "x"])
    assert demo.steps // demo.preview_every >= 10  # the room sees at least ten snapshots of the same noise


def test_options_given_override_the_preset_in_either_order():
    before = parse_train_args(["vae", "--steps", "7", "--preset", "demo", "--out", "x"])
    after = parse_train_args(["vae", "--preset", "demo", "--steps", "9", "--out", "x"])
    assert (before.steps, after.steps) == (7, 9)
    assert before.latent_dim == after.latent_dim == int(PRESETS["demo"].options["--latent-dim"])


def test_a_preset_of_another_family_or_an_unknown_one_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "ddpm", "--preset", "demo", "--out", "x"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1 and "playground train vae --preset demo" in err
    with pytest.raises(SystemExit):
        main(["train", "vae", "--preset", "nope", "--out", "x"])
    assert "presets: demo" in capsys.readouterr().err
    assert main(["train", "vae", "--out", "x"]) == 2
    assert "--steps is required" in capsys.readouterr().err


def test_playground_train_vae_preset_demo_trains_that_run(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["train", "vae", "--preset", "demo", "--steps", "2", "--out", str(out), "--quiet"]) == 0
    meta = json.loads((out / "model.json").read_text())
    command = meta.get("command") or json.dumps(meta)
    assert "--latent-dim 8" in command and "--batch-size 64" in command and "--steps 2" in command
