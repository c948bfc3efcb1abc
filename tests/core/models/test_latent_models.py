"""The latent denoisers (ldm, dit, sit) and their first stage, on tiny untrained models (tests/latent_models.py)."""

from __future__ import annotations

import copy

import pytest
import torch

from latent_models import AE_FIELDS, PROMPT_FIELDS, tiny_autoencoder_kl, tiny_latent_model
from playground.core.checkpoints import CheckpointError, load_checkpoint
from playground.core.data.tokenizer import tokenize_batch
from playground.core.diffusion.guidance import ClassifierFreeGuidance
from playground.core.latent_diffusion import default_guidance, is_flow, is_latent
from playground.core.models.autoencoder_kl import AutoencoderKL, AutoencoderKLConfig
from playground.core.models.dit import DiT, DiTConfig

FAMILIES = ("ldm", "dit", "sit")
COND_DIM = PROMPT_FIELDS["cond_dim"]


@pytest.fixture(scope="module", params=FAMILIES)
def model(request) -> torch.nn.Module:
    return tiny_latent_model(request.param)


def _inputs(batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 4, 8, 8, generator=g), torch.randint(0, 100, (batch,), generator=g)


def test_shapes_of_the_latent_path_and_the_prediction(model):
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    latents = model.encode(images)
    assert latents.shape == (2, 4, 8, 8) == (2, *model.config.latent_shape)
    decoded = model.decode(latents)
    assert decoded.shape == (2, 3, 32, 32) and decoded.min() >= -1 and decoded.max() <= 1
    x, t = _inputs()
    with torch.no_grad():
        out = model(x, t, cond=model.embed(tokenize_batch(["red circle", "a small blue square at the top"])))
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert is_latent(model) and is_flow(model) == (model.config.family == "sit")
    assert (model.config.prediction == "velocity") == is_flow(model)


def test_the_condition_is_one_tensor_of_the_pooled_prompt_and_its_token_embeddings(model):
    cond = model.embed(tokenize_batch(["red circle", "large green plus at the bottom right"]))
    assert cond.shape == (2, (1 + 8) * COND_DIM)
    null = model.embed(None, 3)
    assert null.shape == (3, (1 + 8) * COND_DIM)
    torch.testing.assert_close(null[0], torch.cat([model.null_embedding, model.null_context.flatten()]))


def test_an_empty_prompt_is_the_null_condition(model):
    x, t = _inputs()
    empty = model.embed(tokenize_batch(["", ""]))
    torch.testing.assert_close(empty, model.embed(None, 2), rtol=0, atol=0)
    with torch.no_grad():
        torch.testing.assert_close(model(x, t, cond=empty), model(x, t))  # no condition means the null one
        # so classifier-free guidance toward "" at any w is the unconditional model
        guided = ClassifierFreeGuidance.for_prompt(model, "", 4.0)(x, t)
        torch.testing.assert_close(guided, model(x, t), rtol=1e-5, atol=1e-6)


def test_a_prompt_changes_the_prediction(model):
    """On a copy whose zero-initialised weights are random (untrained, a DiT's blocks are the identity)."""
    model = copy.deepcopy(model)
    torch.manual_seed(1)
    for p in model.parameters():
        if p.dim() > 1 and not p.any():
            torch.nn.init.normal_(p, std=0.1)
    x, t = _inputs()
    with torch.no_grad():
        a = model(x, t, cond=model.embed(tokenize_batch(["red circle"] * 2)))
        b = model(x, t, cond=model.embed(tokenize_batch(["blue square"] * 2)))
    assert (a - b).abs().max() > 1e-4


def _fresh_dit(**fields) -> DiT:
    torch.manual_seed(0)
    return DiT(DiTConfig(hidden=16, depth=2, heads=2, num_train_timesteps=100, **AE_FIELDS, **PROMPT_FIELDS, **fields))


def test_adaln_zero_starts_each_dit_block_as_the_identity():
    model = _fresh_dit(cross_attention=False)
    h = torch.randn(2, 16, 16)
    c, context = torch.randn(2, 16), torch.randn(2, 8, COND_DIM)
    for block in model.blocks:
        torch.testing.assert_close(block(h, c, context), h, rtol=0, atol=0)
    x, t = _inputs()
    assert torch.equal(model(x, t), torch.zeros_like(x))  # and the final layer starts at zero: the output is 0


def test_with_cross_attention_each_block_still_starts_as_the_identity():
    """The self-attention and MLP are gated (adaLN-Zero); the ungated cross-attention's output projection
    starts at zero (as PixArt-alpha initialises it)."""
    model = _fresh_dit()
    h, c, context = torch.randn(2, 16, 16), torch.randn(2, 16), torch.randn(2, 8, COND_DIM)
    for block in model.blocks:
        torch.testing.assert_close(block(h, c, context), h, rtol=0, atol=0)
    x, t = _inputs()
    assert torch.equal(model(x, t, cond=model.embed(tokenize_batch(["red circle", "blue"]))), torch.zeros_like(x))


def test_the_dit_keeps_its_attention_for_the_views():
    model = tiny_latent_model("dit")
    for module in model.attention_modules("self") + model.attention_modules("cross"):
        module.keep_attention = True
    x, t = _inputs()
    with torch.no_grad():
        model(x, t, cond=model.embed(tokenize_batch(["red circle", "blue"])))
    self_maps = [m.last_attention for m in model.attention_modules("self")]
    cross_maps = [m.last_attention for m in model.attention_modules("cross")]
    assert len(self_maps) == len(cross_maps) == 2
    assert self_maps[0].shape == (2, 2, 16, 16) and cross_maps[0].shape == (2, 2, 16, 8)
    for weights in self_maps + cross_maps:
        torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1]))


def test_the_first_stage_must_fit_the_denoiser():
    model = tiny_latent_model("ldm")
    other = AutoencoderKL(AutoencoderKLConfig(channels=(8, 8, 16)))
    with pytest.raises(ValueError, match="do not match this model"):
        model.load_first_stage(other)
    ae = tiny_autoencoder_kl()
    ae.scale_factor.fill_(0.75)
    model.load_first_stage(ae)
    images = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(model.encode(images), ae.to_latent(images), rtol=0, atol=0)
    assert float(model.first_stage.scale_factor) == 0.75
    assert not any(p.requires_grad for p in model.first_stage.parameters())  # frozen


@pytest.mark.parametrize("family", FAMILIES)
def test_a_checkpoint_round_trips_through_load_checkpoint(tiny_latent_checkpoints, family):
    loaded = load_checkpoint(tiny_latent_checkpoints[family])
    original = tiny_latent_model(family).eval().requires_grad_(False)  # as loaded: the text encoder has a fast path
    assert loaded.family == family and loaded.config == original.config
    assert default_guidance(loaded.meta.extra) == 2.0
    x, t = _inputs()
    cond = original.embed(tokenize_batch(["red circle", ""]))
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x, t, cond=loaded.model.embed(tokenize_batch(["red circle", ""]))),
                                   original(x, t, cond=cond), rtol=0, atol=0)
        torch.testing.assert_close(loaded.model.decode(x), original.decode(x), rtol=0, atol=0)  # the first stage travels too
    assert type(loaded.model.noise_schedule) is type(original.noise_schedule)
    with pytest.raises(CheckpointError, match="not a"):
        load_checkpoint(tiny_latent_checkpoints[family], families=("ddpm",))
