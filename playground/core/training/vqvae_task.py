"""Training task for the VQ-VAE: gradient step on reconstruction + commitment, then the EMA codebook step."""

from __future__ import annotations

import argparse

from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .. import checks
from ..models.vqvae import VQVAE, VQVAEConfig, vqvae_loss
from ..codebook.analysis import codebook_usage, codes_used, perplexity
from .recipe import TrainRecipe, int_list
from .loop import Batch, TrainConfig, TrainingTask


class VQVAETask(TrainingTask):
    def __init__(self, config: VQVAEConfig):
        self.model_config = config
        self.family = config.family
        self.model = VQVAE(config)
        self._validation_usage: np.ndarray | None = None

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        loss, metrics, _, _ = vqvae_loss(self.model, batch.x)
        return loss, metrics

    def train_step(
        self, batch: Batch, optimizers: dict[str, torch.optim.Optimizer], config: TrainConfig,
        autocast: Callable[[], Any],
    ) -> dict[str, float]:
        """The shared gradient step, then the codebook's EMA update on this batch's assignments.

        The codebook is a buffer, so the optimizer never sees it; the update runs after the
        gradient step, on the encoder outputs of the same forward pass (appendix A.1).
        """
        optimizer = optimizers["model"]
        with autocast():
            loss, metrics, z_e, quantized = vqvae_loss(self.model, batch.x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
        optimizer.step()
        restarted = self.model.quantizer.update_codebook(z_e, quantized.indices)
        counts = codebook_usage(quantized.indices, self.model_config.codebook_size)
        metrics["codes_used"] = float(codes_used(counts))
        metrics["perplexity"] = perplexity(counts)
        metrics["restarted"] = float(restarted)
        return metrics

    @torch.no_grad()
    def evaluate(self, model: nn.Module, validation: Batch) -> dict[str, float]:
        """Reconstruction error, codes used and codebook perplexity on held-out images."""
        mse_sum, counts = 0.0, np.zeros(self.model_config.codebook_size, dtype=np.int64)
        for start in range(0, len(validation.x), 256):
            x = validation.x[start:start + 256]
            recon, _, quantized = model(x)
            mse_sum += (recon.float() - x).pow(2).mean().item() * len(x)
            counts += codebook_usage(quantized.indices.cpu(), self.model_config.codebook_size)
        self._validation_usage = counts
        return {
            "val_mse": mse_sum / len(validation.x),
            "codes_used": float(codes_used(counts)),
            "perplexity": perplexity(counts),
        }

    def checkpoint_extra(self, model: nn.Module) -> dict[str, Any]:
        """Per-code usage on the validation images: the GUI's first histogram and `sample`'s prior."""
        extra: dict[str, Any] = {"grid_size": self.model_config.grid_size}
        if self._validation_usage is not None:
            extra["codebook_usage"] = [int(c) for c in self._validation_usage]
        return extra


# --- how `playground train` (and the Train panel) builds this task ---


def _vqvae_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--codebook-size", type=checks.IntRange(1, 65_536), default=128, help="number of codes K")
    parser.add_argument("--code-dim", type=checks.IntRange(1, 4096), default=32, help="dimension D of each code")
    parser.add_argument("--channels", default="32,64", help="channels per level; 2 levels give an 8x8 grid")
    parser.add_argument("--commitment-cost", type=checks.FloatRange(0.0, 100.0), default=0.25,
                        help="beta of the commitment loss")
    parser.add_argument("--codebook-decay", type=checks.FloatRange(0.0, 1.0, high_open=True), default=0.99,
                        help="EMA decay of the codebook")


def _vqvae_task(args: argparse.Namespace) -> TrainingTask:
    return VQVAETask(VQVAEConfig(
        codebook_size=args.codebook_size, code_dim=args.code_dim,
        channels=int_list(args.channels),
        commitment_cost=args.commitment_cost, codebook_decay=args.codebook_decay,
    ))


RECIPE = TrainRecipe(_vqvae_arguments, _vqvae_task, {"batch_size": 128, "lr": 2e-3, "precision": "bf16"})
