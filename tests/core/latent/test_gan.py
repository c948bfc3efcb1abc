"""The GAN: a tiny run trains both networks, checkpoints round-trip, GANSpace directions and their files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from playground.core.checkpoints import load_checkpoint
from playground.core.models.gan import GAN, GANConfig, MinibatchStd, discriminator_hinge_loss, generator_hinge_loss
from playground.core.latent.directions import (
    DirectionsError, LatentDirections, ganspace_directions, load_directions, orthonormalise, save_directions,
)
from playground.core.latent.sampling import decode, prior_latents
from playground.core.training.gan_task import GANTask
from playground.core.training.loop import TrainConfig, Trainer

TINY = GANConfig(latent_dim=8, channels=(4, 8, 8, 16))


@pytest.fixture
def tiny_gan() -> GAN:
    torch.manual_seed(0)
    return GAN(TINY).eval()


def _tiny_trainer(data, out_dir, steps: int = 4, ema: float | None = None, task: GANTask | None = None) -> Trainer:
    torch.manual_seed(0)
    config = TrainConfig(steps=steps, batch_size=16, lr=2e-4, warmup_steps=0, grad_clip=None, ema_decay=ema,
                         checkpoint_every=10**6, validation_size=32)
    return Trainer(task or GANTask(TINY), data, config, out_dir)


def test_generator_decodes_latents_to_images_in_range(tiny_gan):
    images = tiny_gan.decode(prior_latents(8, 5, seed=1))
    assert images.shape == (5, 3, 32, 32)
    assert images.min() >= -1 and images.max() <= 1
    assert tiny_gan.latent_dim == 8
    assert tiny_gan.discriminator(images).shape == (5,)


def test_decoding_one_latent_matches_decoding_it_in_a_batch(tiny_gan):
    """GroupNorm, not BatchNorm: a slider's single image is the image a batch would give."""
    z = prior_latents(8, 4, seed=2)
    from tolerance import assert_same_picture  # same picture, not same bits: see tests/tolerance.py

    assert_same_picture(decode(tiny_gan, z[2:3]), decode(tiny_gan, z)[2:3])


def test_minibatch_std_groups_never_mix_the_real_and_fake_halves():
    real = torch.randn(8, 5, 4, 4)
    fake = torch.randn(1, 5, 4, 4).expand(8, 5, 4, 4)  # a collapsed generator: eight copies of one image
    spread = MinibatchStd(group_size=4)(torch.cat([real, fake]))[:, -1, 0, 0]
    assert (spread[:8] > 0.5).all() and (spread[8:] < 1e-3).all()
    assert MinibatchStd(4)(torch.randn(6, 5, 4, 4)).shape == (6, 6, 4, 4)  # groups of 3 when 4 does not divide


def test_hinge_losses():
    real, fake = torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])
    assert discriminator_hinge_loss(real, fake).item() == pytest.approx((0 + 0.5) / 2 + (0 + 1.0) / 2)
    assert generator_hinge_loss(fake).item() == pytest.approx(1.0)


def test_a_tiny_run_changes_both_networks_with_finite_losses(small_shapes, tmp_path):
    trainer = _tiny_trainer(small_shapes, tmp_path / "run")
    gan = trainer.task.model
    before = {k: v.clone() for k, v in gan.state_dict().items()}
    logs = []
    trainer.run(progress=False, on_log=logs.append, log_every=1)
    assert [log.step for log in logs] == [1, 2, 3, 4]
    for log in logs:
        assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(log.metrics) <= {"d_loss", "g_loss", "d_real", "d_fake", "r1"}
        assert all(math.isfinite(v) for v in log.metrics.values())
    after = gan.state_dict()
    for prefix in ("generator.", "discriminator."):
        changed = [k for k in before if k.startswith(prefix) and not torch.equal(before[k], after[k])]
        assert changed, f"no {prefix[:-1]} weight moved"
    assert all(p.requires_grad for p in gan.discriminator.parameters()), "D must be trainable again after G's step"


