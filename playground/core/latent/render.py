"""The pictures a latent model (VAE, AE, GAN) exports, drawn from their recipes.

The command line draws them through these functions, and `playground reproduce` draws
them again from a PNG's recipe with `render`, so both draw the same picture the same way:

- "decode": one latent decoded; image `index` of a batch of `n` when the CLI sampled a
  batch (re-rendered in that same batch, which gives the same pixels);
- "grid": n prior samples of a seed, tiled;
- "reconstruction": an image beside its reconstruction (`encode vae`);
- "interpolation": a strip of frames between two latents (`interpolate vae`);
- "latent-map": the PCA map of an encoded data set (`latent-map vae`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

from .. import checks
from ..checkpoints import LoadedModel
from ..data import DEFAULT_SHAPES_SIZE, load_dataset, load_image_file
from ..data.palette import label_palette
from ..images import make_grid, upscale
from ..provenance import RecipeError, RecipeFields
from .sampling import Projection2D, decode, encode, prior_latents, sample_prior

def source_image(spec: str, data: str, size: int) -> np.ndarray:
    """An image file, or "N" for item N of the data set (shapes are drawn with seed 1)."""
    if not spec.isdigit():
        return load_image_file(spec, size)
    index = int(spec)
    if data == "shapes" and index >= DEFAULT_SHAPES_SIZE:
        raise ValueError(f"item {index} of shapes: choose an item from 0 to {DEFAULT_SHAPES_SIZE - 1}")
    items = load_dataset(data, n=index + 1 if data == "shapes" else None, seed=1, size=size)
    if index >= len(items):
        raise ValueError(f"item {index} of {items.name}: it has items 0 to {len(items) - 1}")
    return items.images[index]


def reconstruction_pair(image: np.ndarray, recon: np.ndarray, scale: int) -> np.ndarray:
    """The image, a 2-pixel gap, its reconstruction; upscaled."""
    gap = np.zeros((image.shape[0], 2, 3), np.uint8)
    return upscale(np.concatenate([image, gap, recon], axis=1), scale)


def interpolation_strip(loaded: LoadedModel, latents: np.ndarray, scale: int) -> np.ndarray:
    """The latents decoded in one batch, side by side, upscaled."""
    return upscale(np.concatenate(list(decode(loaded.model, latents)), axis=1), scale)


def latent_map(loaded: LoadedModel, data_name: str, n: int, label: str | None, size: int) -> tuple[np.ndarray, str]:
    """The encoded data set's PCA map, points coloured by `label` (None: color, or the first label).

    Returns the picture and the label it is coloured by.
    """
    data = load_dataset(data_name, n=n if data_name == "shapes" else None, seed=1, size=loaded.config.image_size)
    means, _ = encode(loaded.model, data.images)
    projection = Projection2D(means)
    label = label or ("color" if "color" in data.label_names else (data.label_names or ("",))[0])
    if label and label not in data.label_names:
        raise ValueError(f"--color-by {label!r}: {data.name} has labels {', '.join(data.label_names) or 'none'}")
    values = data.labels[:, data.label_names.index(label)] if label else np.zeros(len(data), np.int64)
    value_names = data.label_values.get(label, ())
    palette = label_palette(label, int(values.max()) + 1)
    image = _scatter(projection.coords, values, palette, size)
    draw = ImageDraw.Draw(image)
    for i, colour in enumerate(palette):
        draw.rectangle([10, 10 + 16 * i, 20, 20 + 16 * i], fill=colour)
        draw.text((26, 9 + 16 * i), str(value_names[i] if value_names else i), fill=(220, 220, 220))
    ev = projection.explained
    draw.text((10, size - 20), f"{loaded.name}: PCA of {len(data)} encodings of {data.name}, "
              f"axes explain {ev[0]:.0%} / {ev[1]:.0%}; coloured by {label}", fill=(200, 200, 200))
    return np.asarray(image, np.uint8).copy(), label


def _scatter(coords: np.ndarray, values: np.ndarray, palette: list[tuple[int, int, int]], size: int) -> Image.Image:
    """Points on a dark square canvas, scaled to fit with a margin."""
    image = Image.new("RGB", (size, size), (22, 23, 26))
    draw = ImageDraw.Draw(image)
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    scale = (size - 80) / max(float((hi - lo).max()), 1e-9)
    centre = (lo + hi) / 2
    for (x, y), v in zip(coords, values):
        px = size / 2 + (x - centre[0]) * scale
        py = size / 2 - (y - centre[1]) * scale
        draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=palette[int(v)])
    return image


# --- re-rendering from a recipe ----------------------------------------------------------------------


def _decode(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    dim = loaded.model.latent_dim
    latent = fields.numbers("latent", (dim,))
    n, index = fields.batch_member()
    batch = latent[None]
    if n > 1:  # the CLI decoded its n prior samples in one batch: decode that batch again
        temperature = fields.within("temperature", checks.temperature)
        batch = prior_latents(dim, n, fields.seed(count=n), temperature).numpy()
        batch[index] = latent
    return upscale(decode(loaded.model, batch)[index], fields.scale())


def _grid(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    n, settings = fields.within("n", checks.sample_count), fields.mapping("grid_of")
    images, _ = sample_prior(loaded.model, n, settings.seed(count=n),
                             settings.within("temperature", checks.temperature))
    return upscale(make_grid(images), fields.scale())


def _reconstruction(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    image = source_image(fields.text("source"), fields.text("data", default="shapes"), loaded.config.image_size)
    latent = fields.numbers("latent", (loaded.model.latent_dim,))
    return reconstruction_pair(image, decode(loaded.model, latent[None])[0], fields.scale())


def _interpolation(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    frames = fields.within("frames", checks.frames)
    return interpolation_strip(loaded, fields.numbers("latents", (frames, loaded.model.latent_dim)), fields.scale())


def _latent_map(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    picture, _ = latent_map(loaded, fields.text("data"), fields.within("n", checks.map_points),
                            fields.text("color_by", default=None), fields.within("size", checks.picture_side))
    return picture


PICTURES: dict[str, Callable[[RecipeFields, LoadedModel], np.ndarray]] = {
    "decode": _decode, "grid": _grid, "reconstruction": _reconstruction, "interpolation": _interpolation,
    "latent-map": _latent_map,
}


def render(recipe: dict, loaded: LoadedModel) -> np.ndarray:
    """The picture a latent model's recipe describes, (H, W, 3) uint8."""
    fields = RecipeFields(recipe)
    picture = fields.choice("picture", tuple(PICTURES))
    if picture in ("reconstruction", "interpolation", "latent-map") and loaded.family == "gan":
        raise RecipeError(f"a {picture!r} picture needs an encoder; a GAN has none")
    return PICTURES[picture](fields, loaded)
