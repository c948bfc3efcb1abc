"""What keeps a lesson's scenes from playing here: a model (or a helper network) that is not there.

A lesson is shared as a file; the machine that opens it may lack a checkpoint it names. Each
problem is one line naming the scene, so the presenter and `playground lesson` say which scene
cannot play and why, and the others still play.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..assets import shipped_for, shipped_named
from ..provenance import HELPER_ROLES
from .format import Lesson, scene_label

# a helper network a recipe needs even when it names none: (the setting that turns it on, its role)
IMPLIED_HELPERS = (("classifier_scale", "classifier"), ("clip_scale", "clip_model"))


def lesson_problems(lesson: Lesson) -> list[str]:
    """One line per scene whose model or helper network is not there (empty: every scene can play)."""
    problems = []
    for index, scene in enumerate(lesson.scenes):
        where = scene_label(scene, index)
        problems += [f"{where}: {problem}" for problem in recipe_problems(scene.recipe)]
    return problems


def recipe_problems(recipe: dict[str, Any]) -> list[str]:
    """What a recipe needs that is not there: its model (its checkpoint, else the shipped one of its name)."""
    problems = []
    for part in [recipe] + ([recipe["grid_of"]] if isinstance(recipe.get("grid_of"), dict) else []):
        problem = _model_problem(part)
        if problem and problem not in problems:
            problems.append(problem)
        for role, family in HELPER_ROLES.items():
            named = part.get(role)
            implied = any(role == r and _positive(part.get(setting)) for setting, r in IMPLIED_HELPERS)
            if (isinstance(named, str) and named and not Path(named).is_file()) or (implied and not named):
                if shipped_for(family) is None:
                    problem = f"its {role} network ({family}) is not there: no {family} checkpoint is shipped"
                    if problem not in problems:
                        problems.append(problem)
    return problems


def _model_problem(recipe: dict[str, Any]) -> str | None:
    checkpoint, model = recipe.get("checkpoint"), recipe.get("model")
    if isinstance(checkpoint, str) and checkpoint and Path(checkpoint).is_file():
        return None
    if isinstance(model, str) and model and shipped_named(model) is not None:
        return None
    if isinstance(model, str) and model:
        where = f" (nor its checkpoint {checkpoint})" if isinstance(checkpoint, str) and checkpoint else ""
        return f"model {model!r} is not there{where}; the shipped models are in assets/ (playground info)"
    if isinstance(checkpoint, str) and checkpoint:
        return f"its checkpoint {checkpoint} is not there"
    return None


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