def test_the_non_saturating_loss_with_r1_trains_and_penalises_steep_real_gradients(small_shapes, tmp_path):
    """--loss ns --r1-gamma G: finite losses, R1 logged on its lazy steps, and the penalty is E||grad_x D||^2."""
    task = GANTask(TINY, loss="ns", r1_gamma=1.0)
    logs = []
    _tiny_trainer(small_shapes, tmp_path / "run", steps=3, task=task).run(progress=False, on_log=logs.append, log_every=1)
    assert "r1" in logs[0].metrics and "r1" not in logs[1].metrics  # step 0 of every 16
    assert all(math.isfinite(v) for log in logs for v in log.metrics.values())
    task.model.eval()  # spectral norm's power iteration must not move between the two calls
    x = torch.randn(4, 3, 32, 32, requires_grad=True)
    (grad,) = torch.autograd.grad(task.model.discriminator(x).sum(), x)
    assert task._r1_penalty(x).item() == pytest.approx(grad.pow(2).sum(dim=(1, 2, 3)).mean().item(), rel=1e-4)
    with pytest.raises(ValueError, match="unknown GAN loss"):
        GANTask(TINY, loss="wasserstein")


def test_checkpoint_round_trips_and_resume_restores_both_optimizers(small_shapes, tmp_path):
    trainer = _tiny_trainer(small_shapes, tmp_path / "run", steps=3, ema=0.9)
    path = trainer.run(progress=False)
    loaded = load_checkpoint(path)
    assert loaded.family == "gan" and loaded.config == TINY
    assert set(loaded.meta.metrics) == {"val_d_real", "val_d_fake", "sample_std"}
    z = prior_latents(8, 3, seed=0)
    np.testing.assert_array_equal(decode(loaded.model, z), decode(trainer.inference_model, z))

    again = _tiny_trainer(small_shapes, tmp_path / "run", steps=5, ema=0.9)
    assert again.try_resume() and again.step == 3
    for name in ("generator", "discriminator"):
        state = again.optimizers[name].state_dict()["state"]
        original = trainer.optimizers[name].state_dict()["state"]
        assert state and torch.equal(state[0]["exp_avg"], original[0]["exp_avg"])


def test_a_checkpoint_from_before_the_full_resolution_option_still_loads(tmp_path):
    """Its JSON has no discriminator_full_res_convs: the field's default is the network it was saved with."""
    from playground.core.checkpoints import WEIGHTS_NAME, save_checkpoint

    old = GAN(GANConfig(latent_dim=8, channels=(4, 8, 8, 16), discriminator_full_res_convs=1))
    save_checkpoint(tmp_path / WEIGHTS_NAME, old, old.config, "gan")
    meta_path = tmp_path / "model.json"
    meta = json.loads(meta_path.read_text())
    del meta["config"]["discriminator_full_res_convs"]
    meta_path.write_text(json.dumps(meta))
    loaded = load_checkpoint(tmp_path / WEIGHTS_NAME).model
    z = torch.randn(2, 8)
    torch.testing.assert_close(loaded.decode(z), old.eval().decode(z))


def test_cli_trains_and_samples_a_gan(tmp_path):
    from playground.cli import main

    out = tmp_path / "gan"
    assert main(["train", "gan", "--steps", "2", "--data-size", "200", "--batch-size", "8", "--out", str(out),
                 "--channels", "4,8,8,16", "--latent-dim", "8", "--quiet", "--threads", "1"]) == 0
    meta = json.loads((out / "model.json").read_text())
    assert meta["family"] == "gan" and meta["command"].startswith("playground train gan ")
    assert meta["extra"]["train_config"]["ema_decay"] == 0.999
    assert main(["sample", "gan", "--checkpoint", str(out), "--n", "3", "--out-dir", str(tmp_path / "samples")]) == 0
    assert len(list((tmp_path / "samples").glob("*.png"))) == 3


# --- directions -----------------------------------------------------------------------------------


