"""A VQGAN-CLIP picture drawn again from its recipe: the optimised token grid, decoded.

The recipe carries the final tokens, which fix the picture exactly (the optimisation's last
image is the decode of its codes), so `playground reproduce` decodes them rather than
running the optimisation again; the prompt, CLIP model and settings are there to read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checkpoints import LoadedModel
from ..codebook import render as codebook_render
from ..provenance import RecipeFields

PICTURE = "vqgan-clip"


def render(recipe: dict[str, Any], loaded: LoadedModel) -> np.ndarray:
    """(H, W, 3) uint8: the recipe's token grid decoded by `loaded` (a vqgan or vqvae), upscaled as saved."""
    return codebook_render.PICTURES["tokens"](RecipeFields(recipe), loaded)
