"""Shared fixtures for every test: tiny models and small data, so the suite stays fast."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from playground.core.checkpoints import WEIGHTS_NAME, save_checkpoint
from playground.core.data import ImageSet, load_dataset
from playground.core.models.vae import VAE, VAEConfig

# Tiny models gain nothing from threads, and on a small machine that is busy training
# (2 cores here) a second thread makes each step several times slower.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def one_thread():
    """Every test starts on one thread, whatever an earlier test (or the code it ran) set: tiny
    tensors gain nothing from threads, and OpenMP spin-waits on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_vae_config() -> VAEConfig:
    return VAEConfig(latent_dim=4, channels=(8, 16))


@pytest.fixture(scope="session")
def small_shapes() -> ImageSet:
    return load_dataset("shapes", n=300, seed=0)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory, tiny_vae_config: VAEConfig) -> Path:
    """A folder holding an (untrained) tiny VAE checkpoint. Copy it before damaging it."""
    folder = tmp_path_factory.mktemp("ckpt") / "tiny-vae"
    torch.manual_seed(0)
    model = VAE(tiny_vae_config)
    save_checkpoint(
        folder / WEIGHTS_NAME, model, tiny_vae_config, "vae", data="shapes", steps=7,
        metrics={"val_mse": 0.5}, command="playground train vae --steps 7",
    )
    return folder


@pytest.fixture(scope="session")
def tiny_latent_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Untrained tiny autoencoder-kl, ldm, dit and sit checkpoints (T = 100): family -> folder."""
    from latent_models import save_tiny_latent_checkpoints

    return save_tiny_latent_checkpoints(tmp_path_factory.mktemp("latent"))


@pytest.fixture(scope="session")
def tiny_token_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Untrained tiny vqgan, dalle (over a tiny vqvae) and clip checkpoints: family -> folder."""
    from token_models import save_tiny_token_checkpoints

    return save_tiny_token_checkpoints(tmp_path_factory.mktemp("tokens"))


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own cache folder ($XDG_CACHE_HOME): no test reads what another cached, or the user's."""
    root = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(root))
    return root
