"""The shipped CLIP reads freshly rendered images zero-shot: each attribute right on at least 98%."""

from __future__ import annotations

import pytest
import torch

from playground.core.assets import shipped_for
from playground.core.checkpoints import load_checkpoint
from playground.core.clip.zero_shot import zero_shot_accuracy
from playground.core.data import to_tensor
from playground.core.data.shapes import ATTRIBUTES, generate

FRESH_SEED = 90_210  # training draws seed 0, the galleries seed 1: these renders were never seen


@pytest.fixture(scope="module")
def shipped():
    found = shipped_for("clip")
    if found is None or found.name != "clip-shapes":
        pytest.skip("assets/clip-shapes is not there (it is trained by the command in its model.json)")
    return load_checkpoint(found.path)


def test_zero_shot_reads_every_attribute_of_fresh_renders(shipped):
    batch = generate(500, FRESH_SEED)
    accuracy = zero_shot_accuracy(shipped.model.eval(), to_tensor(batch.images), torch.from_numpy(batch.labels))
    for attribute in ATTRIBUTES:
        assert accuracy[f"zero_shot_{attribute}"] >= 0.98, accuracy
