"""Image grids and PNG files that carry their recipe in the PNG text metadata."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
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


@contextmanager
def atomic_path(path: str | Path, suffix: str = ""):
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename.

    A run that fails half-way (a bad number, a full disk, Ctrl+C) never leaves a truncated
    file behind nor destroys the file that was there before.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes owner-only files: give the result the mode of the file it replaces, else
        # what an ordinary new file gets under the user's umask
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_png(path: str | Path, image: np.ndarray, recipe: dict[str, Any] | None = None) -> Path:
    """Write an (H, W, 3) uint8 image, with `recipe` as JSON in a PNG text chunk."""
    path = Path(path)
    info = PngImagePlugin.PngInfo()
    if recipe is not None:
        info.add_text(RECIPE_KEY, json.dumps(recipe, allow_nan=False))
    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(image)).save(tmp, format="PNG", pnginfo=info)
    return path


def read_gif_recipe(path: str | Path) -> dict[str, Any] | None:
    """The recipe a GIF carries in its comment, or None (GIFs are written by `core.video.write_video`)."""
    from .video import read_video_recipe

    return read_video_recipe(path)


def read_recipe(path: str | Path) -> dict[str, Any] | None:
    """The recipe stored by `save_png`, or None if the PNG has none."""
    with Image.open(path) as img:
        text = img.text.get(RECIPE_KEY) if hasattr(img, "text") else None
    return json.loads(text) if text else None


def labelled_grid(images: np.ndarray, column_labels: list[str], row_labels: list[str], scale: int = 4,
                  padding: int = 4, background: tuple[int, int, int] = (52, 54, 60)) -> np.ndarray:
    """Images (R, C, H, W, 3) upscaled into a table, a label above each column and left of each row.

    The GUI's guidance grid and its PNG export are the same picture (w across, seeds down).
    """
    from PIL import ImageDraw, ImageFont

    rows, columns, h, w, _ = images.shape
    cell_h, cell_w = h * scale, w * scale
    font = ImageFont.load_default(size=max(12, 4 * scale))
    left = max((int(font.getlength(label)) for label in row_labels), default=0) + 2 * padding
    top = int(font.size * 1.6) + padding
    canvas = Image.new("RGB", (left + columns * (cell_w + padding) + padding, top + rows * (cell_h + padding) + padding),
                       background)
    draw = ImageDraw.Draw(canvas)
    for c, label in enumerate(column_labels):
        draw.text((left + padding + c * (cell_w + padding) + cell_w / 2, top / 2), label, fill=(230, 230, 230),
                  font=font, anchor="mm")
    for r in range(rows):
        y = top + padding + r * (cell_h + padding)
        if r < len(row_labels):
            draw.text((left - padding, y + cell_h / 2), row_labels[r], fill=(200, 200, 200), font=font, anchor="rm")
        for c in range(columns):
            cell = Image.fromarray(np.ascontiguousarray(upscale(images[r, c], scale)))
            canvas.paste(cell, (left + padding + c * (cell_w + padding), y))
    return np.asarray(canvas, dtype=np.uint8).copy()
