"""Training the latent-diffusion first stage (`autoencoder-kl`): reconstruction + a small KL term."""

from __future__ import annotations

import argparse
from typing import Any

import torch
from torch import nn

from .. import checks
from ..models.autoencoder_kl import AutoencoderKL, AutoencoderKLConfig, autoencoder_kl_loss, kl_loss
from .loop import Batch, TrainingTask
from .recipe import TrainRecipe, int_list

SCALE_IMAGES = 1024  # training images whose latents set the scale factor


class AutoencoderKLTask(TrainingTask):
    def __init__(self, config: AutoencoderKLConfig):
        self.model_config = config
        self.family = config.family
        self.model = AutoencoderKL(config)
        self._reference: list[torch.Tensor] = []  # the first training images seen: the scale factor's data

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        if sum(len(x) for x in self._reference) < SCALE_IMAGES:
            self._reference.append(batch.x.detach()[:SCALE_IMAGES])
        return autoencoder_kl_loss(self.model, batch.x)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, validation: Batch) -> dict[str, float]:
        mse, kl = 0.0, 0.0
        for start in range(0, len(validation.x), 250):
            x = validation.x[start:start + 250]
            mean, logvar = model.encode(x)
            mse += (model.decode(mean) - x).pow(2).mean().item() * len(x)
            kl += kl_loss(mean, logvar).item() * len(x)
        n = len(validation.x)
        metrics = {"val_mse": mse / n, "val_kl": kl / n}
        metrics.update(attributes_kept(model, validation))
        return metrics

    @torch.no_grad()
    def checkpoint_extra(self, model: nn.Module) -> dict[str, Any]:
        """Measure the latent scale factor on the reference images and store it in the weights too."""
        if not self._reference:
            return {}
        x = torch.cat(self._reference)[:SCALE_IMAGES]
        was_training = model.training
        model.eval()
        mean, logvar = model.encode(x)
        model.train(was_training)
        z = mean + torch.randn(mean.shape, generator=torch.Generator().manual_seed(0)).to(mean) * torch.exp(0.5 * logvar)
        std = float(z.float().std())
        model.scale_factor.fill_(1.0 / max(std, 1e-6))
        return {"scale_factor": round(1.0 / max(std, 1e-6), 6), "latent_std": round(std, 6),
                "scale_images": len(x), "latent_shape": list(self.model_config.latent_shape)}


def attributes_kept(model: nn.Module, validation: Batch) -> dict[str, float]:
    """Share of validation reconstructions whose four attributes the shipped classifier reads back
    as the image's labels (nothing when no classifier is shipped or the labels are not shapes')."""
    from ..assets import shipped_for
    from ..checkpoints import load_checkpoint

    shipped = shipped_for("classifier")
    if shipped is None or validation.labels.ndim != 2 or validation.labels.shape[1] != 4:
        return {}
    classifier = load_checkpoint(shipped.path, validation.x.device).model
    right, n = 0, len(validation.x)
    for start in range(0, n, 250):
        x = validation.x[start:start + 250]
        recon = model.decode(model.encode(x)[0]).clamp(-1, 1)
        recon = ((recon + 1) * 127.5).round() / 127.5 - 1  # as a PNG of it would hold
        predicted = torch.stack([logits.argmax(1) for logits in classifier(recon)], dim=1)
        right += int((predicted == validation.labels[start:start + 250]).all(dim=1).sum())
    return {"val_attributes_kept": right / n}


# --- how `playground train` (and the Train panel) builds this task ---


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--latent-channels", type=checks.IntRange(1, 64), default=4)
    parser.add_argument("--channels", default="16,32,128",
                        help="channels per level; every level but the last halves the side (3 levels: 32 -> 8)")
    parser.add_argument("--kl-weight", type=checks.FloatRange(0.0, 10.0), default=1e-4,
                        help="weight of the KL term against the summed squared pixel error")


def _task(args: argparse.Namespace) -> TrainingTask:
    return AutoencoderKLTask(AutoencoderKLConfig(
        latent_channels=args.latent_channels, channels=int_list(args.channels), kl_weight=args.kl_weight,
    ))


RECIPE = TrainRecipe(_arguments, _task, {"batch_size": 64, "lr": 2e-3, "precision": "bf16", "ema_decay": 0.999})
