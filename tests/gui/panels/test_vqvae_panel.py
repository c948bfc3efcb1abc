"""The VQ-VAE codebook browser as a user drives it: paint, undo, replace, select, load and export."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from playground.core.codebook.analysis import codebook_usage, decode_tokens, encode_tokens, top_items_for_code
from playground.core.codebook.token_grid import load_token_grid
from playground.core.images import read_recipe, save_png
from playground.gui.panels import base
from playground.gui.panels.codebook import VQVAEPanel, code_column, codebook_column, grid_column, state
from playground.gui.panels.codebook import panel as panel_module


@pytest.fixture(autouse=True)
def _small_data_set(monkeypatch):
    """Count usage on 120 shapes, not 2000: the flows are the same and the tests stay quick."""
    monkeypatch.setitem(codebook_column.DATA_SETS, "shapes", 120)


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
    return np.array_equal(panel.current_image, expected) and np.array_equal(panel.grid_column.canvas.image, expected)


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
    qtbot.mouseClick(panel.grid_column.canvas.viewport(), Qt.MouseButton.LeftButton,
                     pos=panel.grid_column.canvas.widget_pos_of_cell(2, 5).toPoint())
    changed = np.argwhere(panel.editor.grid != before)
    assert changed.tolist() == [[2, 5]] and panel.editor.grid[2, 5] == code
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)
    assert panel.last_latency_ms is not None and "ms" in panel.toolbar.latency_label.text()
    assert "1 of 64 cells edited" in panel.grid_column.grid_title.text()
    assert panel.toolbar.undo_button.isEnabled() and not panel.toolbar.redo_button.isEnabled()


def test_a_drag_paints_a_line_as_one_edit_and_ctrl_z_undoes_it(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    encoded = panel.editor.grid.copy()
    code = _other_code(panel, 1, 1)
    panel.select_code(code)
    canvas = panel.grid_column.canvas
    viewport = canvas.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=canvas.widget_pos_of_cell(1, 1).toPoint())
    qtbot.mouseMove(viewport, pos=canvas.widget_pos_of_cell(1, 6).toPoint())  # a fast drag skips no cell
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=canvas.widget_pos_of_cell(1, 6).toPoint())
    painted = panel.editor.grid.copy()
    assert (painted[1, 1:7] == code).all()
    assert np.array_equal(np.delete(painted, 1, axis=0), np.delete(encoded, 1, axis=0))
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)

    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(panel.editor.grid, encoded), "one Ctrl+Z undoes the whole stroke"
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)
    qtbot.keyClick(canvas, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(panel.editor.grid, painted)
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)
    panel.toolbar.reset_button.click()
    assert np.array_equal(panel.editor.grid, encoded) and not panel.toolbar.reset_button.isEnabled()
    panel.toolbar.undo_button.click()
    assert np.array_equal(panel.editor.grid, painted), "the reset is undoable too"


def test_replace_a_by_b_everywhere(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    grid = panel.editor.grid.copy()
    a = int(np.bincount(grid.ravel()).argmax())
    b = (a + 1) % panel.loaded.model.codebook_size
    panel.select_code(a)
    panel.select_code(b)
    column = panel.grid_column
    assert (column.replace_a.value(), column.replace_b.value()) == (a, b), "A and B follow the last two selections"
    column.replace_button.click()
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
    assert panel.selected == code and panel.grid_column.canvas.highlight == code
    book = panel.codebook_column
    assert book.atlas.currentItem().data(Qt.ItemDataRole.UserRole) == code
    assert book.histogram.selected == code and book.map.selected == code
    overlay = panel.grid_column.canvas.overlay_item.image
    assert (overlay[panel.editor.grid == code, 3] == 0).all()  # its cells are left clear…
    assert (overlay[panel.editor.grid != code, 3] > 0).all()
    assert len(panel.grid_column.canvas.outline.getData()[0]) > 0  # …and outlined
    tokens = encode_tokens(model, panel.usage.data.images)
    assert np.array_equal(panel.usage.tokens, tokens)
    assert np.array_equal(panel.usage.counts, codebook_usage(tokens, model.codebook_size))
    expected, _ = top_items_for_code(tokens, code, code_column.TOP_IMAGES)
    assert len(expected) > 0 and panel.top_image_indices == expected.tolist()
    assert f"code {code}" == panel.code_column.details.title.text()
    dead = np.flatnonzero(panel.usage.counts == 0)
    if len(dead):
        assert "dead" in book.atlas.item(book.atlas.codes.index(int(dead[0]))).toolTip()
        assert book.usage_numbers.text("dead") == str(len(dead))


def test_clicking_a_histogram_bar_or_a_map_point_selects_the_code(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    code = int(np.argmax(panel.usage.counts))
    target = (code + 3) % panel.loaded.model.codebook_size
    panel.select_code(code)
    book = panel.codebook_column
    scene_pos = book.histogram.scene_pos_of_code(target)

    class Click:
        def scenePos(self):
            return scene_pos

    book.histogram._on_click(Click())
    assert panel.selected == target and panel.grid_column.brush_label.text() == f"Brush: code {target}"
    book.order_box.setCurrentIndex(book.order_box.findData("usage"))  # bars follow the atlas order
    assert book.histogram.order[0] == code and book.atlas.codes[0] == code
    book.histogram._on_click(type("Click", (), {"scenePos": lambda self: book.histogram.scene_pos_of_code(code)})())
    assert panel.selected == code
    book.map._on_click(None, [type("Point", (), {"data": lambda self: target})()])
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
    assert "not valid JSON" in main_window.statusBar().currentMessage()


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
    scale = grid_column.EXPORT_SCALE
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
    real = state.encode_tokens_progressive

    def slow(*args, **kwargs):  # runs in the worker: a data set that takes a while
        for step in real(*args, **kwargs):
            time.sleep(0.2)
            yield step

    monkeypatch.setattr(state, "encode_tokens_progressive", slow)
    monkeypatch.setattr(panel_module, "ENCODE_BATCH", 10)
    panel = _panel(main_window, qtbot, usage=False)
    qtbot.waitUntil(lambda: main_window.cancel_button.isVisible(), timeout=20000)
    main_window.cancel_button.click()
    qtbot.waitUntil(lambda: "not counted" in panel.codebook_column.usage_title.text(), timeout=10000)
    assert panel.usage is None and not panel.worker.is_busy("usage")
    panel.paint_cells([(4, 4)], _other_code(panel, 4, 4))  # editing does not wait for the data set
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)


def test_hovering_a_cell_names_its_code_and_an_opened_image_is_encoded(main_window, qtbot, tmp_path):
    from PIL import Image

    panel = _panel(main_window, qtbot)
    canvas = panel.grid_column.canvas
    qtbot.mouseMove(canvas.viewport(), pos=canvas.widget_pos_of_cell(6, 2).toPoint())
    code = int(panel.editor.grid[6, 2])
    assert canvas.hover_label.isVisible() and canvas.hover_label.textItem.toPlainText().strip() == str(code)
    assert f"row 6, column 2: code <b>{code}</b>" in panel.grid_column.hover_label.text()
    number = canvas.number_items[6 * 8 + 2]
    assert not number.isVisible()
    panel.grid_column.numbers_box.setChecked(True)
    assert number.isVisible() and number.textItem.toPlainText() == str(code)

    path = tmp_path / "mine.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(path)
    panel.open_image(path)
    qtbot.waitUntil(lambda: panel.source_name == "mine.png", timeout=5000)
    image = panel.grid_column.original_canvas.image
    assert image.shape == (32, 32, 3) and tuple(image[16, 16]) == (200, 30, 30)
    assert np.array_equal(panel.editor.encoded, encode_tokens(panel.loaded.model, image[None])[0])
    assert not panel.editor.can_undo


def test_opening_another_checkpoint_does_not_wait_for_the_usage_count(main_window, qtbot, monkeypatch, tiny_assets):
    real = state.encode_tokens_progressive

    def slow(*args, **kwargs):  # 12 batches of 2 s: the count would take 24 s
        for step in real(*args, **kwargs):
            time.sleep(2.0)
            yield step

    monkeypatch.setattr(state, "encode_tokens_progressive", slow)
    monkeypatch.setattr(panel_module, "ENCODE_BATCH", 10)
    panel = _panel(main_window, qtbot, usage=False)
    qtbot.waitUntil(lambda: panel.worker.is_busy("usage"), timeout=10000)
    before = panel.loaded
    main_window.load_into(panel, tiny_assets / "vqvae-tiny" / "model.safetensors")
    qtbot.waitUntil(lambda: panel.loaded is not before, timeout=10000)
    # and no view of the old model survives (the new model's codebook may already be rebuilt)
    assert panel.usage is None or panel.usage.generation == panel.model_generation
    assert panel.codebook is None or panel.codebook.generation == panel.model_generation


def test_the_hover_readout_names_the_new_code_of_a_cell_painted_under_the_mouse(main_window, qtbot):
    panel = _panel(main_window, qtbot, usage=False)
    canvas, readout = panel.grid_column.canvas, panel.grid_column.hover_label
    pos = canvas.widget_pos_of_cell(3, 4).toPoint()
    qtbot.mouseMove(canvas.viewport(), pos=pos)
    old = int(panel.editor.grid[3, 4])
    assert f"code <b>{old}</b>" in readout.text()
    new = _other_code(panel, 3, 4)
    panel.select_code(new)
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)  # paint the hovered cell
    assert int(panel.editor.grid[3, 4]) == new
    assert f"row 3, column 4: code <b>{new}</b> (encoded: {old})" in readout.text()
    assert canvas.hover_label.textItem.toPlainText().strip() == str(new)
    panel.undo()
    assert f"row 3, column 4: code <b>{old}</b>" in readout.text() and "encoded" not in readout.text()


def _load_png_button(panel, monkeypatch, path) -> None:
    """Press "Load PNG…" and pick `path` in the file dialog."""
    monkeypatch.setattr(base.QFileDialog, "getOpenFileName", staticmethod(lambda *args, **kwargs: (str(path), "")))
    panel.toolbar.load_png_button.click()


def test_load_png_restores_the_edited_grid_an_export_holds(main_window, qtbot, tmp_path, monkeypatch):
    panel = _panel(main_window, qtbot, usage=False)
    panel.paint_cells([(2, 2), (2, 3)], _other_code(panel, 2, 2))
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)
    edited, encoded, source = panel.editor.grid.copy(), panel.editor.encoded.copy(), panel.source_name
    png = panel.export_png(tmp_path / "edited.png")
    recipe = read_recipe(png)
    assert recipe["picture"] == "tokens" and recipe["weights_sha256"] and recipe["scale"] == 8
    assert recipe["encoded_tokens"] == encoded.tolist() and recipe["edited_cells"] == 2

    panel.code_column.gallery.setCurrentRow(5)  # another image: another grid
    qtbot.waitUntil(lambda: not np.array_equal(panel.editor.encoded, encoded), timeout=5000)
    _load_png_button(panel, monkeypatch, png)
    qtbot.waitUntil(lambda: np.array_equal(panel.editor.grid, edited), timeout=5000)
    assert np.array_equal(panel.editor.encoded, encoded), "the encoded grid comes back: Reset and the edit count work"
    assert "2 of 64 cells edited" in panel.grid_column.grid_title.text() and panel.source_name == source
    assert "Restored" in main_window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)
    assert np.array_equal(panel.grid_column.recon_canvas.image, decode_tokens(panel.loaded.model, encoded)[0])
    panel.reset_grid()
    assert np.array_equal(panel.editor.grid, encoded)

    # what the command line writes: `encode vqvae --recon` ("tokens") and `sample vqvae` ("latent")
    header = {key: recipe[key] for key in ("model", "family", "checkpoint")}
    for key in ("tokens", "latent"):
        cli = save_png(tmp_path / f"cli-{key}.png", np.zeros((32, 32, 3), np.uint8), header | {key: edited.tolist()})
        assert panel.load_png(cli)
        qtbot.waitUntil(lambda: np.array_equal(panel.editor.grid, edited), timeout=5000)
        assert np.array_equal(panel.editor.encoded, edited)
        panel.reset_grid()  # nothing to reset to: the grid is as encoded
        assert np.array_equal(panel.editor.grid, edited)
        panel.paint_cells([(0, 0)], _other_code(panel, 0, 0))


def _status_after(main_window, qtbot, action) -> str:
    with qtbot.waitSignal(_vq(main_window).status_message, timeout=5000) as blocker:
        action()
    return blocker.args[0]


def _vq(window) -> VQVAEPanel:
    return next(p for p in window.panels if isinstance(p, VQVAEPanel))


def _still_usable(panel, qtbot, grid) -> None:
    """A refused file changed nothing, and the panel still paints and decodes."""
    assert np.array_equal(panel.editor.grid, grid)
    panel.paint_cells([(7, 7)], _other_code(panel, 7, 7))
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)
    panel.undo()


def test_load_png_refuses_other_families_plain_pngs_and_hand_edited_grids_in_one_line(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot, usage=False)
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)
    grid, good = panel.editor.grid.copy(), panel.recipe()
    pixels = np.zeros((32, 32, 3), np.uint8)
    from PIL import Image

    Image.fromarray(pixels).save(tmp_path / "plain.png")
    save_png(tmp_path / "vae.png", pixels, {"family": "vae", "model": "vae-shapes", "latent": [0.0] * 16})
    (tmp_path / "notes.png").write_text("not a picture")
    cases = {
        "plain.png": "carries no playground recipe",
        "vae.png": "is a vae image (model vae-shapes), not an image from the VQ-VAE codebook panel",
        "notes.png": "not an image file",
    }
    junk = {
        "out-of-range": ({"tokens": np.full((8, 8), 99).tolist()}, "integers from 0 to 15"),
        "negative": ({"tokens": np.full((8, 8), -1).tolist()}, "integers from 0 to 15"),
        "wrong-size": ({"tokens": np.zeros((4, 4), int).tolist()}, "8x8"),
        "ragged": ({"tokens": [[0] * 8] * 7 + [[0] * 3]}, "8x8"),
        "floats": ({"tokens": np.full((8, 8), 1.5).tolist()}, "integers"),
        "text": ({"tokens": "0,1,2"}, "'tokens'"),
        "null": ({"tokens": None}, "'tokens'"),
        "no-grid": ({"tokens": None, "latent": None}, "'tokens'"),
        "huge": ({"tokens": [[10**30] * 8] * 8}, "integers from 0 to 15"),
        "bad-encoded": ({"encoded_tokens": [[True] * 8] * 8}, "'encoded_tokens'"),
    }
    for name, (change, _) in junk.items():
        save_png(tmp_path / f"{name}.png", pixels, good | change)
        cases[f"{name}.png"] = junk[name][1]
    for name, expected in cases.items():
        message = _status_after(main_window, qtbot, lambda: panel.load_png(tmp_path / name))
        assert message.startswith("Error: ") and expected in message, (name, message)
        assert "\n" not in message and "Traceback" not in message and "Error:" not in message[7:], (name, message)
        qtbot.wait(50)  # a wrongly accepted grid would be decoded by now
        _still_usable(panel, qtbot, grid)
    assert panel.load_png(tmp_path / "vae.png") is False


def test_opening_a_file_that_is_not_an_image_says_which_file_and_why(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot, usage=False)
    qtbot.waitUntil(lambda: _decoded(panel), timeout=5000)
    grid = panel.editor.grid.copy()
    (tmp_path / "notes.txt").write_text("shopping: eggs, milk")
    (tmp_path / "empty.png").write_bytes(b"")
    whole = save_png(tmp_path / "whole.png", np.random.default_rng(0).integers(0, 256, (32, 32, 3), np.uint8))
    (tmp_path / "cut.png").write_bytes(whole.read_bytes()[:200])  # a PNG cut off in its pixels
    cases = {"notes.txt": "notes.txt is not an image file", "empty.png": "empty.png is not an image file",
             "missing.png": "missing.png: no such file", "cut.png": "cut.png is damaged or cut short"}
    for name, expected in cases.items():
        message = _status_after(main_window, qtbot, lambda: panel.open_image(tmp_path / name))
        assert message.startswith("Error: ") and expected in message, message
        assert "\n" not in message and "ImageFileError" not in message and "Error:" not in message[7:], message
        _still_usable(panel, qtbot, grid)


def test_a_png_loaded_as_the_tab_first_opens_keeps_its_grid(main_window, qtbot, tmp_path):
    """A PNG dropped on the window before the tab was ever shown: the gallery that arrives after it must not
    replace the restored grid with its first image (the status said "Restored")."""
    from playground.core.provenance import model_header

    panel = next(p for p in main_window.panels if isinstance(p, VQVAEPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    assert panel.editor is None  # never shown
    grid = np.random.default_rng(3).integers(0, panel.loaded.model.codebook_size, (8, 8))
    png = save_png(tmp_path / "restored.png", np.zeros((32, 32, 3), np.uint8),
                   model_header(panel.loaded) | {"picture": "tokens", "tokens": grid.tolist()})
    main_window.open_dropped(png)  # shows the tab (its gallery is asked for), then restores
    assert main_window.current_panel is panel
    qtbot.waitUntil(lambda: panel.editor is not None and len(panel.code_column.gallery.data or []) > 0, timeout=20000)
    qtbot.waitUntil(lambda: not panel.live.is_busy(), timeout=10000)
    qtbot.wait(100)  # whatever the live worker delivered is shown
    assert np.array_equal(panel.editor.grid, grid) and panel.source_name == "a restored PNG"
    assert main_window.statusBar().currentMessage() == "Restored the VQ-VAE codebook panel from restored.png"
