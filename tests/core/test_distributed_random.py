"""The families whose step draws more random numbers, under 2 CPU processes against 1 (the tolerance:
tests/core/test_distributed.py): the latent denoisers, flow (sit) and eps (dit) (posterior
samples of their first stage, times, noise, prompts and their dropout), dalle (prompts and
their dropout), the DAE (noise levels and masks), the noisy classifier (timesteps and noise),
autoencoder-kl (posterior samples), ddpm (timesteps and noise); and the deterministic ae and
classifier. With tests/core/test_distributed.py and test_distributed_families.py: every family. Each process takes its rows of
what one process draws for the global batch."""

from __future__ import annotations

import pytest

from distributed_support import CHANGE_RTOL, LOSS_RTOL, assert_ranks_equal, assert_same_run, compare_runs

SCENARIOS = {
    "dae": ["dae", "--channels", "8,16", "--latent-dim", "4", "--precision", "fp32"],
    "noisy-classifier": ["noisy-classifier", "--channels", "8,16", "--precision", "fp32", "--ema", "0.9"],
    "autoencoder-kl": ["autoencoder-kl", "--channels", "8,8,8", "--precision", "fp32"],
    "ddpm": ["ddpm", "--base-channels", "8", "--channel-mults", "1,2", "--precision", "fp32"],
    # no random draws: only the sharded batch and the averaged gradients
    "ae": ["ae", "--channels", "8,16", "--latent-dim", "4", "--precision", "fp32"],
    "classifier": ["classifier", "--channels", "8,16", "--precision", "fp32"],
}
COMPARED = {"dae": ("loss",), "noisy-classifier": ("loss",), "sit": ("loss",), "dit": ("loss",),
            "dalle": ("loss", "bits_per_token"), "autoencoder-kl": ("loss", "mse", "kl"), "ddpm": ("loss",),
            "ldm": ("loss",), "ae": ("loss", "mse"), "classifier": ("loss",)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_latent_checkpoints, tiny_token_checkpoints) -> dict:
    scenarios = {
        **SCENARIOS,
        "sit": ["sit", "--hidden", "16", "--depth", "1", "--heads", "2", "--cond-dim", "16", "--precision", "fp32",
                "--first-stage", str(tiny_latent_checkpoints["autoencoder-kl"])],
        "ldm": ["ldm", "--base-channels", "8", "--channel-mults", "1,2", "--cond-dim", "16", "--precision", "fp32",
                "--first-stage", str(tiny_latent_checkpoints["autoencoder-kl"])],
        "dit": ["dit", "--hidden", "16", "--depth", "1", "--heads", "2", "--cond-dim", "16", "--precision", "fp32",
                "--first-stage", str(tiny_latent_checkpoints["autoencoder-kl"])],
        "dalle": ["dalle", "--width", "16", "--depth", "1", "--heads", "2", "--precision", "fp32",
                  "--vq", str(tiny_token_checkpoints["vqgan"])],
    }
    return compare_runs(scenarios, tmp_path_factory.mktemp("distributed-random"))


@pytest.mark.parametrize("family", ["dae", "noisy-classifier", "autoencoder-kl", "ddpm", "ldm", "sit", "dit", "dalle",
                                    "ae", "classifier"])
def test_random_draws_are_the_global_batch_s_cut_per_process(runs, family):
    two, one = runs["two"], runs["one"]
    assert_same_run(two[0][family], one[family], COMPARED[family], LOSS_RTOL, CHANGE_RTOL)
    assert_ranks_equal(two, family, "model")


def test_every_family_has_a_two_process_test():
    from playground.core.training.registry import RECIPES

    elsewhere = {"vqvae", "gan", "clip", "vqgan", "vae", "text2img"}  # the other two modules
    assert set(RECIPES) <= elsewhere | set(COMPARED), set(RECIPES) - elsewhere - set(COMPARED)
