"""A classifier of noisy shapes images, p_phi(y | x_t, t), for classifier guidance.

Classifier guidance (Dhariwal & Nichol 2021, section 4) needs the classifier's gradient
at every x_t the sampler visits, most of them far noisier than any clean render, so the
clean-image judge (`attribute_classifier`) cannot serve: this one has the same layout
(conv stem, a residual block and a downsample per level, one linear head per attribute)
with the U-Net's sinusoidal time embedding fed into every residual block, and is trained
on x_t ~ q(x_t | x_0) for uniformly drawn t. The noise schedule it was trained on is part
of its config: it only helps a diffusion model with the same schedule.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..diffusion.schedules import NoiseSchedule
from .blocks import Downsample, ResBlock, TimeEmbedding, group_norm


@dataclass(frozen=True)
class NoisyClassifierConfig:
    channels: tuple[int, ...] = (32, 64, 64)
    image_size: int = 32
    num_classes: tuple[int, ...] = (4, 6, 2, 9)  # shape, color, size, position
    attribute_names: tuple[str, ...] = ("shape", "color", "size", "position")
    schedule: str = "cosine"
    num_train_timesteps: int = 1000


class NoisyAttributeClassifier(nn.Module):
    """Logits per attribute for x_t in the diffusion model's scale and its timestep t."""

    def __init__(self, config: NoisyClassifierConfig):
        super().__init__()
        self.config = config
        c = config.channels[0]
        time_dim = 4 * c
        self.time_embed = TimeEmbedding(c, time_dim)
        self.stem = nn.Conv2d(3, c, 3, padding=1)
        self.blocks = nn.ModuleList()
        self.downsamples = nn.ModuleList()
        ch = c
        for out_ch in config.channels:
            self.blocks.append(ResBlock(ch, out_ch, time_dim))
            self.downsamples.append(Downsample(out_ch))
            ch = out_ch
        self.out_norm = group_norm(ch)
        flat = ch * (config.image_size // 2 ** len(config.channels)) ** 2
        self.heads = nn.ModuleList([nn.Linear(flat, k) for k in config.num_classes])
        self.noise_schedule = NoiseSchedule.from_name(config.schedule, config.num_train_timesteps)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> list[torch.Tensor]:
        if t.ndim == 0:
            t = t.expand(x_t.shape[0])
        temb = self.time_embed(t)
        h = self.stem(x_t)
        for block, down in zip(self.blocks, self.downsamples):
            h = down(block(h, temb))
        h = F.silu(self.out_norm(h)).flatten(1)
        return [head(h) for head in self.heads]
