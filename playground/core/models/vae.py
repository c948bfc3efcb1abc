"""Convolutional VAE (Kingma & Welling 2014) and its plain-autoencoder twin.

Both share one architecture; `variational=False` drops the sampling and the KL term, so
switching checkpoints in the GUI shows exactly what the VAE's prior buys.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..distributed import shard_randn
from .blocks import ConvDecoder, ConvEncoder


@dataclass(frozen=True)
class VAEConfig:
    latent_dim: int = 16
    channels: tuple[int, ...] = (16, 32, 64)
    image_size: int = 32
    beta: float = 1.0
    variational: bool = True

    @property
    def family(self) -> str:
        return "vae" if self.variational else "ae"


class VAE(nn.Module):
    """Encoder to a diagonal Gaussian q(z|x) (or a point, for the AE); decoder back to pixels.

    Loss (per image, summed over pixels and latents): ||x - x_hat||^2 + beta * KL(q(z|x) || N(0, I)).
    """

    def __init__(self, config: VAEConfig):
        super().__init__()
        self.config = config
        levels = len(config.channels)
        self.feature_size = config.image_size // 2**levels
        self.encoder = ConvEncoder(3, config.channels, downsamples=levels)
        flat = self.encoder.out_channels * self.feature_size**2
        out = 2 * config.latent_dim if config.variational else config.latent_dim
        self.to_latent = nn.Linear(flat, out)
        self.from_latent = nn.Linear(config.latent_dim, flat)
        self.decoder = ConvDecoder(3, config.channels, upsamples=levels)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log-variance) of q(z|x); the AE returns its code and a log-variance of -inf."""
        h = self.to_latent(self.encoder(x).flatten(1))
        if not self.config.variational:
            return h, torch.full_like(h, float("-inf"))
        mean, logvar = h.chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self.from_latent(z).reshape(-1, self.decoder.in_channels, self.feature_size, self.feature_size)
        return self.decoder(h)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction, mean and log-variance; samples z with the reparameterisation trick."""
        mean, logvar = self.encode(x)
        if self.config.variational and self.training:
            z = mean + shard_randn(len(mean), *mean.shape[1:], device=mean.device, dtype=mean.dtype) * torch.exp(0.5 * logvar)
        else:
            z = mean
        return self.decode(z), mean, logvar


def kl_per_dimension(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, 1)) for each latent dimension, averaged over the batch."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).mean(dim=0)


def vae_loss(model: VAE, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """The training objective and its parts, per image."""
    recon, mean, logvar = model(x)
    recon_error = (recon - x).pow(2).flatten(1).sum(dim=1).mean()
    mse = (recon - x).pow(2).mean()
    if not model.config.variational:
        return recon_error, {"loss": recon_error.item(), "mse": mse.item()}
    kl = kl_per_dimension(mean, logvar).sum()
    loss = recon_error + model.config.beta * kl
    return loss, {"loss": loss.item(), "mse": mse.item(), "kl": kl.item()}
