"""Where an image came from: the one recipe header every export carries, and reading it back.

Every PNG the app or the CLI writes carries a recipe (JSON in a PNG text chunk, see
`images.save_png`): the model header below (model, family, checkpoint and its weights'
SHA-256), a "picture" key naming what the image is ("decode", "sample", "frame", "strip",
"grid", "tokens"…) and whatever the family's renderer needs (sampler, seed, latent,
tokens…); `picture_recipe` builds it. `playground reproduce` and each panel's "Load PNG…"
read it back through `read_png_recipe`, and renderers read its values through
`RecipeFields`, which refuses a hand-edited value (missing, mistyped, NaN, out of range)
with one line naming the key.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from . import checks
from .assets import shipped_for
from .checkpoints import LoadedModel
from .device import model_device
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
    """The part of every recipe that names the model: what `reproduce` loads and checks.

    The device and torch's thread count are part of the computation too: `reproduce` runs with
    the same threads and says when it runs on another kind of device.
    """
    return {
        "recipe_version": RECIPE_VERSION,
        "model": loaded.name,
        "family": loaded.family,
        "checkpoint": str(Path(loaded.path).resolve()),
        "weights_sha256": weights_sha256(loaded.path),
        "steps_trained": loaded.meta.steps,
        "device": model_device(loaded.model).type,
        "torch_threads": torch.get_num_threads(),
    }


def helper_header(role: str, loaded: LoadedModel) -> dict[str, Any]:
    """A second network a picture needed (e.g. role "classifier", the noisy classifier that guided it):
    its checkpoint and weights' SHA-256, so `reproduce` finds it and notices when it changed."""
    return {role: str(Path(loaded.path).resolve()), f"{role}_sha256": weights_sha256(loaded.path)}


# The helper networks a picture may name beside its model: recipe key -> the family of that network.
HELPER_ROLES = {"classifier": "noisy-classifier", "base_model": "ddpm", "dit": "dit",
                "clip": "clip",  # the CLIP that reranked a dalle sample or steered VQGAN-CLIP
                "clip_model": "clip"}  # the CLIP that guided a diffusion run ("clip" there is x0 clipping)


def helper_checkpoint(recipe: dict[str, Any], role: str) -> Path:
    """The checkpoint of a helper network: the one the recipe names if it is there, else the shipped one."""
    named = recipe.get(role)
    if isinstance(named, str) and Path(named).is_file():
        return Path(named)
    shipped = shipped_for(HELPER_ROLES[role])
    if shipped is None:
        raise RecipeError(f"the recipe's {role} {named!r} is not there, and no {HELPER_ROLES[role]} checkpoint is shipped")
    return shipped.path


def picture_recipe(loaded: LoadedModel, picture: str, **settings: Any) -> dict[str, Any]:
    """A PNG's recipe: the model header, what the picture is, and the settings that made it."""
    return model_header(loaded) | {"picture": picture} | settings


def exact_floats(values: Any) -> list:
    """float32 values as JSON numbers that read back to the very same float32 (nested lists kept).

    A float32 widened to a Python float prints (repr) as the shortest decimal of that double,
    which parses back to it exactly, so a latent stored this way decodes to the same pixels;
    rounding to 6 decimals would not.
    """
    return np.asarray(values, np.float32).astype(np.float64).tolist()


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
        with open(path, "rb") as f:
            damaged = f.read(8) == b"\x89PNG\r\n\x1a\n"
        raise ValueError(f"{path}: a damaged PNG (truncated or corrupt)" if damaged else
                         f"{path}: not an image file (it does not start like a PNG, JPEG or other image)") from None
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


def recipe_family(recipe: dict[str, Any]) -> str | None:
    """The model family a recipe (or the sample inside a grid's recipe) names; None, never an
    exception, for a hand-edited recipe that names none."""
    return _recipe_name(recipe, "family")


