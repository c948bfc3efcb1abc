"""A folder of the user's own images, resized and centre-cropped to the model's size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


class ImageFileError(ValueError):
    """An image file that cannot be read; the message names the file."""


def load_image_file(path: str | Path, size: int = 32) -> np.ndarray:
    """Read one image as (size, size, 3) uint8: shorter side scaled to size, centre-cropped.

    Every failure is an ImageFileError that says in words which file and why (the one
    wording every panel and the CLI show).
    """
    path = Path(path)
    if not path.exists():
        raise ImageFileError(f"{path}: no such file")
    if path.is_dir():
        raise ImageFileError(f"{path} is a folder, not an image file")
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            w, h = img.size
            scale = size / min(w, h)
            new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
            img = img.resize((new_w, new_h), Image.BICUBIC)
            left, top = (new_w - size) // 2, (new_h - size) // 2
            img = img.crop((left, top, left + size, top + size))
            return np.asarray(img, dtype=np.uint8).copy()
    except FileNotFoundError as exc:
        raise ImageFileError(f"{path}: no such file") from exc
    except PermissionError as exc:
        raise ImageFileError(f"{path} cannot be read: permission denied") from exc
    except Image.DecompressionBombError as exc:  # a few bytes that claim billions of pixels (not an OSError)
        raise ImageFileError(f"{path} has too many pixels to open safely ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageFileError(f"{path} is not an image file (it does not start like a PNG, JPEG or WebP image)") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's errors for a damaged or cut-short file
        raise ImageFileError(f"{path} is damaged or cut short: its image data cannot be decoded ({exc})") from exc


def load_image_folder(folder: str | Path, size: int = 32) -> tuple[np.ndarray, list[str]]:
    """Every png/jpg/webp image directly inside folder, sorted by name, and the file names."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageFileError(f"{folder}: not a folder of images")
    files = sorted(p for p in folder.iterdir()  # hidden files (".DS_Store", macOS's "._x.png") are no pictures
                   if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    if not files:
        raise ImageFileError(f"{folder}: no .png, .jpg or .webp images in this folder")
    return np.stack([load_image_file(p, size) for p in files]), [p.name for p in files]
