"""What the CLIP views compute: zero-shot probabilities, retrieval, the caption matrix, the joint map."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground.core.checkpoints import load_checkpoint
from playground.core.clip import retrieval
from playground.core.clip.classify import read_attributes, reading_record
from playground.core.clip.embedding_map import embedding_map
from playground.core.clip.matrix import caption_matrix, distinct_captions, matrix_picture
from playground.core.clip.scores import image_embeddings, prompt_embeddings
from playground.core.clip.zero_shot import zero_shot_probabilities
from playground.core.data import load_dataset, to_tensor
from playground.core.data.shapes import ATTRIBUTE_VALUES, ATTRIBUTES, COLORS, PromptError, generate
from playground.core.data.tokenizer import tokenize_batch
from token_models import tiny_clip


@pytest.fixture(scope="module")
def model():
    return tiny_clip()


@pytest.fixture(scope="module")
def pool(model):
    return retrieval.embed_pool(model, load_dataset("shapes", n=60, seed=5))


def test_zero_shot_probabilities_sum_to_one_per_attribute(model):
    images = to_tensor(generate(7, 3).images)
    probabilities = zero_shot_probabilities(model, images)
    assert list(probabilities) == list(ATTRIBUTES)
    for attribute, p in probabilities.items():
        assert p.shape == (7, len(ATTRIBUTE_VALUES[attribute]))
        assert torch.all(p >= 0) and torch.allclose(p.sum(-1), torch.ones(7), atol=1e-5)


def test_a_reading_names_the_most_probable_value_and_every_probability(model):
    images = generate(3, 4).images
    readings = read_attributes(model, images)
    assert len(readings) == 3
    record = reading_record("x.png", readings[1])
    assert list(record) == ["file", *ATTRIBUTES] and record["file"] == "x.png"
    for attribute in ATTRIBUTES:
        probabilities = record[attribute]["probabilities"]
        assert list(probabilities) == list(ATTRIBUTE_VALUES[attribute])
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-3)
        assert record[attribute]["value"] == max(probabilities, key=probabilities.get)
    # the same images one by one read the same (up to rounding of a different batch size)
    single = read_attributes(model, images[1:2])[0]
    for attribute in ATTRIBUTES:
        np.testing.assert_allclose(single[attribute].probabilities, readings[1][attribute].probabilities, atol=1e-4)


def test_retrieval_returns_the_k_most_similar_images_best_first(model, pool):
    found = retrieval.retrieve(model, pool, "a red circle", k=5)
    scores = (pool.embeddings @ prompt_embeddings(model, ["red circle"])[0]).numpy()
    np.testing.assert_allclose(found.scores, np.sort(scores)[::-1][:5], atol=1e-6)
    assert np.all(np.diff(found.scores) <= 0)
    np.testing.assert_allclose(scores[found.indices], found.scores, atol=1e-6)
    labels = pool.data.labels[found.indices]
    np.testing.assert_array_equal(found.matches, (labels[:, 0] == 0) & (labels[:, 1] == 0))
    assert found.prompt == "red circle"
    assert len(retrieval.retrieve(model, pool, "", k=500).indices) == len(pool)  # k beyond the pool: all of it
    with pytest.raises(PromptError, match="banana"):
        retrieval.retrieve(model, pool, "a banana", k=3)


class ColourOnlyCLIP(torch.nn.Module):
    """A stand-in CLIP whose text embedding is the one-hot colour its prompt names."""

    def __init__(self):
        super().__init__()
        self.logit_scale = torch.nn.Parameter(torch.tensor(0.0))
        self.colour_ids = [int(tokenize_batch([c])[0, 0]) for c in COLORS]

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(len(tokens), len(COLORS))
        for row, ids in enumerate(tokens.tolist()):
            for c, colour in enumerate(self.colour_ids):
                out[row, c] = float(colour in ids)
        return out


def test_retrieval_finds_the_images_a_prompt_was_made_for():
    """Image embeddings that are the one-hot colour: "red" retrieves the red images, and every one fits."""
    data = load_dataset("shapes", n=40, seed=6)
    pool = retrieval.EmbeddedPool(data, torch.nn.functional.one_hot(torch.from_numpy(data.labels[:, 1]), 6).float())
    reds = np.flatnonzero(data.labels[:, 1] == COLORS.index("red"))
    found = retrieval.retrieve(ColourOnlyCLIP(), pool, "red", k=len(reds))
    assert set(found.indices) == set(reds) and found.matches.all() and np.all(found.scores == 1.0)
    assert found.precision == 1.0


def test_the_pool_is_embedded_once_per_checkpoint(tiny_token_checkpoints, monkeypatch):
    loaded = load_checkpoint(tiny_token_checkpoints["clip"])
    calls = []
    real = retrieval.embed_pool
    monkeypatch.setattr(retrieval, "embed_pool", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(retrieval, "_cache", {})
    first = retrieval.pool_embeddings(loaded, n=16)
    again = retrieval.pool_embeddings(loaded, n=16)
    assert again is first and len(calls) == 1
    np.testing.assert_array_equal(first.data.images, load_dataset("shapes", n=16, seed=1).images)  # the gallery draw
    expected = image_embeddings(loaded.model, to_tensor(first.data.images))
    assert torch.allclose(first.embeddings, expected, atol=1e-5)
    retrieval.pool_embeddings(loaded, n=20)  # another pool size is another entry
    assert len(calls) == 2


def test_the_caption_matrix_puts_each_image_against_its_own_caption(model):
    matrix = caption_matrix(model, 6, seed=3)
    assert matrix.similarity.shape == (6, 6) and len(set(matrix.captions)) == 6
    expected = (image_embeddings(model, to_tensor(matrix.images)) @ prompt_embeddings(model, matrix.captions).t())
    np.testing.assert_allclose(matrix.similarity, expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(matrix.probabilities.sum(1), np.ones(6), atol=1e-5)
    assert matrix.accuracy == float(np.mean(matrix.similarity.argmax(1) == np.arange(6)))
    picture = matrix_picture(matrix)
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3
    with pytest.raises(ValueError, match="2 to 32"):
        caption_matrix(model, 1)


def test_distinct_captions_skips_repeats():
    data = load_dataset("shapes", n=10, seed=0)
    data.captions[3] = data.captions[1]
    picked = distinct_captions(data, 4)
    assert picked == [0, 1, 2, 4]


def test_the_map_is_deterministic_and_holds_images_and_prompts(model, pool):
    prompts = ["red", "circle", "a large blue plus"]
    texts = prompt_embeddings(model, prompts).numpy()
    images = pool.embeddings.numpy()
    first = embedding_map(images, texts, prompts)
    second = embedding_map(images.copy(), texts.copy(), list(prompts))
    np.testing.assert_array_equal(first.image_xy, second.image_xy)
    np.testing.assert_array_equal(first.prompt_xy, second.prompt_xy)
    assert first.image_xy.shape == (len(pool), 2) and first.prompt_xy.shape == (3, 2)
    assert first.method == "pca" and 0 < first.explained[1] <= first.explained[0] <= 1
    # PCA: the coordinates are the joint points' projections on their two main axes
    joint = np.concatenate([images, texts]).astype(np.float64)
    centred = joint - joint.mean(0)
    axes = np.linalg.svd(centred, full_matrices=False)[2][:2]
    coords = np.concatenate([first.image_xy, first.prompt_xy])
    np.testing.assert_allclose(np.abs(coords), np.abs(centred @ axes.T), atol=1e-4)
    gap = embedding_map(images, texts, prompts, close_gap=True)
    assert not np.allclose(gap.prompt_xy, first.prompt_xy)
    with pytest.raises(ValueError, match="pca, tsne"):
        embedding_map(images, texts, prompts, method="umap")


def test_the_tsne_map_is_seeded():
    rng = np.random.default_rng(0)
    images, texts = rng.normal(size=(30, 8)), rng.normal(size=(2, 8))
    a = embedding_map(images, texts, ["red", "blue"], method="tsne", seed=3)
    b = embedding_map(images, texts, ["red", "blue"], method="tsne", seed=3)
    np.testing.assert_array_equal(a.image_xy, b.image_xy)
    assert a.explained is None and a.prompt_xy.shape == (2, 2)
