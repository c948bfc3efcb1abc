"""Training task for the DDPM denoiser: the simple loss ||eps - eps_theta(x_t, t)||^2 (Ho et al. eq. 14)."""

from __future__ import annotations

import argparse

import torch
from torch import nn

from .. import checks, distributed
from ..models.diffusion_model import DDPMConfig, DiffusionModel
from .recipe import TrainRecipe, int_list
from .loop import Batch, TrainingTask


class DDPMTask(TrainingTask):
    def __init__(self, config: DDPMConfig):
        self.model_config = config
        self.family = "ddpm"
        self.model = DiffusionModel(config)
        self.schedule = self.model.noise_schedule

    def noisy_batch(self, x0: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x_t, t, eps) for uniformly drawn t."""
        n = distributed.global_rows(x0.shape[0])  # under torchrun: the global batch's draws, this process's rows
        t = distributed.my_rows(torch.randint(0, self.schedule.num_train_timesteps, (n,), generator=generator)).to(x0.device)
        noise = distributed.my_rows(torch.randn((n, *x0.shape[1:]), generator=generator)).to(x0.device)
        return self.schedule.add_noise(x0, noise, t), t, noise

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        x_t, t, noise = self.noisy_batch(batch.x)
        loss = (self.model(x_t, t).float() - noise).pow(2).mean()
        return loss, {"loss": loss.item()}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, validation: Batch) -> dict[str, float]:
        generator = torch.Generator().manual_seed(1234)
        x0 = validation.x[:512]
        x_t, t, noise = self.noisy_batch(x0, generator)
        return {"val_eps_mse": (model(x_t, t).float() - noise).pow(2).mean().item()}


# --- how `playground train` (and the Train panel) builds this task ---


def _ddpm_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schedule", choices=("linear", "cosine"), default="cosine")
    parser.add_argument("--base-channels", type=checks.IntRange(1, 1024), default=32)
    parser.add_argument("--channel-mults", default="1,2,2")


def _ddpm_task(args: argparse.Namespace) -> TrainingTask:
    return DDPMTask(DDPMConfig(
        schedule=args.schedule, base_channels=args.base_channels,
        channel_mults=int_list(args.channel_mults),
    ))


RECIPE = TrainRecipe(_ddpm_arguments, _ddpm_task, {"batch_size": 64, "lr": 5e-4, "precision": "bf16", "ema_decay": 0.999})
