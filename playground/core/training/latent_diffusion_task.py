"""Training a latent denoiser (ldm, dit, sit): the shared task, and the options the three share.

Each step encodes the batch with the frozen first stage (a posterior sample, scaled, in
float32 whatever the autocast), draws partial prompts from the labels (each attribute
kept with probability 0.7) and swaps the null condition in for `condition_dropout` of
them (classifier-free guidance), then regresses:

- "epsilon" (ldm, dit): the noise of x_t = sqrt(a_t) z + sqrt(1 - a_t) eps, t uniform on the
  DDPM schedule (Ho et al. 2020, eq. 14);
- "velocity" (sit): eps - z at x_s = (1 - s) z + s eps, s uniform on [0, 1] (flow matching).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .. import checks, distributed
from ..assets import default_checkpoint
from ..checkpoints import load_checkpoint
from ..data.tokenizer import prompts_from_labels, tokenize_batch
from ..models.latent_denoiser import LatentDenoiser, LatentDenoiserConfig
from .loop import Batch, TrainingTask


class LatentDiffusionTask(TrainingTask):
    def __init__(self, model: LatentDenoiser, family: str, first_stage: str | Path, seed: int = 0):
        self.model = model
        self.model_config = model.config
        self.family = family
        self.rng = np.random.default_rng(seed)
        loaded = load_checkpoint(first_stage, families=("autoencoder-kl",))
        model.load_first_stage(loaded.model)
        self.first_stage_path = _portable(Path(first_stage))

    # --- the batch in latent space ---

    def latents(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        with torch.no_grad(), torch.autocast(device_type=x.device.type, enabled=False):
            return self.model.first_stage.to_latent(x.float(), sample=True, generator=generator)

    def conditions(self, labels: torch.Tensor, rng: np.random.Generator, keep: float = 0.7,
                   dropout: float | None = None) -> torch.Tensor:
        every = distributed.gather_rows(labels)  # under torchrun: drawn for the global batch, this process's rows
        tokens = tokenize_batch(prompts_from_labels(every.cpu().numpy(), rng, keep)).to(labels.device)
        share = self.model_config.condition_dropout if dropout is None else dropout
        dropped = torch.from_numpy(rng.random(len(every)) < share).to(labels.device)
        tokens, dropped = distributed.my_rows(tokens), distributed.my_rows(dropped)
        cond = self.model.embed(tokens)
        return torch.where(dropped[:, None], self.model.embed(None, len(labels)).to(cond), cond)

    def noisy(self, z: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x_t, t, target) for the model's objective, t drawn uniformly."""
        n = distributed.global_rows(z.shape[0])  # under torchrun: the global batch's draws, this process's rows
        noise = distributed.my_rows(torch.randn((n, *z.shape[1:]), generator=generator)).to(z.device)
        schedule = self.model.noise_schedule
        if self.model_config.prediction == "velocity":
            s = distributed.my_rows(torch.rand(n, generator=generator)).to(z.device)
            t = s * schedule.intervals
            x_t = (1 - s.view(-1, 1, 1, 1)) * z + s.view(-1, 1, 1, 1) * noise
            return x_t, t, noise - z
        t = distributed.my_rows(torch.randint(0, schedule.num_train_timesteps, (n,), generator=generator)).to(z.device)
        return schedule.add_noise(z, noise, t), t, noise

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        z = self.latents(batch.x)
        x_t, t, target = self.noisy(z)
        cond = self.conditions(batch.labels, self.rng)
        loss = (self.model(x_t, t, cond=cond).float() - target).pow(2).mean()
        return loss, {"loss": loss.item()}

    def make_optimizers(self, config) -> dict[str, torch.optim.Optimizer]:
        trainable = [p for name, p in self.model.named_parameters() if not name.startswith("first_stage.")]
        return {"model": torch.optim.AdamW(trainable, lr=config.lr, weight_decay=config.weight_decay)}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, validation: Batch) -> dict[str, float]:
        generator = torch.Generator().manual_seed(1234)
        x, labels = validation.x[:512], validation.labels[:512]
        z = model.first_stage.to_latent(x, sample=True, generator=generator)
        x_t, t, target = self.noisy(z, generator)
        full = model.embed(tokenize_batch(prompts_from_labels(labels.cpu().numpy(), np.random.default_rng(0), 1.0)).to(x.device))
        null = model.embed(None, len(x))
        return {
            "val_mse_prompt": (model(x_t, t, cond=full).float() - target).pow(2).mean().item(),
            "val_mse_null": (model(x_t, t, cond=null).float() - target).pow(2).mean().item(),
        }

    def checkpoint_extra(self, model: nn.Module) -> dict[str, Any]:
        return {"first_stage": {"checkpoint": self.first_stage_path,
                                "scale_factor": round(float(model.first_stage.scale_factor), 6)}}


# --- the options every latent denoiser's `playground train` shares ---


def add_latent_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--first-stage", default=None, metavar="CHECKPOINT",
                        help="the autoencoder-kl whose latent space to learn (default: the shipped one)")
    parser.add_argument("--cond-dim", type=checks.IntRange(8, 1024), default=64, help="prompt embedding width")
    parser.add_argument("--condition-dropout", type=checks.FloatRange(0.0, 1.0), default=0.15,
                        help="share of items trained without a prompt (for classifier-free guidance)")


def latent_task(build: Callable[[argparse.Namespace, dict[str, Any]], LatentDenoiser], family: str
                ) -> Callable[[argparse.Namespace], TrainingTask]:
    """make_task for a latent family: `build(args, first_stage_fields)` makes the model."""

    def make(args: argparse.Namespace) -> TrainingTask:
        if args.data != "shapes":
            raise ValueError(f"{family} trains on captioned data: use --data shapes")
        first_stage = args.first_stage or default_checkpoint("autoencoder-kl")
        ae = load_checkpoint(first_stage, families=("autoencoder-kl",)).config
        fields = {"image_size": ae.image_size, "latent_channels": ae.latent_channels, "ae_channels": ae.channels,
                  "cond_dim": args.cond_dim, "condition_dropout": args.condition_dropout}
        return LatentDiffusionTask(build(args, fields), family, first_stage, seed=args.seed)

    return make


def _portable(path: Path) -> str:
    """A shipped checkpoint as `assets/<name>` (the same on every clone), any other path as given."""
    from ..assets import assets_dir

    try:
        return str(Path("assets") / path.resolve().relative_to(assets_dir().resolve()))
    except ValueError:
        return str(path)


def first_stage_fields(config: LatentDenoiserConfig) -> dict[str, Any]:
    return {"image_size": config.image_size, "latent_channels": config.latent_channels, "ae_channels": config.ae_channels}
