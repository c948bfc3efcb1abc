"""Reading the strip's typed steps (Qt-free).

Steps are numbered as the window shows them, 1 to N (the scrubber's "step 3 / 50"); the
recipe keeps 0-based `strip_step_indices` beside them, as the core counts. Each column of a
strip says its step and its timestep t (each frame of a video too: `core.video.overlay`). The
strip is drawn by the core (`core.diffusion.render.labelled_strip`), so `playground reproduce`
draws the same pixels.
"""

from __future__ import annotations

from ....core.diffusion.trajectory_pictures import evenly_spaced_steps

STRIP_STEPS = 8      # columns of a strip when no steps are typed


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
