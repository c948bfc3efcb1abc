"""Interpretable latent directions for a model without an encoder (GANSpace, Härkönen et al. 2020).

A GAN has no encoder to tell which way in z a data attribute lies, but the generator's
early activations vary most along the attributes it draws. GANSpace (section 2.2):

1. sample z_i ~ N(0, I) and take early activations y_i = G_early(z_i);
2. PCA of the y_i: mean mu, principal axes V (top k);
3. regress z on the PCA coordinates x_i = V^T (y_i - mu): U = argmin sum ||U x_i - z_i||^2;
   column u_j of U is the latent direction that moves y along its j-th principal axis.

We orthonormalise the u_j (QR, in order of explained variance) so each slider moves z by
exactly its value along a unit vector, and sliders are coordinates: c_j = u_j . z.

Files are plain JSON (numbers only), so directions can be shared and inspected.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..device import seeded_normal
from .sampling import model_device

FORMAT = "playground-directions"
FORMAT_VERSION = 1
ORTHONORMAL_TOLERANCE = 1e-4


class DirectionsError(ValueError):
    """A directions file that cannot be used with this model; str() names the file and why."""


@dataclass
class LatentDirections:
    """Orthonormal latent directions, one per row of `vectors` (k, latent_dim)."""

    vectors: np.ndarray
    explained_variance: list[float]  # share of the activations' variance along each principal axis
    method: str = "ganspace"
    layer: int = 1
    n_samples: int = 0
    seed: int = 0
    model: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def latent_dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def coordinates(self, z: np.ndarray) -> np.ndarray:
        """Slider values of a latent: c_j = u_j . z."""
        return (self.vectors.astype(np.float64) @ np.asarray(z, np.float64)).astype(np.float32)

    def move(self, z: np.ndarray, index: int, value: float) -> np.ndarray:
        """z with its coordinate along direction `index` set to `value` (the rest of z kept)."""
        u = self.vectors[index].astype(np.float64)
        z = np.asarray(z, np.float64)
        return (z + (value - float(u @ z)) * u).astype(np.float32)


def generator_features(model: nn.Module, z: torch.Tensor, layer: int) -> torch.Tensor:
    """Early activations (N, F) of a generator: `early_features` when the model has it, else the images."""
    generator = getattr(model, "generator", model)
    if hasattr(generator, "early_features"):
        return generator.early_features(z, layer).flatten(1)
    return model.decode(z).flatten(1)


@torch.inference_mode()
def ganspace_directions(
    model: nn.Module, n_directions: int = 10, n_samples: int = 2000, layer: int = 1, seed: int = 0,
    batch_size: int = 500,
) -> LatentDirections:
    """GANSpace directions of a generator with `latent_dim` (see the module docstring)."""
    latent_dim = int(model.latent_dim)
    k = min(n_directions, latent_dim, n_samples - 1)
    z = seeded_normal((n_samples, latent_dim), seed)
    device = model_device(model)
    features = torch.cat([
        generator_features(model, z[i:i + batch_size].to(device), layer).float().cpu()
        for i in range(0, n_samples, batch_size)
    ]).double()
    centred = features - features.mean(dim=0)
    # Top-k PCA by randomised SVD (Halko et al. 2011): O(N F k) instead of a full SVD's O(N F min(N, F)),
    # which keeps it interactive for thousands of 4096-dimensional activations on one core.
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        _, singular, v = torch.svd_lowrank(centred, q=min(k + 10, *centred.shape), niter=4)
    finally:
        torch.random.set_rng_state(generator_state)
    coords = centred @ v[:, :k]  # (N, k) PCA coordinates x_i
    # least squares  coords @ U^T ~ z   ->   U^T = lstsq(coords, z)
    u_t = torch.linalg.lstsq(coords, z.double()).solution  # (k, latent_dim)
    vectors = orthonormalise(u_t.numpy())
    explained = (singular[:k].pow(2) / centred.pow(2).sum()).tolist()
    return LatentDirections(vectors=vectors.astype(np.float32), explained_variance=[float(v) for v in explained],
                            layer=layer, n_samples=n_samples, seed=seed)


def orthonormalise(rows: np.ndarray) -> np.ndarray:
    """Gram-Schmidt (via QR) of the rows, in order; each output row points the way of its input row."""
    q, r = np.linalg.qr(np.asarray(rows, np.float64).T)
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    return (q * signs).T


def save_directions(path: str | Path, directions: LatentDirections) -> Path:
    """Write directions as JSON: every number plain, rows rounded to 7 significant digits."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = asdict(directions)
    record["vectors"] = [[float(f"{v:.7g}") for v in row] for row in directions.vectors.tolist()]
    payload = {"format": FORMAT, "version": FORMAT_VERSION, "latent_dim": directions.latent_dim, **record}
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return path


def load_directions(path: str | Path, latent_dim: int | None = None) -> LatentDirections:
    """Read a directions file, checking its shape (against `latent_dim` when given) and orthonormality."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise DirectionsError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DirectionsError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise DirectionsError(f"{path}: not a directions file (no \"format\": \"{FORMAT}\")")
    if raw.get("version") != FORMAT_VERSION:
        raise DirectionsError(f"{path}: directions format version {raw.get('version')!r} is not supported")
    try:
        vectors = np.asarray(raw["vectors"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as exc:
        raise DirectionsError(f"{path}: \"vectors\" must be a list of equal-length lists of numbers") from exc
    if vectors.ndim != 2 or len(vectors) == 0:
        raise DirectionsError(f"{path}: \"vectors\" must be a non-empty list of equal-length lists of numbers")
    if not np.isfinite(vectors).all():
        raise DirectionsError(f"{path}: directions contain NaN or infinity")
    if latent_dim is not None and vectors.shape[1] != latent_dim:
        raise DirectionsError(f"{path}: directions are {vectors.shape[1]}-dimensional, the model's latent is {latent_dim}")
    gram = vectors @ vectors.T
    if np.abs(gram - np.eye(len(vectors))).max() > ORTHONORMAL_TOLERANCE:
        raise DirectionsError(f"{path}: directions are not orthonormal")
    explained = raw.get("explained_variance") or [math.nan] * len(vectors)
    return LatentDirections(
        vectors=vectors.astype(np.float32), explained_variance=[float(v) for v in explained],
        method=str(raw.get("method", "")), layer=int(raw.get("layer", 0)), n_samples=int(raw.get("n_samples", 0)),
        seed=int(raw.get("seed", 0)), model=str(raw.get("model", "")), extra=dict(raw.get("extra") or {}),
    )
