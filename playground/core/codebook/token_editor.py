"""Editing a VQ-VAE token grid by hand, with undo and redo: the state behind the codebook browser's brush.

The editor holds the grid the image was encoded to (`encoded`), the grid as edited
(`grid`) and a history of edits. One edit is one user action: a brush stroke (press,
drag over any number of cells, release), a replace-everywhere, a reset, or a grid
loaded from a file. Grids are tiny (8x8 int64 = 512 bytes), so every history entry
keeps the whole grid before and after; undo and redo just swap them in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Edit:
    """One undoable action: a label for the Undo button and the grids on either side of it."""

    label: str
    before: np.ndarray
    after: np.ndarray

    @property
    def cells_changed(self) -> int:
        return int((self.before != self.after).sum())


class TokenGridEditor:
    """A token grid (rows, columns) of code indices below `codebook_size`, edited with undo/redo.

    Every method that changes the grid returns whether it did; an action that changes
    nothing (painting a cell with the code it already has) leaves no history entry.
    """

    def __init__(self, grid: np.ndarray, codebook_size: int, history_limit: int = 500):
        self.codebook_size = int(codebook_size)
        self.history_limit = history_limit
        self._grid = self._checked(grid, same_shape=False).copy()
        self.encoded = self._grid.copy()
        self._undo: list[Edit] = []
        self._redo: list[Edit] = []
        self._stroke: tuple[str, np.ndarray] | None = None  # (label, grid at the press)

    # --- state ---------------------------------------------------------------------------------

    @property
    def grid(self) -> np.ndarray:
        """The current grid (a read-only view: change it through the editor)."""
        view = self._grid.view()
        view.flags.writeable = False
        return view

    @property
    def shape(self) -> tuple[int, int]:
        return int(self._grid.shape[0]), int(self._grid.shape[1])

    def edited_cells(self) -> np.ndarray:
        """Boolean mask of the cells that differ from the encoded grid."""
        return self._grid != self.encoded

    @property
    def can_undo(self) -> bool:
        return bool(self._undo) and self._stroke is None

    @property
    def can_redo(self) -> bool:
        return bool(self._redo) and self._stroke is None

    @property
    def undo_label(self) -> str:
        return self._undo[-1].label if self._undo else ""

    @property
    def redo_label(self) -> str:
        return self._redo[-1].label if self._redo else ""

    # --- starting over ------------------------------------------------------------------------------

    def start(self, grid: np.ndarray) -> None:
        """A freshly encoded grid: it becomes `encoded` and the history is cleared."""
        self._stroke = None
        self._grid = self._checked(grid, same_shape=False).copy()
        self.encoded = self._grid.copy()
        self._undo.clear()
        self._redo.clear()

    # --- edits ---------------------------------------------------------------------------------

    def begin_stroke(self, label: str = "paint") -> None:
        """Start a brush stroke: every `paint` until `end_stroke` is undone as one edit."""
        self.end_stroke()
        self._stroke = (label, self._grid.copy())

    def end_stroke(self) -> bool:
        """Finish the stroke; returns whether it changed the grid (and so became an edit)."""
        if self._stroke is None:
            return False
        label, before = self._stroke
        self._stroke = None
        return self._record(label, before)

    @property
    def in_stroke(self) -> bool:
        return self._stroke is not None

    def paint(self, row: int, col: int, code: int) -> bool:
        """Set one cell to `code`. Inside a stroke it joins the stroke's edit; otherwise it is an edit of its own."""
        self._check_code(code)
        rows, cols = self.shape
        if not (0 <= row < rows and 0 <= col < cols):
            raise IndexError(f"cell ({row}, {col}) is outside the {rows}x{cols} grid")
        if self._grid[row, col] == code:
            return False
        if self._stroke is not None:
            self._grid[row, col] = code
            return True
        before = self._grid.copy()
        self._grid[row, col] = code
        return self._record(f"paint code {code}", before)

    def replace(self, old: int, new: int) -> int:
        """Replace code `old` by `new` in every cell; returns how many cells changed."""
        self._check_code(old)
        self._check_code(new)
        self.end_stroke()
        cells = self._grid == old
        count = int(cells.sum()) if old != new else 0
        if count:
            before = self._grid.copy()
            self._grid[cells] = new
            self._record(f"replace {old} → {new}", before)
        return count

    def set_grid(self, grid: np.ndarray, label: str = "load grid") -> bool:
        """Replace the whole grid as one undoable edit (e.g. a grid read from a file)."""
        grid = self._checked(grid)
        self.end_stroke()
        before = self._grid.copy()
        self._grid = grid.copy()
        return self._record(label, before)

    def reset(self) -> bool:
        """Back to the encoded grid, as an undoable edit."""
        return self.set_grid(self.encoded, "reset to encoded")

    def undo(self) -> bool:
        self.end_stroke()
        if not self._undo:
            return False
        edit = self._undo.pop()
        self._grid = edit.before.copy()
        self._redo.append(edit)
        return True

    def redo(self) -> bool:
        self.end_stroke()
        if not self._redo:
            return False
        edit = self._redo.pop()
        self._grid = edit.after.copy()
        self._undo.append(edit)
        return True

    # --- internals ---------------------------------------------------------------------------------

    def _record(self, label: str, before: np.ndarray) -> bool:
        if np.array_equal(before, self._grid):
            return False
        self._undo.append(Edit(label, before, self._grid.copy()))
        del self._undo[:-self.history_limit]
        self._redo.clear()  # a new edit forks history: what was undone cannot be redone any more
        return True

    def _check_code(self, code: int) -> None:
        if not 0 <= int(code) < self.codebook_size:
            raise ValueError(f"code {code} is outside the codebook [0, {self.codebook_size})")

    def _checked(self, grid: np.ndarray, same_shape: bool = True) -> np.ndarray:
        grid = np.asarray(grid)
        if grid.ndim != 2 or grid.size == 0:
            raise ValueError(f"a token grid is a non-empty 2D array, got shape {grid.shape}")
        if not np.issubdtype(grid.dtype, np.integer):
            raise ValueError(f"token grids hold integer code indices, got {grid.dtype}")
        if grid.min() < 0 or grid.max() >= self.codebook_size:
            raise ValueError(f"token indices must lie in [0, {self.codebook_size}), "
                             f"got [{int(grid.min())}, {int(grid.max())}]")
        if same_shape and grid.shape != self._grid.shape:
            raise ValueError(f"the grid is {self._grid.shape[0]}x{self._grid.shape[1]}, "
                             f"got {grid.shape[0]}x{grid.shape[1]}")
        return grid.astype(np.int64)
