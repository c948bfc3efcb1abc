"""Pictures of a cached run (`trajectory.Trajectory`): a frame, a strip of chosen steps, an animation.

Every view of a run's step has one size (a latent run's too: `latent_pictures`), so the views
of a step tile side by side and the steps of a view in rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..images import make_grid, save_gif, upscale

if TYPE_CHECKING:
    from .trajectory import Trajectory


def evenly_spaced_steps(num_steps: int, count: int) -> list[int]:
    """`count` step indices from the first to the last, evenly spread (all of them if fewer)."""
    if num_steps <= 0:
        return []
    count = max(1, min(count, num_steps))
    return sorted({int(round(i)) for i in np.linspace(0, num_steps - 1, count)})


def frame_row(trajectory: Trajectory, index: int, views: tuple[str, ...] = ("x_t", "pred_noise", "pred_x0"),
              scale: int = 8, padding: int = 2) -> np.ndarray:
    """The chosen views of one step side by side, upscaled (the frame the screen shows)."""
    images = np.stack([trajectory.frame(view, index) for view in views])
    return upscale(make_grid(images, columns=len(views), padding=padding), scale)


def trajectory_strip(trajectory: Trajectory, steps: list[int], views: tuple[str, ...] = ("x_t", "pred_x0"),
                     scale: int = 4, padding: int = 2) -> np.ndarray:
    """One row per view, one column per chosen step: how the image forms, on one slide."""
    if not steps:
        raise ValueError("choose at least one step")
    bad = [s for s in steps if not 0 <= s < trajectory.count]
    if bad:
        raise ValueError(f"steps {bad} are outside the run's 0..{trajectory.count - 1}")
    images = np.stack([trajectory.frame(view, s) for view in views for s in steps])
    return upscale(make_grid(images, columns=len(steps), padding=padding), scale)


def animation_frames(trajectory: Trajectory, views: tuple[str, ...] = ("x_t", "pred_x0"), max_frames: int = 150,
                     scale: int = 4) -> tuple[list[np.ndarray], list[int]]:
    """Frames for an animation of the run (at most `max_frames`, evenly spaced, last step included).

    Returns the frames and the step each one shows.
    """
    steps = evenly_spaced_steps(trajectory.count, max_frames)
    return [frame_row(trajectory, s, views, scale) for s in steps], steps


def save_animation(path: str | Path, trajectory: Trajectory, views: tuple[str, ...] = ("x_t", "pred_x0"),
                   max_frames: int = 150, scale: int = 4, duration_ms: int = 60, hold_last_ms: int = 1500,
                   recipe: dict | None = None) -> Path:
    """Write the run as a looping animated GIF, holding the last frame; the recipe goes in its comment."""
    frames, steps = animation_frames(trajectory, views, max_frames, scale)
    if not frames:
        raise ValueError("the run has no steps yet")
    recipe = dict(recipe if recipe is not None else trajectory.recipe(), views=list(views), frame_step_indices=steps)
    return save_gif(path, frames, [duration_ms] * (len(frames) - 1) + [hold_last_ms], recipe)
