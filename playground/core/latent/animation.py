"""Frames of a latent animation for video export (`core.video.write_video`): z walking from A to B
(and back, so the video loops), each frame the decoded image with its t in a corner."""

from __future__ import annotations

import numpy as np
from torch import nn

from .sampling import decode, interpolate

INTERPOLATION_FRAMES = 40  # A to B; the way back adds as many less the ends
DECODE_BATCH = 64


def interpolation_ts(count: int = INTERPOLATION_FRAMES, back: bool = True) -> np.ndarray:
    """t of each frame: 0 to 1 in `count` steps, then back down to the frame after 0 (a seamless loop)."""
    if count < 2:
        raise ValueError(f"an interpolation needs at least 2 frames, not {count}")
    ts = np.linspace(0.0, 1.0, count)
    return np.concatenate([ts, ts[-2:0:-1]]) if back else ts


def interpolation_frames(model: nn.Module, a: np.ndarray, b: np.ndarray, mode: str = "spherical",
                         count: int = INTERPOLATION_FRAMES, back: bool = True) -> tuple[list[np.ndarray], list[list[str]]]:
    """The decoded images (H, W, 3) uint8 along the interpolation, and each frame's overlay ("t 0.25", the mode)."""
    ts = interpolation_ts(count, back)
    frames: list[np.ndarray] = []
    for start in range(0, len(ts), DECODE_BATCH):
        frames.extend(decode(model, interpolate(a, b, ts[start:start + DECODE_BATCH], mode)))
    captions = [[f"t {t:.2f}", f"{mode}: A to B"] for t in ts]
    return frames, captions
