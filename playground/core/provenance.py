"""Where an image came from: the one recipe header every export carries, and reading it back.

Every PNG the app or the CLI writes carries a recipe (JSON in a PNG text chunk, see
`images.save_png`): the model header below (model, family, checkpoint and its weights'
SHA-256) plus whatever the family's renderer needs (sampler, seed, latent, tokens…).
`playground reproduce` and each panel's "Load PNG…" read it back through `read_png_recipe`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from .checkpoints import LoadedModel
from .images import RECIPE_KEY
RECIPE_VERSION = 1

_hash_cache: dict[tuple[str, int, int], str] = {}


def weights_sha256(path: str | Path) -> str:
    """The SHA-256 of a weights file (cached by path, size and modification time)."""
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _hash_cache:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _hash_cache[key] = digest.hexdigest()
    return _hash_cache[key]


def model_header(loaded: LoadedModel) -> dict[str, Any]:
    """The part of every recipe that names the model: what `reproduce` loads and checks."""
    return {
        "recipe_version": RECIPE_VERSION,
        "model": loaded.name,
        "family": loaded.family,
        "checkpoint": str(Path(loaded.path).resolve()),
        "weights_sha256": weights_sha256(loaded.path),
        "steps_trained": loaded.meta.steps,
    }


def read_png_recipe(path: str | Path) -> dict[str, Any]:
    """The recipe a playground PNG carries; ValueError naming the file and what is wrong."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a PNG file")
    try:
        with Image.open(path) as image:
            kind = image.format
            text = getattr(image, "text", {}).get(RECIPE_KEY)
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file (it does not start like a PNG, JPEG or other image)") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read as an image ({exc})") from None
    if kind != "PNG":
        raise ValueError(f"{path}: a {kind} image; only PNGs exported by playground carry a recipe")
    if not text:
        raise ValueError(f"{path}: this PNG carries no playground recipe (it was not exported by playground)")
    try:
        recipe = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: its recipe is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(recipe, dict):
        raise ValueError(f"{path}: its recipe must be a JSON object, found {type(recipe).__name__}")
    return recipe


def describe_recipe_source(recipe: dict[str, Any]) -> str:
    """A few words naming what made an image, for messages: 'a vae image (model vae-shapes)'."""
    family = recipe.get("family") or (recipe.get("grid_of") or {}).get("family")
    model = recipe.get("model") or (recipe.get("grid_of") or {}).get("model")
    if not family:
        return "an image whose recipe names no model family"
    return f"a {family} image" + (f" (model {model})" if model else "")


def checkpoint_differences(recipe: dict[str, Any], loaded: LoadedModel) -> list[str]:
    """What differs between the checkpoint a recipe names and the one loaded (empty: the same)."""
    differences = []
    if recipe.get("family") not in (None, loaded.family):
        differences.append(f"family: the recipe's is {recipe['family']}, the checkpoint's is {loaded.family}")
    expected = recipe.get("weights_sha256")
    if expected and expected != weights_sha256(loaded.path):
        differences.append(f"weights: {loaded.path} has changed since the image was made "
                           f"(SHA-256 {weights_sha256(loaded.path)[:12]}…, the recipe's {expected[:12]}…)")
    return differences
