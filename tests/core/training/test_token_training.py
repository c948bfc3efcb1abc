"""Training the token families: dalle learns the tokens of a frozen VQ model, clip learns to pair images with
captions (multi-positive targets), the vqgan learns with its discriminator joining late; the command line trains
and resumes them, and dalle's live preview draws fixed prompts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from playground.cli import main
from playground.core.checkpoints import load_checkpoint, read_meta
from playground.core.models.clip import CLIPConfig
from playground.core.models.vqgan import VQGANConfig
from playground.core.training.clip_task import CLIPTask, prompt_matches, training_prompts
from playground.core.training.dalle_task import DalleTask
from playground.core.training.live import TrainingPreview
from playground.core.training.loop import TrainConfig, Trainer
from playground.core.training.vqgan_task import VQGANTask
from token_models import tiny_dalle

RUN = TrainConfig(steps=40, batch_size=16, lr=3e-3, checkpoint_every=20, warmup_steps=5, seed=0)


def test_dalle_learns_the_tokens_with_its_vq_model_frozen(tmp_path: Path, small_shapes, tiny_token_checkpoints):
    vq_folder = tiny_token_checkpoints["dalle"].parent / "vqvae-for-dalle"
    from playground.core.checkpoints import save_checkpoint
    from token_models import tiny_vqvae

    vq = tiny_vqvae()
    save_checkpoint(vq_folder / "model.safetensors", vq, vq.config, "vqvae", data="shapes", steps=0)
    task = DalleTask(tiny_dalle(vq).config, vq_folder, seed=0)
    frozen = {k: v.clone() for k, v in task.model.vq.state_dict().items()}
    trainer = Trainer(task, small_shapes, RUN, tmp_path, command="test")
    before = task.evaluate(task.model.eval(), trainer.validation)
    trainer.run(progress=False)
    loaded = load_checkpoint(tmp_path)
    after = loaded.meta.metrics
    assert after["val_bits_per_token_full"] < 0.9 * before["val_bits_per_token_full"]
    assert after["val_bits_per_token_null"] < 0.9 * before["val_bits_per_token_null"]
    for key, value in loaded.model.vq.state_dict().items():
        assert torch.equal(value, frozen[key]), key
    assert loaded.meta.extra["vq"]["checkpoint"].endswith("vqvae-for-dalle")


def test_dalle_training_prompts_include_the_empty_prompt_and_partial_ones(tiny_token_checkpoints):
    from playground.core.data.tokenizer import PAD

    vq_folder = tiny_token_checkpoints["vqgan"]
    task = DalleTask(tiny_dalle().config, vq_folder, seed=0)
    labels = torch.from_numpy(np.stack([np.arange(400) % k for k in (4, 6, 2, 9)], axis=1))
    text = task.text(labels, np.random.default_rng(0))
    empty = (text == PAD).all(1).float().mean().item()
    words = (text != PAD).sum(1)
    assert 0.1 < empty < 0.3  # condition_dropout 0.15 plus prompts that lost every attribute
    assert (words == 7).any() and ((words > 0) & (words < 7)).any()


def test_clip_targets_are_every_caption_an_image_fits():
    labels = torch.tensor([[0, 0, 0, 0], [0, 1, 0, 0], [1, 0, 1, 3]])
    from playground.core.data.shapes import parse_prompt

    prompts = [parse_prompt(p) for p in ("circle", "a small green circle at the top left", "red")]
    matches = prompt_matches(prompts, labels)
    assert matches.tolist() == [[True, False, True], [True, True, False], [False, False, True]]
    made = training_prompts(labels.numpy().repeat(50, 0), np.random.default_rng(0), keep=0.5)
    assert all(not p.is_unconditional for p in made)  # every caption names at least one attribute
    assert prompt_matches(made, labels.repeat_interleave(50, 0)).diagonal().all()


def test_clip_learns_to_pair_images_and_captions(tmp_path: Path, small_shapes):
    torch.manual_seed(0)
    task = CLIPTask(CLIPConfig(vision_width=32, vision_depth=1, vision_heads=2, text_width=32, text_depth=1,
                               text_heads=2, embed_dim=16), keep_probability=1.0)  # full captions: a low floor
    seen: list[float] = []
    trainer = Trainer(task, small_shapes, TrainConfig(steps=150, batch_size=32, lr=2e-3, checkpoint_every=150,
                                                      warmup_steps=5), tmp_path, command="test")
    trainer.run(progress=False, on_log=lambda log: seen.append(log.metrics["loss"]), log_every=1)
    first, last = np.mean(seen[:10]), np.mean(seen[-10:])
    assert last < first - 0.4, (first, last)  # from about log(32) = 3.47
    assert load_checkpoint(tmp_path).meta.extra["temperature"] < 0.07  # the learned temperature moved down


def test_the_vqgan_learns_and_its_discriminator_joins_after_disc_start(tmp_path: Path, small_shapes,
                                                                        tiny_token_checkpoints):
    from playground.core.assets import default_checkpoint

    torch.manual_seed(0)
    task = VQGANTask(VQGANConfig(codebook_size=16, code_dim=8, channels=(8, 16), disc_channels=(4, 8), disc_start=20),
                     default_checkpoint("classifier"))
    seen: list[dict[str, float]] = []
    trainer = Trainer(task, small_shapes, RUN, tmp_path, command="test")
    before = task.evaluate(task.model.eval(), trainer.validation)["val_mse"]
    trainer.run(progress=False, on_log=lambda log: seen.append(log.metrics), log_every=1)
    loaded = load_checkpoint(tmp_path)
    assert loaded.family == "vqgan" and loaded.meta.metrics["val_mse"] < 0.7 * before
    assert "d_loss" not in seen[5] and "d_loss" in seen[-1]  # the discriminator starts at step 20
    assert 0 < loaded.meta.metrics["sharpness"] < 2
    assert loaded.meta.extra["perceptual_network"] == "assets/classifier-shapes/model.safetensors"


@pytest.mark.parametrize("family,extra", [
    ("clip", ["--width", "16", "--vision-depth", "1", "--text-depth", "1", "--embed-dim", "8"]),
    ("vqgan", ["--channels", "8,16", "--codebook-size", "16", "--code-dim", "8", "--disc-start", "2"]),
])
def test_playground_train_resumes_a_token_family(family, extra, tmp_path: Path, capsys):
    out = tmp_path / family
    args = ["train", family, "--data", "shapes", "--data-size", "200", "--batch-size", "8", *extra,
            "--out", str(out), "--quiet", "--checkpoint-every", "2"]
    assert main([*args, "--steps", "2"]) == 0
    assert main([*args, "--steps", "4"]) == 0
    meta = read_meta(out)
    assert meta.family == family and meta.steps == 4
    assert "resuming" in capsys.readouterr().err


def test_dalle_on_a_vq_model_of_another_family_is_one_clear_error(tmp_path: Path, tiny_token_checkpoints, capsys):
    code = main(["train", "dalle", "--steps", "1", "--data-size", "50", "--vq", str(tiny_token_checkpoints["clip"]),
                 "--out", str(tmp_path / "x"), "--quiet"])
    assert code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "clip" in err[0]
    assert not (tmp_path / "x" / "model.safetensors").exists()


def test_the_live_preview_of_dalle_draws_fixed_prompts_the_same_way_twice():
    model = tiny_dalle()
    preview = TrainingPreview(model, torch.zeros(4, 3, 32, 32), n=4)
    assert preview.available and "prompts" in preview.kind
    first, second = preview.render(model), preview.render(model)
    assert first.dtype == np.uint8 and first.shape[-1] == 3
    assert np.array_equal(first, second)
