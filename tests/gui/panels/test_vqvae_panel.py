"""The VQ-VAE codebook browser as a user drives it: paint, undo, replace, select, load and export."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from playground.core.images import read_recipe
from playground.core.codebook.analysis import codebook_usage, decode_tokens, encode_tokens, top_items_for_code
from playground.core.codebook.token_grid import load_token_grid
from playground.gui.panels import vqvae_panel
from playground.gui.panels.vqvae_panel import VQVAEPanel


@pytest.fixture(autouse=True)
def _small_data_set(monkeypatch):
    """Count usage on 120 shapes, not 2000: the flows are the same and the tests stay quick."""
    monkeypatch.setitem(vqvae_panel.DATA_SETS, "shapes", 120)


def _panel(window, qtbot, usage: bool = True) -> VQVAEPanel:
    panel = next(p for p in window.panels if isinstance(p, VQVAEPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.editor is not None and panel.codebook is not None, timeout=20000)
    if usage:
        qtbot.waitUntil(lambda: panel.usage is not None, timeout=20000)
    return panel


def _decoded(panel) -> bool:
    """The canvas shows the decode of the current grid."""
    expected = decode_tokens(panel.loaded.model, panel.editor.grid)[0]
    return np.array_equal(panel.current_image, expected) and np.array_equal(panel.canvas.image, expected)


def _other_code(panel, row: int, col: int) -> int:
    return (int(panel.editor.grid[row, col]) + 5) % panel.loaded.model.codebook_size


def test_nothing_is_computed_until_the_tab_is_shown(main_window, qtbot):
    panel = next(p for p in main_window.panels if isinstance(p, VQVAEPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    qtbot.wait(200)
    assert main_window.current_panel is not panel
    assert panel.codebook is None and panel.usage is None and panel.editor is None
    _panel(main_window, qtbot)


def test_clicking_a_cell_paints_exactly_that_cell_and_the_decode_follows(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)
    before = panel.editor.grid.copy()
    code = _other_code(panel, 2, 5)
    panel.select_code(code)
    qtbot.mouseClick(panel.canvas.viewport(), Qt.MouseButton.LeftButton,
                     pos=panel.canvas.widget_pos_of_cell(2, 5).toPoint())
    changed = np.argwhere(panel.editor.grid != before)
    assert changed.tolist() == [[2, 5]] and panel.editor.grid[2, 5] == code
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)
    assert panel.last_latency_ms is not None and "ms" in panel.latency_label.text()
    assert "1 of 64 cells edited" in panel.grid_title.text()
    assert panel.undo_button.isEnabled() and not panel.redo_button.isEnabled()


def test_a_drag_paints_a_line_as_one_edit_and_ctrl_z_undoes_it(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    encoded = panel.editor.grid.copy()
    code = _other_code(panel, 1, 1)
    panel.select_code(code)
    viewport = panel.canvas.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=panel.canvas.widget_pos_of_cell(1, 1).toPoint())
    qtbot.mouseMove(viewport, pos=panel.canvas.widget_pos_of_cell(1, 6).toPoint())  # a fast drag skips no cell
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=panel.canvas.widget_pos_of_cell(1, 6).toPoint())
    painted = panel.editor.grid.copy()
    assert (painted[1, 1:7] == code).all()
    assert np.array_equal(np.delete(painted, 1, axis=0), np.delete(encoded, 1, axis=0))
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)

    qtbot.keyClick(panel.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(panel.editor.grid, encoded), "one Ctrl+Z undoes the whole stroke"
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)
    qtbot.keyClick(panel.canvas, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(panel.editor.grid, painted)
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)
    panel.reset_button.click()
    assert np.array_equal(panel.editor.grid, encoded) and not panel.reset_button.isEnabled()
    panel.undo_button.click()
    assert np.array_equal(panel.editor.grid, painted), "the reset is undoable too"


def test_replace_a_by_b_everywhere(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    grid = panel.editor.grid.copy()
    a = int(np.bincount(grid.ravel()).argmax())
    b = (a + 1) % panel.loaded.model.codebook_size
    panel.select_code(a)
    panel.select_code(b)
    assert (panel.replace_a.value(), panel.replace_b.value()) == (a, b), "A and B follow the last two selections"
    panel.replace_button.click()
    expected = np.where(grid == a, b, grid)
    assert np.array_equal(panel.editor.grid, expected)
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)
    panel.undo()
    assert np.array_equal(panel.editor.grid, grid)


def test_selecting_a_code_highlights_its_cells_and_lists_the_images_that_use_it_most(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    model = panel.loaded.model
    code = int(panel.editor.grid[0, 0])
    panel.select_code((code + 1) % model.codebook_size)
    panel.pick_cell(0, 0)  # right-click: the cell's code becomes the selection and the brush
    assert panel.selected == code and panel.canvas.highlight == code
    assert panel.atlas.currentItem().data(Qt.ItemDataRole.UserRole) == code
    assert panel.histogram.selected == code and panel.map.selected == code
    overlay = panel.canvas.overlay_item.image
    assert (overlay[panel.editor.grid == code, 3] == 0).all()  # its cells are left clear…
    assert (overlay[panel.editor.grid != code, 3] > 0).all()
    assert len(panel.canvas.outline.getData()[0]) > 0  # …and outlined
    tokens = encode_tokens(model, panel.usage.data.images)
    assert np.array_equal(panel.usage.tokens, tokens)
    assert np.array_equal(panel.usage.counts, codebook_usage(tokens, model.codebook_size))
    expected, _ = top_items_for_code(tokens, code, vqvae_panel.TOP_IMAGES)
    assert len(expected) > 0 and panel.top_image_indices == expected.tolist()
    assert f"code {code}" == panel.details.title.text()
    dead = np.flatnonzero(panel.usage.counts == 0)
    if len(dead):
        assert "dead" in panel.atlas.item(panel.atlas.codes.index(int(dead[0]))).toolTip()
        assert panel.usage_numbers.text("dead") == str(len(dead))


def test_clicking_a_histogram_bar_or_a_map_point_selects_the_code(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    code = int(np.argmax(panel.usage.counts))
    target = (code + 3) % panel.loaded.model.codebook_size
    panel.select_code(code)
    scene_pos = panel.histogram.scene_pos_of_code(target)

    class Click:
        def scenePos(self):
            return scene_pos

    panel.histogram._on_click(Click())
    assert panel.selected == target and panel.brush_label.text() == f"Brush: code {target}"
    panel.order_box.setCurrentIndex(panel.order_box.findData("usage"))  # bars follow the atlas order
    assert panel.histogram.order[0] == code and panel.atlas.codes[0] == code
    panel.histogram._on_click(type("Click", (), {"scenePos": lambda self: panel.histogram.scene_pos_of_code(code)})())
    assert panel.selected == code
    panel.map._on_click(None, [type("Point", (), {"data": lambda self: target})()])
    assert panel.selected == target


def test_a_bad_token_grid_file_is_reported_and_the_panel_keeps_working(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot)
    grid = panel.editor.grid.copy()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "playground-token-grid", "version": 1, "indices": [[0, 1], [2, 3]]}))
    with qtbot.waitSignal(panel.status_message, timeout=2000) as blocker:
        assert not panel.load_grid(bad, interactive=True)
    message = blocker.args[0]
    assert message.startswith("Error") and "bad.json" in message and "wrong size" in message and "8x8" in message
    qtbot.waitUntil(lambda: "wrong size" in main_window.statusBar().currentMessage(), timeout=2000)
    box = panel.error_box
    assert isinstance(box, QMessageBox) and box.isVisible() and "wrong size" in box.text()
    assert np.array_equal(panel.editor.grid, grid), "a bad file changes nothing"
    panel.paint_cells([(0, 0)], _other_code(panel, 0, 0))  # the dialog does not block the panel
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)
    box.close()
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert not panel.load_grid(garbage)
    assert "not a JSON token grid" in main_window.statusBar().currentMessage()


def test_export_writes_a_png_with_the_grid_and_a_json_that_loads_back(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot)
    panel.paint_cells([(3, 3), (3, 4)], _other_code(panel, 3, 3))
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)
    edited = panel.editor.grid.copy()

    png = panel.export_png(tmp_path / "edited.png")
    recipe = read_recipe(png)
    assert recipe["tokens"] == edited.tolist() and recipe["family"] == "vqvae"
    assert recipe["edited_cells"] == int((edited != panel.editor.encoded).sum())
    from PIL import Image

    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB"))
    scale = vqvae_panel.EXPORT_SCALE
    assert np.array_equal(pixels[::scale, ::scale], decode_tokens(panel.loaded.model, edited)[0])

    saved = panel.save_grid(tmp_path / "edited.json")
    assert np.array_equal(load_token_grid(saved, grid_size=8, codebook_size=16).indices, edited)
    panel.reset_grid()
    assert not np.array_equal(panel.editor.grid, edited)
    assert panel.load_grid(saved)
    qtbot.waitUntil(lambda: np.array_equal(panel.editor.grid, edited), timeout=5000)
    assert np.array_equal(panel.editor.encoded, edited) and not panel.editor.can_undo
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)
    assert panel.load_grid(png), "an exported PNG loads back too: its grid is in its metadata"


def test_counting_usage_can_be_cancelled_from_the_status_bar(main_window, qtbot, monkeypatch):
    real = vqvae_panel.encode_tokens_progressive

    def slow(*args, **kwargs):  # runs in the worker: a data set that takes a while
        for step in real(*args, **kwargs):
            time.sleep(0.2)
            yield step

    monkeypatch.setattr(vqvae_panel, "encode_tokens_progressive", slow)
    monkeypatch.setattr(vqvae_panel, "ENCODE_BATCH", 10)
    panel = _panel(main_window, qtbot, usage=False)
    qtbot.waitUntil(lambda: main_window.cancel_button.isVisible(), timeout=20000)
    main_window.cancel_button.click()
    qtbot.waitUntil(lambda: "not counted" in panel.usage_title.text(), timeout=10000)
    assert panel.usage is None and not panel.worker.is_busy("usage")
    panel.paint_cells([(4, 4)], _other_code(panel, 4, 4))  # editing does not wait for the data set
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)


def test_hovering_a_cell_names_its_code_and_an_opened_image_is_encoded(main_window, qtbot, tmp_path):
    from PIL import Image

    panel = _panel(main_window, qtbot)
    qtbot.mouseMove(panel.canvas.viewport(), pos=panel.canvas.widget_pos_of_cell(6, 2).toPoint())
    code = int(panel.editor.grid[6, 2])
    assert panel.canvas.hover_label.isVisible() and panel.canvas.hover_label.textItem.toPlainText().strip() == str(code)
    assert f"row 6, column 2: code <b>{code}</b>" in panel.hover_label.text()
    number = panel.canvas.number_items[6 * 8 + 2]
    assert not number.isVisible()
    panel.numbers_box.setChecked(True)
    assert number.isVisible() and number.textItem.toPlainText() == str(code)

    path = tmp_path / "mine.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(path)
    panel.open_image(path)
    qtbot.waitUntil(lambda: panel.source_name == "mine.png", timeout=5000)
    image = panel.original_canvas.image
    assert image.shape == (32, 32, 3) and tuple(image[16, 16]) == (200, 30, 30)
    assert np.array_equal(panel.editor.encoded, encode_tokens(panel.loaded.model, image[None])[0])
    assert not panel.editor.can_undo


def test_opening_another_checkpoint_does_not_wait_for_the_usage_count(main_window, qtbot, monkeypatch, tiny_assets):
    real = vqvae_panel.encode_tokens_progressive

    def slow(*args, **kwargs):  # 12 batches of 2 s: the count would take 24 s
        for step in real(*args, **kwargs):
            time.sleep(2.0)
            yield step

    monkeypatch.setattr(vqvae_panel, "encode_tokens_progressive", slow)
    monkeypatch.setattr(vqvae_panel, "ENCODE_BATCH", 10)
    panel = _panel(main_window, qtbot, usage=False)
    qtbot.waitUntil(lambda: panel.worker.is_busy("usage"), timeout=10000)
    before = panel.loaded
    main_window.load_into(panel, tiny_assets / "vqvae-tiny" / "model.safetensors")
    qtbot.waitUntil(lambda: panel.loaded is not before, timeout=10000)
    # and no view of the old model survives (the new model's codebook may already be rebuilt)
    assert panel.usage is None or panel.usage.model_id == panel.model_id
    assert panel.codebook is None or panel.codebook.model_id == panel.model_id
