"""An image-to-image PNG drawn again from its recipe (`playground reproduce`), for every diffusion family.

The recipe holds the run's `GuidedSettings` keys (read back with `GuidedSettings.from_recipe`
against the model), its `strength`, and where the input came from: a file (`image` and
its SHA-256 `image_sha256`: that file must still be there, unchanged) or the data gallery
(`image_index`). Pictures: "img2img" (the result, upscaled by `scale`) and "round-trip"
(`invert --round-trip`: the input beside the inversion's round trip).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import checks
from ..checkpoints import LoadedModel
from ..data import gallery_images, load_image_file
from ..images import make_grid, upscale
from ..provenance import RecipeError, RecipeFields, weights_sha256
from ..text2img.sampling import GuidedSettings
from .img2img import img2img, strength_range
from .inversion import invert

PICTURES: tuple[str, ...] = ("img2img", "round-trip")
GALLERY_SIZE = 96  # the data gallery's images (core.data.gallery_images), which `image_index` counts


def input_image(fields: RecipeFields, size: int) -> np.ndarray:
    """The recipe's input image (H, W, 3) uint8: its file, checked unchanged, or its gallery image."""
    if fields.has("image"):
        path = Path(fields.text("image"))
        if not path.is_file():
            raise RecipeError(f"its input image {path} is not there (the run started from that image)")
        expected = fields.text("image_sha256", default=None)
        if expected is not None and expected != weights_sha256(path):
            raise RecipeError(f"its input image {path} is not the file the picture was made from (SHA-256 "
                              f"{weights_sha256(path)[:12]}…, the recipe's {expected[:12]}…)")
        return load_image_file(path, size)
    index = fields.integer("image_index", 0, GALLERY_SIZE - 1)
    return gallery_images("shapes", GALLERY_SIZE).images[index]


def render(recipe: dict, loaded: LoadedModel) -> np.ndarray:
    fields = RecipeFields(recipe)
    picture = fields.choice("picture", PICTURES)
    try:
        settings = GuidedSettings.from_recipe(recipe, model=loaded.model)
    except ValueError as exc:
        raise RecipeError(f"the recipe's settings: {exc}") from None
    image = input_image(fields, int(loaded.model.config.image_size))
    scale = fields.within("scale", checks.upscale, default=1)
    if picture == "img2img":
        strength = fields.within("strength", strength_range)
        return upscale(img2img(loaded.model, image[None], settings, strength).output[0], scale)
    result = invert(loaded.model, image, settings)
    return upscale(make_grid(np.concatenate([result.input, result.reconstruction])), scale)
