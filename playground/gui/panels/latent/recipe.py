"""The latent panel's recipe: what its PNG exports carry and what "Load PNG…" takes back.

An export's recipe is `provenance.model_header(loaded)` plus
`{"picture": "decode", "latent": [floats], "seed": int | None, "scale": 8}`: the picture is
`decode(latent)` upscaled `scale` times (what `playground reproduce` renders), and `seed` is
the seed whose prior draw the latent is (None once the latent came from anywhere else).
The latent is stored as exact float32 values, so a restored z decodes to the same pixels.

PNGs written by `playground sample vae|ae|gan --out-dir` (sample `index` of a batch of `n`
drawn from `seed`: the prior draw of seed + index) and by `playground encode vae|ae` carry a
latent too. A recipe may be hand-edited: every field is read through `RecipeFields`, whose
one-line messages name the key and its range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ....core import checks
from ....core.checkpoints import LoadedModel
from ....core.latent.sampling import prior_latents
from ....core.provenance import RecipeError, RecipeFields, checkpoint_differences, exact_floats, picture_recipe

SEED_MAX = checks.SEED_MAX
EXPORT_SCALE = 8


def check_seed(value: Any, name: str = "seed") -> int:
    """A seed as an int (typed text included), or a RangeError naming the allowed range."""
    return checks.seed.check(value, name)


def seed_latent(latent_dim: int, seed: int) -> np.ndarray:
    """The prior draw z ~ N(0, I) of a seed (the same on every device)."""
    return prior_latents(latent_dim, 1, seed)[0].numpy()


def seed_source(seed: int) -> str:
    """Words for a seed's draw, as the panel shows them under the image."""
    return f"the prior draw of seed {seed}, z ~ N(0, I)"


def export_recipe(loaded: LoadedModel, z: np.ndarray, seed: int | None) -> dict[str, Any]:
    return picture_recipe(loaded, "decode", latent=exact_floats(z), seed=seed, scale=EXPORT_SCALE)


@dataclass
class RestoredLatent:
    z: np.ndarray
    seed: int | None  # the seed whose prior draw z is; None when it is not a seed's draw
    notes: list[str] = field(default_factory=list)  # differences to say in the status bar


def latent_from_recipe(recipe: dict[str, Any], loaded: LoadedModel, source: str = "the recipe") -> RestoredLatent:
    """The latent (and seed) a recipe describes for the loaded model; ValueError with a message
    beginning with `source` when the recipe cannot be used with it."""
    try:
        return _read(RecipeFields(recipe), recipe, loaded)
    except ValueError as exc:  # RecipeError and checks.RangeError: one line naming the key and range
        raise ValueError(f"{source}: {exc}") from None


def _read(fields: RecipeFields, recipe: dict[str, Any], loaded: LoadedModel) -> RestoredLatent:
    if fields.has("grid_of"):
        raise RecipeError(f"it is a grid of {recipe.get('n', 'several')} samples with no single latent; "
                          "restore one sample's PNG (playground sample … --out-dir)")
    if not fields.has("latent"):
        raise RecipeError(f"its recipe holds no single latent (its picture: {recipe.get('picture', 'not named')})")
    latent_dim, latent = loaded.model.latent_dim, recipe["latent"]
    if isinstance(latent, list) and len(latent) != latent_dim:
        raise RecipeError(f"its latent has {len(latent)} numbers but {loaded.name} takes {latent_dim}: it was made "
                          f"with {recipe.get('model') or 'another model'}; open that model, then load the PNG again")
    z = fields.numbers("latent", (latent_dim,))
    if fields.has("scale"):
        fields.scale()

    notes = []
    if recipe.get("model") and recipe["model"] != loaded.name:
        notes.append(f"it was made with {recipe['model']}, decoded here with {loaded.name}")
    else:
        notes += checkpoint_differences(recipe, loaded)
    seed = None
    if fields.has("seed"):
        n, index = fields.batch_member()
        seed = fields.seed(count=n) + index  # sample i of `sample --seed s` is the prior draw of seed s + i
        temperature = fields.within("temperature", checks.temperature, default=1.0)
        if temperature != 1.0 or not np.allclose(seed_latent(latent_dim, seed), z, atol=1e-6, rtol=0):
            notes.append(f"its latent is not the prior draw of seed {seed} (edited, or drawn at another "
                         "temperature): the latent is used")
            seed = None
    return RestoredLatent(seed_latent(latent_dim, seed) if seed is not None else z, seed, notes)
