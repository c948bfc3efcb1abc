"""The likelihood view's numbers on a tiny dalle: per-cell NLL is the teacher-forced cross-entropy and the
chain rule of the sampler's own distributions; bits per token / per dimension; the decoder's term."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from playground.core.data import load_dataset, to_tensor
from playground.core.data.tokenizer import tokenize_batch
from playground.core.tokens.likelihood import (
    bits_per_dim, bits_per_token, discretised_gaussian_bits, image_bits_per_dim, token_nll,
)
from playground.core.tokens.sampling import TokenSettings, TokenWriter
from token_models import tiny_dalle

PROMPT = "a small blue square"


@pytest.fixture(scope="module")
def model():
    return tiny_dalle()


@pytest.fixture(scope="module")
def images():
    return to_tensor(load_dataset("shapes", n=3, seed=1).images)


def test_per_cell_nll_sums_to_the_teacher_forced_cross_entropy(model, images):
    nll = token_nll(model, images, PROMPT)
    assert nll.shape == (3, 8, 8) and (nll > 0).all()
    tokens = model.encode(images)
    with torch.no_grad():
        logits = model(tokenize_batch([PROMPT] * 3), tokens)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens.reshape(-1))  # training's mean loss
    assert nll.mean().item() == pytest.approx(loss.item(), rel=1e-5)


def test_per_cell_nll_is_the_chain_rule_of_the_samplers_distributions(model, images):
    """Writing the image's own tokens with the KV cache at T = 1, w = 1 pays the same nats cell by cell."""
    tokens = model.encode(images[:1])[0]
    writer = TokenWriter(model, PROMPT, TokenSettings(guidance=1.0))
    paid = []
    for code in tokens:
        event = writer.step(code[None])
        paid.append(-math.log(event.probabilities[0, code].item()))
    torch.testing.assert_close(token_nll(model, images[:1], PROMPT)[0].flatten(), torch.tensor(paid), rtol=0, atol=1e-4)


def test_bits_per_token_and_per_dimension():
    nll = torch.full((2, 8, 8), math.log(16))  # a uniform 16-code prior: 4 bits per token
    torch.testing.assert_close(bits_per_token(nll), torch.tensor([4.0, 4.0]))
    torch.testing.assert_close(bits_per_dim(nll), torch.tensor([4.0 * 64 / 3072] * 2))


def test_the_discretised_gaussian_is_a_distribution_over_the_256_levels():
    levels = torch.arange(256, dtype=torch.float64) / 127.5 - 1
    for mean in (-1.0, -0.3, 0.0, 0.98):
        bits = discretised_gaussian_bits(levels[:, None], torch.full((256, 1), mean), sigma=0.1)
        assert torch.exp2(-bits.double()).sum().item() == pytest.approx(1.0, abs=1e-4)
    x = levels[None, :].repeat(2, 1)
    assert discretised_gaussian_bits(x, x, sigma=1e-4).max().item() < 1e-6  # a sure decoder pays nothing


def test_the_image_bound_adds_the_decoders_term(model, images):
    bits = image_bits_per_dim(model, images, PROMPT, sigma=0.1)
    torch.testing.assert_close(bits.token_bits_per_dim, bits_per_dim(token_nll(model, images, PROMPT)))
    assert (bits.decoder_bits_per_dim > 0).all()
    torch.testing.assert_close(bits.total, bits.token_bits_per_dim + bits.decoder_bits_per_dim)
    with pytest.raises(ValueError, match="sigma"):
        image_bits_per_dim(model, images, PROMPT, sigma=0.0)
