"""Reading the strip's typed steps, and the GIF's frames captioned with their steps (Qt-free).

Steps are numbered as the window shows them, 1 to N (the scrubber's "step 3 / 50"); the
recipe keeps 0-based `strip_step_indices` beside them, as the core counts. Each column of a
strip and each frame of a GIF says its step and its timestep t. The strip is drawn by the
core (`core.diffusion.render.labelled_strip`), so `playground reproduce` draws the same pixels.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ....core.diffusion.trajectory import Trajectory
from ....core.diffusion.trajectory_pictures import evenly_spaced_steps, frame_row

STRIP_STEPS = 8      # columns of a strip when no steps are typed
GIF_SCALE = 4
GIF_MAX_FRAMES = 150


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
