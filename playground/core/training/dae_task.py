"""Training the denoising autoencoder: reconstruct the clean image from a corrupted one.

Each image of a batch gets its own corruption levels, uniform up to the config's
`noise_std` and `mask_ratio`, so one model handles every level the GUI's slider asks for.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from .. import checks, distributed
from ..models.dae import DAEConfig, corrupt
from .recipe import TrainRecipe, int_list
from .vae_task import VAETask, _vae_arguments
from .loop import Batch


class DAETask(VAETask):
    def __init__(self, config: DAEConfig, seed: int = 0):
        super().__init__(config)
        self.generator = torch.Generator().manual_seed(seed)

    def corrupted(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        c = self.model_config
        every = distributed.gather_rows(x)  # under torchrun: the global batch corrupted, this process's rows
        levels = torch.rand((2, len(every)), generator=generator)
        return distributed.my_rows(corrupt(every, levels[0] * c.noise_std, levels[1] * c.mask_ratio, c.mask_patch, generator))

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        recon, _, _ = self.model(self.corrupted(batch.x, self.generator))
        mse = (recon.float() - batch.x).pow(2).mean()
        return mse, {"loss": mse.item()}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, validation: Batch) -> dict[str, float]:
        """Clean reconstruction error, and the error from inputs corrupted at the full levels."""
        metrics = super().evaluate(model, validation)
        c = self.model_config
        generator = torch.Generator().manual_seed(1234)
        noisy = corrupt(validation.x, c.noise_std, c.mask_ratio, c.mask_patch, generator)
        metrics["val_mse_corrupted"] = (model(noisy)[0] - validation.x).pow(2).mean().item()
        metrics["val_mse_input"] = (noisy - validation.x).pow(2).mean().item()
        return metrics


def _arguments(parser: argparse.ArgumentParser) -> None:
    _vae_arguments(parser)
    parser.add_argument("--noise-std", type=checks.FloatRange(0.0, 2.0), default=0.2,
                        help="largest Gaussian noise std on the input ([-1, 1] units)")
    parser.add_argument("--mask-ratio", type=checks.FloatRange(0.0, 1.0), default=0.25,
                        help="largest share of input patches blanked")
    parser.add_argument("--mask-patch", type=checks.IntRange(1, 32), default=4, help="masked patch side in pixels")


def _task(args: argparse.Namespace) -> DAETask:
    return DAETask(DAEConfig(latent_dim=args.latent_dim, channels=int_list(args.channels), noise_std=args.noise_std,
                             mask_ratio=args.mask_ratio, mask_patch=args.mask_patch), seed=args.seed)


RECIPE = TrainRecipe(_arguments, _task, {"batch_size": 128, "lr": 2e-3, "precision": "bf16"})
