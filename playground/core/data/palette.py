"""Colours for a label's values, the same in the app's latent map and `playground latent-map`."""

from __future__ import annotations

from .shapes import COLOR_RGB, COLORS

# colour-blind-friendly categories (Dark2 / Set1 mixed), for labels without colours of their own
CATEGORY_COLOURS = [
    (230, 97, 1), (94, 60, 153), (27, 158, 119), (217, 95, 2), (117, 112, 179), (231, 41, 138),
    (102, 166, 30), (230, 171, 2), (166, 118, 29), (31, 120, 180),
]


def label_palette(label: str, count: int) -> list[tuple[int, int, int]]:
    """One RGB colour per value of a label: the shapes' own colours for "color", categories otherwise."""
    if label == "color":
        return [tuple(COLOR_RGB[c]) for c in COLORS]
    return [CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i in range(count)]
