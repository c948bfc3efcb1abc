"""VQGAN-CLIP on tiny untrained models: the score climbs, Stop ends within a step, a seed repeats,
the tokens are codes, and the picture is exactly its tokens' decode."""

from __future__ import annotations

import pytest
import torch

from playground.core.data.shapes import PromptError
from playground.core.vqgan_clip.optimize import VQGANCLIPSettings, initial_latent, optimize, run_to_end, shifted_views
from token_models import tiny_clip, tiny_vqgan, tiny_vqvae

PROMPT = "a red circle"


@pytest.fixture(scope="module")
def models():
    return tiny_vqgan().eval().requires_grad_(False), tiny_clip().requires_grad_(False)


def test_the_clip_score_rises_over_20_steps(models):
    vq, clip = models
    last, scores = run_to_end(vq, clip, VQGANCLIPSettings(PROMPT, steps=20, lr=0.2, seed=0))
    assert len(scores) == 21 and last.step == 20
    # the optimised quantity (the score of the quantised picture) climbs: the end well above the start
    assert scores[-1] > scores[0] + 0.02, scores
    assert max(scores[10:]) >= max(scores[:10])


def test_records_are_valid_codes_and_the_picture_is_their_decode(models):
    vq, clip = models
    for record in optimize(vq, clip, VQGANCLIPSettings(PROMPT, steps=3, lr=0.3, augment=2)):
        g, k = vq.grid_size, vq.codebook_size
        assert record.tokens.shape == (g, g) and record.tokens.dtype == torch.int64
        assert 0 <= int(record.tokens.min()) and int(record.tokens.max()) < k
        with torch.no_grad():
            decoded = vq.decode_indices(record.tokens[None]).clamp(-1, 1)
        assert torch.equal(record.image, decoded)  # the same computation: exact


def test_the_same_seed_repeats_and_another_differs(models):
    vq, clip = models
    runs = [[r.tokens for r in optimize(vq, clip, VQGANCLIPSettings(PROMPT, steps=5, lr=0.3, seed=s))]
            for s in (3, 3, 4)]
    assert all(torch.equal(a, b) for a, b in zip(runs[0], runs[1]))
    assert not torch.equal(runs[0][0], runs[2][0])  # another seed starts from another image


def test_should_stop_ends_the_run_within_a_step(models):
    vq, clip = models
    seen = []
    records = optimize(vq, clip, VQGANCLIPSettings(PROMPT, steps=100), should_stop=lambda: len(seen) >= 3)
    for record in records:
        seen.append(record.step)
    assert seen == [0, 1, 2]


def test_noise_start_and_a_plain_vqvae_work():
    vq, clip = tiny_vqvae().eval().requires_grad_(False), tiny_clip().requires_grad_(False)
    z = initial_latent(vq, "noise", 5)
    assert z.shape == (1, vq.config.code_dim, vq.grid_size, vq.grid_size)
    assert torch.equal(z, initial_latent(vq, "noise", 5))
    last, scores = run_to_end(vq, clip, VQGANCLIPSettings(PROMPT, steps=4, init="noise", codebook_weight=1.0))
    assert last.step == 4 and all(s == s for s in scores)


def test_shifted_views_move_without_flipping():
    image = torch.arange(3 * 8 * 8, dtype=torch.float32).reshape(1, 3, 8, 8)
    views = shifted_views(image, 6, torch.Generator().manual_seed(0))
    assert views.shape == (7, 3, 8, 8) and torch.equal(views[0], image[0])
    for view in views[1:]:
        assert not torch.equal(view, image[0])
        # a shift keeps the left-to-right order of every row (a flip would reverse it)
        assert (view[0, 4].diff() >= 0).all()


def test_bad_prompt_and_settings_are_one_line_errors(models):
    vq, clip = models
    with pytest.raises(PromptError, match="blob"):
        next(optimize(vq, clip, VQGANCLIPSettings("a purple blob")))
    with pytest.raises(ValueError, match="--lr"):
        next(optimize(vq, clip, VQGANCLIPSettings(PROMPT, lr=float("nan"))))
    with pytest.raises(ValueError, match="--steps"):
        next(optimize(vq, clip, VQGANCLIPSettings(PROMPT, steps=0)))
