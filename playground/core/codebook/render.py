"""The pictures a VQ-VAE exports, drawn from their recipes.

The command line draws them through these functions, and `playground reproduce` draws
them again from a PNG's recipe with `render`:

- "tokens": one token grid decoded (the app's edited grid, `encode vqvae --recon`,
  `sample vqvae`; image `index` of a batch of `n` when the CLI sampled a batch);
- "grid": n unigram samples of a seed, tiled;
- "codebook-atlas": one decoded tile per code (`playground codebook`);
- "codebook-usage": how often each code is used on a data set (its histogram).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .. import checks
from ..checkpoints import LoadedModel
from ..data import load_dataset
from ..evaluation.charts import usage_histogram_image
from ..images import make_grid, upscale
from ..provenance import RecipeError, RecipeFields
from .analysis import (
    codebook_atlas, codebook_usage, codes_used, decode_tokens, encode_tokens, perplexity, sample_unigram_tokens,
)

MAX_USAGE_ITEMS = 20_000


def unigram_tokens(loaded: LoadedModel, n: int, seed: int) -> np.ndarray:
    """n token grids drawn cell by cell from the codebook usage the checkpoint recorded (uniform if none)."""
    model = loaded.model
    usage = loaded.meta.extra.get("codebook_usage") or [1] * model.codebook_size
    return sample_unigram_tokens(np.asarray(usage), n, model.grid_size, seed)


def atlas_picture(loaded: LoadedModel, background: int | None, order: list[int], columns: int, scale: int) -> np.ndarray:
    """The codebook atlas: each code's decoded tile (see `codebook_atlas`), in `order`, `columns` wide."""
    tiles = codebook_atlas(loaded.model, background=background)
    return upscale(make_grid(tiles[np.asarray(order, np.int64)], columns=columns), scale)


def usage_picture(loaded: LoadedModel, data_name: str, n: int) -> tuple[np.ndarray, np.ndarray, str]:
    """The usage histogram of the codes over n items of a data set (shapes drawn with seed 1).

    Returns the picture, the counts and its title.
    """
    model = loaded.model
    data = load_dataset(data_name, n=n, seed=1, size=model.config.image_size)
    counts = codebook_usage(encode_tokens(model, data.images), model.codebook_size)
    title = (f"{loaded.name}: {codes_used(counts)}/{model.codebook_size} codes used, "
             f"perplexity {perplexity(counts):.1f} on {len(data)} {data.name} images")
    return usage_histogram_image(counts, title=title), counts, title


# --- re-rendering from a recipe ----------------------------------------------------------------------


def _check_model(fields: RecipeFields, loaded: LoadedModel) -> None:
    model = loaded.model
    size = fields.integers("grid_size", 1, 1024, default=[model.grid_size, model.grid_size])
    codes = fields.integer("codebook_size", 1, 1 << 20, default=model.codebook_size)
    if size != [model.grid_size, model.grid_size] or codes != model.codebook_size:
        raise RecipeError(f"the recipe is for a {size[0]}x{size[-1]} grid of {codes} codes; {loaded.name} decodes "
                          f"{model.grid_size}x{model.grid_size} grids of {model.codebook_size} codes")


def _tokens(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    _check_model(fields, loaded)
    g, k = loaded.model.grid_size, loaded.model.codebook_size
    tokens = fields.int_grid("tokens", (g, g), 0, k - 1)
    n, index = fields.batch_member()
    batch = tokens[None]
    if n > 1:  # the CLI decoded its n unigram samples in one batch: decode that batch again
        batch = unigram_tokens(loaded, n, fields.seed())
        batch[index] = tokens
    return upscale(decode_tokens(loaded.model, batch)[index], fields.scale())


def _grid(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    n, settings = fields.within("n", checks.sample_count), fields.mapping("grid_of")
    _check_model(settings, loaded)
    if settings.has("tokens"):  # a grid of the one token grid given with --tokens
        g, k = loaded.model.grid_size, loaded.model.codebook_size
        batch = settings.int_grid("tokens", (g, g), 0, k - 1)[None]
    else:
        batch = unigram_tokens(loaded, n, settings.seed())
    return upscale(make_grid(decode_tokens(loaded.model, batch)), fields.scale())


def _atlas(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    k = loaded.model.codebook_size
    tile = fields.choice("tile", ("fill", "centre"))
    background = fields.integer("background", 0, k - 1) if tile == "centre" else None
    order = fields.integers("order", 0, k - 1)
    if sorted(order) != list(range(k)):
        raise RecipeError(f"the recipe's 'order' must list each of the {k} codes once")
    return atlas_picture(loaded, background, order, fields.integer("columns", 1, k), fields.scale())


def _usage(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    picture, _, _ = usage_picture(loaded, fields.text("data"), fields.integer("n", 1, MAX_USAGE_ITEMS))
    return picture


PICTURES: dict[str, Callable[[RecipeFields, LoadedModel], np.ndarray]] = {
    "tokens": _tokens, "grid": _grid, "codebook-atlas": _atlas, "codebook-usage": _usage,
}


def render(recipe: dict, loaded: LoadedModel) -> np.ndarray:
    """The picture a VQ-VAE's recipe describes, (H, W, 3) uint8."""
    fields = RecipeFields(recipe)
    return PICTURES[fields.choice("picture", tuple(PICTURES))](fields, loaded)
