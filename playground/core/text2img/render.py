"""The pictures a text-to-image model exports, drawn again from their recipes (`playground reproduce`).

Every recipe holds the `GuidedSettings` keys (`GuidedSettings.to_recipe`), read back with
`GuidedSettings.from_recipe`, which refuses a hand-edited value naming it. Pictures:

- "sample": one guided image (image `index` of a batch of `n` when the CLI sampled a batch; from
  the `init_noise` file it names, checked unchanged: `diffusion/init_noise.py`);
- "grid": with "grid" {axis, scales, seeds}, the app's table of one seed at several
  scales (`guidance_grid_picture`); with "grid_of", the CLI's n samples tiled;
- "frame" / "strip": steps of the guided run, as the diffusion renderer draws them;
- "evaluation-samples": a row of samples per prompt at one w (`playground eval text2img`).

The helper networks (the noisy classifier, the unconditional DDPM of `base="ddpm"`, the CLIP of
CLIP guidance) are the ones the recipe names, else the shipped ones (`provenance.helper_checkpoint`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .. import checks
from ..checkpoints import LoadedModel
from ..data import to_uint8
from ..data.shapes import parse_prompt
from ..device import model_device
from ..diffusion.init_noise import recipe_init_noise
from ..diffusion.render import Run, check_image_seed, trajectory_picture
from ..images import labelled_grid, make_grid, upscale
from ..provenance import HELPER_ROLES, RecipeError, RecipeFields, helper_checkpoint
from .clip_guidance import CLIP_ROLE
from .denoiser import GuidanceModels, make_denoiser
from .evaluation import sample_prompts
from .sampling import GRID_MAX_SCALES, GuidedSettings, generate, grid_steps, image_shape

GRID_SCALE = 3          # the guidance grid's upscaling, in the app and in its export
EVALUATION_SCALE = 2    # the evaluation's sample rows
EVALUATION_COLUMNS = 8  # samples shown per prompt


def guidance_grid_picture(x: torch.Tensor, scales: Sequence[float], seeds: Sequence[int], axis: str,
                          scale: int = GRID_SCALE) -> np.ndarray:
    """A seeds x scales batch (image r * len(scales) + c) as a labelled table: scales across, seeds down."""
    images = to_uint8(x).reshape(len(seeds), len(scales), *x.shape[2:], 3)
    return labelled_grid(images, [f"{axis} = {w:g}" for w in scales], [f"seed {s}" for s in seeds], scale=scale)


def evaluation_samples_picture(images: np.ndarray, scale: int = EVALUATION_SCALE) -> np.ndarray:
    """(prompts, n, H, W, 3) samples as one row per prompt (at most 8 a row)."""
    rows = images[:, :min(images.shape[1], EVALUATION_COLUMNS)]
    return upscale(make_grid(rows.reshape(-1, *rows.shape[2:]), columns=rows.shape[1]), scale)


# --- re-rendering from a recipe ----------------------------------------------------------------------


def _settings(fields: RecipeFields, loaded: LoadedModel) -> GuidedSettings:
    try:
        return GuidedSettings.from_recipe(fields.recipe, model=loaded.model)  # the model reads its prompt (free text?)
    except ValueError as exc:
        raise RecipeError(f"the recipe's settings: {exc}") from None


def _networks(fields: RecipeFields, loaded: LoadedModel, settings: GuidedSettings,
              grid: bool = False) -> tuple[torch.nn.Module, torch.nn.Module | None, torch.nn.Module | None]:
    """(the network guided, the noisy classifier or None, the CLIP or None): the ones the recipe names,
    else the shipped ones."""
    roles = {family: role for role, family in HELPER_ROLES.items()}

    def find(family: str):
        role = CLIP_ROLE if family == "clip" else roles[family]
        return helper_checkpoint(fields.recipe, role)

    models = GuidanceModels(model_device(loaded.model), find=find)
    return *models.networks(loaded.model, settings, grid=grid), models.clip(settings)


def _sample(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    settings = _settings(fields, loaded)
    n, index = fields.batch_member()
    fields.seed(count=n)
    check_image_seed(fields, index)
    base, classifier, clip = _networks(fields, loaded, settings)
    x_T = recipe_init_noise(fields, image_shape(base), n)
    return upscale(generate(base, settings, n, classifier, x_T=x_T, clip=clip)[index], fields.scale(default=1))


def _grid(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    if fields.has("grid_of"):  # the CLI's n samples, tiled
        inner, n = fields.mapping("grid_of"), fields.within("n", checks.sample_count)
        settings = _settings(inner, loaded)
        base, classifier, clip = _networks(inner, loaded, settings)
        x_T = recipe_init_noise(inner, image_shape(base), n)
        return upscale(make_grid(generate(base, settings, n, classifier, x_T=x_T, clip=clip)), fields.scale())
    settings = _settings(fields, loaded)
    grid = fields.mapping("grid")
    axis = grid.choice("axis", ("s",) if settings.base == "ddpm" else ("w",))
    scales = _scales(grid)
    seeds = grid.integers("seeds", 0, checks.SEED_MAX)
    base, classifier, clip = _networks(fields, loaded, settings, grid=True)
    last = None
    for last in grid_steps(base, settings, scales, seeds, classifier, clip):
        pass
    return guidance_grid_picture(last.x_prev, scales, seeds, axis, fields.scale(default=GRID_SCALE))


def _scales(grid: RecipeFields) -> list[float]:
    """The grid's scales (each checked against its range by `grid_steps`)."""
    value = grid.recipe.get("scales")
    count = len(value) if isinstance(value, list) and 1 <= len(value) <= GRID_MAX_SCALES else GRID_MAX_SCALES
    return [float(w) for w in grid.numbers("scales", (count,))]


