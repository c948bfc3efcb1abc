"""Frames of a token-by-token generation for video export (`core.video.write_video`): the grid fills
cell by cell in raster order, each frame the written cells decoded on an empty page (as the Tokens
panel shows them: unwritten cells hold the background code and are shaded, the next cell outlined),
with the token count, the prompt and w in a corner."""

from __future__ import annotations

import numpy as np
import torch

from ..data import to_uint8
from ..device import model_device
from ..images import upscale
from .sampling import UNWRITTEN, background_code

FRAME_SCALE = 8            # 32 px images drawn at 256 px: the cell outlines stay one sharp line
DECODE_BATCH = 32
NEXT_CELL = (255, 214, 10)  # the yellow of the panel's next-cell marker
SHADE = 0.55                # unwritten cells drawn darker


def fill_frames(model, tokens: np.ndarray, prompt: str = "", guidance: float | None = None,
                scale: int = FRAME_SCALE) -> tuple[list[np.ndarray], list[list[str]]]:
    """One frame per written cell and one before the first: frame k shows cells 0..k-1 written.

    `tokens` (N,) in raster order; the written ones are a prefix (the rest `UNWRITTEN`), so a stopped
    run's video ends where it stopped. Returns the frames (H, W, 3) uint8 and each one's overlay.
    """
    tokens = np.asarray(tokens, np.int64).reshape(-1)
    cells = len(tokens)
    written = int(np.argmax(tokens == UNWRITTEN)) if (tokens == UNWRITTEN).any() else cells
    g = int(round(cells ** 0.5))
    blank = background_code(model)
    frames: list[np.ndarray] = []
    for start in range(0, written + 1, DECODE_BATCH):
        ks = np.arange(start, min(written + 1, start + DECODE_BATCH))
        batch = np.where(np.arange(cells)[None, :] < ks[:, None], np.where(tokens == UNWRITTEN, blank, tokens), blank)
        with torch.inference_mode():
            images = to_uint8(model.decode(torch.as_tensor(batch).to(model_device(model))).cpu())
        frames.extend(_marked(upscale(image, scale), int(k), g) for image, k in zip(images, ks))
    lines = ([f'"{prompt}"'] if prompt else []) + ([f"w {guidance:g}"] if guidance is not None else [])
    return frames, [[f"token {k} / {cells}"] + lines for k in range(written + 1)]


def _marked(image: np.ndarray, written: int, g: int) -> np.ndarray:
    """Shade the unwritten cells and outline the next one."""
    out = image.astype(np.float32)
    side = image.shape[0] / g
    for cell in range(written, g * g):
        r, c = divmod(cell, g)
        y0, x0 = round(r * side), round(c * side)
        out[y0:round(y0 + side), x0:round(x0 + side)] *= SHADE
    out = out.astype(np.uint8)
    if written < g * g:
        r, c = divmod(written, g)
        y0, x0, y1, x1 = round(r * side), round(c * side), round((r + 1) * side) - 1, round((c + 1) * side) - 1
        width = max(1, round(side / 12))
        for edge in (np.s_[y0:y0 + width, x0:x1 + 1], np.s_[y1 - width + 1:y1 + 1, x0:x1 + 1],
                     np.s_[y0:y1 + 1, x0:x0 + width], np.s_[y0:y1 + 1, x1 - width + 1:x1 + 1]):
            out[edge] = NEXT_CELL
    return out
