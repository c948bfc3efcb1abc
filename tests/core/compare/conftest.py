"""Tiny checkpoints of every compared family, and a comparison that stays small and private:
the cache in a temporary folder, 300 training images instead of 19,000, few prompts and images."""

from __future__ import annotations

from pathlib import Path

import pytest

from compare_models import save_tiny_family_checkpoints, use_small_comparison


@pytest.fixture(scope="session")
def tiny_families(tmp_path_factory, tiny_latent_checkpoints, tiny_token_checkpoints) -> dict[str, Path]:
    """family -> folder of a tiny checkpoint, for every family the comparison samples."""
    folders = save_tiny_family_checkpoints(tmp_path_factory.mktemp("families"))
    folders |= {f: tiny_latent_checkpoints[f] for f in ("ldm", "dit", "sit")}
    folders |= {f: tiny_token_checkpoints[f] for f in ("dalle", "vqgan")}
    return folders


@pytest.fixture(autouse=True)
def small_comparison(monkeypatch, tmp_path):
    """The cache under tmp_path; memorisation against 300 training images; 2 prompts x 2 for adherence."""
    return use_small_comparison(monkeypatch, tmp_path)
