"""`ldm`: a U-Net in the autoencoder's latent space, prompted by cross-attention (Stable Diffusion's design).

The same U-Net as the pixel model (`unet.py`) at the latent's 8x8, with self- and
cross-attention at every level: each latent cell's query reads the prompt's token
embeddings (Rombach et al. 2022, sec. 3.3). The pooled prompt is added to the time
embedding too, and two coordinate channels tell each cell where it is (an 8x8 grid has
no other way to know "top left" from "bottom right").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .latent_denoiser import LatentDenoiser, LatentDenoiserConfig
from .unet import UNet, UNetConfig


@dataclass(frozen=True)
class LDMConfig(LatentDenoiserConfig):
    base_channels: int = 64
    channel_mults: tuple[int, ...] = (1, 2)
    num_res_blocks: int = 1
    attention_heads: int = 4
    coord_channels: bool = True

    @property
    def family(self) -> str:
        return "ldm"

    @property
    def unet(self) -> UNetConfig:
        size = self.latent_size
        levels = tuple(size // 2**i for i in range(len(self.channel_mults)))
        return UNetConfig(image_size=size, in_channels=self.latent_channels, base_channels=self.base_channels,
                          channel_mults=self.channel_mults, num_res_blocks=self.num_res_blocks,
                          attention_resolutions=levels, attention_heads=self.attention_heads,
                          cond_dim=self.cond_dim, context_dim=self.cond_dim, coord_channels=self.coord_channels)


class LDM(LatentDenoiser):
    def __init__(self, config: LDMConfig):
        super().__init__(config)
        self.net = UNet(config.unet)

    def denoise(self, x: torch.Tensor, t: torch.Tensor, pooled: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return self.net(x, t, cond=pooled, context=context)
