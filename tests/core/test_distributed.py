"""Data-parallel training for real: 2 CPU processes (gloo, 127.0.0.1) against 1 process.

Two processes with batch B per process train the model one process with batch 2B trains:
the same rows (the global batch cut in rank order), the same noise (`shard_randn`), the
gradients averaged. Not bitwise: a 2B-row sum becomes two B-row sums added by the
all-reduce, so floats differ in their last bits. Stated tolerance, after 5 steps:
- every step's losses (averaged over the processes) within rtol 1e-4 of one process's;
- what the final weights compute on fixed inputs (the GAN's generator and discriminator,
  the VQ models' encoder and decoder, CLIP's two towers): its change over the run within
  1e-3 of its size (relative L2; measured 4e-6 for CLIP, 2e-5 for the VQ-VAE and the
  discriminator, 1e-4 for the VQGAN, 3e-4 for the generator). Not weight by weight, and not tighter: in the first steps Adam moves each
  weight by about lr whatever its gradient's size (m / sqrt(v)), so a weight whose gradient
  is zero up to rounding (a bias just before a per-channel GroupNorm) or nearly so takes
  a full step in a direction the last bits decide;
- under bf16 autocast the losses within 2e-2 and the change within 0.15 (measured 4e-2 for
  the generator: bf16 rounds the gradients to 3 digits, and Adam's steps follow their signs).
Between the processes everything is bitwise equal: they apply the same averaged gradients
to the same weights, and the codebook statistics are summed identically on each.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from distributed_support import run_processes, train_once
from playground.core.assets import default_checkpoint
from playground.core.checkpoints import CheckpointError

B, STEPS = 8, 5
LOSS_RTOL, CHANGE_RTOL = 1e-4, 1e-3
BF16_LOSS_RTOL, BF16_CHANGE_RTOL = 2e-2, 0.15  # bf16 autocast: convolutions of B and 2B rows round differently

COMMON = ["--data-size", "200", "--steps", str(STEPS), "--fresh", "--seed", "0", "--checkpoint-every", "1000"]
SCENARIOS = {
    # VQ-VAE: codebook EMA statistics all-reduced, dead-code restarts from the gathered batch
    "vqvae": ["vqvae", "--channels", "8,16", "--codebook-size", "16", "--code-dim", "8", "--precision", "fp32"],
    # GAN: two optimisers, lazy R1 (a second backward at step 0), EMA weights
    "gan": ["gan", "--channels", "4,8,8,8", "--latent-dim", "8", "--precision", "fp32", "--ema", "0.9"],
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
    # the same GAN under bf16 autocast
    "gan_bf16": ["gan", "--channels", "4,8,8,8", "--latent-dim", "8", "--precision", "bf16", "--ema", "0.9"],
}


def _have_classifier() -> bool:
    try:
        return default_checkpoint("classifier").exists()
    except CheckpointError:
        return False


HAVE_CLASSIFIER = _have_classifier()
if not HAVE_CLASSIFIER:
    del SCENARIOS["vqgan"]
# metrics that are means over the batch (codes_used, perplexity: counts over a shard, not averages)
COMPARED = {"vqvae": ("loss", "mse", "commitment"), "gan": ("d_loss", "g_loss", "d_real", "d_fake", "r1"),
            "clip": ("loss", "temperature"), "vae": ("loss", "mse", "kl"), "text2img": ("loss", "eps_mse"), "vqgan": ("loss", "mse", "perceptual", "g_loss", "adaptive_weight", "d_loss")}


def argv(name: str, batch: int, out: Path) -> list[str]:
    return [*SCENARIOS[name], *COMMON, "--batch-size", str(batch), "--out", str(out / name)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Each scenario trained by 2 processes (batch B each) and by 1 process (batch 2B)."""
    root = tmp_path_factory.mktemp("distributed")
    two = run_processes(2, {name: argv(name, B, root / "two") for name in SCENARIOS}, root)
    one = {name: train_once(argv(name, 2 * B, root / "one")) for name in SCENARIOS}
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


def test_vqvae_two_processes_train_the_model_one_process_trains_on_the_double_batch(runs):
    two, one = runs["two"], runs["one"]
    assert [r["vqvae"]["world"] for r in two] == [2, 2] and one["vqvae"]["world"] == 1
    assert_same_run(two[0]["vqvae"], one["vqvae"], COMPARED["vqvae"], LOSS_RTOL, CHANGE_RTOL)


def test_vq_codebook_is_the_same_on_every_process_and_the_one_process_codebook(runs):
    two, one = runs["two"], runs["one"]
    assert_ranks_equal(two, "vqvae", "model")  # weights and codebook buffers, bitwise
    codebook_two = two[0]["vqvae"]["model"]["quantizer.codebook"]
    codebook_one = one["vqvae"]["model"]["quantizer.codebook"]
    # a process that learned its own codebook from half the batch would be far off
    torch.testing.assert_close(codebook_two, codebook_one, rtol=1e-4, atol=1e-5)
    for name in ("quantizer.ema_cluster_size", "quantizer.ema_embed_sum"):
        torch.testing.assert_close(two[0]["vqvae"]["model"][name], one["vqvae"]["model"][name], rtol=1e-4, atol=1e-5)


def test_gan_with_two_optimisers_and_lazy_r1_matches_one_process(runs):
    two, one = runs["two"], runs["one"]
    assert "r1" in one["gan"]["metrics"][0]  # the R1 pass ran (step 0), and its gradients were averaged too
    assert_same_run(two[0]["gan"], one["gan"], COMPARED["gan"], LOSS_RTOL, CHANGE_RTOL)
    assert_ranks_equal(two, "gan", "model")


def test_ema_weights_are_updated_identically_on_every_process(runs):
    two, one = runs["two"], runs["one"]
    assert_ranks_equal(two, "gan", "ema")
    for name, ema_one in one["gan"]["ema"].items():
        if ema_one.is_floating_point():
            torch.testing.assert_close(two[0]["gan"]["ema"][name], ema_one, rtol=1e-4, atol=1e-5)
    # and the EMA copy is not just the weights
    some = next(k for k, v in one["gan"]["ema"].items() if v.is_floating_point() and v.numel() > 1)
    assert not torch.equal(one["gan"]["ema"][some], one["gan"]["model"][some])


def test_bf16_autocast_under_two_processes(runs):
    two, one = runs["two"], runs["one"]
    assert_ranks_equal(two, "gan_bf16", "model")
    assert_ranks_equal(two, "gan_bf16", "ema")
    assert_same_run(two[0]["gan_bf16"], one["gan_bf16"], COMPARED["gan"], BF16_LOSS_RTOL, BF16_CHANGE_RTOL)


def test_only_process_0_writes_and_the_checkpoint_records_processes_and_global_batch(runs):
    from playground.core.checkpoints import read_meta

    meta = read_meta(runs["root"] / "two" / "vqvae" / "model.safetensors")
    assert meta.extra["processes"] == 2 and meta.extra["global_batch_size"] == 2 * B
    assert meta.extra["train_config"]["batch_size"] == B
    single = read_meta(runs["root"] / "one" / "vqvae" / "model.safetensors")
    assert single.extra["processes"] == 1 and single.extra["global_batch_size"] == 2 * B


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
