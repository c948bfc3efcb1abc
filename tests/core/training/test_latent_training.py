"""Training the latent families: the autoencoder-kl learns and measures its scale factor; ldm, dit and sit learn
on its latent, keep it frozen, and record it; the command line trains them and resumes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from playground.cli import main
from playground.core.checkpoints import load_checkpoint, read_meta
from playground.core.models.autoencoder_kl import AutoencoderKLConfig
from playground.core.training.autoencoder_kl_task import AutoencoderKLTask
from playground.core.training.latent_diffusion_task import LatentDiffusionTask
from playground.core.training.loop import TrainConfig, Trainer
from latent_models import tiny_latent_model

RUN = TrainConfig(steps=40, batch_size=16, lr=3e-3, checkpoint_every=20, warmup_steps=5, seed=0)


def test_the_autoencoder_learns_and_measures_its_scale_factor(tmp_path: Path, small_shapes):
    torch.manual_seed(0)
    task = AutoencoderKLTask(AutoencoderKLConfig(channels=(4, 8, 8)))
    trainer = Trainer(task, small_shapes, RUN, tmp_path, command="test")
    before = task.evaluate(task.model.eval(), trainer.validation)["val_mse"]
    trainer.run(progress=False)
    loaded = load_checkpoint(tmp_path)
    assert loaded.meta.metrics["val_mse"] < 0.7 * before
    latents = loaded.model.to_latent(trainer.validation.x[:200])
    scale = float(loaded.model.scale_factor)
    assert scale != 1.0 and loaded.meta.extra["scale_factor"] == pytest.approx(scale, rel=1e-5)
    assert float(latents.std()) == pytest.approx(1.0, abs=0.35)  # about unit variance, as the noise it meets
    assert loaded.meta.extra["train_seconds"] > 0 and loaded.meta.extra["train_cpu_seconds"] > 0


@pytest.mark.parametrize("family", ["ldm", "dit", "sit"])
def test_a_latent_denoiser_learns_with_its_first_stage_frozen(family, tmp_path: Path, small_shapes,
                                                              tiny_latent_checkpoints):
    model = tiny_latent_model(family)
    first_stage = {k: v.clone() for k, v in model.first_stage.state_dict().items()}
    task = LatentDiffusionTask(model, family, tiny_latent_checkpoints["autoencoder-kl"], seed=0)
    trainer = Trainer(task, small_shapes, RUN, tmp_path, command="test")
    before = task.evaluate(model.eval(), trainer.validation)["val_mse_prompt"]
    trainer.run(progress=False)
    loaded = load_checkpoint(tmp_path)
    assert loaded.meta.metrics["val_mse_prompt"] < before
    for key, value in loaded.model.first_stage.state_dict().items():
        assert torch.equal(value, first_stage[key]), key
    assert loaded.meta.extra["first_stage"]["checkpoint"].endswith("autoencoder-kl-tiny")


def test_playground_train_sit_on_a_given_first_stage_resumes(tmp_path: Path, tiny_latent_checkpoints, capsys):
    out = tmp_path / "sit"
    args = ["train", "sit", "--data", "shapes", "--data-size", "200", "--batch-size", "8", "--hidden", "16",
            "--depth", "1", "--heads", "2", "--cond-dim", "16", "--first-stage", str(tiny_latent_checkpoints["autoencoder-kl"]),
            "--out", str(out), "--quiet", "--checkpoint-every", "2"]
    assert main([*args, "--steps", "2"]) == 0
    assert main([*args, "--steps", "4"]) == 0
    meta = read_meta(out)
    assert meta.steps == 4 and "--first-stage" in meta.command
    assert "resuming" in capsys.readouterr().err


def test_a_first_stage_of_another_family_is_one_clear_error(tmp_path: Path, tiny_latent_checkpoints, capsys):
    code = main(["train", "ldm", "--steps", "1", "--data-size", "50", "--first-stage", str(tiny_latent_checkpoints["dit"]),
                 "--out", str(tmp_path / "x"), "--quiet"])
    assert code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds a dit model, not a autoencoder-kl" in err[0]
