"""CLIP pictures drawn again from their recipes (`playground reproduce`): the caption matrix and a retrieval.

Both are recomputed from the recipe's settings with the recipe's CLIP checkpoint: the matrix
from its images' seed and count, the retrieval from its prompt, k and pool size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checkpoints import LoadedModel
from ..images import make_grid, upscale
from ..provenance import RecipeFields
from .matrix import caption_matrix, matrix_picture
from .retrieval import pool_embeddings, retrieve

PICTURES = ("clip-matrix", "clip-retrieval")


def render(recipe: dict[str, Any], loaded: LoadedModel) -> np.ndarray:
    fields = RecipeFields(recipe)
    picture = fields.choice("picture", PICTURES)
    if picture == "clip-matrix":
        return matrix_picture(caption_matrix(loaded.model, fields.integer("n", 1, 432), fields.seed()))
    pool = pool_embeddings(loaded, fields.integer("pool", 1, 100_000))
    found = retrieve(loaded.model, pool, fields.text("prompt"), fields.integer("k", 1, 1000))
    grid = make_grid(pool.data.images[found.indices], columns=len(found.indices))
    return upscale(grid, fields.scale(default=1))
