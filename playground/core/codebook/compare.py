"""VQGAN against VQ-VAE, side by side: the same images (held-out data or a user's file) through each
model, with each model's row of `report.py` (MSE, sharpness against the originals', attributes kept).

A fair comparison holds the grid and the codebook size fixed: the shipped VQGAN (8x8 grid,
32 codes) against a plain VQ-VAE of the same size (`vqvae-k32-shapes`); the 128-code VQ-VAE
shows what four times the codes buy. On the data set, "attributes kept" compares the
classifier's reading of a reconstruction with the true labels; on a user's file, which has
none, with the classifier's reading of the original.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from torch import nn

from ..assets import ShippedCheckpoint, list_shipped
from ..evaluation.judge import classify
from .report import ReconstructionRow, reconstruction_row

VQ_FAMILIES = ("vqvae", "vqgan")
# the shipped checkpoints compared, in the order shown: the fair pair (8x8 grid, 32 codes), then 128 codes
COMPARED = ("vqvae-k32-shapes", "vqgan-shapes", "vqvae-shapes")


@dataclass
class ComparisonTable:
    originals: np.ndarray                      # (N, H, W, 3) uint8
    reference: str                             # what "kept" compares with: the data's labels or the originals' reading
    rows: list[ReconstructionRow]
    reconstructions: dict[str, np.ndarray]     # model name -> (N, H, W, 3) uint8

    def row(self, name: str) -> ReconstructionRow:
        return next(r for r in self.rows if r.name == name)

    def lines(self) -> list[str]:
        return [f"{len(self.originals)} images; attributes compared with {self.reference}"] + [
            f"{r.name} ({r.family}, {r.grid}x{r.grid} grid, {r.codebook_size} codes): MSE {r.mse:.5f}, "
            f"sharpness {r.sharpness_ratio:.2f} of the originals', all four attributes kept on {r.kept:.1%}"
            for r in self.rows]


def compare_reconstructions(models: Mapping[str, nn.Module], images: np.ndarray, classifier: nn.Module,
                            labels: np.ndarray | None = None,
                            check: Callable[[], None] | None = None) -> ComparisonTable:
    """Reconstruct uint8 images (N, H, W, 3) with every model (name -> VQ-VAE or VQGAN) and measure each.
    `labels` (N, 4): the true attributes (else the classifier's reading of the originals); `check`
    is called before each model (a GUI job's cancellation point)."""
    reference = "the data's labels"
    if labels is None:
        labels, reference = classify(classifier, images)[0], "the attribute classifier's reading of the originals"
    rows, pictures = [], {}
    for name, model in models.items():
        if check is not None:
            check()
        row, pictures[name] = reconstruction_row(name, model, images, np.asarray(labels), classifier)
        rows.append(row)
    return ComparisonTable(images, reference, rows, pictures)


def compared_checkpoints(data: str = "shapes") -> list[ShippedCheckpoint]:
    """The shipped VQ models (vqvae and vqgan) trained on `data`, those of COMPARED first in its order."""
    found = [c for c in list_shipped() if c.meta.family in VQ_FAMILIES and c.meta.data == data]
    return sorted(found, key=lambda c: (COMPARED.index(c.name) if c.name in COMPARED else len(COMPARED), c.name))
