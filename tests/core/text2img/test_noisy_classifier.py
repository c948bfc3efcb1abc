"""The noisy attribute classifier for classifier guidance: its shape, training step and checkpoint."""

from __future__ import annotations

import numpy as np
import torch

from playground.core.checkpoints import load_checkpoint, save_checkpoint
from playground.core.data import to_tensor
from playground.core.data.shapes import generate
from playground.core.models.noisy_classifier import NoisyAttributeClassifier, NoisyClassifierConfig
from playground.core.training.loop import Batch
from playground.core.training.noisy_classifier_task import NoisyClassifierTask

TINY = NoisyClassifierConfig(channels=(8, 16, 16), num_train_timesteps=100)


def test_logits_per_attribute_for_noisy_images_and_their_timestep():
    torch.manual_seed(0)
    model = NoisyAttributeClassifier(TINY)
    logits = model(torch.randn(5, 3, 32, 32), torch.tensor([0, 10, 50, 99, 3]))
    assert [tuple(l.shape) for l in logits] == [(5, 4), (5, 6), (5, 2), (5, 9)]
    # the timestep matters: the same image at another t gets other logits
    x = torch.randn(1, 3, 32, 32)
    assert not torch.allclose(model(x, torch.tensor([0]))[0], model(x, torch.tensor([90]))[0])


def test_training_lowers_the_loss_and_evaluation_reports_bands_of_t(tmp_path):
    torch.manual_seed(0)
    task = NoisyClassifierTask(TINY)
    data = generate(64, seed=0)
    batch = Batch(x=to_tensor(data.images), labels=torch.from_numpy(data.labels))
    optimizer = torch.optim.AdamW(task.model.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        optimizer.zero_grad()
        loss, metrics = task.loss(batch)
        loss.backward()
        optimizer.step()
        losses.append(metrics["loss"])
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    metrics = task.evaluate(task.model.eval(), batch)
    assert "val_accuracy_color_t0-25" in metrics and "val_accuracy_position_t75-100" in metrics
    path = save_checkpoint(tmp_path / "nc" / "model.safetensors", task.model, TINY, task.family)
    loaded = load_checkpoint(path)
    assert loaded.family == "noisy-classifier" and loaded.model.noise_schedule.name == "cosine"
