"""Scene actions a recipe cannot express: the VQ-VAE panel paints a token where the room can see it
(and a lesson frame one cell away is painted, not restored); the Tokens panel replays a grid cell by cell."""

from __future__ import annotations

import numpy as np

from playground.core.codebook.analysis import decode_tokens
from playground.gui.panels.codebook import VQVAEPanel, codebook_column
from playground.gui.panels.tokens import TokensPanel
from playground.gui.panels.tokens.token_tab import SPEEDS


def _vq(window, qtbot, monkeypatch) -> VQVAEPanel:
    monkeypatch.setitem(codebook_column.DATA_SETS, "shapes", 120)
    panel = next(p for p in window.panels if isinstance(p, VQVAEPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.editor is not None and panel.codebook is not None, timeout=20000)
    return panel


def _decoded(panel) -> bool:
    return panel.current_image is not None and np.array_equal(
        panel.current_image, decode_tokens(panel.loaded.model, panel.editor.grid)[0])


def test_paint_token_paints_the_cell_points_at_it_and_is_one_undo_step(main_window, qtbot, monkeypatch):
    panel = _vq(main_window, qtbot, monkeypatch)
    k, before = panel.loaded.model.codebook_size, panel.editor.grid.copy()
    code = (int(before[2, 3]) + 5) % k
    assert panel.paint_token(2, 3, code)
    assert panel.editor.grid[2, 3] == code and (np.delete(panel.editor.grid.ravel(), 2 * 8 + 3)
                                                == np.delete(before.ravel(), 2 * 8 + 3)).all()
    canvas = panel.grid_column.canvas
    assert panel.selected == code and canvas.hovered == (2, 3)
    assert canvas.hover_label.isVisible() and canvas.hover_label.textItem.toPlainText().strip() == str(code)
    qtbot.waitUntil(lambda: _decoded(panel), timeout=10000)
    panel.undo()
    assert (panel.editor.grid == before).all()
    assert not panel.paint_token(99, 0, code) and not panel.paint_token(0, 0, k)


def test_a_lesson_frame_a_cell_away_is_painted_and_any_other_is_restored(main_window, qtbot, monkeypatch):
    panel = _vq(main_window, qtbot, monkeypatch)
    qtbot.waitUntil(lambda: _decoded(panel), timeout=10000)
    recipe, editor = panel.recipe(), panel.editor
    k = panel.loaded.model.codebook_size
    grid = np.array(recipe["tokens"])
    grid[5, 6] = (grid[5, 6] + 1) % k
    assert panel.show_frame({**recipe, "tokens": grid.tolist()}) is None
    assert panel.editor is editor and panel.editor.grid[5, 6] == grid[5, 6]  # painted, history kept
    assert panel.grid_column.canvas.hovered == (5, 6)
    far = (np.array(recipe["tokens"]) + 1) % k
    panel.show_frame({**recipe, "tokens": far.tolist()})  # a different grid: restored like a Load PNG
    qtbot.waitUntil(lambda: panel.editor is not editor and (panel.editor.grid == far).all(), timeout=10000)


def test_the_tokens_panel_fills_a_grid_cell_by_cell(main_window, qtbot):
    panel = next(p for p in main_window.panels if isinstance(p, TokensPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    tab = panel.token_tab
    tab.speed_box.setCurrentIndex(len(SPEEDS) - 1)
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: tab.frame is not None and tab.frame.done and not tab.playing, timeout=20000)
    k = panel.loaded.model.config.codebook_size
    target = (tab.frame.tokens + 3) % k  # not what the model would draw: the replay writes it anyway
    positions = []
    tab.frame_shown.connect(lambda: positions.append(tab.frame.position))
    tab.speed_box.setCurrentIndex(2)  # 32 tokens/s: a 64-cell grid in about 2 s
    assert tab.fill_cell_by_cell(target)
    qtbot.waitUntil(lambda: tab.frame.done and not tab.playing and (tab.frame.tokens == target).all(), timeout=30000)
    partial = [p for p in positions if 0 < p < len(target)]
    assert len(set(partial)) >= len(target) // 2  # the room saw the grid fill, not only the end
    assert positions == sorted(positions) or positions[0] == len(target)  # it only grows (after the old grid)
    tab.generate()  # a new Generate draws again: the replay's codes do not stick
    qtbot.waitUntil(lambda: tab.frame.done and not tab.playing and not (tab.frame.tokens == target).all(), timeout=30000)
