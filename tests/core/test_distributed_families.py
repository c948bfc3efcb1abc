"""More families under 2 CPU processes against 1 (the tolerance: tests/core/test_distributed.py):
what is not a mean over rows is made global (CLIP's contrastive loss, the VQGAN's adaptive
weight), and random draws inside a step are made for the global batch and cut per process."""

from __future__ import annotations

import pytest

from distributed_support import CHANGE_RTOL, LOSS_RTOL, assert_ranks_equal, assert_same_run, compare_runs
from playground.core.assets import default_checkpoint
from playground.core.checkpoints import CheckpointError

SCENARIOS = {
    # CLIP: the contrastive loss over the whole global batch (image embeddings gathered with their gradients)
    "clip": ["clip", "--patch-size", "8", "--width", "16", "--vision-depth", "1", "--text-depth", "1",
             "--embed-dim", "8", "--precision", "fp32"],
    # VQGAN: perceptual loss, discriminator from step 0, the adaptive weight from the global batch's gradients
    "vqgan": ["vqgan", "--channels", "8,16", "--codebook-size", "16", "--code-dim", "8", "--disc-start", "0",
              "--precision", "fp32"],
    # VAE: the reparameterisation noise drawn for the global batch (`shard_randn`)
    "vae": ["vae", "--channels", "8,16", "--latent-dim", "4", "--precision", "fp32"],
    # text2img: timesteps and noise, and the prompts and their dropout drawn for the global batch
    "text2img": ["text2img", "--base-channels", "8", "--channel-mults", "1,2", "--precision", "fp32", "--ema", "0.9"],
}


def _have_classifier() -> bool:
    try:
        return default_checkpoint("classifier").exists()
    except CheckpointError:
        return False


HAVE_CLASSIFIER = _have_classifier()
if not HAVE_CLASSIFIER:
    del SCENARIOS["vqgan"]
COMPARED = {"clip": ("loss", "temperature"), "vae": ("loss", "mse", "kl"), "text2img": ("loss", "eps_mse"),
            "vqgan": ("loss", "mse", "perceptual", "g_loss", "adaptive_weight", "d_loss")}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return compare_runs(SCENARIOS, tmp_path_factory.mktemp("distributed-families"))


def test_clip_contrasts_every_image_with_every_caption_of_the_global_batch(runs):
    two, one = runs["two"], runs["one"]
    assert_same_run(two[0]["clip"], one["clip"], COMPARED["clip"], LOSS_RTOL, CHANGE_RTOL)
    assert_ranks_equal(two, "clip", "model")


@pytest.mark.skipif(not HAVE_CLASSIFIER, reason="the VQGAN's perceptual loss needs the shipped classifier")
def test_vqgan_adaptive_weight_and_discriminator_match_one_process(runs):
    two, one = runs["two"], runs["one"]
    assert "adaptive_weight" in one["vqgan"]["metrics"][0] and "d_loss" in one["vqgan"]["metrics"][0]
    assert_same_run(two[0]["vqgan"], one["vqgan"], COMPARED["vqgan"], LOSS_RTOL, CHANGE_RTOL)
    assert_ranks_equal(two, "vqgan", "model")


def test_noise_and_prompts_are_drawn_for_the_global_batch(runs):
    """VAE's sampled latents, text2img's timesteps, noise, prompts and prompt dropout: each process
    takes its rows of what one process draws for the global batch, not a copy of the same draws."""
    two, one = runs["two"], runs["one"]
    for name in ("vae", "text2img"):
        assert_same_run(two[0][name], one[name], COMPARED[name], LOSS_RTOL, CHANGE_RTOL)
        assert_ranks_equal(two, name, "model")
    assert_ranks_equal(two, "text2img", "ema")
