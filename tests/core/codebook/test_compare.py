"""VQGAN vs VQ-VAE: every model's MSE, sharpness ratio and attributes kept, on the same images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground.core.codebook.compare import compare_reconstructions
from playground.core.codebook.sharpness import sharpness
from playground.core.data import load_dataset, to_tensor
from playground.core.models.attribute_classifier import AttributeClassifier, AttributeClassifierConfig
from token_models import tiny_vqgan, tiny_vqvae


@pytest.fixture(scope="module")
def data():
    return load_dataset("shapes", n=12, seed=3)


@pytest.fixture(scope="module")
def classifier():
    torch.manual_seed(0)
    return AttributeClassifier(AttributeClassifierConfig(channels=(4, 8, 8))).eval()


def test_both_models_get_their_numbers(data, classifier):
    models = {"vqvae": tiny_vqvae().eval(), "vqgan": tiny_vqgan().eval()}
    table = compare_reconstructions(models, data.images, classifier, data.labels)
    assert [r.name for r in table.rows] == ["vqvae", "vqgan"]
    assert table.reference == "the data's labels"
    for row in table.rows:
        recon = table.reconstructions[row.name]
        assert recon.shape == data.images.shape and recon.dtype == np.uint8
        expected_mse = float((to_tensor(recon) - to_tensor(data.images)).pow(2).mean())
        assert row.mse == pytest.approx(expected_mse, rel=1e-5)
        assert row.sharpness_ratio == pytest.approx(sharpness(to_tensor(recon)) / sharpness(to_tensor(data.images)),
                                                    rel=1e-5)
        assert 0.0 <= row.kept <= 1.0
        assert (row.family, row.grid, row.codebook_size) == (row.name, 8, 16)
    assert len(table.lines()) == 3 and "sharpness" in table.lines()[1]


def test_an_identity_model_keeps_everything(data, classifier):
    """A 'model' that gives the image back: MSE 0, sharpness 1, the classifier reads it as it read the original."""

    class Identity(torch.nn.Module):
        config = tiny_vqvae().config

        def encode_indices(self, x):
            return x

        def decode_indices(self, x):
            return x

    table = compare_reconstructions({"same": Identity()}, data.images[:1], classifier)  # a user's file: no labels
    row = table.rows[0]
    assert row.mse == 0.0 and row.sharpness_ratio == pytest.approx(1.0) and row.kept == 1.0
    assert "reading of the originals" in table.reference
