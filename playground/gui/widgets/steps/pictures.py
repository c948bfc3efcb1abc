"""The pictures a run exports, labelled with their steps (Qt-free: PIL and the core only).

Steps are numbered as the window shows them, 1 to N (the scrubber's "step 3 / 50"); the
recipe keeps 0-based `strip_step_indices` beside them, as the core counts. Each column of a
strip and each frame of a GIF says its step and its timestep t.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ....core.diffusion.trajectory import Trajectory, evenly_spaced_steps, frame_row
from ....core.images import labelled_grid

STRIP_STEPS = 8      # columns of a strip when no steps are typed
STRIP_SCALE = 4
GIF_SCALE = 4
GIF_MAX_FRAMES = 150
VIEW_LABELS = {"x_t": "x_t", "pred_noise": "predicted noise", "pred_x0": "predicted x0", "noise": "injected noise"}


def step_label(trajectory: Trajectory, index: int) -> str:
    """'step 3 · t 959': a step as the window numbers it, and its timestep."""
    return f"step {index + 1} · t {int(trajectory.t[index])}"


def parse_strip_steps(text: str, count: int) -> list[int]:
    """The 0-based step indices of a typed list of step numbers 1..count ("1, 10, 20"); empty text:
    `STRIP_STEPS` evenly spaced. ValueError naming the setting and the range otherwise."""
    text = text.strip()
    if count < 1:
        raise ValueError("the run has no steps yet")
    if not text:
        return evenly_spaced_steps(count, STRIP_STEPS)
    allowed = f"whole numbers from 1 to {count} separated by commas (steps as the scrubber numbers them)"
    steps = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            number = int(part)
        except ValueError:
            raise ValueError(f"strip steps must be {allowed}; {part!r} is not a whole number") from None
        if not 1 <= number <= count:
            raise ValueError(f"strip steps must be {allowed}; {number} is outside 1..{count}")
        steps.append(number - 1)
    if not steps:
        raise ValueError(f"strip steps must be {allowed}, not {text!r}")
    return steps


def labelled_strip(trajectory: Trajectory, steps: list[int], views: tuple[str, ...] = ("x_t", "pred_x0"),
                   scale: int = STRIP_SCALE) -> np.ndarray:
    """One row per view, one column per step, each column headed 'step k · t T': how the image forms."""
    if not steps:
        raise ValueError("choose at least one step")
    bad = [s + 1 for s in steps if not 0 <= s < trajectory.count]
    if bad:
        raise ValueError(f"strip steps {bad} are outside the run's steps 1..{trajectory.count}")
    images = np.stack([np.stack([trajectory.frame(view, s) for s in steps]) for view in views])
    return labelled_grid(images, [step_label(trajectory, s) for s in steps], [VIEW_LABELS[v] for v in views],
                         scale=scale)


def captioned(image: np.ndarray, caption: str, font_size: int, background: tuple[int, int, int] = (52, 54, 60)) -> np.ndarray:
    """`image` under a band that holds one line of text."""
    font = ImageFont.load_default(size=font_size)
    band = int(font_size * 1.8)
    h, w, _ = image.shape
    canvas = Image.new("RGB", (w, h + band), background)
    canvas.paste(Image.fromarray(np.ascontiguousarray(image)), (0, band))
    ImageDraw.Draw(canvas).text((font_size // 2, band / 2), caption, fill=(230, 230, 230), font=font, anchor="lm")
    return np.asarray(canvas, dtype=np.uint8).copy()


def animation_frames(trajectory: Trajectory, views: tuple[str, ...] = ("x_t", "pred_x0"),
                     max_frames: int = GIF_MAX_FRAMES, scale: int = GIF_SCALE) -> tuple[list[np.ndarray], list[int]]:
    """Frames for a GIF of the run (at most `max_frames`, evenly spaced, the last step included),
    each captioned with its step and t; and the step index each shows."""
    steps = evenly_spaced_steps(trajectory.count, max_frames)
    frames = [captioned(frame_row(trajectory, s, views, scale),
                        f"step {s + 1} / {trajectory.num_steps} · t {int(trajectory.t[s])}", 4 * scale)
              for s in steps]
    return frames, steps
