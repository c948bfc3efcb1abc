"""Training the VQGAN: the VQ-VAE's step plus a perceptual loss and a patch discriminator.

Per step (Esser et al. 2021, section 3.1):
1. autoencoder: L = |x - x^|_1 + |x - x^|^2 + w_p P(x, x^) + beta commitment + lambda w_d g_loss,
   with g_loss = -mean D(x^) (hinge) once the discriminator has started, and the adaptive
   lambda = |grad_last L_rec| / (|grad_last g_loss| + 1e-4) on the decoder's last layer (eq. 7);
2. the codebook's EMA update on this batch's assignments (as the VQ-VAE);
3. discriminator (after `disc_start`): hinge loss on real images against the detached x^.

P is the perceptual distance: per level of the frozen attribute classifier's convolutional
features, the mean squared difference of channel-normalised features (LPIPS without its
learned weights), summed over levels.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn
from torch.nn import functional as F

from .. import checks, distributed
from ..assets import default_checkpoint
from ..checkpoints import load_checkpoint
from ..models.vqgan import VQGAN, VQGANConfig
from ..models.vqvae import vqvae_loss
from ..codebook.analysis import codebook_usage, codes_used, perplexity
from ..codebook.sharpness import sharpness
from .latent_diffusion_task import _portable
from .loop import Batch, TrainConfig
from .recipe import TrainRecipe, int_list
from .vqvae_task import VQVAETask


class PerceptualDistance(nn.Module):
    """Distance between images as the attribute classifier's convolutional stages see them."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        features = classifier.features
        self.stem, self.stages = features.stem, features.body
        self.requires_grad_(False).eval()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """(B,) distances."""
        x = torch.cat([a, b])
        h = self.stem(x)
        total = x.new_zeros(len(a))
        for layer in self.stages:
            h = layer(h)
            fa, fb = F.normalize(h.float(), dim=1).chunk(2)
            total = total + (fa - fb).pow(2).mean(dim=(1, 2, 3))
        return total


class VQGANTask(VQVAETask):
    def __init__(self, config: VQGANConfig, classifier: str | Path):
        self.model_config = config
        self.family = config.family
        self.model = VQGAN(config)
        self._validation_usage = None
        self.perceptual = PerceptualDistance(load_checkpoint(classifier, families=("classifier",)).model)
        self.classifier_path = _portable(Path(classifier))

    def make_optimizers(self, config: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        return {
            "model": torch.optim.Adam(self.model.autoencoder_parameters(), lr=config.lr, betas=(0.5, 0.9)),
            "discriminator": torch.optim.Adam(self.model.discriminator.parameters(), lr=config.lr, betas=(0.5, 0.9)),
        }

    def _adaptive_weight(self, rec_loss: torch.Tensor, g_loss: torch.Tensor) -> torch.Tensor:
        last = self.model.decoder.head.weight
        rec_grad = torch.autograd.grad(rec_loss, last, retain_graph=True)[0]
        g_grad = torch.autograd.grad(g_loss, last, retain_graph=True)[0]
        distributed.average_([rec_grad, g_grad])  # under torchrun: the global batch's gradients
        return (rec_grad.norm() / (g_grad.norm() + 1e-4)).clamp(0.0, 1e4).detach()

    def train_step(self, batch: Batch, optimizers: dict[str, torch.optim.Optimizer], config: TrainConfig,
                   autocast: Callable[[], Any]) -> dict[str, float]:
        c, model, x = self.model_config, self.model, batch.x
        self.perceptual.to(x.device)
        gan_on = _steps_taken(optimizers["model"]) >= c.disc_start
        model.discriminator.requires_grad_(False)
        with autocast():
            recon, z_e, quantized = model(x)
            recon = recon.float()
            l1 = (recon - x).abs().mean()
            mse = (recon - x).pow(2).mean()
            perceptual = self.perceptual(x, recon).mean()
            rec_loss = l1 + mse + c.perceptual_weight * perceptual
            loss = rec_loss + c.commitment_cost * quantized.commitment_loss
            metrics = {"mse": mse.item(), "perceptual": perceptual.item()}
            if gan_on:
                g_loss = -model.discriminator(recon).float().mean()
                weight = self._adaptive_weight(rec_loss, g_loss)
                loss = loss + weight * c.disc_weight * g_loss
                metrics.update(g_loss=g_loss.item(), adaptive_weight=weight.item())
        model.discriminator.requires_grad_(True)
        optimizers["model"].zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.autoencoder_parameters(), config.grad_clip)
        optimizers["model"].step()
        restarted = model.quantizer.update_codebook(z_e, quantized.indices)

        if gan_on:
            with autocast():
                real = model.discriminator(x).float()
                fake = model.discriminator(recon.detach()).float()
                d_loss = (F.relu(1 - real).mean() + F.relu(1 + fake).mean()) / 2
            optimizers["discriminator"].zero_grad(set_to_none=True)
            d_loss.backward()
            optimizers["discriminator"].step()
            metrics.update(d_loss=d_loss.item(), d_real=real.mean().item(), d_fake=fake.mean().item())
        counts = codebook_usage(quantized.indices, c.codebook_size)
        metrics.update(loss=loss.item(), codes_used=float(codes_used(counts)), perplexity=perplexity(counts),
                       restarted=float(restarted))
        return metrics

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        loss, metrics, _, _ = vqvae_loss(self.model, batch.x)
        return loss, metrics

    @torch.no_grad()
    def evaluate(self, model: nn.Module, validation: Batch) -> dict[str, float]:
        metrics = super().evaluate(model, validation)
        x = validation.x[:512]
        recon = model(x)[0].float()
        metrics["sharpness"] = sharpness(recon) / sharpness(x)
        return metrics

    def checkpoint_extra(self, model: nn.Module) -> dict[str, Any]:
        return {**super().checkpoint_extra(model), "perceptual_network": self.classifier_path}


def _steps_taken(optimizer: torch.optim.Optimizer) -> int:
    """Steps the optimizer has taken (kept in its state, so it survives a resume)."""
    state = next(iter(optimizer.state.values()), None)
    return int(state["step"]) if state else 0


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--codebook-size", type=checks.IntRange(1, 65_536), default=32, help="number of codes K")
    parser.add_argument("--code-dim", type=checks.IntRange(1, 4096), default=32, help="dimension D of each code")
    parser.add_argument("--channels", default="32,64", help="channels per level; 2 levels give an 8x8 grid")
    parser.add_argument("--perceptual-weight", type=checks.FloatRange(0.0, 100.0), default=1.0)
    parser.add_argument("--disc-weight", type=checks.FloatRange(0.0, 100.0), default=0.5)
    parser.add_argument("--disc-start", type=checks.IntRange(0, 10**9), default=500,
                        help="steps before the discriminator joins")
    parser.add_argument("--classifier", default=None, metavar="CHECKPOINT",
                        help="the network whose features the perceptual loss compares (default: the shipped classifier)")


def _task(args: argparse.Namespace) -> VQGANTask:
    config = VQGANConfig(codebook_size=args.codebook_size, code_dim=args.code_dim, channels=int_list(args.channels),
                         perceptual_weight=args.perceptual_weight, disc_weight=args.disc_weight,
                         disc_start=args.disc_start)
    return VQGANTask(config, args.classifier or default_checkpoint("classifier"))


RECIPE = TrainRecipe(_arguments, _task, {"batch_size": 64, "lr": 5e-4, "precision": "bf16"})
