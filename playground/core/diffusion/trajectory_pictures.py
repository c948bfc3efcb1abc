"""Pictures of a cached run (`trajectory.Trajectory`): a frame, a strip of chosen steps, an animation (MP4 or GIF).

Every view of a run's step has one size (a latent run's too: `latent_pictures`), so the views
of a step tile side by side and the steps of a view in rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..images import make_grid, upscale
from ..video import step_lines, write_video

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


ANIMATION_FPS = 16      # about 60 ms a frame
HOLD_LAST_S = 1.5       # the sample stays on screen before the loop starts again


def animation_frames(trajectory: Trajectory, views: tuple[str, ...] = ("x_t", "pred_x0"), max_frames: int = 150,
                     scale: int = 4) -> tuple[list[np.ndarray], list[int]]:
    """Frames for an animation of the run (at most `max_frames`, evenly spaced, last step included).

    Returns the frames and the step each one shows.
    """
    steps = evenly_spaced_steps(trajectory.count, max_frames)
    return [frame_row(trajectory, s, views, scale) for s in steps], steps


def guidance_lines(recipe: dict | None) -> list[str]:
    """The overlay's guidance weight of a run's recipe: classifier-free w, a classifier's scale."""
    recipe = recipe or {}
    lines = []
    if recipe.get("guidance_scale") is not None:
        lines.append(f"w {float(recipe['guidance_scale']):g}")
    if recipe.get("classifier_scale"):
        lines.append(f"classifier w {float(recipe['classifier_scale']):g}")
    return lines


def step_captions(trajectory: Trajectory, steps: list[int], recipe: dict | None = None) -> list[list[str]]:
    """Each frame's overlay: its step (1..N), t, the noise level sigma of x_t and the guidance weight w."""
    from ..latent_diffusion.comparison import noise_level

    guidance = guidance_lines(recipe)
    return [step_lines(s + 1, trajectory.num_steps, int(trajectory.t[s]), noise_level(trajectory.alpha_bar, s))
            + guidance for s in steps]


def save_animation(path: str | Path, trajectory: Trajectory, views: tuple[str, ...] = ("x_t", "pred_x0"),
                   max_frames: int = 150, scale: int = 4, fps: int = ANIMATION_FPS, size=None,
                   overlays: bool = True, hold_last: float = HOLD_LAST_S, recipe: dict | None = None) -> Path:
    """Write the run as an MP4 or a looping GIF (`core.video.write_video`), each frame with its step, t,
    noise level and w in a corner (`overlays`), the last held; the recipe goes in the file."""
    frames, steps = animation_frames(trajectory, views, max_frames, scale)
    if not frames:
        raise ValueError("the run has no steps yet")
    recipe = dict(recipe if recipe is not None else trajectory.recipe(), views=list(views), frame_step_indices=steps)
    captions = step_captions(trajectory, steps, recipe) if overlays else None
    return write_video(frames, path, fps, size, captions, hold_last, recipe)
