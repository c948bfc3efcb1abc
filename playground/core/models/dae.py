"""The denoising autoencoder (Vincent et al. 2008) with masking (as the masked autoencoder, He et al. 2022).

The plain AE's network, trained to paint the CLEAN image from a corrupted one: Gaussian
noise of std `noise_std` added to the pixels and a share `mask_ratio` of `mask_patch` x
`mask_patch` patches blanked to the background grey. Learning to undo corruption forces
the code to hold what the data are made of rather than a copy of the pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .vae import VAEConfig

MASK_VALUE = 18 / 127.5 - 1.0  # the shapes background (18, 18, 18) in [-1, 1]


@dataclass(frozen=True)
class DAEConfig(VAEConfig):
    variational: bool = False
    noise_std: float = 0.2   # in [-1, 1] units, drawn per image uniformly up to this
    mask_ratio: float = 0.25  # share of patches blanked, drawn per image uniformly up to this
    mask_patch: int = 4

    def __post_init__(self) -> None:
        if self.variational:
            raise ValueError("a denoising autoencoder is not variational")
        if self.image_size % self.mask_patch:
            raise ValueError(f"mask_patch {self.mask_patch} does not divide image_size {self.image_size}")

    @property
    def family(self) -> str:
        return "dae"


def corrupt(x: torch.Tensor, noise_std: float, mask_ratio: float, patch: int,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """x (B, 3, H, W) in [-1, 1] with Gaussian noise of std `noise_std` and a share `mask_ratio` of
    patch x patch squares set to the background; clamped to [-1, 1]. Exact levels, not random ones
    (the training task draws the levels per image)."""
    b, _, h, w = x.shape
    noise = torch.randn(x.shape, generator=generator).to(x)
    out = x + noise * torch.as_tensor(noise_std, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
    cells = (h // patch) * (w // patch)
    scores = torch.rand((b, cells), generator=generator).to(x.device)
    ratio = torch.as_tensor(mask_ratio, dtype=torch.float32, device=x.device).reshape(-1, 1)
    masked = scores < ratio
    mask = masked.reshape(b, 1, h // patch, w // patch).repeat_interleave(patch, 2).repeat_interleave(patch, 3)
    out = torch.where(mask, torch.full_like(out, MASK_VALUE), out)
    return out.clamp(-1.0, 1.0)
