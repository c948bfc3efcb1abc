"""A small CNN that reads the four shapes attributes off an image.

The project's own judge of generated images: it is trained on clean renders only, so a
generated image it reads confidently, with pixels a renderer could have drawn, counts
as a clean single shape (see `playground.core.evaluation.judge`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import ConvEncoder


@dataclass(frozen=True)
class AttributeClassifierConfig:
    channels: tuple[int, ...] = (16, 32, 64)
    image_size: int = 32
    num_classes: tuple[int, ...] = (4, 6, 2, 9)  # shape, color, size, position
    attribute_names: tuple[str, ...] = ("shape", "color", "size", "position")


class AttributeClassifier(nn.Module):
    def __init__(self, config: AttributeClassifierConfig):
        super().__init__()
        self.config = config
        levels = len(config.channels)
        self.features = ConvEncoder(3, config.channels, downsamples=levels)
        flat = self.features.out_channels * (config.image_size // 2**levels) ** 2
        self.heads = nn.ModuleList([nn.Linear(flat, k) for k in config.num_classes])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Logits per attribute for images in [-1, 1]."""
        h = self.features(x).flatten(1)
        return [head(h) for head in self.heads]


def classifier_loss(model: AttributeClassifier, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    logits = model(x)
    losses = [F.cross_entropy(l.float(), labels[:, k]) for k, l in enumerate(logits)]
    loss = torch.stack(losses).sum()
    accuracy = torch.stack([(l.argmax(1) == labels[:, k]).float().mean() for k, l in enumerate(logits)]).mean()
    return loss, {"loss": loss.item(), "accuracy": accuracy.item()}
