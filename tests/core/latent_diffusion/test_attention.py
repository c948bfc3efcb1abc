"""Attention maps of the latent denoisers: recorded weights are the model's own softmax (checked against
diffusers' attention), the maps sum to one where they should, words and cells map to the right tokens."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latent_models import tiny_latent_model
from playground.core.diffusion.sampling import initial_noise
from playground.core.latent_diffusion.attention import (
    attention_layers, attention_maps, cell_side, maps_at_step, prompt_words, recording, run_maps, sample_run)
from playground.core.latent_diffusion.attention_picture import CELL_OUTLINE, attention_picture, overlay
from playground.core.models.blocks import SelfAttention2d
from playground.core.text2img.sampling import GuidedSettings

PROMPT = "a large red circle at the top left"
WORDS = ("large", "red", "circle", "at", "the", "top", "left")


@pytest.fixture(scope="module", params=["ldm", "dit", "sit"])
def model(request) -> torch.nn.Module:
    torch.set_num_threads(1)
    return tiny_latent_model(request.param).eval()


def settings_for(model, **changes) -> GuidedSettings:
    sampler = "heun" if model.config.family == "sit" else "ddim"
    return GuidedSettings(prompt=PROMPT, sampler=sampler, steps=4, seed=5, guidance_scale=2.0).replace(**changes)


def inputs(model, prompt: str = PROMPT):
    torch.manual_seed(1)
    x = torch.randn(1, *model.config.latent_shape)
    from playground.core.diffusion.guidance import prompt_embedding
    return x, torch.tensor([40]), prompt_embedding(model, prompt)


@pytest.mark.parametrize("kind", ["cross", "self"])
def test_every_recorded_row_is_a_softmax_over_the_attended_positions(model, kind):
    x, t, cond = inputs(model)
    maps = attention_maps(model, x, t, cond, kind, prompt_words(PROMPT))
    assert len(maps.layers) == len(attention_layers(model, kind)) >= 2
    for layer in maps.layers:
        heads, queries, keys = layer.weights.shape
        assert queries == layer.grid ** 2
        assert keys == (8 if kind == "cross" else queries)  # the 8 context positions, or the cells themselves
        assert (layer.weights >= 0).all()
        np.testing.assert_allclose(layer.weights.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("kind", ["cross", "self"])
def test_recording_leaves_the_models_prediction_as_the_fused_kernel_gives_it(model, kind):
    x, t, cond = inputs(model)
    with torch.inference_mode():
        fused = model(x, t, cond=cond)
        modules = [m for _, m in attention_layers(model, kind)]
        with recording(modules):
            recorded = model(x, t, cond=cond)
            assert all(m.last_attention is not None for m in modules)
    torch.testing.assert_close(recorded, fused, rtol=1e-4, atol=1e-5)
    assert all(not m.keep_attention and m.last_attention is None for m in modules)  # back on the fused path


@pytest.mark.parametrize("context_dim", [None, 16])
def test_selfattention2d_weights_and_output_match_diffusers_attention(context_dim):
    """diffusers' Attention with our weights (to_kv split into to_k and to_v, 1x1 convs as linears) is the reference."""
    from diffusers.models.attention_processor import Attention, AttnProcessor

    torch.manual_seed(0)
    ours = SelfAttention2d(16, heads=4, context_dim=context_dim).eval()
    theirs = Attention(16, cross_attention_dim=context_dim, heads=4, dim_head=4, bias=True, norm_num_groups=8,
                       residual_connection=True, processor=AttnProcessor()).eval()
    with torch.no_grad():
        theirs.group_norm.load_state_dict(ours.norm.state_dict())
        theirs.to_q.weight.copy_(ours.to_q.weight[:, :, 0, 0]), theirs.to_q.bias.copy_(ours.to_q.bias)
        k_w, v_w = ours.to_kv.weight.chunk(2)
        k_b, v_b = ours.to_kv.bias.chunk(2)
        theirs.to_k.weight.copy_(k_w), theirs.to_k.bias.copy_(k_b)
        theirs.to_v.weight.copy_(v_w), theirs.to_v.bias.copy_(v_b)
        theirs.to_out[0].weight.copy_(ours.out.weight[:, :, 0, 0]), theirs.to_out[0].bias.copy_(ours.out.bias)
    probs = []
    scores = theirs.get_attention_scores
    theirs.get_attention_scores = lambda q, k, mask=None: probs.append(scores(q, k, mask)) or probs[-1]
    x = torch.randn(1, 16, 4, 4)
    context = torch.randn(1, 8, 16) if context_dim else None
    with torch.no_grad():
        expected = theirs(x, encoder_hidden_states=context)
        fused = ours(x, context)
        with recording([ours]):
            recorded = ours(x, context)
            weights = ours.last_attention[0]
    torch.testing.assert_close(fused, expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(recorded, expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(weights, probs[0], rtol=1e-4, atol=1e-6)  # (heads, queries, keys)


def test_the_prompts_words_are_its_tokens_in_order_and_padding_is_no_word():
    assert prompt_words(PROMPT) == WORDS
    assert prompt_words("Red  CIRCLE") == ("red", "circle")
    assert prompt_words("") == ()
    model = tiny_latent_model("dit").eval()
    x, t, cond = inputs(model, "red circle")
    maps = attention_maps(model, x, t, cond, "cross", prompt_words("red circle"))
    assert maps.words == ("red", "circle")
    with pytest.raises(ValueError, match="the word must be a whole number from 0 to 1"):
        maps.word_map(2)  # position 2 is padding


def test_a_word_map_is_that_tokens_column_on_the_cell_grid_and_maps_with_padding_sum_to_one(model):
    x, t, cond = inputs(model, "red circle")
    maps = attention_maps(model, x, t, cond, "cross", ("red", "circle"))
    side = maps.side
    assert side == max(layer.grid for layer in maps.layers)
    finest = next(i for i, layer in enumerate(maps.layers) if layer.grid == side)
    np.testing.assert_allclose(maps.word_map(1, layer=finest, head=0),
                               maps.layers[finest].weights[0, :, 1].reshape(side, side), rtol=1e-6)
    # words and padding together take all of every cell's attention
    for i, layer in enumerate(maps.layers):
        total = sum(maps.word_map(w, layer=i) for w in range(2)) + maps._to_side(
            layer.weights.mean(0)[:, 2:].sum(-1).reshape(layer.grid, layer.grid), 1.0)
        np.testing.assert_allclose(total, 1.0, atol=1e-5)
    averaged = maps.word_map(0)
    assert averaged.shape == (side, side) and 0 <= averaged.min() and averaged.max() <= 1


def test_a_cell_map_is_that_cells_row_on_the_key_grid_and_sums_to_one(model):
    x, t, cond = inputs(model)
    maps = attention_maps(model, x, t, cond, "self")
    side = maps.side
    assert side == cell_side(model)
    row, col = side - 1, 1
    for i, layer in enumerate(maps.layers):
        f = side // layer.grid
        query = (row // f) * layer.grid + col // f  # a coarse layer's cell covers f x f fine cells
        expected = np.repeat(np.repeat(layer.weights[1, query].reshape(layer.grid, layer.grid), f, 0), f, 1) / f**2
        np.testing.assert_allclose(maps.cell_map(row, col, layer=i, head=1), expected, rtol=1e-6)
    np.testing.assert_allclose(maps.cell_map(row, col).sum(), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match=f"the row of the cell must be a whole number from 0 to {side - 1}"):
        maps.cell_map(side, 0)
    with pytest.raises(ValueError, match="the head"):
        maps.cell_map(0, 0, head=maps.heads)


def test_maps_at_a_step_are_the_conditional_branch_at_that_steps_x_t(model):
    settings = settings_for(model)
    maps, run = maps_at_step(model, settings, 2, "cross")
    assert run.num_steps == 4 and maps.words == WORDS and maps.t == run.timesteps[2]
    torch.testing.assert_close(run.states[0], initial_noise(1, model.config.latent_shape, settings.seed))
    x, _, cond = inputs(model)
    again = attention_maps(model, run.states[2], run.timesteps[2], cond, "cross", WORDS)
    for a, b in zip(maps.layers, again.layers):
        np.testing.assert_array_equal(a.weights, b.weights)
    assert run.final.shape == (32, 32, 3) and run.final.dtype == np.uint8
    self_maps = run_maps(model, run, 3, "self")
    assert self_maps.kind == "self" and self_maps.t == run.timesteps[3]


def test_bad_steps_an_empty_prompt_and_a_pixel_model_are_refused_before_sampling(model):
    with pytest.raises(ValueError, match="the step must be a whole number from 0 to 3"):
        maps_at_step(model, settings_for(model), 4)
    with pytest.raises(ValueError, match="no words to attend to"):
        maps_at_step(model, settings_for(model, prompt=""), 0, "cross")
    maps, _ = maps_at_step(model, settings_for(model, prompt=""), 0, "self")  # self-attention needs no words
    assert maps.words == ()


def test_a_pixel_text2img_model_has_no_attention_over_words():
    from playground.core.models.text2img import Text2ImgConfig, TextToImageModel

    model = TextToImageModel(Text2ImgConfig(base_channels=8, channel_mults=(1, 2), cond_dim=16, text_dim=16,
                                            text_layers=1, num_train_timesteps=100))
    with pytest.raises(ValueError, match="pooled"):
        sample_run(model, GuidedSettings(prompt=PROMPT, steps=2))


def test_the_overlay_is_brightest_where_the_map_peaks_and_outlines_the_chosen_cell():
    image = np.full((32, 32, 3), 128, np.uint8)
    cell_map = np.zeros((8, 8))
    cell_map[2, 5] = 0.5
    out = overlay(image, cell_map, cell=(6, 1))
    assert out.shape == (32, 32, 3)
    brightness = out.astype(int).sum(-1)
    assert brightness[8:12, 20:24].min() > brightness[:8].max()  # the peak cell's block
    np.testing.assert_array_equal(out[24, 4], CELL_OUTLINE)  # top-left pixel of cell (6, 1)


def test_the_picture_has_a_tile_per_word_or_per_layer(model):
    maps, run = maps_at_step(model, settings_for(model), 1, "cross")
    picture = attention_picture(maps, run.final, scale=2)
    assert picture.ndim == 3 and picture.shape[1] > (1 + len(WORDS)) * 64
    self_maps = run_maps(model, run, 1, "self")
    one = attention_picture(self_maps, run.final, cell=(0, 0), layer=0, scale=2)
    every = attention_picture(self_maps, run.final, cell=(0, 0), scale=2)
    assert every.shape[1] > one.shape[1] and one.shape[1] > 2 * 64
