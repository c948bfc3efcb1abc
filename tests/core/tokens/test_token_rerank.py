"""CLIP reranking on tiny models: the order is the CLIP score's, and each kept sample is its group's best."""

from __future__ import annotations

import torch

from playground.core.clip.scores import clip_score
from playground.core.tokens.rerank import decode_tokens, rerank, sample_reranked
from playground.core.tokens.sampling import TokenSettings, sample_tokens
from token_models import tiny_clip, tiny_dalle

PROMPT = "a red circle"


def test_rerank_orders_by_clip_score():
    clip = tiny_clip()
    images = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    order, scores = rerank(images, PROMPT, clip)
    torch.testing.assert_close(scores, clip_score(clip, images, PROMPT))
    assert sorted(order.tolist()) == list(range(6))
    assert (scores[order][:-1] >= scores[order][1:]).all()


def test_sample_reranked_keeps_the_best_of_each_group():
    model, clip = tiny_dalle(), tiny_clip()
    settings = TokenSettings(guidance=2.0)
    kept = sample_reranked(model, clip, PROMPT, settings, n=2, rerank=3, seed=5)
    candidates = sample_tokens(model, PROMPT, settings, n=6, seed=5)  # candidate c is image seed 5 + c
    scores = clip_score(clip, decode_tokens(model, candidates), PROMPT).reshape(2, 3)
    assert kept.candidates.tolist() == (scores.argmax(dim=1) + torch.tensor([0, 3])).tolist()
    assert torch.equal(kept.tokens, candidates[kept.candidates])
    torch.testing.assert_close(kept.scores, scores.max(dim=1).values)
    assert sample_reranked(model, clip, PROMPT, settings, 2, 3, 5, should_stop=lambda: True) is None
