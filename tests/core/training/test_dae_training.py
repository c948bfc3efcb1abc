"""The denoising autoencoder: its corruption does what its levels say, and it learns to undo it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from playground.core.checkpoints import load_checkpoint
from playground.core.models.dae import MASK_VALUE, DAEConfig, corrupt
from playground.core.training.dae_task import DAETask
from playground.core.training.loop import TrainConfig, Trainer


def test_corruption_masks_the_share_of_patches_asked_for_and_adds_noise_of_that_size():
    x = torch.full((64, 3, 32, 32), 0.5)
    masked = corrupt(x, 0.0, 0.5, 4, torch.Generator().manual_seed(0))
    share = (masked == MASK_VALUE).all(1).float().mean().item()
    assert share == pytest.approx(0.5, abs=0.05)
    assert torch.equal(corrupt(x, 0.0, 0.0, 4), x)  # no corruption: the image itself
    noisy = corrupt(torch.zeros(16, 3, 32, 32), 0.1, 0.0, 4, torch.Generator().manual_seed(0))
    assert noisy.std().item() == pytest.approx(0.1, rel=0.05)


def test_a_dae_config_refuses_to_be_variational():
    with pytest.raises(ValueError, match="not variational"):
        DAEConfig(variational=True)


def test_the_dae_learns_to_paint_the_clean_image_from_a_corrupted_one(tmp_path: Path, small_shapes):
    torch.manual_seed(0)
    task = DAETask(DAEConfig(latent_dim=8, channels=(8, 16)), seed=0)
    run = TrainConfig(steps=60, batch_size=16, lr=3e-3, checkpoint_every=60, warmup_steps=5)
    trainer = Trainer(task, small_shapes, run, tmp_path, command="test")
    before = task.evaluate(task.model.eval(), trainer.validation)["val_mse_corrupted"]
    trainer.run(progress=False)
    loaded = load_checkpoint(tmp_path)
    assert loaded.family == "dae" and loaded.meta.metrics["val_mse_corrupted"] < 0.5 * before
    assert loaded.meta.extra["latent_usage_kind"] == "variance"
