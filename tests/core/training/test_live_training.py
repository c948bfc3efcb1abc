"""A watched training run: averaged reports, fixed-noise previews, pause and stop from another thread."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from playground.core.models.gan import GANConfig
from playground.core.models.vae import VAEConfig
from playground.core.training.gan_task import GANTask
from playground.core.training.live import RunControl, TrainingPreview, metric_groups, watch_training
from playground.core.training.loop import TrainConfig, Trainer
from playground.core.training.vae_task import VAETask


def _trainer(data, out_dir, steps: int, task=None) -> Trainer:
    torch.manual_seed(0)
    task = task or GANTask(GANConfig(latent_dim=8, channels=(4, 8, 8, 16)))
    config = TrainConfig(steps=steps, batch_size=8, lr=2e-4, warmup_steps=0, grad_clip=None, ema_decay=0.9,
                         checkpoint_every=10**6, validation_size=32)
    return Trainer(task, data, config, out_dir)


def test_updates_average_the_window_and_previews_come_every_n_steps(small_shapes, tmp_path):
    trainer = _trainer(small_shapes, tmp_path / "run", steps=12)
    per_step = []
    original_step = trainer.task.train_step

    def recording_step(*args, **kwargs):
        metrics = original_step(*args, **kwargs)
        per_step.append(metrics)
        return metrics

    trainer.task.train_step = recording_step
    updates = []
    path = watch_training(trainer, RunControl(), updates.append, log_every=4, preview_every=8)
    assert path.exists()
    first, *logged = updates
    assert first.step == 0 and first.preview is not None and not first.metrics  # the untrained start
    assert [u.step for u in logged] == [4, 8, 12]
    np.testing.assert_allclose(logged[0].metrics["d_loss"], np.mean([m["d_loss"] for m in per_step[:4]]), rtol=1e-6)
    assert [u.preview_step for u in logged] == [None, 8, 12]  # every 8 steps, and the last
    assert logged[1].preview.dtype == np.uint8 and logged[1].preview.ndim == 3
    assert all(u.steps_per_second > 0 for u in logged) and logged[-1].eta_seconds == 0


def test_preview_decodes_the_same_noise_each_time(small_shapes, tmp_path):
    trainer = _trainer(small_shapes, tmp_path / "run", steps=1)
    preview = TrainingPreview(trainer.inference_model, trainer.validation.x)
    assert preview.kind == "samples from fixed noise"
    np.testing.assert_array_equal(preview.render(trainer.inference_model), preview.render(trainer.inference_model))
    # 16 images of 32 px in a 4 x 4 grid with 2 px padding
    assert preview.render(trainer.inference_model).shape == (4 * 34 + 2, 4 * 34 + 2, 3)


def test_stop_from_another_thread_ends_the_run_with_a_checkpoint(small_shapes, tmp_path):
    trainer = _trainer(small_shapes, tmp_path / "run", steps=10_000)
    control = RunControl()
    updates = []

    def on_update(update):
        updates.append(update)
        if update.step >= 6:
            threading.Thread(target=control.stop).start()

    path = watch_training(trainer, control, on_update, log_every=2)
    assert path.exists() and 6 <= trainer.step < 20
    assert updates[-1].step == trainer.step, "the steps after the last report are reported at the end"


def test_pause_blocks_between_steps_and_is_left_out_of_the_rate(small_shapes, tmp_path):
    trainer = _trainer(small_shapes, tmp_path / "run", steps=6)
    control = RunControl()
    control.pause()
    done = threading.Event()
    result = {}

    def run():
        result["path"] = watch_training(trainer, control, lambda u: result.setdefault("updates", []).append(u),
                                        log_every=3)
        done.set()

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.5)
    assert trainer.step == 0 and control.paused
    paused_for = control.active_seconds()
    control.resume()
    assert done.wait(60)
    thread.join()
    assert trainer.step == 6
    assert control.active_seconds() < paused_for + 60
    # the 0.5 s pause is not counted: the rate is what the steps alone took
    assert result["updates"][-1].steps_per_second > 6 / (control.active_seconds() + 0.4)


def test_cancelled_callback_stops_a_paused_run(small_shapes, tmp_path):
    trainer = _trainer(small_shapes, tmp_path / "run", steps=100)
    control = RunControl()
    control.pause()
    flag = threading.Event()
    threading.Timer(0.2, flag.set).start()
    path = watch_training(trainer, control, lambda u: None, cancelled=flag.is_set)
    assert path.exists() and trainer.step == 0


def test_metric_groups():
    gan = {"losses": ("d_loss", "g_loss"), "D output": ("d_real", "d_fake")}
    assert metric_groups(gan, ["d_loss", "g_loss", "d_real", "d_fake", "extra"]) == {
        "losses": ("d_loss", "g_loss"), "D output": ("d_real", "d_fake"), "other metrics": ("extra",)}
    assert metric_groups(None, ["loss", "mse", "kl"]) == {"losses": ("loss",), "metrics": ("mse", "kl")}


@pytest.mark.parametrize("family", ["vae"])
def test_vae_preview_and_groups(small_shapes, tmp_path, family):
    task = VAETask(VAEConfig(latent_dim=4, channels=(8, 16)))
    trainer = _trainer(small_shapes, tmp_path / "run", steps=4, task=task)
    updates = []
    watch_training(trainer, RunControl(), updates.append, log_every=2, preview_every=2)
    assert set(updates[-1].metrics) == {"loss", "mse", "kl"}
    assert updates[-1].preview is not None
