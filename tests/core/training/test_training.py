"""The shared training loop on a tiny VAE: learning, checkpoints, resuming, stopping, the CLI."""

from __future__ import annotations

import json
import shlex
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from playground.cli import build_parser, main
from playground.core.checkpoints import WEIGHTS_NAME, load_checkpoint, read_meta
from playground.core.models.vae import VAEConfig
from playground.core.training.loop import TrainConfig, Trainer, TrainLog
from playground.core.training.vae_task import VAETask

# Small enough for a loaded 2-core machine: ~0.1 s a step.
TINY_RUN = TrainConfig(steps=30, batch_size=16, checkpoint_every=15, warmup_steps=5, seed=0)


def make_trainer(config: VAEConfig, data, out: Path, train: TrainConfig = TINY_RUN) -> Trainer:
    torch.manual_seed(0)
    return Trainer(VAETask(config), data, train, out, device="cpu", command="test run")


def state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_vae_learns_and_its_checkpoint_loads(tmp_path: Path, tiny_vae_config: VAEConfig, small_shapes):
    trainer = make_trainer(tiny_vae_config, small_shapes, tmp_path)
    task = trainer.task
    task.model.eval()
    before = task.evaluate(task.model, trainer.validation)
    checkpoints_seen = []
    path = trainer.run(
        progress=False,
        on_log=lambda log: log.step < 30 and checkpoints_seen.append((tmp_path / WEIGHTS_NAME).exists()),
        log_every=10,
    )
    assert path == tmp_path / WEIGHTS_NAME
    assert checkpoints_seen == [False, True], "no periodic checkpoint at step 15"

    loaded = load_checkpoint(path)
    meta = loaded.meta
    assert meta.steps == 30 and meta.family == "vae" and meta.data == "shapes"
    assert meta.command == "test run"
    assert set(meta.metrics) == {"val_mse", "val_kl"}
    assert meta.metrics["val_mse"] < 0.8 * before["val_mse"], (before, meta.metrics)
    assert len(meta.extra["latent_usage"]) == 4 and meta.extra["latent_usage_kind"] == "kl"
    assert meta.extra["train_config"]["steps"] == 30

    # the saved model is the trained one: it reproduces the reported validation error
    after = task.evaluate(loaded.model, trainer.validation)
    assert after["val_mse"] == pytest.approx(meta.metrics["val_mse"], rel=1e-5)


def test_resuming_continues_a_run_exactly(tmp_path: Path, tiny_vae_config: VAEConfig, small_shapes):
    """Stopped at step 12 and resumed to 20, a run ends with the weights of an unbroken run."""
    run = replace(TINY_RUN, steps=20)
    straight = make_trainer(tiny_vae_config, small_shapes, tmp_path / "straight", run)
    straight.run(progress=False)

    first = make_trainer(tiny_vae_config, small_shapes, tmp_path / "broken", run)
    first.run(progress=False, should_stop=lambda: first.step >= 12)
    assert read_meta(tmp_path / "broken").steps == 12

    second = make_trainer(tiny_vae_config, small_shapes, tmp_path / "broken", run)
    assert second.try_resume()
    assert second.step == 12
    path = second.run(progress=False)
    assert load_checkpoint(path).meta.steps == 20

    expected = state(straight.task.model)
    for name, tensor in state(second.task.model).items():
        torch.testing.assert_close(tensor, expected[name], rtol=1e-5, atol=1e-6, msg=name)


def test_a_longer_run_resumes_from_a_shorter_one(tmp_path: Path, tiny_vae_config: VAEConfig, small_shapes):
    short = make_trainer(tiny_vae_config, small_shapes, tmp_path, replace(TINY_RUN, steps=12))
    short.run(progress=False)
    trained = state(short.task.model)

    longer = make_trainer(tiny_vae_config, small_shapes, tmp_path, replace(TINY_RUN, steps=20))
    assert longer.try_resume() and longer.step == 12
    for name, tensor in state(longer.task.model).items():
        assert torch.equal(tensor, trained[name]), name
    path = longer.run(progress=False)
    loaded = load_checkpoint(path)
    assert loaded.meta.steps == 20
    assert loaded.config == tiny_vae_config


def test_nothing_to_resume_in_a_fresh_folder(tmp_path: Path, tiny_vae_config: VAEConfig, small_shapes):
    trainer = make_trainer(tiny_vae_config, small_shapes, tmp_path / "new")
    assert not trainer.try_resume()
    assert trainer.step == 0


