"""The text-to-image panel's recipes: what its PNG exports carry, and reading one back for "Load PNG…".

Export: `provenance.picture_recipe` (the model header and what the picture is) with
`GuidedSettings.to_recipe`, plus the helper networks a run used; the sample adds its
upscale factor, the grid its scales and seeds. Reading accepts those, and the CLI's
`sample text2img` PNGs (a grid of samples restores its first sample).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ....core.checkpoints import LoadedModel
from ....core.provenance import HELPER_ROLES, checkpoint_differences, helper_header, picture_recipe
from ....core.text2img.clip_guidance import CLIP_ROLE
from ....core.text2img.denoiser import GuidanceModels, helper_families
from ....core.text2img.sampling import RECIPE_KIND, GuidedSettings
from .grid_tab import MAX_SEEDS, parse_scales

EXPORT_SCALE = 8
REQUIRED_KEYS = ("prompt", "guidance_scale", "sampler", "steps", "seed")
# what a text-guided run's PNG shows: this panel's exports, `playground sample`'s, the steps and attention tabs'
PICTURES = (None, "sample", "grid", "frame", "strip", "animation", "attention")


def guided_recipe(recipe: dict[str, Any]) -> bool:
    """Is this a text-guided run's recipe (this panel's, or `playground sample` with a prompt, even "")?
    The latent families are offered by the Diffusion tab too, which restores their unguided runs."""
    inner = recipe.get("grid_of")
    sources = [recipe] + ([inner] if isinstance(inner, dict) else [])
    return any(s.get("kind") == RECIPE_KIND or "prompt" in s or s.get("family") == "text2img" for s in sources)


def export_recipe(loaded: LoadedModel, settings: GuidedSettings, models: GuidanceModels, picture: str,
                  **extra: Any) -> dict[str, Any]:
    """The recipe of a picture the panel made with `settings` (`picture`: "sample" or "grid"); its family is
    the guided model's (text2img, or a latent denoiser's)."""
    recipe = picture_recipe(loaded, picture, **settings.to_recipe(loaded.name, loaded.family), **extra)
    helpers = helper_families(settings, grid=picture == "grid")
    for role, family in HELPER_ROLES.items():
        if family in helpers:
            recipe |= helper_header(role, models.get(family))
    if "clip" in helpers:
        recipe |= helper_header(CLIP_ROLE, models.get("clip"))
    return recipe


@dataclass(frozen=True)
class Restored:
    """What a recipe asks the panel to show: settings, and for a w x seed grid its scales and seed count."""

    settings: GuidedSettings
    grid_scales: list[float] | None = None
    grid_seeds: int = 0
    notes: list[str] = field(default_factory=list)


def read_recipe(recipe: dict[str, Any], loaded: LoadedModel) -> Restored:
    """A recipe's settings, checked against their ranges and the loaded model; ValueError naming what is wrong."""
    picture = recipe.get("picture", "grid" if "grid" in recipe else "sample")
    source, notes = recipe, []
    if picture == "grid" and "grid" not in recipe:
        source = recipe.get("grid_of")
        if not isinstance(source, dict):
            raise ValueError("the recipe is of a grid but does not say what the grid holds ('grid' or 'grid_of')")
        notes.append(f"it is a grid of {recipe.get('n', 'several')} samples: showing its first")
    elif picture not in ("sample", "grid"):
        notes.append(f"it shows a {picture}: restoring the run's settings")
    missing = [key for key in REQUIRED_KEYS if key not in source]
    if missing:
        raise ValueError(f"the recipe lacks {', '.join(missing)}: it does not say which image to render")
    settings = GuidedSettings.from_recipe(source, model=loaded.model)
    notes += checkpoint_differences(recipe, loaded)
    if recipe.get("model") not in (None, loaded.name):
        notes.append(f"it was made with {recipe['model']}, this renders with {loaded.name}")
    if picture != "grid" or "grid" not in recipe:
        return Restored(settings, notes=notes)
    grid = recipe["grid"]
    if not isinstance(grid, dict) or not isinstance(grid.get("scales"), list) or not isinstance(grid.get("seeds"), list) \
            or not 1 <= len(grid["seeds"]) <= MAX_SEEDS:
        raise ValueError(f"the recipe's grid must list its scales and 1 to {MAX_SEEDS} seeds, not {grid!r}")
    if grid["seeds"] != [settings.seed + r for r in range(len(grid["seeds"]))]:
        raise ValueError(f"the recipe's grid seeds must run on from its seed {settings.seed}, not {grid['seeds']!r}")
    scales = parse_scales(", ".join(str(w) for w in grid["scales"]), settings.base)
    return Restored(settings, scales, len(grid["seeds"]), notes)
