"""The first stage of latent diffusion: a KL-regularised autoencoder (Rombach et al. 2022, sec. 3).

A 32x32x3 image becomes a spatial latent of 8x8x4 (48x fewer numbers): the encoder gives
a diagonal Gaussian per latent value, the decoder paints the image back. A small KL term
(weight `kl_weight` against the summed squared pixel error, as the LDM paper's "KL-reg")
keeps the latent from drifting to arbitrary scales without making it blurry.

Diffusion then runs on `scale_factor * z`: the factor is measured from the data when the
checkpoint is written (1 / the standard deviation of the latents, as Stable Diffusion's
0.18215 was), so the scaled latent has about unit variance like the noise it is mixed
with. It is a buffer, saved with the weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .. import distributed
from .blocks import ConvDecoder, ConvEncoder, ResBlock


@dataclass(frozen=True)
class AutoencoderKLConfig:
    image_size: int = 32
    latent_channels: int = 4
    channels: tuple[int, ...] = (16, 32, 128)  # one level per entry; all but the last halve the side
    kl_weight: float = 1e-4

    def __post_init__(self) -> None:
        if self.latent_channels < 1 or not self.channels:
            raise ValueError("latent_channels must be >= 1 and channels must name at least one level")
        if self.image_size % 2 ** (len(self.channels) - 1):
            raise ValueError(f"image_size {self.image_size} does not halve {len(self.channels) - 1} times")

    @property
    def family(self) -> str:
        return "autoencoder-kl"

    @property
    def latent_size(self) -> int:
        return self.image_size // 2 ** (len(self.channels) - 1)

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        return (self.latent_channels, self.latent_size, self.latent_size)


class AutoencoderKL(nn.Module):
    """encode: image (N, 3, 32, 32) in [-1, 1] -> (mean, logvar) each (N, 4, 8, 8); decode: z -> image.

    `to_latent` / `from_latent` speak the diffusion models' language: the scaled latent
    `scale_factor * z`.
    """

    def __init__(self, config: AutoencoderKLConfig):
        super().__init__()
        self.config = config
        top = config.channels[-1]
        downs = len(config.channels) - 1
        self.encoder = ConvEncoder(3, config.channels, downsamples=downs)
        self.encoder_mid = ResBlock(top, top)
        self.to_moments = nn.Conv2d(top, 2 * config.latent_channels, 1)
        self.from_latent = nn.Conv2d(config.latent_channels, top, 3, padding=1)
        self.decoder_mid = ResBlock(top, top)
        self.decoder = ConvDecoder(3, config.channels, upsamples=downs)
        self.register_buffer("scale_factor", torch.ones(()))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log-variance) of q(z|x), each (N, latent_channels, s, s)."""
        h = self.encoder_mid(self.encoder(x))
        mean, logvar = self.to_moments(h).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.decoder_mid(self.from_latent(z)))

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction (from a posterior sample while training, the mean otherwise), mean, logvar."""
        mean, logvar = self.encode(x)
        z = mean
        if self.training:
            shape = (distributed.global_rows(len(mean)), *mean.shape[1:])  # under torchrun: this process's rows
            z = mean + distributed.my_rows(torch.randn(shape, generator=generator, device=mean.device)) * torch.exp(0.5 * logvar)
        return self.decode(z), mean, logvar

    def to_latent(self, x: torch.Tensor, sample: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
        """The scaled latent the diffusion models work in: the posterior mean (or a sample), times scale_factor."""
        mean, logvar = self.encode(x)
        z = mean
        if sample:
            shape = (distributed.global_rows(len(mean)), *mean.shape[1:])  # under torchrun: this process's rows
            noise = distributed.my_rows(torch.randn(shape, generator=generator, device="cpu" if generator is not None else mean.device))
            z = mean + noise.to(mean.device, mean.dtype) * torch.exp(0.5 * logvar)
        return z * self.scale_factor

    def from_latent_space(self, latent: torch.Tensor) -> torch.Tensor:
        """Pixels in [-1, 1] for a scaled latent."""
        return self.decode(latent / self.scale_factor)


def kl_loss(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)), summed over the latent and averaged over the batch."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(1).mean()


def autoencoder_kl_loss(model: AutoencoderKL, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Summed squared pixel error per image + kl_weight * KL, and its parts."""
    recon, mean, logvar = model(x)
    sse = (recon.float() - x).pow(2).flatten(1).sum(1).mean()
    kl = kl_loss(mean.float(), logvar.float())
    loss = sse + model.config.kl_weight * kl
    return loss, {"loss": loss.item(), "mse": sse.item() / x[0].numel(), "kl": kl.item()}
