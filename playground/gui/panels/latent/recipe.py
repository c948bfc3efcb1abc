"""The latent panel's recipe: what its PNG exports carry and what "Load PNG…" takes back.

An export's recipe is `provenance.model_header(loaded)` plus
`{"picture": "decode", "latent": [floats], "seed": int | None, "scale": 8}`: the picture is
`decode(latent)` upscaled `scale` times (what `playground reproduce` renders), and `seed` is
the seed whose prior draw the latent is (None once the latent came from anywhere else).

PNGs written by `playground sample vae|ae|gan --out-dir` (a seed, an index and a temperature
beside the latent) and by `playground encode vae|ae` (the encoding's latent) restore too.
Everything here is checked, because a recipe can be hand-edited: a message says what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ....core.checkpoints import LoadedModel
from ....core.latent.sampling import prior_latents
from ....core.provenance import checkpoint_differences, model_header

SEED_MAX = 2**31 - 1
EXPORT_SCALE = 8
MAX_SCALE = 64
MAX_ABS_LATENT = 1000.0  # prior draws lie within about ±6, encodings within tens: beyond this is a typo
SEED_RANGE = f"a whole number from 0 to {SEED_MAX}"


def check_seed(value: Any, what: str = "seed") -> int:
    """A seed as an int, or ValueError naming the allowed range (bools and floats are not seeds)."""
    if isinstance(value, str):
        text = value.strip()
        if not text.isdigit():
            raise ValueError(f"{what} must be {SEED_RANGE}, not {value.strip()!r}")
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= int(value) <= SEED_MAX:
        raise ValueError(f"{what} must be {SEED_RANGE}, not {value!r}")
    return int(value)


def seed_latent(latent_dim: int, seed: int) -> np.ndarray:
    """The prior draw z ~ N(0, I) of a seed (the same on every device)."""
    return prior_latents(latent_dim, 1, seed)[0].numpy()


def seed_source(seed: int) -> str:
    """Words for a seed's draw, as the panel shows them under the image."""
    return f"the prior draw of seed {seed}, z ~ N(0, I)"


def export_recipe(loaded: LoadedModel, z: np.ndarray, seed: int | None) -> dict[str, Any]:
    return model_header(loaded) | {
        "picture": "decode",
        "latent": [round(float(v), 6) for v in z],
        "seed": seed,
        "scale": EXPORT_SCALE,
    }


@dataclass
class RestoredLatent:
    z: np.ndarray
    seed: int | None  # the seed whose prior draw z is; None when it is not a seed's draw
    notes: list[str] = field(default_factory=list)  # differences to say in the status bar


def latent_from_recipe(recipe: dict[str, Any], loaded: LoadedModel, source: str = "the recipe") -> RestoredLatent:
    """The latent (and seed) a recipe describes for the loaded model; ValueError with a message
    beginning with `source` when the recipe cannot be used with it."""
    def refuse(why: str) -> ValueError:
        return ValueError(f"{source}: {why}")

    if isinstance(recipe.get("grid_of"), dict):
        raise refuse(f"it is a grid of {recipe.get('n', 'several')} samples with no single latent; "
                     "restore one sample's PNG (playground sample … --out-dir)")
    latent = recipe.get("latent")
    if latent is None:
        raise refuse(f"its recipe holds no latent (picture: {recipe.get('picture', 'not named')})")
    if not isinstance(latent, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in latent):
        raise refuse("its latent must be a list of numbers")
    made_with = recipe.get("model") or "another model"
    latent_dim = loaded.model.latent_dim
    if len(latent) != latent_dim:
        raise refuse(f"its latent has {len(latent)} numbers but {loaded.name} takes {latent_dim}: it was made "
                     f"with {made_with}; open that model, then load the PNG again")
    z = np.asarray(latent, np.float64)
    if not np.isfinite(z).all():
        raise refuse("its latent holds NaN or infinite values")
    if np.abs(z).max() > MAX_ABS_LATENT:
        raise refuse(f"its latent has a value of {np.abs(z).max():.3g}, outside ±{MAX_ABS_LATENT:g} "
                     "(a prior draw lies within about ±6)")
    scale = recipe.get("scale")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= MAX_SCALE):
        raise refuse(f"its scale must be a whole number from 1 to {MAX_SCALE}, not {scale!r}")
    z = z.astype(np.float32)

    notes = []
    if recipe.get("model") and recipe["model"] != loaded.name:
        notes.append(f"it was made with {recipe['model']}, decoded here with {loaded.name}")
    else:
        notes += checkpoint_differences(recipe, loaded)
    seed = None
    if recipe.get("seed") is not None:
        seed = _seed_of(recipe, z, latent_dim, source)
        if seed is None:
            notes.append(f"its latent is not the prior draw of seed {recipe['seed']} (edited): the latent is used")
    return RestoredLatent(seed_latent(latent_dim, seed) if seed is not None else z, seed, notes)


def _seed_of(recipe: dict[str, Any], z: np.ndarray, latent_dim: int, source: str) -> int | None:
    """The seed whose prior draw `z` is: the recipe's seed (sample i of `sample --seed s` is seed
    s + i), checked against the latent; None if the latent is not that draw."""
    try:
        seed = check_seed(recipe["seed"], "its seed")
        index = check_seed(recipe.get("index", 0), "its sample index")
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None
    temperature = recipe.get("temperature", 1.0)
    if seed + index > SEED_MAX or temperature != 1.0:
        return None
    # the recipe rounds to 6 decimals: a match within 1e-5 is the draw itself (kept exact, not rounded)
    drawn = seed_latent(latent_dim, seed + index)
    return seed + index if np.allclose(drawn, z, atol=1e-5, rtol=0) else None
