"""Spreading points of a 2-D embedding over a grid, one point per cell, neighbours kept near.

A PCA of a codebook puts most codes in one clump and a few far out: drawn as they are, the
clump is a smudge. `grid_layout` keeps the arrangement (left stays left, up stays up) but
gives every point its own cell of a `rows` x `columns` grid, so each can be drawn as a tile
as large as the cell, none hiding another.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linear_sum_assignment


def grid_shape(n: int, aspect: float) -> tuple[int, int]:
    """(rows, columns) for `n` cells on an area `aspect` (width / height) wide: square cells as
    large as the area allows."""
    aspect = min(max(float(aspect), 0.05), 20.0)
    best: tuple[float, int, int] | None = None
    for columns in range(1, max(1, n) + 1):
        rows = math.ceil(n / columns)
        cell = min(aspect / columns, 1.0 / rows)  # cell side in units of the area's height
        if best is None or cell > best[0] + 1e-12:
            best = (cell, rows, columns)
    return best[1], best[2]


def _ranks(values: np.ndarray) -> np.ndarray:
    """Values -> their rank in [0, 1] (ties share the mean rank): uniform marginals, so a clump spreads."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), np.float64)
    ranks[order] = np.arange(len(values))
    for value in np.unique(values):  # ties: one rank
        same = values == value
        if same.sum() > 1:
            ranks[same] = ranks[same].mean()
    return ranks / max(1, len(values) - 1)


def grid_layout(coords: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """(N, 2) int cells (row, column), all distinct, for points `coords` (N, 2: x, y with y up).

    Each axis is first replaced by its ranks (so the layout fills the grid evenly), then points
    and cells are matched to minimise the total squared distance (an optimal assignment)."""
    coords = np.asarray(coords, np.float64)
    n = len(coords)
    if n > rows * columns:
        raise ValueError(f"{n} points do not fit a {rows}x{columns} grid")
    if n == 0:
        return np.zeros((0, 2), np.int64)
    x = _ranks(coords[:, 0]) * (columns - 1)
    y = (1.0 - _ranks(coords[:, 1])) * (rows - 1)  # y up in the embedding, rows go down
    cell_rows, cell_columns = np.divmod(np.arange(rows * columns), columns)
    cost = (x[:, None] - cell_columns[None, :]) ** 2 + (y[:, None] - cell_rows[None, :]) ** 2
    points, cells = linear_sum_assignment(cost)
    out = np.zeros((n, 2), np.int64)
    out[points, 0], out[points, 1] = cell_rows[cells], cell_columns[cells]
    return out
