"""The pictures a latent denoiser (ldm, dit, sit) exports, drawn again from their recipes (`playground reproduce`).

A recipe holds the `GuidedSettings` keys (read back with `GuidedSettings.from_recipe`
against the model, so a sampler that does not fit it is refused), and, for a run that
started from a given x_T, the noise file and its SHA-256 (`init_noise`,
`init_noise_sha256`): that file must still be there, unchanged. Pictures:

- "sample": one image (image `index` of a batch of `n`: the batch is sampled again);
- "grid": with "grid_of", the CLI's n samples tiled; with "grid" {axis, scales, seeds},
  the app's table of one seed at several guidance scales;
- "frame" / "strip": steps of the guided run, as the diffusion renderer draws them
  (`diffusion.render.trajectory_picture`);
- "evaluation-samples": a row of samples per prompt at one w (`playground eval text2img`);
- "attention": the attention maps of one step (`attention_picture.render_attention`).
"""

from __future__ import annotations

import numpy as np

from .. import checks
from ..checkpoints import LoadedModel
from ..device import model_device
from ..diffusion.init_noise import recipe_init_noise
from ..diffusion.render import Run, check_image_seed, trajectory_picture
from ..images import make_grid, upscale
from ..provenance import RecipeError, RecipeFields
from ..text2img.denoiser import make_denoiser
from ..text2img.evaluation import sample_prompts
from ..text2img.render import EVALUATION_SCALE, GRID_SCALE, _scales, evaluation_rows, evaluation_samples_picture, guidance_grid_picture
from ..text2img.sampling import GuidedSettings, generate, grid_steps, image_shape, pixels
from .attention_picture import render_attention


def _settings(fields: RecipeFields, loaded: LoadedModel) -> GuidedSettings:
    try:
        return GuidedSettings.from_recipe(fields.recipe, model=loaded.model).for_model(loaded.model)
    except ValueError as exc:
        raise RecipeError(f"the recipe's settings: {exc}") from None


def _generate(fields: RecipeFields, loaded: LoadedModel, n: int) -> np.ndarray:
    settings = _settings(fields, loaded)
    fields.seed(count=n)
    return generate(loaded.model, settings, n, x_T=recipe_init_noise(fields, tuple(loaded.model.config.latent_shape), n))


def _guidance_grid(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    settings = _settings(fields, loaded)
    grid = fields.mapping("grid")
    axis = grid.choice("axis", ("w",))
    scales, seeds = _scales(grid), grid.integers("seeds", 0, checks.SEED_MAX)
    last = None
    for last in grid_steps(loaded.model, settings, scales, seeds):
        pass
    return guidance_grid_picture(pixels(loaded.model, last.x_prev), scales, seeds, axis, fields.scale(default=GRID_SCALE))


def _steps(fields: RecipeFields, loaded: LoadedModel, picture: str) -> np.ndarray:
    model = loaded.model
    run = Run(make_denoiser(model, _settings(fields, loaded)), model.noise_schedule, image_shape(model),
              model_device(model), guided=True)
    return trajectory_picture(fields, run, picture)


def _evaluation_samples(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    settings = _settings(fields, loaded)
    prompts = evaluation_rows(fields)
    images = sample_prompts(loaded.model, prompts, settings.guidance_scale, fields.within("n", checks.sample_count),
                            settings, batch_size=fields.within("batch_size", checks.batch_size))
    return evaluation_samples_picture(images, fields.scale(default=EVALUATION_SCALE))


def render(recipe: dict, loaded: LoadedModel) -> np.ndarray:
    """The picture a latent denoiser's recipe describes, (H, W, 3) uint8."""
    fields = RecipeFields(recipe)
    picture = fields.choice("picture", ("sample", "grid", "frame", "strip", "evaluation-samples", "attention"))
    if picture == "attention":
        return render_attention(recipe, loaded)
    if picture in ("frame", "strip"):
        return _steps(fields, loaded, picture)
    if picture == "evaluation-samples":
        return _evaluation_samples(fields, loaded)
    if picture == "grid":
        if not fields.has("grid_of"):
            return _guidance_grid(fields, loaded)
        n = fields.within("n", checks.sample_count)
        return upscale(make_grid(_generate(fields.mapping("grid_of"), loaded, n)), fields.scale())
    n, index = fields.batch_member()
    check_image_seed(fields, index)
    return upscale(_generate(fields, loaded, n)[index], fields.scale(default=1))
