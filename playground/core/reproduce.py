"""`playground reproduce`: draw a PNG again from the recipe it carries, and say what differs.

A recipe names its model family; the family's renderer (`core/<family>/render.py`,
`render(recipe, loaded) -> image`) draws the picture its "picture" key names. A new
family registers its renderer with one line in `RENDERERS`.

The checkpoint is the one the recipe names; when that file is gone, the shipped
checkpoint of the same name stands in, and the differences say so, as they say when the
weights' SHA-256 is not the recipe's. On the machine that made the image, the same
checkpoint gives the same pixels: every renderer repeats the computation that made them
(the same batch, the same seeds, the same kernels).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image

from . import checks
from .assets import shipped_named
from .backends import recipe_backend
from .checkpoints import LoadedModel, load_checkpoint
from .clip import render as clip_render
from .codebook import render as codebook_render
from .device import model_device
from .diffusion import render as diffusion_render
from .img2img import render as img2img_render
from .latent import render as latent_render
from .latent_diffusion import comparison_render, render as latent_diffusion_render
from .provenance import (
    HELPER_ROLES, RECIPE_VERSION, RecipeError, RecipeFields, checkpoint_differences, helper_checkpoint, model_header,
    read_png_recipe, weights_sha256,
)
from .text2img import render as text2img_render
from .tokens import render as tokens_render
from .vqgan_clip import render as vqgan_clip_render

Renderer = Callable[[dict[str, Any], LoadedModel], np.ndarray]

RENDERERS: dict[str, Renderer] = {
    "vae": latent_render.render,
    "ae": latent_render.render,
    "gan": latent_render.render,
    "ddpm": diffusion_render.render,
    "text2img": text2img_render.render,
    "vqvae": codebook_render.render,
    "vqgan": codebook_render.render,  # a VQGAN's token pictures are a VQ-VAE's
    "ldm": latent_diffusion_render.render,
    "dit": latent_diffusion_render.render,
    "sit": latent_diffusion_render.render,
    "dalle": tokens_render.render,
    "clip": clip_render.render,
}

# pictures drawn the same way for every family that makes them: picture -> renderer, one line each
PICTURE_RENDERERS: dict[str, Renderer] = {picture: img2img_render.render for picture in img2img_render.PICTURES}
PICTURE_RENDERERS["flow-compare"] = comparison_render.render_flow_compare
PICTURE_RENDERERS[vqgan_clip_render.PICTURE] = vqgan_clip_render.render


def reproduce(png_path: str | Path, device: torch.device | str = "cpu") -> tuple[np.ndarray, dict[str, Any], list[str]]:
    """Re-render a playground PNG from its recipe.

    Returns the image (H, W, 3) uint8, the recipe that re-creates it (the original one with
    the header of the checkpoint actually used) and what differs from the original's making
    (empty: nothing). Raises ValueError, naming the file, for a PNG without a recipe or a
    recipe that cannot be rendered (hand-edited: a key missing, mistyped, NaN or out of range).
    """
    path = Path(png_path)
    recipe = read_png_recipe(path)
    try:
        return render_recipe(recipe, device)
    except ValueError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def render_recipe(recipe: dict[str, Any], device: torch.device | str = "cpu",
                  loaded: LoadedModel | None = None) -> tuple[np.ndarray, dict[str, Any], list[str]]:
    """Draw the picture a recipe describes (a PNG's, a lesson scene's); as `reproduce` returns.

    `loaded`: the model to draw with (a caller that keeps models open); None: the checkpoint
    the recipe names, else the shipped one of the same name. ValueError (RecipeError) in
    one line when the recipe cannot be rendered.
    """
    try:
        fields = RecipeFields(recipe)
        fields.integer("recipe_version", 1, RECIPE_VERSION, default=RECIPE_VERSION)
        family = fields.choice("family", tuple(RENDERERS))
        threads = fields.within("torch_threads", checks.threads, default=torch.get_num_threads())
        if loaded is None:
            loaded, differences = _load_model(recipe, family, device)
        else:
            differences = checkpoint_differences({k: v for k, v in recipe.items() if k != "family"}, loaded)
        differences += _helper_differences(recipe)
        loaded, backend_differences = recipe_backend(recipe, loaded)  # the backend that made it ("backend")
        differences += backend_differences
        if fields.has("device") and recipe["device"] != model_device(loaded.model).type:
            differences.append(f"device: the image was made on {recipe['device']}, re-rendered on "
                               f"{model_device(loaded.model).type}")
        with torch_threads(threads):
            image = PICTURE_RENDERERS.get(recipe.get("picture"), RENDERERS[family])(recipe, loaded)
            header = model_header(loaded)
    except (TypeError, IndexError, KeyError, OverflowError) as exc:  # a shape of recipe no check foresaw
        raise RecipeError(f"its recipe cannot be rendered ({type(exc).__name__}: {exc})") from None
    return image, recipe | header, differences


def load_recipe_model(recipe: dict[str, Any], device: torch.device | str = "cpu") -> tuple[LoadedModel, list[str]]:
    """The model a recipe names (its checkpoint, else the shipped one of its name) and what differs."""
    family = RecipeFields(recipe).choice("family", tuple(RENDERERS))
    return _load_model(recipe, family, device)


@contextmanager
def torch_threads(count: int):
    """Run with torch using `count` CPU threads (some kernels sum in an order that depends on it)."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _load_model(recipe: dict[str, Any], family: str, device: torch.device | str) -> tuple[LoadedModel, list[str]]:
    """The checkpoint the recipe names, else the shipped one of the same name; and what differs."""
    differences = []
    named, model = recipe.get("checkpoint"), recipe.get("model")
    path = Path(named) if isinstance(named, str) and named else None
    if path is None or not path.is_file():
        shipped = shipped_named(model) if isinstance(model, str) and model else None
        if shipped is None:
            raise RecipeError(f"its checkpoint {named!r} is not there, and no shipped checkpoint is called {model!r}")
        differences.append(f"checkpoint: {named} is not there; used the shipped {shipped.name} ({shipped.path})")
        path = shipped.path
    loaded = load_checkpoint(path, device)
    if RENDERERS.get(loaded.family) is not RENDERERS[family]:
        raise RecipeError(f"the recipe is for a {family} model, but {path} holds a {loaded.family}")
    differences += checkpoint_differences({k: v for k, v in recipe.items() if k != "family"}, loaded)
    return loaded, differences


