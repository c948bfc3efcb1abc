"""Token-by-token sampling on a tiny untrained dalle: the transformer is causal, the KV cache is the
uncached forward, and every setting does what it says (top-k, top-p, temperature, guidance, seeds,
branch, stop)."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from playground.core.data.tokenizer import tokenize_batch
from playground.core.tokens import FALLBACK_SETTINGS, default_settings
from playground.core.tokens.sampling import (
    UNWRITTEN, TokenSettings, TokenWriter, background_code, draw, entropy_bits, guided_logits, sample_tokens,
    shape_distribution,
)
from token_models import tiny_dalle

PROMPT = "a large red circle at the top left"


@pytest.fixture(scope="module")
def model():
    return tiny_dalle()


def random_tokens(model, batch: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(model.config.codebook_size, (batch, model.config.image_tokens), generator=generator)


def test_a_token_does_not_see_later_tokens(model):
    text = tokenize_batch([PROMPT, ""])
    tokens = random_tokens(model, 2, 0)
    changed = tokens.clone()
    changed[:, 20:] = (changed[:, 20:] + 5) % model.config.codebook_size
    with torch.no_grad():
        before, after = model(text, tokens), model(text, changed)
    # logits[:, i] predicts token i from tokens < i: cells 0..20 read only the unchanged tokens 0..19
    torch.testing.assert_close(before[:, :21], after[:, :21], rtol=0, atol=1e-6)
    assert not torch.allclose(before[:, 21:], after[:, 21:])


@pytest.mark.parametrize("prefix_length", [0, 5])
def test_the_kv_cache_equals_the_uncached_forward(model, prefix_length):
    text = tokenize_batch([PROMPT, "blue"])
    tokens = random_tokens(model, 2, 1)
    with torch.no_grad():
        full = model(text, tokens)
        logits, cache = model.start(text, tokens[:, :prefix_length] if prefix_length else None)
        cached = [logits]
        for i in range(prefix_length, model.config.image_tokens - 1):
            cached.append(model.step(tokens[:, i], cache))
    torch.testing.assert_close(torch.stack(cached, dim=1), full[:, prefix_length:], rtol=0, atol=1e-5)


def test_top_k_1_is_greedy_and_deterministic(model):
    greedy = TokenSettings(top_k=1, guidance=1.0)
    tokens = sample_tokens(model, PROMPT, greedy, n=2, seed=0)
    assert torch.equal(tokens, sample_tokens(model, PROMPT, greedy, n=2, seed=123))  # the seed plays no part
    assert torch.equal(tokens[0], tokens[1])
    with torch.no_grad():  # each token is the argmax of the teacher-forced logits given the ones before it
        logits = model(tokenize_batch([PROMPT]), tokens[:1])
    assert torch.equal(logits.argmax(dim=-1)[0], tokens[0])


def test_top_p_keeps_the_smallest_set_with_enough_mass():
    probabilities = torch.tensor([[0.05, 0.5, 0.15, 0.3]])
    logits = probabilities.log()
    kept = lambda p: set(torch.nonzero(shape_distribution(logits, TokenSettings(top_p=p))[0]).flatten().tolist())  # noqa: E731
    assert kept(0.01) == {1}          # always at least the most likely code
    assert kept(0.5) == {1}           # 0.5 >= 0.5
    assert kept(0.7) == {1, 3}        # 0.5 < 0.7 <= 0.8
    assert kept(0.8) == {1, 3}
    assert kept(0.81) == {1, 3, 2}    # 0.8 < 0.81 <= 0.95
    assert kept(1.0) == {0, 1, 2, 3}
    torch.testing.assert_close(shape_distribution(logits, TokenSettings(top_p=0.7)), torch.tensor([[0, 0.625, 0, 0.375]]))


def test_top_k_then_top_p_then_renormalised():
    logits = torch.tensor([[0.05, 0.5, 0.15, 0.3]]).log()
    shaped = shape_distribution(logits, TokenSettings(top_k=3, top_p=0.9))  # top-k: {1,3,2} -> mass .53,.32,.16
    assert set(torch.nonzero(shaped[0]).flatten().tolist()) == {1, 3, 2}
    assert shaped.sum().item() == pytest.approx(1.0)


def test_temperature_towards_zero_approaches_the_argmax():
    logits = torch.randn(4, 16, generator=torch.Generator().manual_seed(0))
    entropies = [entropy_bits(shape_distribution(logits, TokenSettings(temperature=t))).mean().item()
                 for t in (2.0, 1.0, 0.5, 0.1, 0.01)]
    assert entropies == sorted(entropies, reverse=True)
    cold = shape_distribution(logits, TokenSettings(temperature=0.01))
    assert torch.equal(cold.argmax(dim=-1), logits.argmax(dim=-1))
    assert cold.max(dim=-1).values.min() > 0.999


def test_guidance_on_the_logits():
    c, u = torch.randn(3, 16), torch.randn(3, 16)
    torch.testing.assert_close(guided_logits(c, u, 1.0), F.log_softmax(c, -1))
    torch.testing.assert_close(guided_logits(c, u, 0.0), F.log_softmax(u, -1))
    w = 3.0
    expected = F.log_softmax(F.log_softmax(u, -1) + w * (F.log_softmax(c, -1) - F.log_softmax(u, -1)), -1)
    torch.testing.assert_close(guided_logits(c, u, w), expected)


def test_guidance_1_is_the_conditional_model_and_0_the_unconditional(model):
    with torch.no_grad():
        cond, _ = model.start(tokenize_batch([PROMPT]))
        uncond, _ = model.start(model.null_text(1))
    conditional = TokenWriter(model, PROMPT, TokenSettings(guidance=1.0)).distribution()
    unconditional = TokenWriter(model, PROMPT, TokenSettings(guidance=0.0)).distribution()
    torch.testing.assert_close(conditional, torch.softmax(cond, -1), rtol=0, atol=1e-6)
    torch.testing.assert_close(unconditional, torch.softmax(uncond, -1), rtol=0, atol=1e-6)
    live = TokenWriter(model, PROMPT, TokenSettings(guidance=3.0))  # both rows: w moves without a model call
    torch.testing.assert_close(live.distribution(TokenSettings(guidance=1.0)), conditional, rtol=0, atol=1e-5)
    torch.testing.assert_close(live.distribution(TokenSettings(guidance=0.0)), unconditional, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="live_guidance"):
        TokenWriter(model, PROMPT, TokenSettings(guidance=1.0)).distribution(TokenSettings(guidance=3.0))


def test_guided_rows_run_in_one_batch_of_2n(model, monkeypatch):
    seen = []
    start = model.start
    monkeypatch.setattr(model, "start", lambda text, prefix=None: seen.append(len(text)) or start(text, prefix))
    TokenWriter(model, PROMPT, TokenSettings(guidance=3.0), n=3)
    TokenWriter(model, PROMPT, TokenSettings(guidance=1.0), n=3)
    TokenWriter(model, PROMPT, TokenSettings(guidance=0.0), n=3)
    assert seen == [6, 3, 3]


def test_image_i_is_the_same_whatever_n(model):
    settings = TokenSettings(temperature=1.0, top_p=0.95, guidance=2.0)
    four = sample_tokens(model, PROMPT, settings, n=4, seed=10)
    assert torch.equal(sample_tokens(model, PROMPT, settings, n=1, seed=12)[0], four[2])
    assert torch.equal(sample_tokens(model, PROMPT, settings, n=3, seed=10, batch=2), four[:3])  # in chunks
    assert len({tuple(t.tolist()) for t in four}) == 4  # different seeds, different images


def test_the_draw_never_picks_a_code_of_probability_zero():
    probabilities = torch.tensor([[0.0, 0.5, 0.0, 0.5, 0.0]] * 4)
    codes = draw(probabilities, torch.tensor([0.0, 0.4999, 0.5, 1.0 - 1e-16]))
    assert codes.tolist() == [1, 1, 3, 3]


def test_branch_keeps_the_prefix_and_the_chosen_code(model):
    writer = TokenWriter(model, PROMPT, TokenSettings(guidance=2.0), n=2, seed=3)
    for _ in range(10):
        writer.step()
    branch = writer.branch(6, 11, row=1)
    assert branch.n == 1 and branch.position == 7
    assert torch.equal(branch.tokens[0, :6], writer.tokens[1, :6]) and branch.tokens[0, 6] == 11
    assert (branch.tokens[0, 7:] == UNWRITTEN).all()
    finished = branch.run()
    assert torch.equal(finished[0, :7], branch.tokens[0, :7]) and (finished >= 0).all()
    # a branch that writes the code the image had continues as that image did (same uniforms, same prefix)
    same = writer.branch(6, int(writer.tokens[1, 6]), row=1).run()
    assert torch.equal(same[0, :10], writer.tokens[1, :10])
    with pytest.raises(ValueError, match="written cell"):
        writer.branch(11, 0)


def test_step_writes_a_chosen_code_and_reports_the_distribution(model):
    writer = TokenWriter(model, PROMPT, TokenSettings(top_k=4), n=2)
    expected = writer.distribution()
    event = writer.step(torch.tensor([3, 5]))
    assert event.position == 0 and event.token.tolist() == [3, 5] and writer.position == 1
    torch.testing.assert_close(event.probabilities, expected)
    assert ((event.probabilities > 0).sum(dim=-1) == 4).all()
    torch.testing.assert_close(event.entropy_bits, entropy_bits(expected))
    with pytest.raises(ValueError):
        writer.step(torch.tensor([3, 99]))


def test_should_stop_stops_within_one_token(model):
    written = []
    tokens = sample_tokens(model, PROMPT, TokenSettings(), n=2, seed=0,
                           progress=lambda event: written.append(event.position), should_stop=lambda: len(written) >= 5)
    assert written == [0, 1, 2, 3, 4]
    assert (tokens[:, :5] >= 0).all() and (tokens[:, 5:] == UNWRITTEN).all()


def test_images_show_unwritten_cells_as_empty_background(model):
    writer = TokenWriter(model, "", TokenSettings(), n=2)
    blank = model.decode(torch.full((1, model.config.image_tokens), background_code(model)))
    torch.testing.assert_close(writer.images(), blank.expand(2, -1, -1, -1))
    writer.step()
    assert writer.written_mask().sum().item() == 2 and writer.images().shape == (2, 3, 32, 32)


@pytest.mark.parametrize("bad", [dict(temperature=0.0), dict(temperature=-1.0), dict(top_k=-1), dict(top_p=0.0),
                                 dict(top_p=1.5), dict(guidance=math.nan), dict(temperature=math.inf)])
def test_bad_settings_are_refused_in_one_line(bad):
    with pytest.raises(ValueError) as error:
        TokenSettings(**bad).checked()
    assert "\n" not in str(error.value)


def test_a_bad_prompt_is_refused_before_any_model_work(model):
    with pytest.raises(ValueError, match="banana"):
        TokenWriter(model, "a blue banana", TokenSettings())


def test_default_settings_come_from_the_checkpoint_json():
    recorded = {"default_sampling": {"temperature": 0.8, "top_k": 16, "top_p": 0.9, "guidance": 2.5}}
    assert default_settings(recorded) == TokenSettings(0.8, 16, 0.9, 2.5)
    assert default_settings({}) == FALLBACK_SETTINGS == TokenSettings(1.0, 0, 1.0, 3.0)
    assert default_settings({"default_sampling": {"top_k": 8}}) == TokenSettings(1.0, 8, 1.0, 3.0)
    assert default_settings({"default_sampling": {"temperature": -1}}) == FALLBACK_SETTINGS


def test_one_writer_for_many_prompts_draws_each_row_as_alone(model):
    settings = TokenSettings(guidance=3.0, top_p=0.9)
    prompts = ["red", "", "a small blue square"]
    together = sample_tokens(model, prompts, settings, image_seeds=[4, 9, 4])
    for i, (prompt, seed) in enumerate(zip(prompts, [4, 9, 4])):
        assert torch.equal(together[i], sample_tokens(model, prompt, settings, n=1, seed=seed)[0])
    with pytest.raises(ValueError, match="prompts"):
        TokenWriter(model, prompts, settings, n=2)
