"""CLIP itself: the contrastive loss on known cases, the encoders' shapes, padding that changes nothing."""

from __future__ import annotations

import math

import pytest
import torch

from playground.core.data.tokenizer import MAX_TOKENS, PAD, tokenize_batch
from playground.core.models.clip import clip_loss
from token_models import tiny_clip


def test_perfect_alignment_at_a_large_scale_costs_nothing():
    logits = 100.0 * torch.eye(6)  # cosine 1 with its own caption, 0 with the others, scale 100
    assert clip_loss(logits).item() < 1e-3


def test_uniform_logits_cost_log_b():
    for b in (2, 5, 16):
        assert clip_loss(torch.full((b, b), 3.0)).item() == pytest.approx(math.log(b), rel=1e-6)


def test_the_loss_matches_cross_entropy_by_hand():
    torch.manual_seed(0)
    logits = torch.randn(4, 4)
    rows = -torch.log_softmax(logits, 1).diagonal().mean()
    columns = -torch.log_softmax(logits, 0).diagonal().mean()
    assert clip_loss(logits).item() == pytest.approx(((rows + columns) / 2).item(), rel=1e-6)


def test_multi_positive_targets_spread_over_every_caption_that_fits():
    # images 0 and 1 are both red; caption 0 is "red", captions 1 and 2 each fit one image
    matches = torch.tensor([[True, True, False], [True, False, False], [False, False, True]])
    # logits that put equal mass on every fitting pair and none elsewhere: the loss is the entropy of
    # the targets (log 2 for the rows/columns with two positives), not the diagonal's log-loss
    logits = torch.where(matches, torch.tensor(50.0), torch.tensor(-50.0))
    expected_rows = (math.log(2) + 0 + 0) / 3          # image 0 fits captions 0 and 1
    expected_columns = (math.log(2) + 0 + 0) / 3       # caption 0 fits images 0 and 1
    assert clip_loss(logits, matches).item() == pytest.approx((expected_rows + expected_columns) / 2, abs=1e-4)
    # the diagonal-only loss calls image 1 / caption 0 a negative and charges for it
    assert clip_loss(logits).item() > clip_loss(logits, matches).item() + 1.0
    # with one match per row and column, the multi-positive loss is the paper's loss
    eye = torch.eye(3, dtype=torch.bool)
    torch.manual_seed(1)
    random = torch.randn(3, 3)
    assert clip_loss(random, eye).item() == pytest.approx(clip_loss(random).item(), rel=1e-6)


def test_encoders_give_unit_vectors_of_the_embedding_size():
    model = tiny_clip()
    images = torch.rand(5, 3, 32, 32) * 2 - 1
    tokens = tokenize_batch(["a red circle", "", "a large blue plus at the top left"])
    image, text = model.encode_image(images), model.encode_text(tokens)
    assert image.shape == (5, model.config.embed_dim) and text.shape == (3, model.config.embed_dim)
    assert torch.allclose(image.norm(dim=-1), torch.ones(5), atol=1e-5)
    assert torch.allclose(text.norm(dim=-1), torch.ones(3), atol=1e-5)
    logits = model(images, tokens)
    assert logits.shape == (5, 3)
    assert torch.allclose(logits, model.scale * image @ text.t(), atol=1e-5)


def test_a_prompts_embedding_ignores_what_sits_in_its_padding():
    """Padding is masked out of attention: whatever token ids fill the PAD positions (and whatever the
    other prompts in the batch are), a prompt's embedding is the same."""
    model = tiny_clip()
    tokens = tokenize_batch(["a red circle"])
    length = int((tokens[0] != PAD).sum())
    assert length < MAX_TOKENS
    alone = model.encode_text(tokens)
    junk = tokens.clone()
    junk[0, length:] = 0  # a real word's id where the padding was, still marked as padding below
    with torch.no_grad():
        text = model.text
        x = torch.cat([text.class_token.expand(1, -1, -1), text.token_embedding(junk)], dim=1)
        padding = torch.cat([torch.zeros(1, 1, dtype=torch.bool), tokens == PAD], dim=1)
        h = text.transformer(x + text.position, key_padding=padding)
        refilled = torch.nn.functional.normalize(text.projection(text.norm(h[:, 0])), dim=-1)
    assert torch.allclose(alone, refilled, atol=1e-5)
    batched = model.encode_text(tokenize_batch(["a red circle", "a small green triangle at the bottom right"]))
    assert torch.allclose(alone[0], batched[0], atol=1e-5)
