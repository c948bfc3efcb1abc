"""Training task for the VAE and the plain AE (one architecture, two objectives)."""

from __future__ import annotations

import argparse

from typing import Any, Callable

import torch
from torch import nn

from .. import checks
from ..models.vae import VAE, VAEConfig, kl_per_dimension, vae_loss
from .recipe import TrainRecipe, int_list
from .loop import Batch, TrainingTask


class VAETask(TrainingTask):
    def __init__(self, config: VAEConfig):
        self.model_config = config
        self.family = config.family
        self.model = VAE(config)
        self._validation: Batch | None = None

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        return vae_loss(self.model, batch.x)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, validation: Batch) -> dict[str, float]:
        self._validation = validation
        recon, mean, logvar = model(validation.x)
        metrics = {"val_mse": (recon - validation.x).pow(2).mean().item()}
        if self.model_config.variational:
            metrics["val_kl"] = kl_per_dimension(mean, logvar).sum().item()
        return metrics

    @torch.no_grad()
    def checkpoint_extra(self, model: nn.Module) -> dict[str, Any]:
        """Per-dimension KL (VAE) or code variance (AE): the GUI orders its sliders by it."""
        if self._validation is None:
            return {}
        mean, logvar = model.encode(self._validation.x)
        if self.model_config.variational:
            usage = kl_per_dimension(mean, logvar)
        else:
            usage = mean.var(dim=0)
        return {
            "latent_usage": [round(float(v), 5) for v in usage],
            "latent_usage_kind": "kl" if self.model_config.variational else "variance",
            "latent_mean": [round(float(v), 5) for v in mean.mean(dim=0)],
            "latent_std": [round(float(v), 5) for v in mean.std(dim=0)],
        }


# --- how `playground train` (and the Train panel) builds this task ---


def _vae_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--latent-dim", type=checks.IntRange(1, 4096), default=16)
    parser.add_argument("--beta", type=checks.FloatRange(0.0, 1000.0), default=1.0, help="KL weight (VAE only)")
    parser.add_argument("--channels", default="16,32,64", help="channels per resolution level")


def _vae_task(variational: bool) -> Callable[[argparse.Namespace], TrainingTask]:
    def make(args: argparse.Namespace) -> TrainingTask:
        config = VAEConfig(
            latent_dim=args.latent_dim, beta=args.beta, variational=variational,
            channels=int_list(args.channels),
        )
        return VAETask(config)

    return make


VAE_RECIPE = TrainRecipe(_vae_arguments, _vae_task(True), {"batch_size": 128, "lr": 2e-3, "precision": "bf16"})
AE_RECIPE = TrainRecipe(_vae_arguments, _vae_task(False), {"batch_size": 128, "lr": 2e-3, "precision": "bf16"})
