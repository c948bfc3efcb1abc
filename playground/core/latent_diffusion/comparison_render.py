"""A `playground flow-compare` PNG drawn again from its recipe (`playground reproduce`).

The recipe (`comparison.sweep_recipe`) has the sit's header (the dit's when only DDPM/DDIM ran)
and, beside a sit, the dit as helper "dit" (`provenance.helper_checkpoint`: the named file, else
the shipped dit). The same seed, steps, samplers, prompt, w and spacing run the same sweep.
"""

from __future__ import annotations

import numpy as np

from .. import checks
from ..checkpoints import LoadedModel, load_checkpoint
from ..data.shapes import parse_prompt
from ..device import model_device
from ..provenance import HELPER_ROLES, RecipeError, RecipeFields, helper_checkpoint
from .comparison import MAX_STEPS, SAMPLER_FAMILIES, SPACINGS, steps_sweep, sweep_picture


def render_flow_compare(recipe: dict, loaded: LoadedModel) -> np.ndarray:
    """The samplers-by-steps table of final samples, (H, W, 3) uint8."""
    fields = RecipeFields(recipe)
    fields.choice("picture", ("flow-compare",))
    samplers = fields.names("samplers", tuple(SAMPLER_FAMILIES))
    samplers = [s for s in SAMPLER_FAMILIES if s in samplers]  # display order, as the CLI runs them
    steps = sorted(set(fields.integers("steps", 1, MAX_STEPS)))
    prompt = fields.text("prompt", default="")
    if prompt:
        try:
            parse_prompt(prompt)
        except ValueError as exc:
            raise RecipeError(f"the recipe's 'prompt': {exc}") from None
    models = {loaded.family: loaded.model}
    if any(SAMPLER_FAMILIES[s] == "dit" for s in samplers) and "dit" not in models:
        models["dit"] = load_checkpoint(helper_checkpoint(fields.recipe, "dit"), model_device(loaded.model),
                                        families=(HELPER_ROLES["dit"],)).model
    missing = [s for s in samplers if SAMPLER_FAMILIES[s] not in models]
    if missing:
        raise RecipeError(f"the recipe's samplers {missing} need a {SAMPLER_FAMILIES[missing[0]]} model, "
                          f"and the recipe's model is a {loaded.family}")
    for model in models.values():
        schedule = model.noise_schedule
        longest = getattr(schedule, "intervals", schedule.num_train_timesteps)
        for n in steps:
            try:
                checks.check_steps(n, longest, "the recipe's 'steps'")
            except ValueError as exc:
                raise RecipeError(str(exc)) from None
    sweep = steps_sweep(models, steps, fields.within("seed", checks.seed), samplers=samplers, prompt=prompt,
                        guidance_scale=fields.within("guidance_scale", checks.guidance_scale, default=1.0),
                        spacing=fields.choice("spacing", SPACINGS, default="leading"))
    return sweep_picture(sweep, fields.scale(default=4))
