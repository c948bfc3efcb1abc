"""VQGAN (Esser et al. 2021, "Taming Transformers"): a VQ-VAE trained to be sharp.

The autoencoder is the VQ-VAE's (same encoder, EMA codebook, decoder), so every view of
a VQ-VAE (the codebook atlas, token painting, dalle's tokens) reads a VQGAN unchanged.
What differs is the training: besides the pixel loss, a perceptual loss (the distance
between the features a trained network sees in the image and in its reconstruction, as
LPIPS measures with VGG; here the features of the project's own attribute classifier,
since nothing pretrained can be downloaded) and a patch discriminator's hinge loss,
weighted adaptively (eq. 7 of the paper) so neither swamps the other. Pixel losses
alone average the possible edges of a heavily compressed image into blur; the
discriminator punishes blur, the perceptual loss keeps what a reader of the image sees.

The discriminator is a PatchGAN (Isola et al. 2017): a few strided convolutions with a
logit per overlapping patch, not per image. It lives in the checkpoint beside the
autoencoder (`discriminator.*`) so training can resume from the weights alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .vqvae import VQVAE, VQVAEConfig


@dataclass(frozen=True)
class VQGANConfig(VQVAEConfig):
    codebook_size: int = 32  # a harder compression than the shipped VQ-VAE's 128 codes on the same 8x8 grid
    disc_channels: tuple[int, ...] = (32, 64, 128)
    perceptual_weight: float = 1.0
    disc_weight: float = 0.5
    disc_start: int = 500  # steps of autoencoder-only training before the discriminator joins

    @property
    def family(self) -> str:
        return "vqgan"


class PatchDiscriminator(nn.Module):
    """Strided 4x4 convolutions (spectral norm, leaky ReLU): 32x32 -> a 4x4 grid of patch logits."""

    def __init__(self, channels: tuple[int, ...]):
        super().__init__()
        layers: list[nn.Module] = []
        ch = 3
        for out in channels:
            layers += [spectral_norm(nn.Conv2d(ch, out, 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            ch = out
        layers.append(spectral_norm(nn.Conv2d(ch, 1, 3, padding=1)))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class VQGAN(VQVAE):
    def __init__(self, config: VQGANConfig):
        super().__init__(config)
        self.discriminator = PatchDiscriminator(config.disc_channels)

    def autoencoder_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if not name.startswith("discriminator.")]


def vq_state_dict(model: VQVAE) -> dict[str, torch.Tensor]:
    """The autoencoder's weights alone (a VQGAN's without its discriminator): what a token model carries."""
    return {k: v for k, v in model.state_dict().items() if not k.startswith("discriminator.")}