def test_ganspace_directions_are_orthonormal_and_repeatable(tiny_gan):
    directions = ganspace_directions(tiny_gan, n_directions=5, n_samples=300, seed=3)
    assert directions.vectors.shape == (5, 8)
    np.testing.assert_allclose(directions.vectors @ directions.vectors.T, np.eye(5), atol=1e-5)
    shares = directions.explained_variance
    assert all(0 < s <= 1 for s in shares) and shares == sorted(shares, reverse=True)
    again = ganspace_directions(tiny_gan, n_directions=5, n_samples=300, seed=3)
    np.testing.assert_allclose(again.vectors, directions.vectors, atol=1e-5)


def test_first_direction_follows_the_main_axis_of_the_features():
    """A generator whose early features are a fixed linear map of z: GANSpace must find its top singular vector."""

    class LinearGenerator(torch.nn.Module):
        latent_dim = 4

        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.diag(torch.tensor([0.5, 5.0, 1.0, 2.0])))

        def decode(self, z):
            return z @ self.weight.T

    directions = ganspace_directions(LinearGenerator(), n_directions=2, n_samples=2000)
    assert abs(directions.vectors[0][1]) == pytest.approx(1.0, abs=1e-3)
    assert abs(directions.vectors[1][3]) == pytest.approx(1.0, abs=1e-2)


def test_moving_along_a_direction_sets_only_its_coordinate():
    vectors = orthonormalise(np.random.default_rng(0).normal(size=(3, 6))).astype(np.float32)
    directions = LatentDirections(vectors=vectors, explained_variance=[0.5, 0.3, 0.1])
    z = np.random.default_rng(1).normal(size=6).astype(np.float32)
    before = directions.coordinates(z)
    moved = directions.move(z, 1, 2.5)
    after = directions.coordinates(moved)
    assert after[1] == pytest.approx(2.5, abs=1e-5)
    np.testing.assert_allclose(after[[0, 2]], before[[0, 2]], atol=1e-5)
    # the part of z outside the directions' span is untouched
    outside = lambda v: v - vectors.T @ (vectors @ v)  # noqa: E731
    np.testing.assert_allclose(outside(moved), outside(z), atol=1e-5)


def test_a_direction_file_round_trips(tiny_gan, tmp_path):
    directions = ganspace_directions(tiny_gan, n_directions=4, n_samples=200)
    directions.model = "gan-tiny"
    path = save_directions(tmp_path / "dirs.json", directions)
    raw = json.loads(path.read_text())
    assert raw["format"] == "playground-directions" and raw["latent_dim"] == 8
    assert all(isinstance(v, float) for row in raw["vectors"] for v in row)
    loaded = load_directions(path, latent_dim=8)
    np.testing.assert_allclose(loaded.vectors, directions.vectors, atol=1e-6)
    assert loaded.explained_variance == pytest.approx(directions.explained_variance)
    assert (loaded.model, loaded.layer, loaded.n_samples) == ("gan-tiny", directions.layer, 200)


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw.update(vectors=[[1.0, 0.0], [1.0, 0.0]]), "orthonormal"),
    (lambda raw: raw.update(format="something else"), "not a directions file"),
    (lambda raw: raw.update(vectors=[[1.0, 0.0], [0.0]]), "lists of numbers"),
    (lambda raw: raw.update(version=99), "version"),
])
def test_a_bad_direction_file_is_refused_with_its_name(tmp_path, damage, message):
    vectors = np.eye(2, dtype=np.float32)
    path = save_directions(tmp_path / "d.json", LatentDirections(vectors=vectors, explained_variance=[0.6, 0.4]))
    raw = json.loads(path.read_text())
    damage(raw)
    path.write_text(json.dumps(raw))
    with pytest.raises(DirectionsError, match=message) as info:
        load_directions(path)
    assert "d.json" in str(info.value)


def test_a_direction_file_for_another_latent_size_is_refused(tmp_path):
    path = save_directions(tmp_path / "d.json", LatentDirections(vectors=np.eye(3, dtype=np.float32),
                                                                 explained_variance=[0.5, 0.3, 0.2]))
    with pytest.raises(DirectionsError, match="3-dimensional"):
        load_directions(path, latent_dim=8)
