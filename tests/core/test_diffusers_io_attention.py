"""Attention maps of a diffusers Stable Diffusion-layout U-Net: the prompt's tokens as the columns of
cross-attention, weights from diffusers' own explicit processor, and sampling unchanged by recording."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from diffusers_pipelines import sd_pipeline  # noqa: E402

from playground.core.checkpoints import load_checkpoint  # noqa: E402
from playground.core.latent_diffusion.attention import attention_layers, cell_side, maps_at_step, recording  # noqa: E402
from playground.core.text2img.sampling import GuidedSettings, generate  # noqa: E402


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return load_checkpoint(sd_pipeline(tmp_path_factory.mktemp("sd-attention")), "cpu").model


def test_cross_attention_columns_are_the_tokenizers_tokens(model):
    settings = GuidedSettings(prompt="red cat", guidance_scale=5.0, steps=4, seed=3)
    maps, run = maps_at_step(model, settings, 2, "cross")
    assert maps.words == ("<|startoftext|>", "r", "e", "d", "c", "a", "t", "<|endoftext|>")
    assert maps.side == cell_side(model) == 4  # the tiny U-Net attends at half its 8x8 latent
    for layer in maps.layers:
        np.testing.assert_allclose(layer.weights.sum(-1), 1.0, atol=1e-5)  # every row a softmax over the 12 tokens
        assert layer.weights.shape[-1] == model.config.context_length
    cells, _ = maps_at_step(model, settings, 1, "self")
    assert abs(float(cells.cell_map(0, 0).sum()) - 1.0) < 1e-5


def test_recording_gives_the_fused_kernels_numbers_and_leaves_sampling_unchanged(model):
    settings = GuidedSettings(prompt="a dog", guidance_scale=4.0, steps=3, seed=1)
    before = generate(model, settings)
    x, t = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0)), torch.tensor([500])
    cond = model.encode_prompts(["a dog"])
    with torch.inference_mode():
        fused = model(x, t, cond=cond)
        with recording([module for _, module in attention_layers(model, "cross") + attention_layers(model, "self")]):
            explicit = model(x, t, cond=cond)
    torch.testing.assert_close(explicit, fused, atol=1e-5, rtol=1e-4)
    assert np.array_equal(generate(model, settings), before)


def test_the_steps_view_draws_latent_channels_and_decoded_pictures(model):
    from playground.core.diffusers_io.sampling import denoiser
    from playground.core.diffusion.trajectory import LATENT_VIEWS, SamplerSettings, trace

    trajectory = None
    for trajectory in trace(denoiser(model, "a cat", "", 5.0), model.noise_schedule,
                            SamplerSettings("ddim", 3, clip_x0=False), 0):
        pass
    assert trajectory.latent and trajectory.complete
    decoded = trajectory.frame("decoded_x0", 2)
    assert decoded.shape[0] >= 16 and decoded.shape[2] == 3 and decoded.dtype == np.uint8  # the 16x16 picture, framed
    for view in LATENT_VIEWS:
        assert trajectory.frame(view, 1).ndim == 3
    expected = generate(model, GuidedSettings(prompt="a cat", guidance_scale=5.0, steps=3, seed=0))
    np.testing.assert_array_equal(trajectory.final_image(), expected[0])
