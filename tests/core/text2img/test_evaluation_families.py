"""`eval text2img` for every diffusion family: latent models (ldm, dit, sit) decoded and judged like the pixel one,
the unconditional pixel DDPM judged for cleanliness, the steps table, and --record-best's one-key write."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from playground.cli import main
from playground.core.checkpoints import WEIGHTS_NAME, load_checkpoint, read_meta, save_checkpoint
from playground.core.models.attribute_classifier import AttributeClassifier, AttributeClassifierConfig
from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel
from playground.core.text2img.evaluation import ScaleSummary, best_scale, sample_prompts
from playground.core.text2img.report import evaluation_settings, record_default_guidance
from playground.core.text2img.sampling import generate
from tolerance import assert_same_picture

PROMPTS = "a large red circle at the top left\nblue\n"


@pytest.fixture(scope="module")
def judge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = AttributeClassifierConfig(channels=(4, 8, 8))
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("judge")
    save_checkpoint(folder / WEIGHTS_NAME, AttributeClassifier(config), config, "classifier")
    return folder


def _eval(checkpoint: Path, judge: Path, out: Path, *extra: str) -> int:
    prompts = out.parent / "prompts.txt"
    prompts.write_text(PROMPTS)
    return main(["eval", "text2img", "--checkpoint", str(checkpoint), "--classifier", str(judge), "--prompts",
                 str(prompts), "--n", "2", "--steps", "2", "--out-dir", str(out), *extra])


@pytest.mark.parametrize("family, sampler", [("ldm", "ddim"), ("dit", "ddim"), ("sit", "heun")])
def test_a_latent_model_is_measured_like_the_pixel_one(family, sampler, tiny_latent_checkpoints, judge, tmp_path,
                                                       capsys):
    out = tmp_path / "eval"
    rc = _eval(tiny_latent_checkpoints[family], judge, out, "--scales", "0,2", "--unconditional", "3",
               "--steps-table", "1,2")
    assert rc == 0
    report = json.loads((out / f"{family}_eval.json").read_text())
    assert report["family"] == family and report["sampler"] == sampler  # the family's default sampler
    assert [s["guidance_scale"] for s in report["scales"]] == [0.0, 2.0]
    first = report["scales"][0]
    assert set(first["full_accuracy"]) == {"shape", "color", "size", "position"}
    assert {"full_clean", "full_drawn", "full_all_correct"} <= set(first)
    assert report["unconditional"]["n"] == 3 and "combinations_seen" in report["unconditional"]
    assert [r["steps"] for r in report["steps_table"]["rows"]] == [1, 2]
    assert report["steps_table"]["guidance_scale"] == report["best_guidance_scale"]
    printed = capsys.readouterr().out
    assert "| w | full: shape" in printed and f"| {sampler.upper()} steps |" in printed and "unconditional" in printed
    rules = [line for line in (out / f"{family}_eval.md").read_text().splitlines() if line.startswith("|---")]
    assert len(rules) == 2  # the w table and the steps table
    assert (out / "samples_w2.png").exists()


@pytest.mark.parametrize("family", ["dit", "sit"])
def test_latent_samples_are_the_images_playground_sample_draws_for_each_seed(family, tiny_latent_checkpoints):
    model = load_checkpoint(tiny_latent_checkpoints[family]).model
    settings = evaluation_settings(family, steps=3, seed=5)
    images = sample_prompts(model, ["red", ""], 2.0, 2, settings, batch_size=3)
    assert images.shape == (2, 2, 32, 32, 3) and images.dtype == np.uint8
    # image j of prompt p is seed 5 + 2 p + j: the image `sample` draws alone (decoded by the model's first stage)
    assert_same_picture(images[0, 1], generate(model, settings.replace(prompt="red", guidance_scale=2.0, seed=6))[0])
    assert_same_picture(images[1, 0], generate(model, settings.replace(prompt="", guidance_scale=2.0, seed=7))[0])


def test_the_pixel_ddpm_gets_cleanliness_only_and_has_no_w_to_record(judge, tmp_path, capsys):
    torch.manual_seed(0)
    config = DDPMConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(), num_train_timesteps=100)
    save_checkpoint(tmp_path / "ddpm" / WEIGHTS_NAME, DiffusionModel(config), config, "ddpm", steps=3)
    out = tmp_path / "eval"
    assert main(["eval", "text2img", "--checkpoint", str(tmp_path / "ddpm"), "--classifier", str(judge),
                 "--unconditional", "4", "--steps-table", "1,3", "--out-dir", str(out)]) == 0
    report = json.loads((out / "ddpm_eval.json").read_text())
    assert "scales" not in report and report["unconditional"]["n"] == 4
    rows = report["steps_table"]["rows"]
    assert [r["steps"] for r in rows] == [1, 3] and rows[0]["all_correct"] is None and rows[0]["combinations"] == 0
    capsys.readouterr()
    assert main(["eval", "text2img", "--checkpoint", str(tmp_path / "ddpm"), "--classifier", str(judge),
                 "--record-best", "--out-dir", str(out)]) != 0
    assert "no guidance scale" in capsys.readouterr().err


def test_record_best_changes_only_default_guidance_and_a_failing_run_touches_nothing(tiny_latent_checkpoints, judge,
                                                                                     tmp_path, capsys):
    checkpoint = tmp_path / "sit"
    shutil.copytree(tiny_latent_checkpoints["sit"], checkpoint)
    before = json.loads((checkpoint / "model.json").read_text())
    weights = (checkpoint / WEIGHTS_NAME).read_bytes()
    # a failing run (a word the vocabulary lacks; a sampler the flow cannot use) leaves the file as it was
    (tmp_path / "bad.txt").write_text("a gigantic red circle\n")
    raw = (checkpoint / "model.json").read_bytes()
    assert main(["eval", "text2img", "--checkpoint", str(checkpoint), "--classifier", str(judge), "--prompts",
                 str(tmp_path / "bad.txt"), "--record-best", "--out-dir", str(tmp_path / "x")]) != 0
    assert main(["eval", "text2img", "--checkpoint", str(checkpoint), "--classifier", str(judge), "--sampler", "ddim",
                 "--record-best", "--out-dir", str(tmp_path / "x")]) != 0
    assert "does not fit a flow-matching model" in capsys.readouterr().err
    assert (checkpoint / "model.json").read_bytes() == raw
    assert _eval(checkpoint, judge, tmp_path / "eval", "--scales", "1,3", "--record-best") == 0
    best = json.loads((tmp_path / "eval" / "sit_eval.json").read_text())["best_guidance_scale"]
    after = json.loads((checkpoint / "model.json").read_text())
    assert after["extra"].pop("default_guidance") == best and before["extra"].pop("default_guidance") == 2.0
    assert after == before and (checkpoint / WEIGHTS_NAME).read_bytes() == weights


def test_recording_is_refused_when_a_training_run_saved_over_the_checkpoint(tiny_latent_checkpoints, tmp_path):
    checkpoint = tmp_path / "ldm"
    shutil.copytree(tiny_latent_checkpoints["ldm"], checkpoint)
    evaluated = read_meta(checkpoint)
    raw = json.loads((checkpoint / "model.json").read_text())
    raw["steps"] = 250
    (checkpoint / "model.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="changed while it was evaluated"):
        record_default_guidance(checkpoint, 4.0, evaluated)
    assert "default_guidance" in raw["extra"] and json.loads((checkpoint / "model.json").read_text()) == raw


def test_the_best_w_is_the_highest_all_four_right_and_ties_go_to_the_smaller_w():
    def summary(w: float, right: float) -> ScaleSummary:
        return ScaleSummary(w, {}, right, 0.0, {}, 0.0, 1.0)

    assert best_scale([summary(1, 0.5), summary(3, 0.9), summary(5, 0.9), summary(7, 0.8)]).guidance_scale == 3


@pytest.mark.parametrize("arguments, words", [
    (["--steps-table", "0"], ["--steps-table", ">= 1"]),
    (["--steps-table", "1,500"], ["--steps-table", "from 1 to 100", "500"]),
    (["--sampler", "euler"], ["euler", "does not fit"]),
    (["--classifier-guidance", "2"], ["--classifier-guidance", "reads pixels"]),
    (["--family", "ldm", "--checkpoint", "{dit}"], ["dit model, not a ldm"]),
])
def test_bad_input_is_one_line_and_writes_nothing(arguments, words, tiny_latent_checkpoints, judge, tmp_path, capsys):
    out = tmp_path / "eval"
    arguments = [a.format(dit=tiny_latent_checkpoints["dit"]) for a in arguments]
    checkpoint = [] if "--checkpoint" in arguments else ["--checkpoint", str(tiny_latent_checkpoints["ldm"])]
    try:
        rc = main(["eval", "text2img", *checkpoint, "--classifier", str(judge), "--out-dir", str(out), *arguments])
    except SystemExit as exc:  # argparse's own refusals
        rc = exc.code
    assert rc != 0
    err = capsys.readouterr().err.strip()
    assert all(w in err for w in words), err
    assert "Traceback" not in err and len(err.splitlines()) <= 2
    assert not out.exists() or not any(out.iterdir())

