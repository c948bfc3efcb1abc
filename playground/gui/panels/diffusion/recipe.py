"""What "Load PNG…" does with a DDPM recipe: the sampler settings and seed to run, and what follows.

A recipe may come from the tab's exports (a frame or a strip of a run, maybe a branch of a
branch) or from `playground sample ddpm` (one image of a batch, or a grid). The tab runs
the root run again with its settings and seed, then each branch in turn, then shows the
exported step (or types the strip's steps). Every value is read through `RecipeFields`,
so a hand-edited recipe gets a one-line message naming the key, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ....core import checks
from ....core.diffusion.schedulers import SCHEDULER_KINDS
from ....core.diffusion.trajectory import SamplerSettings
from ....core.provenance import RecipeError, RecipeFields

MAX_BRANCH_DEPTH = 32
PICTURES = ("sample", "grid", "frame", "strip", "animation")


@dataclass(frozen=True)
class RestorePlan:
    settings: SamplerSettings
    seed: int
    after: list[Callable] = field(default_factory=list)  # one per run that comes back, each given the steps view


def sampler_settings(fields: RecipeFields, T: int, kinds: tuple[str, ...] = SCHEDULER_KINDS,
                     latent: bool = False) -> SamplerSettings:
    """The recipe's sampler, one of the model's `kinds`, at most T steps; a latent's x0 is never clipped."""
    kind = fields.choice("sampler", kinds)
    steps = fields.integer("steps", 1, T)
    if kind == "ddpm" and steps != T:
        raise RecipeError(f"the recipe's DDPM runs {steps} of the schedule's {T} steps; this tab's DDPM runs every "
                          f"step (the Text-to-image panel runs DDPM on fewer)")
    eta = fields.number("eta", 0.0, 1.0, default=0.0) if kind == "ddim" else 0.0
    if latent and fields.flag("clip_x0", default=False):
        raise RecipeError("the recipe clips x0, but this is a latent model: a latent is never clipped")
    return SamplerSettings(kind, steps, eta, False if latent else fields.flag("clip_x0", default=True))


def restore_plan(recipe: dict, T: int, kinds: tuple[str, ...] = SCHEDULER_KINDS, latent: bool = False) -> RestorePlan:
    """The run to make again for `recipe` on a model whose runs take at most T steps, with the samplers
    `kinds` (the model's); RecipeError (a ValueError) if it cannot."""
    fields = RecipeFields(recipe)
    picture = fields.choice("picture", PICTURES, default="frame")
    if fields.number("classifier_scale", default=0.0) != 0.0:
        raise RecipeError("this DDPM image was steered by the noisy classifier; the Diffusion tab runs the bare "
                          "network (the Text-to-image panel's DDPM base draws it)")
    if picture == "grid":
        fields = fields.mapping("grid_of")  # the grid's first image
    seed_offset = fields.batch_member()[1] if picture == "sample" else 0
    branches: list[tuple[int, int]] = []  # (start index, seed), innermost first once reversed
    root = fields
    while root.has("branch"):
        if len(branches) >= MAX_BRANCH_DEPTH:
            raise RecipeError(f"the recipe's branches nest deeper than {MAX_BRANCH_DEPTH} runs")
        branch = root.mapping("branch")
        branches.append((branch.integer("start_index", 0, T - 1), root.within("seed", checks.seed)))
        root = branch.mapping("parent")
    settings = sampler_settings(root, T, kinds, latent)
    seed = checks.seed.check(root.within("seed", checks.seed) + seed_offset, "the recipe's 'seed' + 'index'")
    after = [lambda view, step=step, s=s: view.branch(step=step, seed=s) for step, s in reversed(branches)]
    after.append(_show(fields, picture, settings.steps))
    return RestorePlan(settings, seed, after)


def _show(fields: RecipeFields, picture: str, steps: int) -> Callable:
    """What the last run shows: the exported step, or the strip's steps typed in its box."""
    if picture == "frame" and fields.has("step_index"):
        index = fields.integer("step_index", 0, steps - 1)
        return lambda view: view.scrubber.set_value(index)
    if picture == "strip" and fields.has("strip_step_indices"):
        indices = fields.integers("strip_step_indices", 0, steps - 1)
        return lambda view: view.exports.strip_steps.setText(", ".join(str(i + 1) for i in indices))
    return lambda view: None
