"""The autoencoder-kl seen by hand: an image, its 4 latent channels (8x8 each), its reconstruction.

The latent shown and edited is the *scaled* one, `scale_factor * z` (what the diffusion models
denoise, about unit variance); `scale_factor` was measured from the data when the checkpoint was
written (1 / the standard deviation of the latents, as Stable Diffusion's 0.18215).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data import to_tensor, to_uint8
from ..device import model_device
from ..models.autoencoder_kl import AutoencoderKL

LATENT_DISPLAY_RANGE = 3.0  # channel images map [-3, 3] (three standard deviations) to the colour ramp


def first_stage_of(model: nn.Module) -> AutoencoderKL:
    """An autoencoder-kl itself, or the frozen first stage inside a latent denoiser's checkpoint."""
    if isinstance(model, AutoencoderKL):
        return model
    stage = getattr(model, "first_stage", None)
    if not isinstance(stage, AutoencoderKL):
        raise ValueError(f"a {type(model).__name__} has no autoencoder-kl")
    return stage


@dataclass(frozen=True)
class Reconstruction:
    latent: np.ndarray   # (C, h, w) float32, scaled
    image: np.ndarray    # (H, W, 3) uint8: the decoded latent
    mse: float           # against the original, pixels in [-1, 1] (NaN when there is none)


def encode_image(ae: AutoencoderKL, image: np.ndarray) -> np.ndarray:
    """One (H, W, 3) uint8 image -> its scaled latent (C, h, w): the posterior mean times scale_factor."""
    with torch.inference_mode():
        return ae.to_latent(to_tensor(image[None]).to(model_device(ae)))[0].cpu().float().numpy()


def decode_latent(ae: AutoencoderKL, latent: np.ndarray) -> np.ndarray:
    """A scaled latent (C, h, w) -> the image its decoder paints, (H, W, 3) uint8."""
    with torch.inference_mode():
        x = torch.as_tensor(np.asarray(latent, np.float32))[None].to(model_device(ae))
        return to_uint8(ae.from_latent_space(x))[0]


def pixel_mse(original: np.ndarray, image: np.ndarray) -> float:
    """Mean squared error between two uint8 images, pixels in [-1, 1]."""
    return float(np.mean(((original.astype(np.float32) - image.astype(np.float32)) / 127.5) ** 2))


def reconstruct(ae: AutoencoderKL, original: np.ndarray, latent: np.ndarray | None = None) -> Reconstruction:
    """Encode `original` (or take the edited `latent`) and decode; the error is against `original`."""
    latent = encode_image(ae, original) if latent is None else np.asarray(latent, np.float32)
    image = decode_latent(ae, latent)
    return Reconstruction(latent, image, pixel_mse(original, image))


def channel_image(channel: np.ndarray, value_range: float = LATENT_DISPLAY_RANGE) -> np.ndarray:
    """One latent channel (h, w) as a diverging colour image (h, w, 3) uint8: blue below 0, red above."""
    v = np.clip(np.asarray(channel, np.float32) / value_range, -1.0, 1.0)[..., None]
    neutral = np.array([235.0, 235.0, 235.0])
    blue, red = np.array([40.0, 90.0, 200.0]), np.array([200.0, 50.0, 40.0])
    rgb = np.where(v < 0, neutral + (-v) * (blue - neutral), neutral + v * (red - neutral))
    return np.ascontiguousarray(rgb.round().astype(np.uint8))
