"""The token-grid editor behind the codebook browser's brush: strokes, replace, reset, undo and redo."""

from __future__ import annotations

import numpy as np
import pytest

from playground.core.codebook.token_editor import TokenGridEditor


def editor(codebook_size: int = 16) -> TokenGridEditor:
    return TokenGridEditor(np.arange(16).reshape(4, 4) % 4, codebook_size)


def test_painting_a_cell_changes_exactly_that_cell():
    ed = editor()
    before = ed.grid.copy()
    assert ed.paint(1, 2, 9)
    changed = np.argwhere(ed.grid != before)
    assert changed.tolist() == [[1, 2]] and ed.grid[1, 2] == 9
    assert ed.edited_cells().sum() == 1 and ed.can_undo and not ed.can_redo
    assert not ed.paint(1, 2, 9), "painting a cell with the code it has is no edit"
    assert len(ed._undo) == 1


def test_a_stroke_is_one_edit_and_undo_redo_swap_it():
    ed = editor()
    encoded = ed.grid.copy()
    ed.begin_stroke()
    for col in range(4):
        ed.paint(0, col, 15)
    assert not ed.can_undo, "no undo in the middle of a stroke"
    assert ed.end_stroke()
    painted = ed.grid.copy()
    assert (painted[0] == 15).all() and np.array_equal(painted[1:], encoded[1:])
    assert ed.undo() and np.array_equal(ed.grid, encoded) and ed.can_redo and not ed.can_undo
    assert ed.redo() and np.array_equal(ed.grid, painted)
    assert not ed.redo()


def test_an_empty_stroke_leaves_no_history():
    ed = editor()
    ed.begin_stroke()
    ed.paint(0, 0, int(ed.grid[0, 0]))
    assert not ed.end_stroke() and not ed.can_undo


def test_replace_everywhere_and_a_new_edit_drops_the_redo_branch():
    ed = editor()
    assert ed.replace(1, 7) == 4
    assert not (ed.grid == 1).any() and (ed.grid == 7).sum() == 4
    assert ed.undo_label == "replace 1 → 7"
    assert ed.replace(1, 7) == 0 and ed.replace(3, 3) == 0
    ed.undo()
    assert (ed.grid == 1).sum() == 4
    ed.paint(0, 0, 5)
    assert not ed.can_redo


def test_reset_is_undoable_and_start_clears_history():
    ed = editor()
    encoded = ed.grid.copy()
    ed.paint(3, 3, 12)
    edited = ed.grid.copy()
    assert ed.reset() and np.array_equal(ed.grid, encoded)
    assert ed.undo() and np.array_equal(ed.grid, edited)
    ed.start(np.zeros((2, 2), np.int64))
    assert ed.shape == (2, 2) and not ed.can_undo and not ed.can_redo and not ed.edited_cells().any()


def test_set_grid_is_an_edit_and_the_grid_is_read_only():
    ed = editor()
    new = np.full((4, 4), 2)
    assert ed.set_grid(new, "load grid.json")
    assert ed.undo_label == "load grid.json" and ed.edited_cells().sum() == 12
    with pytest.raises(ValueError):
        ed.grid[0, 0] = 1


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda ed: ed.paint(0, 0, 16), ValueError),
        (lambda ed: ed.paint(0, 0, -1), ValueError),
        (lambda ed: ed.paint(4, 0, 1), IndexError),
        (lambda ed: ed.replace(0, 99), ValueError),
        (lambda ed: ed.set_grid(np.zeros((3, 3), np.int64)), ValueError),
        (lambda ed: ed.set_grid(np.full((4, 4), 16)), ValueError),
        (lambda ed: ed.set_grid(np.zeros((4, 4)) + 0.5), ValueError),
    ],
)
def test_bad_edits_are_refused_and_change_nothing(call, error):
    ed = editor()
    before = ed.grid.copy()
    with pytest.raises(error):
        call(ed)
    assert np.array_equal(ed.grid, before) and not ed.can_undo


def test_history_is_bounded():
    ed = TokenGridEditor(np.zeros((2, 2), np.int64), 8, history_limit=3)
    for code in range(1, 7):
        ed.paint(0, 0, code)
    undone = 0
    while ed.undo():
        undone += 1
    assert undone == 3 and ed.grid[0, 0] == 3
