"""The sample rows: a model's first 8 samples (the same seeds for every model) as one strip that
sits in its row of the scores table, scaled nearest-neighbour so 32-pixel shapes read at 1280x720."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QPixmap

from ...widgets.images import numpy_to_qimage

STRIP_COUNT = 8
THUMB = 42  # pixels on screen per sample
GAP = 2
BACKGROUND = (22, 23, 26)


def sample_tiles(samples: np.ndarray) -> list[np.ndarray]:
    """The samples as (H, W, 3) tiles: from a stack (n, H, W, 3) or from a grid image whose tiles
    are square (a row or a block of H x H tiles, any gap-free layout)."""
    samples = np.asarray(samples, dtype=np.uint8)
    if samples.ndim == 4:
        return list(samples[:STRIP_COUNT])
    if samples.ndim != 3:
        return []
    height, width = samples.shape[:2]
    side = min(height, width)
    tiles = [samples[r:r + side, c:c + side] for r in range(0, height - side + 1, side)
             for c in range(0, width - side + 1, side)]
    return tiles[:STRIP_COUNT]


def strip_image(samples: np.ndarray, thumb: int = THUMB, gap: int = GAP) -> np.ndarray:
    """The first 8 samples side by side, each scaled to `thumb` pixels (nearest neighbour), `gap` apart."""
    tiles = sample_tiles(samples)
    out = np.empty((thumb, STRIP_COUNT * thumb + (STRIP_COUNT - 1) * gap, 3), np.uint8)
    out[:] = BACKGROUND
    for i, tile in enumerate(tiles):
        rows = np.arange(thumb) * tile.shape[0] // thumb
        cols = np.arange(thumb) * tile.shape[1] // thumb
        x = i * (thumb + gap)
        out[:, x:x + thumb] = tile[rows][:, cols]
    return out


def strip_pixmap(samples: np.ndarray, thumb: int = THUMB) -> QPixmap:
    return QPixmap.fromImage(numpy_to_qimage(strip_image(samples, thumb)))


def strip_width(thumb: int = THUMB) -> int:
    return STRIP_COUNT * thumb + (STRIP_COUNT - 1) * GAP
