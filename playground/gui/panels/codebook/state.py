"""What the codebook browser computes in its workers, and a token grid read back from a recipe.

Nothing here touches a widget: the work functions run in the panel's workers and return
plain data (`CodebookView`, `Usage`) that the panel hands to its views.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ....core.codebook.analysis import (
    codebook_atlas, codebook_usage, codebook_vectors, encode_tokens_progressive, nearest_codes, similarity_order,
)
from ....core.codebook.token_editor import TokenGridEditor
from ....core.data import ImageSet
from ....core.latent.sampling import Projection2D
from ....core.models.vqvae import VQVAE
from ....core.provenance import RecipeError, RecipeFields
from ...widgets.codebook_style import code_colours

NEAREST = 8  # nearest codes listed for the selected code


@dataclass
class CodebookView:
    """What the panel shows about one model's codebook (computed once per model, in the worker)."""

    generation: int  # the panel's model generation it was computed for
    fill_tiles: np.ndarray  # (K, H, W, 3): the code over the whole grid
    coords: np.ndarray  # (K, 2): PCA of the codebook vectors
    explained: tuple[float, float]
    colours: np.ndarray  # (K, 3) uint8 identity colour per code (grid overlay, histogram)
    drawn: np.ndarray  # (K, 3) uint8 the colour each code paints (the mean of its fill tile's centre)
    similarity: np.ndarray  # (K,) code order
    neighbours: np.ndarray  # (K, NEAREST) nearest codes, nearest first
    context_tiles: np.ndarray | None = None  # (K, h, w, 3) crops around one cell amid `background`
    background: int | None = None


@dataclass
class Usage:
    """A data set encoded to token grids by one model, and what follows from them."""

    generation: int
    data: ImageSet
    tokens: np.ndarray  # (N, g, g)
    counts: np.ndarray  # (K,)


def build_codebook_view(model: VQVAE, generation: int, background: int | None, check: Callable[[], None],
                        atlas: Callable[..., np.ndarray] | None = None) -> CodebookView:
    """Tiles, PCA map, colours, order and neighbours of every code (`check` raises on cancel); `atlas(model,
    background=None)` decodes the tiles (`codebook_atlas`, or its twin on the model server)."""
    vectors = codebook_vectors(model)
    projection = Projection2D(vectors)
    check()
    neighbours = np.stack([nearest_codes(model, c, NEAREST)[0] for c in range(len(vectors))])
    atlas = atlas or codebook_atlas
    tiles = atlas(model)
    h, w = tiles.shape[1:3]
    drawn = tiles[:, h // 4:3 * h // 4, w // 4:3 * w // 4].reshape(len(tiles), -1, 3).mean(1).astype(np.uint8)
    view = CodebookView(generation, tiles, projection.coords,
                        (float(projection.explained[0]), float(projection.explained[1])),
                        code_colours(len(vectors)), drawn, similarity_order(vectors), neighbours)
    check()
    if background is not None:
        view.context_tiles, view.background = context_tiles(model, background, atlas), background
    return view


def context_tiles(model: VQVAE, background: int, atlas: Callable[..., np.ndarray] | None = None) -> np.ndarray:
    """Each code alone in the centre cell amid `background`, cropped to the 3x3 cells around it."""
    tiles = (atlas or codebook_atlas)(model, background=background)
    return np.stack([context_crop(t, model.grid_size) for t in tiles])


def context_crop(tile: np.ndarray, grid_size: int, cells: int = 3) -> np.ndarray:
    """The `cells` x `cells` cells around the centre of an in-context tile (the code sits at the centre cell)."""
    cell = tile.shape[0] // grid_size
    top = max(0, (grid_size // 2 - cells // 2) * cell)
    return tile[top:top + cells * cell, top:top + cells * cell]


def count_usage(model: VQVAE, generation: int, data: ImageSet, batch: int,
                progress: Callable[[int, int], None], encode: Callable[[np.ndarray], np.ndarray] | None = None) -> Usage:
    """Encode a data set batch by batch (`progress` reports and may raise to stop) and count the codes;
    `encode(images) -> tokens` encodes a batch elsewhere (the model server) instead of with `model`."""
    grids = []
    if encode is None:
        batches = encode_tokens_progressive(model, data.images, batch)
    else:
        batches = ((min(s + batch, len(data)), encode(data.images[s:s + batch])) for s in range(0, len(data), batch))
    for done, tokens in batches:
        grids.append(tokens)
        progress(done, len(data))
    tokens = np.concatenate(grids)
    return Usage(generation, data, tokens, codebook_usage(tokens, model.codebook_size))


def editor_from_recipe(recipe: dict[str, Any], model: VQVAE) -> TokenGridEditor:
    """The edited grid an exported PNG's recipe holds, as an editor whose encoded grid is the recipe's
    `encoded_tokens` (so Reset and the edited cells come back too); a `RecipeError` (ValueError)
    naming the key and what is wrong for a grid this model cannot decode or a hand-edited recipe.

    The codebook browser and the CLI write "tokens"; `sample vqvae` wrote "latent" before.
    """
    fields = RecipeFields(recipe)
    g, k = model.grid_size, model.codebook_size
    key = "latent" if fields.has("latent") and not fields.has("tokens") else "tokens"
    grids = {}
    for name in (key, "encoded_tokens") if fields.has("encoded_tokens") else (key,):
        try:
            grids[name] = fields.int_grid(name, (g, g), 0, k - 1)
        except OverflowError:  # an integer beyond int64 (requested: RecipeFields to say so itself)
            raise RecipeError(f"the recipe's '{name}' must be a {g}x{g} grid of integers from 0 to {k - 1}; "
                              "it holds a number far outside") from None
    tokens = grids[key]
    encoded = grids.get("encoded_tokens", tokens)
    editor = TokenGridEditor(encoded, k)
    editor.set_grid(tokens, "edits from the PNG")
    return editor