def _recipe_name(recipe: dict[str, Any], key: str) -> str | None:
    inner = recipe.get("grid_of")
    value = recipe.get(key) or (inner.get(key) if isinstance(inner, dict) else None)
    return value if isinstance(value, str) and value else None


def describe_recipe_source(recipe: dict[str, Any]) -> str:
    """A few words naming what made an image, for messages: 'a vae image (model vae-shapes)'."""
    family, model = recipe_family(recipe), _recipe_name(recipe, "model")
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
        differences.append(f"weights: {loaded.path} holds other weights than the image was made with "
                           f"(SHA-256 {weights_sha256(loaded.path)[:12]}…, the recipe's {str(expected)[:12]}…)")
    return differences


class RecipeError(ValueError):
    """A recipe that cannot be rendered (hand-edited, or from another version); str() names the key."""


_REQUIRED = object()


class RecipeFields:
    """Typed, range-checked reads of a recipe: a hand-edited file may hold anything at any key.

    Every read returns a value of the promised type within its range, or raises a
    `RecipeError` naming the key, what it must be and what was found. `default` is returned
    only when the key is absent (or null); without one the key is required.
    """

    def __init__(self, recipe: Any, where: str = ""):
        if not isinstance(recipe, dict):
            raise RecipeError(f"{where or 'the recipe'} must be a JSON object, not {_show(recipe)}")
        self.recipe, self.where = recipe, where

    def has(self, key: str) -> bool:
        return self.recipe.get(key) is not None

    def _absent(self, key: str, default: Any, wanted: str) -> Any:
        if default is _REQUIRED:
            raise RecipeError(f"the recipe has no {self._name(key)} ({wanted})")
        return default

    def _checked(self, key: str, wanted: str, ok: Callable[[Any], bool]) -> Any:
        value = self.recipe[key]
        if not ok(value):
            raise RecipeError(f"the recipe's {self._name(key)} must be {wanted}, not {_show(value)}")
        return value

    def _name(self, key: str) -> str:
        return f"'{self.where}.{key}'" if self.where else f"'{key}'"

    def within(self, key: str, rule: checks.IntRange | checks.FloatRange, default: Any = _REQUIRED) -> Any:
        """A number in one of the app's ranges (`core.checks`: seeds, sample counts, eta…), as JSON
        wrote it (text such as "3" is a hand-edit, refused like NaN or a number out of range)."""
        if not self.has(key):
            return self._absent(key, default, rule.describe())
        value = self.recipe[key]
        if isinstance(value, (str, bool)):
            raise RecipeError(f"the recipe's {self._name(key)} must be {rule.describe()}, not {_show(value)}")
        try:
            return rule.check(value, f"the recipe's {self._name(key)}")
        except checks.RangeError as exc:
            raise RecipeError(str(exc)) from None

    def integer(self, key: str, lo: int, hi: int, default: Any = _REQUIRED) -> int:
        return self.within(key, checks.IntRange(lo, hi), default)

    def number(self, key: str, lo: float = -math.inf, hi: float = math.inf, default: Any = _REQUIRED) -> float:
        return self.within(key, checks.FloatRange(lo, hi), default)

    def flag(self, key: str, default: Any = _REQUIRED) -> bool:
        if not self.has(key):
            return self._absent(key, default, "true or false")
        return self._checked(key, "true or false", lambda v: isinstance(v, bool))

    def choice(self, key: str, choices: Sequence[str], default: Any = _REQUIRED) -> str:
        wanted = "one of " + ", ".join(repr(c) for c in choices)
        if not self.has(key):
            return self._absent(key, default, wanted)
        return self._checked(key, wanted, lambda v: isinstance(v, str) and v in choices)

    def text(self, key: str, default: Any = _REQUIRED) -> str:
        if not self.has(key):
            return self._absent(key, default, "a string")
        return self._checked(key, "a string", lambda v: isinstance(v, str))

    def names(self, key: str, allowed: Sequence[str], default: Any = _REQUIRED) -> list[str]:
        """A non-empty list of distinct names, each one of `allowed`."""
        wanted = "a list of distinct names from " + ", ".join(repr(a) for a in allowed)
        if not self.has(key):
            return self._absent(key, default, wanted)
        return list(self._checked(key, wanted, lambda v: isinstance(v, list) and 0 < len(v) == len(set(map(str, v)))
                                  and all(isinstance(a, str) and a in allowed for a in v)))

    def integers(self, key: str, lo: int, hi: int, default: Any = _REQUIRED) -> list[int]:
        """A non-empty list of integers within [lo, hi]."""
        wanted = f"a list of integers from {lo} to {hi}"
        if not self.has(key):
            return self._absent(key, default, wanted)
        value = self._checked(key, wanted, lambda v: isinstance(v, list) and len(v) > 0
                              and all(_is_int(i) and lo <= i <= hi for i in v))
        return [int(v) for v in value]

    def numbers(self, key: str, shape: tuple[int, ...], lo: float = -1e6, hi: float = 1e6) -> np.ndarray:
        """A (nested) list of finite numbers of exactly `shape` within [lo, hi], as float32 (required)."""
        wanted = f"{_describe_shape(shape)} numbers from {lo:g} to {hi:g}"
        if not self.has(key):
            return self._absent(key, _REQUIRED, wanted)
        value = self._checked(key, wanted, lambda v: _has_shape(v, shape, lambda x: _is_number(x) and lo <= x <= hi))
        return np.asarray(value, np.float64).astype(np.float32)

    def int_grid(self, key: str, shape: tuple[int, ...], lo: int, hi: int) -> np.ndarray:
        """A (nested) list of integers of exactly `shape` within [lo, hi], as int64 (required)."""
        wanted = f"{_describe_shape(shape)} integers from {lo} to {hi}"
        if not self.has(key):
            return self._absent(key, _REQUIRED, wanted)
        array = np.asarray(self._checked(key, wanted, lambda v: _has_shape(v, shape, _is_int)), np.int64)
        outside = np.argwhere((array < lo) | (array > hi))
        if len(outside):
            at = tuple(int(i) for i in outside[0])
            raise RecipeError(f"the recipe's {self._name(key)} must be {wanted}; it holds {int(array[at])} "
                              f"at position {list(at)}")
        return array

    def mapping(self, key: str) -> "RecipeFields":
        if not self.has(key):
            return self._absent(key, _REQUIRED, "a JSON object")
        return RecipeFields(self._checked(key, "a JSON object", lambda v: isinstance(v, dict)),
                            f"{self.where}.{key}" if self.where else key)

    def batch_member(self) -> tuple[int, int]:
        """(n, index): the image was image `index` of a batch of n (the CLI samples in batches);
        (1, 0) for a picture rendered alone. Re-rendering the same batch gives the same pixels."""
        if not self.has("n") and not self.has("index"):
            return 1, 0
        n = self.within("n", checks.sample_count, default=1)
        return n, self.integer("index", 0, n - 1, default=0)

    def seed(self, key: str = "seed", count: int = 1) -> int:
        """A seed whose `count` consecutive seeds (image i uses seed + i) are all seeds."""
        return checks.check_seed_span(self.within(key, checks.seed), count, f"the recipe's {self._name(key)}")

    def scale(self, default: Any = _REQUIRED) -> int:
        return self.within("scale", checks.upscale, default)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond any float
        return False


def _has_shape(value: Any, shape: tuple[int, ...], is_leaf) -> bool:
    if not shape:
        return is_leaf(value)
    return isinstance(value, list) and len(value) == shape[0] and all(_has_shape(v, shape[1:], is_leaf) for v in value)


def _describe_shape(shape: tuple[int, ...]) -> str:
    return f"a list of {shape[0]}" if len(shape) == 1 else "a " + "x".join(str(s) for s in shape) + " grid of"


def _show(value: Any) -> str:
    try:
        text = json.dumps(value)  # NaN and infinities print as NaN / Infinity, as they were typed
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
