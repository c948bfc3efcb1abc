"""How sharp images are: the mean size of their pixel-to-pixel steps (a gradient-energy measure).

sharpness(x) = mean over images, channels and pixels of |x[i+1, j] - x[i, j]| + |x[i, j+1] - x[i, j]|.
Blur spreads an edge's step over several pixels, so the sum of absolute steps across a
soft edge is the same but their mean squared size falls; the absolute steps are summed
after a square root of the squared sum per pixel (the gradient magnitude), which a blur
lowers. Compare reconstructions by their ratio to the originals' value: 1.0 is as sharp
as the data, below 1 is blurrier.
"""

from __future__ import annotations

import torch


@torch.no_grad()
def sharpness(images: torch.Tensor) -> float:
    """Mean gradient magnitude of images (B, 3, H, W) in [-1, 1] (forward differences)."""
    x = images.float()
    dx = x[..., :, 1:] - x[..., :, :-1]
    dy = x[..., 1:, :] - x[..., :-1, :]
    magnitude = (dx[..., :-1, :].pow(2) + dy[..., :, :-1].pow(2)).sum(1).sqrt()
    return float(magnitude.pow(2).mean().sqrt())
