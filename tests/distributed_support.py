"""Running `playground train` as several real processes in the tests: gloo on 127.0.0.1, a free port.

`run_processes` starts `world` spawned processes that each join the group the way torchrun's
environment would have them join (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and train every
scenario in turn; `train_once` is the same training in this process. Both return, per
scenario, what the tests compare: the metrics of each step (process 0's, averaged over the
processes) and each process's final weights, EMA weights and buffers.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from playground.core.distributed import free_port

TIMEOUT_S = 20  # a collective waiting longer than this on a lost process gives up

# the 2-process vs 1-process comparisons (tests/core/test_distributed.py states the tolerance)
B, STEPS = 8, 5
LOSS_RTOL, CHANGE_RTOL = 1e-4, 1e-3
BF16_LOSS_RTOL, BF16_CHANGE_RTOL = 2e-2, 0.15  # bf16 autocast: convolutions of B and 2B rows round differently

COMMON = ["--data-size", "200", "--steps", str(STEPS), "--fresh", "--seed", "0", "--checkpoint-every", "1000"]


def scenario_argv(scenarios: dict[str, list[str]], name: str, batch: int, out: Path) -> list[str]:
    return [*scenarios[name], *COMMON, "--batch-size", str(batch), "--out", str(out / name)]


def compare_runs(scenarios: dict[str, list[str]], root: Path) -> dict:
    """Each scenario trained by 2 processes (batch B each) and by 1 process (batch 2B)."""
    two = run_processes(2, {name: scenario_argv(scenarios, name, B, root / "two") for name in scenarios}, root)
    one = {name: train_once(scenario_argv(scenarios, name, 2 * B, root / "one")) for name in scenarios}
    return {"two": two, "one": one, "root": root}


def assert_same_run(two: dict, one: dict, keys: tuple[str, ...], loss_rtol: float, change_rtol: float) -> None:
    assert len(two["metrics"]) == len(one["metrics"]) == STEPS
    assert any(k in one["metrics"][-1] for k in keys), f"none of {keys} in {sorted(one['metrics'][-1])}"
    for step, (a, b) in enumerate(zip(two["metrics"], one["metrics"]), 1):
        for key in (k for k in keys if k in b):
            assert a[key] == pytest.approx(b[key], rel=loss_rtol, abs=1e-6), f"step {step} {key}"
    assert one["outputs"].keys() == two["outputs"].keys() and one["outputs"]
    for name in one["outputs"]:
        change_one = one["outputs"][name] - one["outputs_before"][name]
        change_two = two["outputs"][name] - two["outputs_before"][name]
        assert float(change_one.norm()) > 0
        relative = float((change_two - change_one).norm() / change_one.norm())
        print(f"{name}: output change differs by {relative:.1e} (relative L2)")
        assert relative <= change_rtol, f"{name} changed differently: relative difference {relative:.2e}"


def assert_ranks_equal(two: list[dict], scenario: str, part: str) -> None:
    first, second = two[0][scenario][part], two[1][scenario][part]
    assert first.keys() == second.keys()
    for name in first:
        assert torch.equal(first[name], second[name]), f"{scenario} {part} {name} differs between processes"


def torchrun_env(rank: int, world: int, port: int) -> dict[str, str]:
    return {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world), "LOCAL_WORLD_SIZE": str(world),
            "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "PLAYGROUND_DIST_TIMEOUT": str(TIMEOUT_S),
            "OMP_NUM_THREADS": "1"}


def train_once(argv: list[str]) -> dict:
    """`playground train ARGV` in this process (or, under a torchrun environment, as one of several)."""
    from playground.core.training.registry import build_trainer, parse_train_args

    torch.set_num_threads(1)
    trainer = build_trainer(parse_train_args(argv))
    model, first_step = trainer.task.model, trainer.step
    images, labels = trainer.validation.x[:16], trainer.validation.labels[:16]
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    outputs_before = probe(model, images, labels)
    logs: list[dict[str, float]] = []
    trainer.run(progress=False, on_log=lambda log: logs.append(dict(log.metrics)), log_every=1)
    ema = trainer.ema.state_dict() if trainer.ema is not None else {}
    return {"metrics": logs, "initial": initial, "model": dict(model.state_dict()), "ema": dict(ema),
            "outputs_before": outputs_before, "outputs": probe(model, images, labels),
            "rank": trainer.parallel.rank, "world": trainer.parallel.world_size, "first_step": first_step}


@torch.no_grad()
def probe(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """What the model computes on fixed inputs (eval mode: spectral norm's power iteration left alone)."""
    was_training = model.training
    model.eval()
    noise = torch.Generator().manual_seed(0)
    try:
        if hasattr(model, "generator"):  # GAN
            z = torch.randn(16, int(model.latent_dim), generator=noise)
            return {"generator": model.generator(z), "discriminator": model.discriminator(images)}
        if hasattr(model, "encode_text"):  # CLIP: both towers
            from playground.core.data.tokenizer import tokenize_batch
            from playground.core.training.clip_task import training_prompts

            prompts = training_prompts(labels.cpu().numpy(), np.random.default_rng(0), 0.5)
            return {"image tower": model.encode_image(images), "text tower": model.encode_text(tokenize_batch(prompts))}
        from playground.core.data.tokenizer import prompts_from_labels, tokenize_batch

        tokens = tokenize_batch(prompts_from_labels(labels.cpu().numpy(), np.random.default_rng(0), 1.0))
        if hasattr(model, "noise_schedule"):  # pixel or latent denoisers (with a prompt), the noisy classifier
            x = model.first_stage.to_latent(images) if hasattr(model, "first_stage") else images
            t = torch.linspace(0, model.noise_schedule.num_train_timesteps - 1, len(images)).long()
            out = model(x, t, cond=model.embed(tokens)) if hasattr(model, "embed") else model(x, t)
            return {"network": torch.cat([o.flatten(1) for o in out], 1) if isinstance(out, (list, tuple)) else out}
        if hasattr(model, "null_text"):  # dalle: the logits of the held-out images' tokens after their captions
            return {"logits": model(tokens, model.encode(images))}
        if hasattr(model, "scale_factor"):  # autoencoder-kl: posterior mean, and the decoder on it
            mean = model.encode(images)[0]
            return {"encoder": mean, "decoder": model.decode(mean)}
        if hasattr(model, "latent_dim") and hasattr(model, "decode"):  # VAE, DAE: encoder mean, decoder
            z = torch.randn(16, int(model.latent_dim), generator=noise)
            return {"encoder": model.encode(images)[0], "decoder": model.decode(z)}
        if hasattr(model, "quantizer"):  # VQ-VAE, VQGAN: both continuous halves
            z_q = torch.randn(16, model.config.code_dim, model.grid_size, model.grid_size, generator=noise)
            return {"encoder": model.encode(images), "decoder": model.decode(z_q)}
        out = model(images)  # a classifier: its logits
        return {"network": torch.cat([o.flatten(1) for o in out], 1) if isinstance(out, (list, tuple)) else out}
    finally:
        model.train(was_training)


def _process(rank: int, world: int, port: int, scenarios: dict[str, list[str]], out: str) -> None:
    """One process: every scenario in turn ("{rank}" in an argument becomes this process's rank)."""
    os.environ.update(torchrun_env(rank, world, port))
    from playground.core import distributed

    try:
        results = {name: train_once([a.replace("{rank}", str(rank)) for a in argv]) for name, argv in scenarios.items()}
    except Exception as exc:  # the test reads what stopped it
        (Path(out) / f"rank{rank}.error").write_text(f"{type(exc).__name__}: {exc}")
        raise SystemExit(1) from None
    torch.save(results, Path(out) / f"rank{rank}.pt")
    distributed.shutdown()


def run_processes(world: int, scenarios: dict[str, list[str]], out: Path, timeout: float = 120,
                  expect_failure: bool = False) -> list:
    """Train every scenario with `world` processes; one result dict per rank (rank order), or with
    `expect_failure` each process's error line (None for one that succeeded)."""
    ctx = multiprocessing.get_context("spawn")
    port = free_port()
    processes = [ctx.Process(target=_process, args=(r, world, port, scenarios, str(out))) for r in range(world)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout)
    alive = [p for p in processes if p.is_alive()]
    for p in alive:
        p.kill()
        p.join()
    assert not alive, f"{len(alive)} of {world} processes still running after {timeout} s"
    codes = [p.exitcode for p in processes]
    if expect_failure:
        errors = [out / f"rank{r}.error" for r in range(world)]
        return [e.read_text() if e.exists() else None for e in errors]
    assert codes == [0] * world, f"exit codes {codes}: " + " | ".join(
        (out / f"rank{r}.error").read_text() for r in range(world) if (out / f"rank{r}.error").exists())
    return [torch.load(out / f"rank{r}.pt") for r in range(world)]