def test_should_stop_ends_the_run_with_a_checkpoint(tmp_path: Path, tiny_vae_config: VAEConfig, small_shapes):
    trainer = make_trainer(tiny_vae_config, small_shapes, tmp_path)
    asked = []

    def should_stop() -> bool:
        asked.append(trainer.step)
        return trainer.step >= 7

    path = trainer.run(progress=False, should_stop=should_stop)
    assert trainer.step == 7
    assert asked == list(range(8))  # checked before every step
    loaded = load_checkpoint(path)
    assert loaded.meta.steps == 7
    assert "val_mse" in loaded.meta.metrics


def test_on_log_reports_progress_speed_and_eta(tmp_path: Path, tiny_vae_config: VAEConfig, small_shapes):
    trainer = make_trainer(tiny_vae_config, small_shapes, tmp_path, replace(TINY_RUN, steps=12))
    logs: list[TrainLog] = []
    trainer.run(progress=False, on_log=logs.append, log_every=4)
    assert [log.step for log in logs] == [4, 8, 12]
    assert all(log.total_steps == 12 for log in logs)
    assert all(log.steps_per_second > 0 for log in logs)
    for log in logs:  # remaining steps at the measured speed
        assert log.eta_seconds == pytest.approx((12 - log.step) / log.steps_per_second)
    assert logs[0].eta_seconds > 0 and logs[-1].eta_seconds == 0
    assert {"loss", "mse", "kl"} <= set(logs[-1].metrics)


def test_plain_autoencoder_trains_too(tmp_path: Path, small_shapes):
    config = VAEConfig(latent_dim=4, channels=(8, 16), variational=False)
    trainer = make_trainer(config, small_shapes, tmp_path, replace(TINY_RUN, steps=20))
    task = trainer.task
    task.model.eval()
    before = task.evaluate(task.model, trainer.validation)["val_mse"]
    loaded = load_checkpoint(trainer.run(progress=False))
    assert loaded.family == "ae"
    assert loaded.config.variational is False
    assert set(loaded.meta.metrics) == {"val_mse"}
    assert loaded.meta.metrics["val_mse"] < 0.8 * before
    assert loaded.meta.extra["latent_usage_kind"] == "variance"


def test_ema_weights_are_what_gets_saved(tmp_path: Path, tiny_vae_config: VAEConfig, small_shapes):
    trainer = make_trainer(tiny_vae_config, small_shapes, tmp_path, replace(TINY_RUN, steps=8, ema_decay=0.9))
    loaded = load_checkpoint(trainer.run(progress=False))
    ema, raw = state(trainer.ema), state(trainer.task.model)
    saved = loaded.model.state_dict()
    assert all(torch.equal(saved[k], ema[k]) for k in ema)
    assert any(not torch.equal(ema[k], raw[k]) for k in ema)


def test_cli_train_writes_a_checkpoint_whose_command_recreates_the_run(tmp_path: Path, capsys):
    argv = [
        "train", "vae", "--steps", "12", "--data-size", "300", "--out", str(tmp_path / "my run"),
        "--latent-dim", "4", "--channels", "8,16", "--batch-size", "16", "--seed", "3", "--quiet",
    ]
    assert main(argv) == 0
    assert "saved" in capsys.readouterr().out

    loaded = load_checkpoint(tmp_path / "my run")
    assert loaded.meta.steps == 12
    assert loaded.config == VAEConfig(latent_dim=4, channels=(8, 16))
    raw = json.loads((tmp_path / "my run" / "model.json").read_text())
    for key in ("family", "config", "data", "steps", "metrics", "command"):
        assert key in raw

    words = shlex.split(raw["command"])
    assert words[:3] == ["playground", "train", "vae"]
    parser = build_parser()
    original, recreated = vars(parser.parse_args(argv)), vars(parser.parse_args(words[1:]))
    for key in ("run", "quiet"):  # how the run was displayed, not what it computed
        original.pop(key), recreated.pop(key)
    assert recreated == original


