"""Tiny checkpoints of the families the comparison samples, and a comparison kept small for tests."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from playground.core.checkpoints import WEIGHTS_NAME, save_checkpoint
from playground.core.data import load_dataset


def save_tiny_family_checkpoints(root: Path) -> dict[str, Path]:
    """<root>/<family>-tiny/ for vae, ae, dae, gan, vqvae, ddpm and text2img (untrained); family -> folder."""
    from playground.core.models.dae import DAEConfig
    from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel
    from playground.core.models.gan import GAN, GANConfig
    from playground.core.models.text2img import Text2ImgConfig, TextToImageModel
    from playground.core.models.vae import VAE, VAEConfig
    from playground.core.models.vqvae import VQVAE, VQVAEConfig

    unet = dict(base_channels=8, channel_mults=(1, 2), attention_resolutions=(), num_train_timesteps=100)
    configs = {
        "vae": (VAE, VAEConfig(latent_dim=6, channels=(8, 16))),
        "ae": (VAE, VAEConfig(latent_dim=6, channels=(8, 16), variational=False)),
        "dae": (VAE, DAEConfig(latent_dim=6, channels=(8, 16))),
        "gan": (GAN, GANConfig(latent_dim=8, channels=(4, 8, 8, 16))),
        "vqvae": (VQVAE, VQVAEConfig(codebook_size=16, code_dim=8, channels=(8, 16))),
        "ddpm": (DiffusionModel, DDPMConfig(**unet)),
        "text2img": (TextToImageModel, Text2ImgConfig(**unet, text_dim=16, text_layers=1, cond_dim=16)),
    }
    folders = {}
    for family, (model_class, config) in configs.items():
        torch.manual_seed(0)
        model = model_class(config)
        if hasattr(model, "out") and hasattr(model.out, "weight"):
            torch.nn.init.normal_(model.out.weight, std=0.05)  # an untrained U-Net predicts something
        folders[family] = root / f"{family}-tiny"
        extra = {"train_cpu_seconds": 120.0} if family == "vae" else {}
        save_checkpoint(folders[family] / WEIGHTS_NAME, model, config, family, data="shapes", steps=0, extra=extra)
    return folders


@lru_cache(maxsize=1)
def small_training_set() -> np.ndarray:
    """300 shapes images from the training draw (seed 0): the training set of the tests' comparison."""
    return load_dataset("shapes", n=300, seed=0).images


@lru_cache(maxsize=1)
def small_held_out() -> np.ndarray:
    return load_dataset("shapes", n=64, seed=1).images


def use_small_comparison(monkeypatch, folder: Path) -> Path:
    """The comparison's cache under `folder`, memorisation against 300 training images, 64 held-out
    images, 2 prompts x 2 for adherence and 4 images for the likelihood. Returns the cache folder."""
    from playground.core.compare import report

    monkeypatch.setenv("XDG_CACHE_HOME", str(folder / "cache"))
    monkeypatch.setattr(report, "_training_images", lambda loaded: small_training_set())
    monkeypatch.setattr(report, "_held_out", lambda n: small_held_out()[:n])
    monkeypatch.setattr(report, "ADHERENCE_PROMPTS", 2)
    monkeypatch.setattr(report, "LIKELIHOOD_IMAGES", 4)
    return folder / "cache" / "playground" / "compare"
