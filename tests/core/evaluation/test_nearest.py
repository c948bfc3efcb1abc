"""Nearest training images: a training image finds itself at 0, results come sorted and agree with a
brute-force search, by pixels and by a classifier's features; the shipped split when it is cached."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground.core.data import shapes
from playground.core.evaluation import nearest
from playground.core.models.attribute_classifier import AttributeClassifier, AttributeClassifierConfig


@pytest.fixture(scope="module")
def train() -> np.ndarray:
    return shapes.generate(300, seed=5).images


def brute_force(query: np.ndarray, keys: np.ndarray) -> np.ndarray:
    return np.linalg.norm(keys.astype(np.float64) - query.astype(np.float64), axis=1)


def test_a_training_image_is_its_own_nearest_at_distance_zero(train):
    for i in (0, 17, 299):
        indices, distances = nearest.nearest_training(train[i], k=8, train=train)[0]
        assert distances[0] == 0.0
        assert np.array_equal(train[indices[0]], train[i])
        zero = indices[distances == 0.0]
        assert i in zero  # duplicates of it may share distance 0, it is among them


def test_k_results_sorted_and_equal_to_brute_force(train):
    queries = shapes.generate(4, seed=9).images
    found = nearest.nearest_training(queries, k=5, train=train)
    assert len(found) == 4
    flat = train.reshape(len(train), -1)
    for query, (indices, distances) in zip(queries, found):
        assert len(indices) == len(distances) == 5
        assert np.all(np.diff(distances) >= 0)
        expected = np.sort(brute_force(query.reshape(-1), flat))[:5] / np.sqrt(flat.shape[1])
        np.testing.assert_allclose(distances, expected, rtol=1e-4, atol=1e-3)


def test_features_mode_uses_the_classifier_penultimate_features(train):
    torch.manual_seed(0)
    classifier = AttributeClassifier(AttributeClassifierConfig(channels=(4, 8, 8))).eval()
    indices, distances = nearest.nearest_training(train[3], k=6, by="features", train=train, classifier=classifier)[0]
    assert distances[0] < 1e-3 and np.all(np.diff(distances) >= 0)
    features = nearest.classifier_features(classifier, train)
    expected = np.sort(brute_force(features[3], features))[:6]
    np.testing.assert_allclose(distances, expected, rtol=1e-3, atol=1e-3)
    assert nearest.reference_distance("features", train=train, classifier=classifier).random_pair > 0


def test_model_tensors_are_accepted_and_bad_arguments_refused(train):
    x = torch.from_numpy(train[:2]).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    found = nearest.nearest_training(x, k=1, train=train)
    assert [f.distances[0] for f in found] == [0.0, 0.0]
    with pytest.raises(ValueError, match="by must be"):
        nearest.nearest_training(train[0], by="colour", train=train)
    with pytest.raises(ValueError, match="k must be"):
        nearest.nearest_training(train[0], k=0, train=train)
    with pytest.raises(ValueError, match="uint8"):
        nearest.nearest_training(train[0].astype(np.float32), train=train)


def test_reference_distance_excludes_the_image_itself(train):
    reference = nearest.reference_distance("pixels", train=train)
    assert 0 < reference.random_pair
    assert 0 <= reference.nearest_other < reference.random_pair


def test_the_training_split_is_the_trainers():
    split = nearest.training_split(20_000)
    assert len(split) == 19_000 and len(set(split.tolist())) == 19_000
    validation = np.random.default_rng(0).permutation(20_000)[:1000]
    assert not set(split.tolist()) & set(validation.tolist())


def test_the_shipped_split_when_cached():
    name = f"shapes-train-{nearest.DEFAULT_SHAPES_SIZE}-{nearest._renderer_key()}.npy"
    if not (nearest.cache_dir() / name).exists():
        pytest.skip("the shapes training split is not cached here (rendering it takes a minute or more)")
    train = nearest.training_images()
    assert train.shape == (19_000, 32, 32, 3)
    indices, distances = nearest.nearest_training(train[1234])[0]
    assert distances[0] == 0.0 and np.array_equal(train[indices[0]], train[1234])
