"""Tiny untrained latent-diffusion models for tests: an autoencoder-kl and ldm/dit/sit on it (T = 100)."""

from __future__ import annotations

from pathlib import Path

import torch

from playground.core.checkpoints import WEIGHTS_NAME, save_checkpoint
from playground.core.models.autoencoder_kl import AutoencoderKL, AutoencoderKLConfig
from playground.core.models.dit import DiT, DiTConfig, SiTConfig
from playground.core.models.ldm import LDM, LDMConfig

AE_FIELDS = dict(image_size=32, latent_channels=4, ae_channels=(4, 8, 8))
PROMPT_FIELDS = dict(text_dim=16, text_layers=1, cond_dim=16)


def tiny_autoencoder_kl() -> AutoencoderKL:
    torch.manual_seed(0)
    return AutoencoderKL(AutoencoderKLConfig(channels=AE_FIELDS["ae_channels"]))


def tiny_latent_model(family: str) -> torch.nn.Module:
    """An untrained tiny ldm, dit or sit; its zero-initialised output gets random weights, so it predicts something."""
    torch.manual_seed(0)
    if family == "ldm":
        model = LDM(LDMConfig(base_channels=8, num_train_timesteps=100, **AE_FIELDS, **PROMPT_FIELDS))
        torch.nn.init.normal_(model.net.out.weight, std=0.05)
    elif family in ("dit", "sit"):
        config_class = SiTConfig if family == "sit" else DiTConfig
        extra = {"num_train_timesteps": 100}
        model = DiT(config_class(hidden=16, depth=2, heads=2, **extra, **AE_FIELDS, **PROMPT_FIELDS))
        torch.nn.init.normal_(model.final.weight, std=0.05)
    else:
        raise ValueError(family)
    model.load_first_stage(tiny_autoencoder_kl())
    return model


def save_tiny_latent_checkpoints(root: Path) -> dict[str, Path]:
    """<root>/<family>-tiny/ for autoencoder-kl, ldm, dit and sit; returns family -> folder."""
    folders = {}
    ae = tiny_autoencoder_kl()
    folders["autoencoder-kl"] = root / "autoencoder-kl-tiny"
    save_checkpoint(folders["autoencoder-kl"] / WEIGHTS_NAME, ae, ae.config, "autoencoder-kl", data="shapes", steps=0)
    for family in ("ldm", "dit", "sit"):
        model = tiny_latent_model(family)
        folders[family] = root / f"{family}-tiny"
        save_checkpoint(folders[family] / WEIGHTS_NAME, model, model.config, family, data="shapes", steps=0,
                        extra={"default_guidance": 2.0})
    return folders