def _steps(fields: RecipeFields, loaded: LoadedModel, picture: str) -> np.ndarray:
    settings = _settings(fields, loaded)
    base, classifier, clip = _networks(fields, loaded, settings)
    run = Run(make_denoiser(base, settings, classifier, clip=clip), base.noise_schedule, image_shape(base), model_device(base),
              guided=True)
    return trajectory_picture(fields, run, picture, loaded.path)


def evaluation_rows(fields: RecipeFields) -> list[str]:
    """The prompts (one row each) of an evaluation-samples recipe, each checked against the shapes language."""
    prompts = fields.recipe.get("rows")
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise RecipeError(f"the recipe's 'rows' must be a list of prompts, not {prompts!r}")
    for prompt in prompts:
        try:
            parse_prompt(prompt)
        except ValueError as exc:
            raise RecipeError(f"the recipe's 'rows': {exc}") from None
    return prompts


def _evaluation_samples(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    settings = _settings(fields, loaded)
    prompts = evaluation_rows(fields)
    n = fields.within("n", checks.sample_count)
    if settings.clip_scale > 0:
        raise RecipeError("`playground eval text2img` runs without CLIP guidance; this recipe's clip_scale is not 0")
    _, classifier, _ = _networks(fields, loaded, settings)
    images = sample_prompts(loaded.model, prompts, settings.guidance_scale, n, settings,
                            batch_size=fields.within("batch_size", checks.batch_size), noisy_classifier=classifier)
    return evaluation_samples_picture(images, fields.scale(default=EVALUATION_SCALE))


def render(recipe: dict, loaded: LoadedModel) -> np.ndarray:
    """The picture a text-to-image recipe describes, (H, W, 3) uint8."""
    fields = RecipeFields(recipe)
    if recipe.get("picture") == "evaluation-chart":
        raise RecipeError("this chart plots the numbers of a whole `playground eval text2img` run; run that command "
                          "again with the settings in its recipe to draw it again")
    picture = fields.choice("picture", ("sample", "grid", "frame", "strip", "evaluation-samples"))
    if picture == "sample":
        return _sample(fields, loaded)
    if picture == "grid":
        return _grid(fields, loaded)
    if picture == "evaluation-samples":
        return _evaluation_samples(fields, loaded)
    return _steps(fields, loaded, picture)