def test_cli_train_reports_bad_data_in_one_line(tmp_path: Path, capsys):
    code = main(["train", "vae", "--steps", "1", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(tmp_path / "missing") in err
    assert not (tmp_path / "o").exists()


def test_a_checkpoint_without_resume_state_is_continued_from_its_weights(tmp_path, small_shapes, tiny_vae_config):
    """A fresh clone has model.* but no resume/: training on continues from the weights."""
    import shutil

    from playground.core.checkpoints import load_checkpoint
    from playground.core.training.loop import TrainConfig, Trainer
    from playground.core.training.vae_task import VAETask

    first = Trainer(VAETask(tiny_vae_config), small_shapes, TrainConfig(steps=6, batch_size=8, checkpoint_every=100), tmp_path)
    first.run(progress=False)
    shutil.rmtree(tmp_path / "resume")
    weights = load_checkpoint(tmp_path).model.state_dict()
    second = Trainer(VAETask(tiny_vae_config), small_shapes, TrainConfig(steps=9, batch_size=8, checkpoint_every=100), tmp_path)
    assert second.try_resume() and second.resumed_from == "weights" and second.step == 6
    for key, value in second.task.model.state_dict().items():
        torch.testing.assert_close(value, weights[key])
    assert second._lr_factor(6) < second._lr_factor(7), "a new warm-up after a fresh optimizer"
    second.run(progress=False)
    assert load_checkpoint(tmp_path).meta.steps == 9


def test_resuming_into_a_folder_of_another_model_is_refused(tmp_path, small_shapes, tiny_vae_config):
    from dataclasses import replace

    from playground.core.training.loop import TrainConfig, Trainer
    from playground.core.training.vae_task import VAETask

    Trainer(VAETask(tiny_vae_config), small_shapes, TrainConfig(steps=2, batch_size=8), tmp_path).run(progress=False)
    import shutil

    shutil.rmtree(tmp_path / "resume")
    other = Trainer(VAETask(replace(tiny_vae_config, latent_dim=tiny_vae_config.latent_dim + 1)), small_shapes,
                    TrainConfig(steps=4, batch_size=8), tmp_path)
    with pytest.raises(ValueError, match="different model"):
        other.try_resume()


def test_a_checkpoint_older_than_a_new_config_field_still_resumes(tmp_path, small_shapes, tiny_vae_config):
    """A field added later (absent from the JSON) takes its default: the shipped recipe keeps working."""
    import json
    import shutil

    from playground.core.training.loop import TrainConfig, Trainer
    from playground.core.training.vae_task import VAETask

    Trainer(VAETask(tiny_vae_config), small_shapes, TrainConfig(steps=2, batch_size=8), tmp_path).run(progress=False)
    shutil.rmtree(tmp_path / "resume")
    meta_path = tmp_path / "model.json"
    meta = json.loads(meta_path.read_text())
    del meta["config"]["beta"]  # as if written before `beta` existed; its default is this config's value
    assert tiny_vae_config.beta == 1.0
    meta_path.write_text(json.dumps(meta))
    again = Trainer(VAETask(tiny_vae_config), small_shapes, TrainConfig(steps=3, batch_size=8), tmp_path)
    assert again.try_resume() and again.step == 2


def test_resuming_into_a_folder_of_another_config_or_a_damaged_state_is_one_clear_error(tmp_path, capsys):
    """Re-running `train` into the same --out with another config, or over a damaged resume state,
    says what is wrong and how to go on (--fresh), with no traceback and the run left as it was."""
    out = tmp_path / "run"
    base = ["train", "vae", "--data-size", "200", "--latent-dim", "4", "--channels", "8,16", "--batch-size", "16",
            "--out", str(out), "--quiet", "--threads", "1"]
    assert main([*base, "--steps", "2"]) == 0
    weights = (out / "model.safetensors").read_bytes()
    capsys.readouterr()
    other = [*base[:4], "--latent-dim", "8", *base[6:], "--steps", "3"]
    assert main(other) == 2
    err = capsys.readouterr().err
    assert "--fresh" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    (out / "resume" / "state.json").write_text("{ not json")
    assert main([*base, "--steps", "3"]) == 2
    err = capsys.readouterr().err
    assert "resume state is damaged" in err and "Traceback" not in err
    assert (out / "model.safetensors").read_bytes() == weights
    import shutil  # a fresh clone: no resume/ folder, and the weights cut short

    shutil.rmtree(out / "resume")
    (out / "model.safetensors").write_bytes(weights[:100])
    assert main([*base, "--steps", "3"]) == 2
    err = capsys.readouterr().err
    assert "is damaged" in err and "--fresh" in err and "Traceback" not in err


def test_a_text2img_run_warm_started_from_a_ddpm_says_what_it_copied(tmp_path, capsys):
    """`train text2img --init-from DDPM`: the README's recipe starts from the unconditional model."""
    small = ["--data-size", "64", "--batch-size", "8", "--base-channels", "8", "--channel-mults", "1,2",
             "--quiet", "--threads", "1", "--steps", "1"]
    assert main(["train", "ddpm", "--out", str(tmp_path / "ddpm"), *small]) == 0
    capsys.readouterr()
    assert main(["train", "text2img", "--out", str(tmp_path / "t2i"), "--init-from", str(tmp_path / "ddpm"),
                 *small]) == 0
    err = capsys.readouterr().err
    assert "warm start from" in err and "tensors copied" in err
    assert (tmp_path / "t2i" / "model.safetensors").exists()