def _helper_differences(recipe: dict[str, Any]) -> list[str]:
    """The helper networks (e.g. the noisy classifier that guided a run) that are gone or changed."""
    differences = []
    parts = [recipe] + ([recipe["grid_of"]] if isinstance(recipe.get("grid_of"), dict) else [])
    for part in parts:
        for role in HELPER_ROLES:
            named = part.get(role)
            if not isinstance(named, str):
                continue
            path = helper_checkpoint(part, role)
            if not Path(named).is_file():
                differences.append(f"{role}: {named} is not there; used the shipped {path}")
            expected = part.get(f"{role}_sha256")
            if isinstance(expected, str) and expected != weights_sha256(path):
                differences.append(f"{role}: the weights of {path} are not the ones the image was made with "
                                   f"(SHA-256 {weights_sha256(path)[:12]}…, the recipe's {expected[:12]}…)")
    return list(dict.fromkeys(differences))  # a grid's sample recipe may repeat its header's helpers


def read_pixels(path: str | Path) -> np.ndarray:
    """A PNG's pixels as (H, W, 3) uint8; ValueError naming the file when they cannot be read."""
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"), np.uint8).copy()
    except OSError as exc:
        raise ValueError(f"{path}: its pixels cannot be read ({exc})") from None


def differing_pixels(original: np.ndarray, again: np.ndarray) -> int:
    """How many pixels (positions, any channel) differ; all of them when the sizes differ."""
    if original.shape != again.shape:
        return original.shape[0] * original.shape[1]
    return int((original != again).any(axis=-1).sum())
