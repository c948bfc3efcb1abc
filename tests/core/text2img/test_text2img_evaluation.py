"""Scoring text-guided samples: adherence on named attributes, diversity on open ones, and `eval text2img`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from playground.cli import main
from playground.core.checkpoints import WEIGHTS_NAME, save_checkpoint
from playground.core.data.shapes import generate, parse_prompt
from playground.core.text2img.evaluation import default_prompts, normalised_entropy, score_prompt, summarise
from playground.core.models.attribute_classifier import AttributeClassifier, AttributeClassifierConfig
from playground.core.models.text2img import Text2ImgConfig, TextToImageModel


def test_normalised_entropy_is_zero_for_one_value_and_one_for_uniform():
    assert normalised_entropy(np.array([3, 3, 3, 3]), 9) == 0.0
    assert normalised_entropy(np.arange(9), 9) == pytest.approx(1.0)
    assert 0.0 < normalised_entropy(np.array([0, 0, 1]), 2) < 1.0


def test_named_attributes_are_scored_and_open_ones_measured_for_diversity():
    images = generate(4, seed=0).images
    confident = np.ones((4, 4))
    # "red circle": shape 0, color 0; size and position open
    labels = np.array([[0, 0, 0, 1], [0, 0, 1, 2], [1, 0, 0, 3], [0, 2, 1, 4]])
    result = score_prompt("red circle", 2.0, labels, confident, images)
    assert result.named == ["shape", "color"]
    assert result.accuracy == {"shape": 0.75, "color": 0.75} and result.all_correct == 0.5
    assert set(result.diversity) == {"size", "position"} and result.diversity["size"] == pytest.approx(1.0)
    full = score_prompt("a small red circle at the top", 2.0, np.array([[0, 0, 0, 1]] * 4), confident, images)
    assert full.all_correct == 1.0 and full.diversity == {}
    summary = summarise(2.0, [result, full])
    assert summary.full_all_correct == 1.0 and summary.partial_adherence == 0.5
    assert summary.diversity["size"] == pytest.approx(1.0)


def test_default_prompts_cover_every_shape_colour_and_size():
    prompts = default_prompts(12)
    full = [parse_prompt(p) for p in prompts[:12]]
    assert {p.shape for p in full} == {0, 1, 2, 3} and {p.color for p in full} == set(range(6))
    assert {p.size for p in full} == {0, 1} and len(set(prompts)) == len(prompts)
    assert all(not all(v is not None for v in parse_prompt(p).labels) for p in prompts[12:])


def test_eval_text2img_writes_the_table_json_and_plot(tmp_path: Path, capsys):
    torch.manual_seed(0)
    config = Text2ImgConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(), text_dim=16, text_layers=1,
                            cond_dim=16, num_train_timesteps=100)
    model = TextToImageModel(config)
    torch.nn.init.normal_(model.out.weight, std=0.05)
    save_checkpoint(tmp_path / "t2i" / WEIGHTS_NAME, model, config, "text2img", steps=9)
    judge_config = AttributeClassifierConfig(channels=(4, 8, 8))
    save_checkpoint(tmp_path / "judge" / WEIGHTS_NAME, AttributeClassifier(judge_config), judge_config, "classifier")
    (tmp_path / "prompts.txt").write_text("a large red circle at the top left\nblue\n")
    out = tmp_path / "eval"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rc = main(["eval", "text2img", "--checkpoint", str(tmp_path / "t2i"), "--classifier", str(tmp_path / "judge"),
                   "--prompts", str(tmp_path / "prompts.txt"), "--scales", "0,3", "--n", "3", "--steps", "2",
                   "--out-dir", str(out)])
    finally:
        torch.set_num_threads(threads)
    assert rc == 0
    report = json.loads((out / "text2img_eval.json").read_text())
    assert report["steps_trained"] == 9 and [s["guidance_scale"] for s in report["scales"]] == [0.0, 3.0]
    first = report["scales"][0]
    assert set(first["full_accuracy"]) == {"shape", "color", "size", "position"}
    assert set(first["diversity"]) == {"shape", "size", "position"}  # "blue" leaves these open
    assert Image.open(out / "text2img_eval.png").size == (1100, 480)
    assert Image.open(out / "samples_w3.png").size == (2 * (2 + 3 * 34), 2 * (2 + 2 * 34))
    assert "| w | full: shape" in capsys.readouterr().out
