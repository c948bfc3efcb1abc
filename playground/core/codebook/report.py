"""What `playground eval vqgan` measures: the vqgan against the VQ-VAEs on the same held-out images.

Each VQ model (vqgan or vqvae) encodes the images to its token grid and decodes them; the
reconstruction is rounded to uint8 as a PNG of it would hold. Per model:

- MSE: mean squared pixel error in the models' [-1, 1] units (divide by 4 for [0, 1]);
- sharpness ratio: `sharpness.sharpness` of the reconstructions over the originals'
  (1.0 as sharp as the data, below 1 blurrier);
- attributes kept: the share of images whose reconstruction the attribute classifier reads
  as the original's labels, all four at once and per attribute (the issue's bar for the
  vqgan: >= 99%, and sharper than the VQ-VAE at the same grid);
- codes used: distinct codes in the encoded images, of the codebook's size.

The images are the training runs' own held-out split (`held_out_shapes`): every model here
trained on `--data shapes` with seed 0, so none of them saw these images.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from ..data import DEFAULT_SHAPES_SIZE, to_tensor, to_uint8
from ..data.shapes import ATTRIBUTES, draw_specs, render
from ..device import model_device
from ..evaluation.judge import classify
from .sharpness import sharpness

KEPT_BAR = 0.99


def held_out_shapes(n: int = 1000, seed: int = 0,
                    data_size: int = DEFAULT_SHAPES_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, 32, 32, 3), labels (n, 4)): the first n of the validation split the Trainer
    holds out of `--data shapes` trained with `seed` (training/loop.py: a seeded permutation, the
    first min(1000, N/10) held out). Up to 1000 images; more than that would reach into training data."""
    held = min(1000, max(1, data_size // 10))
    if n > held:
        raise ValueError(f"only {held} images are held out of the training data; asked for {n}")
    order = np.random.default_rng(seed).permutation(data_size)[:n]
    specs = draw_specs(data_size, seed)  # the same draw as generate(data_size, seed); only the n held out are rendered
    chosen = [specs[i] for i in order]
    images = np.stack([render(s) for s in chosen]) if chosen else np.zeros((0, 32, 32, 3), np.uint8)
    return images, np.array([s.labels for s in chosen], np.int64).reshape(n, 4)


@torch.no_grad()
def reconstruct(model: nn.Module, images: np.ndarray, batch_size: int = 250) -> tuple[np.ndarray, np.ndarray]:
    """A VQ model's reconstructions (uint8) of uint8 images, and their token grids (N, g, g)."""
    device = model_device(model)
    recon, tokens = [], []
    for start in range(0, len(images), batch_size):
        x = to_tensor(images[start:start + batch_size]).to(device)
        indices = model.encode_indices(x)
        recon.append(to_uint8(model.decode_indices(indices)))
        tokens.append(indices.cpu().numpy())
    return np.concatenate(recon), np.concatenate(tokens)


@dataclass
class ReconstructionRow:
    name: str
    family: str
    grid: int
    codebook_size: int
    codes_used: int
    mse: float
    sharpness_ratio: float
    kept: float                                   # all four attributes read as the original's
    kept_per_attribute: dict[str, float] = field(default_factory=dict)


def reconstruction_row(name: str, model: nn.Module, images: np.ndarray, labels: np.ndarray,
                       classifier: nn.Module) -> tuple[ReconstructionRow, np.ndarray]:
    """One model's row on images with their true labels, and its reconstructions."""
    recon, tokens = reconstruct(model, images)
    original, rebuilt = to_tensor(images), to_tensor(recon)
    read, _ = classify(classifier, recon)
    right = read == labels
    row = ReconstructionRow(
        name=name, family=model.config.family, grid=int(model.config.grid_size),
        codebook_size=int(model.config.codebook_size), codes_used=int(len(np.unique(tokens))),
        mse=float((rebuilt - original).pow(2).mean()),
        sharpness_ratio=sharpness(rebuilt) / max(sharpness(original), 1e-12),
        kept=float(right.all(1).mean()),
        kept_per_attribute={a: float(right[:, k].mean()) for k, a in enumerate(ATTRIBUTES)},
    )
    return row, recon


def verdict(rows: list[ReconstructionRow]) -> list[str]:
    """The issue's bar, read off the rows: each vqgan keeps >= 99% and is sharper than every VQ-VAE
    at its grid and codebook size (said as missing when there is none to compare with)."""
    lines = []
    for gan in (r for r in rows if r.family == "vqgan"):
        same = [r for r in rows if r.family == "vqvae" and (r.grid, r.codebook_size) == (gan.grid, gan.codebook_size)]
        kept = "meets" if gan.kept >= KEPT_BAR else "below"
        line = f"{gan.name}: attributes kept {gan.kept:.1%} ({kept} the bar of {KEPT_BAR:.0%})"
        if same:
            sharper = all(gan.sharpness_ratio > r.sharpness_ratio for r in same)
            others = ", ".join(f"{r.name} {r.sharpness_ratio:.3f}" for r in same)
            line += (f"; sharpness {gan.sharpness_ratio:.3f} vs {others}"
                     f" at the same {gan.grid}x{gan.grid} grid and {gan.codebook_size} codes: "
                     + ("sharper" if sharper else "NOT sharper"))
        else:
            line += f"; no VQ-VAE at the same {gan.grid}x{gan.grid} grid and {gan.codebook_size} codes to compare with"
        lines.append(line)
    return lines


def format_reconstruction_table(rows: list[ReconstructionRow]) -> str:
    head = ("| model | family | grid | codes (used) | MSE | sharpness / originals' | **all 4 kept** | "
            + " | ".join(f"{a} kept" for a in ATTRIBUTES) + " |")
    out = [head, "|" + "---|" * (7 + len(ATTRIBUTES))]
    for r in rows:
        per = " | ".join(f"{r.kept_per_attribute[a]:.1%}" for a in ATTRIBUTES)
        out.append(f"| {r.name} | {r.family} | {r.grid}x{r.grid} | {r.codebook_size} ({r.codes_used}) | {r.mse:.5f} | "
                   f"{r.sharpness_ratio:.3f} | **{r.kept:.1%}** | {per} |")
    return "\n".join(out)


def rows_to_json(rows: list[ReconstructionRow]) -> list[dict]:
    return [asdict(r) for r in rows]
