"""Latent-variable models (VAE, AE, later GAN): prior samples, encoding, decoding, interpolation."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..data import to_tensor, to_uint8
from ..device import model_device, seeded_normal


def prior_latents(latent_dim: int, n: int, seed: int, temperature: float = 1.0) -> torch.Tensor:
    """n latents from N(0, temperature^2 I), the same for a seed on every device.

    Latent i is drawn from its own seed, seed + i (as the diffusion sampler does), so
    sample i of `--seed s` is the GUI's sample for seed s + i, whatever n is.
    """
    rows = [seeded_normal((latent_dim,), seed + i) for i in range(n)]
    return torch.stack(rows) * temperature if rows else torch.zeros(0, latent_dim)


@torch.inference_mode()
def decode(model: nn.Module, z: torch.Tensor | np.ndarray) -> np.ndarray:
    """Latents (N, D) to uint8 images (N, H, W, 3)."""
    z = torch.as_tensor(np.asarray(z, dtype=np.float32) if isinstance(z, np.ndarray) else z, dtype=torch.float32)
    if z.ndim == 1:
        z = z[None]
    return to_uint8(model.decode(z.to(model_device(model))))


@torch.inference_mode()
def encode(model: nn.Module, images: np.ndarray, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (N, H, W, 3) to posterior means and log-variances (N, D), as NumPy."""
    means, logvars = [], []
    device = model_device(model)
    for start in range(0, len(images), batch_size):
        mean, logvar = model.encode(to_tensor(images[start:start + batch_size]).to(device))
        means.append(mean.float().cpu().numpy())
        logvars.append(logvar.float().cpu().numpy())
    return np.concatenate(means), np.concatenate(logvars)


def sample_prior(model: nn.Module, n: int, seed: int, temperature: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Decode n prior samples; returns (images, latents)."""
    z = prior_latents(model.latent_dim, n, seed, temperature)
    return decode(model, z), z.numpy()


def interpolate(z0: np.ndarray, z1: np.ndarray, t: float | np.ndarray, mode: str = "linear") -> np.ndarray:
    """Points between two latents: "linear" (lerp) or "spherical" (slerp, Shoemake 1985).

    Slerp keeps the norm typical of Gaussian samples, so midpoints do not shrink toward
    the origin where a VAE decodes to a grey average.
    """
    t_arr = np.atleast_1d(np.asarray(t, dtype=np.float64))[:, None]
    a, b = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    if mode == "linear":
        out = (1 - t_arr) * a + t_arr * b
    elif mode == "spherical":
        na, nb = np.linalg.norm(a), np.linalg.norm(b)
        if na < 1e-8 or nb < 1e-8:
            out = (1 - t_arr) * a + t_arr * b
        else:
            cos = np.clip(np.dot(a / na, b / nb), -1.0, 1.0)
            omega = np.arccos(cos)
            if omega < 1e-6:
                out = (1 - t_arr) * a + t_arr * b
            else:
                out = (np.sin((1 - t_arr) * omega) * a + np.sin(t_arr * omega) * b) / np.sin(omega)
    else:
        raise ValueError(f"interpolation mode must be 'linear' or 'spherical', not {mode!r}")
    out = out.astype(np.float32)
    return out[0] if np.ndim(t) == 0 else out


class Projection2D:
    """PCA of latents onto their two main axes, and back (for the clickable latent map).

    `inverse` maps a point of the plane to the latent at the data mean plus that point
    along the two principal axes, so every point of the map decodes to something.
    """

    def __init__(self, latents: np.ndarray):
        latents = np.asarray(latents, np.float64)
        self.mean = latents.mean(axis=0)
        _, singular, vt = np.linalg.svd(latents - self.mean, full_matrices=False)
        self.components = vt[:2]
        total = float((singular**2).sum()) or 1.0
        self.explained = (singular[:2] ** 2) / total
        self.coords = ((latents - self.mean) @ self.components.T).astype(np.float32)

    def project(self, z: np.ndarray) -> np.ndarray:
        return ((np.asarray(z, np.float64) - self.mean) @ self.components.T).astype(np.float32)

    def inverse(self, xy: np.ndarray) -> np.ndarray:
        return (self.mean + np.asarray(xy, np.float64) @ self.components).astype(np.float32)


def latent_order(usage: list[float] | np.ndarray | None, latent_dim: int) -> list[int]:
    """Dimensions sorted by how much they are used (KL per dimension), most used first."""
    if usage is None or len(usage) != latent_dim:
        return list(range(latent_dim))
    return [int(i) for i in np.argsort(-np.asarray(usage), kind="stable")]
