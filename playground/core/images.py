"""Image grids and PNG files that carry their recipe in the PNG text metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin

RECIPE_KEY = "playground-recipe"


def make_grid(images: np.ndarray, columns: int | None = None, padding: int = 2, background: int = 0) -> np.ndarray:
    """Tile (N, H, W, 3) uint8 images into one image, `columns` wide (default: square-ish)."""
    n, h, w, c = images.shape
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    grid = np.full((rows * (h + padding) + padding, columns * (w + padding) + padding, c), background, np.uint8)
    for i in range(n):
        r, col = divmod(i, columns)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[y:y + h, x:x + w] = images[i]
    return grid


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling, so pixels stay crisp on slides."""
    if factor <= 1:
        return image
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def save_png(path: str | Path, image: np.ndarray, recipe: dict[str, Any] | None = None) -> Path:
    """Write an (H, W, 3) uint8 image, with `recipe` as JSON in a PNG text chunk."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    info = PngImagePlugin.PngInfo()
    if recipe is not None:
        info.add_text(RECIPE_KEY, json.dumps(recipe))
    Image.fromarray(np.ascontiguousarray(image)).save(path, pnginfo=info)
    return path


def save_gif(path: str | Path, frames: list[np.ndarray], duration_ms: int | list[int] = 80) -> Path:
    """Write (H, W, 3) uint8 frames as a looping animated GIF (Pillow quantizes each to 256 colours).

    `duration_ms` is one duration for every frame or one per frame (e.g. to hold the last).
    """
    if not frames:
        raise ValueError("an animated GIF needs at least one frame")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(np.ascontiguousarray(f)) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    return path


def read_recipe(path: str | Path) -> dict[str, Any] | None:
    """The recipe stored by `save_png`, or None if the PNG has none."""
    with Image.open(path) as img:
        text = img.text.get(RECIPE_KEY) if hasattr(img, "text") else None
    return json.loads(text) if text else None
