"""The CLIP panel as a user drives it: the caption matrix, zero-shot reading of a data-set image and
of a file, retrieval by a prompt, the joint map, a bad prompt, and "Load PNG…" of a CLI retrieval."""

from __future__ import annotations

import numpy as np
from PIL import Image

from playground.cli import main
from playground.core.clip.classify import read_attributes
from playground.core.clip.matrix import caption_matrix
from playground.core.data import load_image_file
from playground.core.data.shapes import ATTRIBUTES, generate
from playground.gui.panels.clip import ClipPanel
from playground.gui.panels.clip.map_tab import MAP_POINTS, MapTab
from playground.gui.panels.clip.retrieval_tab import RetrievalTab
from playground.gui.panels.clip.similarity_tab import SimilarityTab
from playground.gui.panels.clip import zero_shot_tab
from playground.gui.panels.clip.zero_shot_tab import ZeroShotTab


def _panel(window, qtbot) -> ClipPanel:
    panel = next(p for p in window.panels if isinstance(p, ClipPanel))
    window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=20000)
    return panel


def _show(panel, cls):
    tab = panel.view(cls)
    panel.tabs.setCurrentWidget(tab)
    return tab


def test_the_similarity_tab_shows_images_against_their_captions(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    assert panel.loaded.family == "clip" and panel.tabs.tabText(0) == "Similarity"
    tab = panel.view(SimilarityTab)
    qtbot.waitUntil(lambda: tab.matrix is not None, timeout=20000)
    expected = caption_matrix(panel.loaded.model, 8, 1)
    assert tab.matrix.captions == expected.captions
    np.testing.assert_allclose(tab.matrix.similarity, expected.similarity, atol=1e-5)
    assert "of 8 images are nearest their own caption" in tab.info.text()
    tab.n_box.setValue(4)
    qtbot.waitUntil(lambda: len(tab.matrix.captions) == 4, timeout=20000)
    image = tab.view.grab().toImage()
    assert image.width() > 300  # painted
    left, top, cell = tab.view._layout()
    assert tab.view.cell_at(tab.view.rect().topLeft()) is None
    from PySide6.QtCore import QPoint

    assert tab.view.cell_at(QPoint(left + cell + cell // 2, top + cell // 2)) == (1, 0)
    tab.softmax_box.setChecked(True)
    np.testing.assert_allclose(tab.view.values().sum(1), np.ones(4), atol=1e-5)


def test_zero_shot_reads_a_data_set_image_and_a_file(main_window, qtbot, tmp_path, monkeypatch):
    panel = _panel(main_window, qtbot)
    tab = _show(panel, ZeroShotTab)
    qtbot.waitUntil(lambda: tab.reading is not None, timeout=20000)
    first = tab.gallery.data.images[0]
    np.testing.assert_array_equal(tab.image, first)
    expected = read_attributes(panel.loaded.model, first[None])[0]
    for attribute in ATTRIBUTES:
        np.testing.assert_allclose(tab.reading[attribute].probabilities, expected[attribute].probabilities, atol=1e-5)
        assert np.isclose(tab.bars.bars[attribute].opts["width"].sum(), 1.0, atol=1e-4)  # the bars drawn
    assert "attributes right" in tab.summary.text()
    # a file of the user's own (a 64x48 picture: scaled and centre-cropped to 32x32)
    image = np.repeat(np.repeat(generate(1, 8).images[0], 2, 0), 2, 1)[:, 8:56]
    path = tmp_path / "mine.png"
    Image.fromarray(np.ascontiguousarray(image)).save(path)
    tab.reading = None
    monkeypatch.setattr(zero_shot_tab, "ask_image_path", lambda parent: str(path))  # the user picks it in the dialog
    tab.open_button.click()
    qtbot.waitUntil(lambda: tab.reading is not None, timeout=20000)
    np.testing.assert_array_equal(tab.image, load_image_file(path))
    assert tab.canvas.caption.text() == "mine.png" and tab.truth is None
    assert "attributes right" not in tab.summary.text() and "CLIP reads" in tab.summary.text()
    # a file that is no image: one message, the reading stays
    messages = []
    panel.status_message.connect(messages.append)
    bad = tmp_path / "bad.png"
    bad.write_text("no")
    tab.open_file(str(bad))
    qtbot.waitUntil(lambda: bool(messages), timeout=20000)
    assert messages[-1].startswith("Error:") and "not an image file" in messages[-1]
    assert tab.canvas.caption.text() == "mine.png"


def test_retrieval_shows_the_top_images_best_first(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    tab = _show(panel, RetrievalTab)
    qtbot.waitUntil(lambda: tab.result is not None, timeout=60000)
    assert tab.results.count() == 8
    scores = tab.result.scores
    assert np.all(np.diff(scores) <= 0)
    assert tab.results.item(0).text().startswith("#1")
    tab.prompt.set_text("a large blue square")
    tab.k_box.setValue(5)
    qtbot.waitUntil(lambda: tab.result.prompt == "large blue square" and tab.results.count() == 5, timeout=20000)
    labels = tab.pool.data.labels[tab.result.indices]
    fits = (labels[:, 0] == 1) & (labels[:, 1] == 2) & (labels[:, 2] == 1)
    np.testing.assert_array_equal(tab.result.matches, fits)
    assert f"{int(fits.sum())} of the top 5 fit" in tab.info.text()
    messages = []
    panel.status_message.connect(messages.append)
    tab.prompt.set_text("a large blue banana")
    tab.search_button.click()
    assert messages and messages[-1].startswith("Error:") and "banana" in messages[-1]
    assert tab.result.prompt == "large blue square"  # the last good result stays


def test_the_map_places_images_and_prompts(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    tab = _show(panel, MapTab)
    qtbot.waitUntil(lambda: tab.map is not None, timeout=60000)
    assert tab.map.image_xy.shape == (MAP_POINTS, 2) and tab.map.prompt_xy.shape == (len(tab.map.prompts), 2)
    labelled = [w for t in tab.texts for w in t.toPlainText().split("\n")]
    assert sorted(labelled) == sorted(tab.map.prompts)  # every prompt named once (neighbours share a label)
    first = tab.map.image_xy.copy()
    tab.prompts_edit.setText("red, a small circle")
    tab.map = None
    tab.apply_button.click()
    qtbot.waitUntil(lambda: tab.map is not None, timeout=20000)
    assert tab.map.prompts == ["red", "a small circle"]
    assert sorted(w for t in tab.texts for w in t.toPlainText().split("\n")) == ["a small circle", "red"]
    tab.thumbs_box.setChecked(True)
    assert len(tab.thumbs) > 0
    tab.colour_box.setCurrentText("shape")
    assert tab.map.image_xy.shape == first.shape


def test_load_png_of_a_cli_retrieval_restores_its_prompt(main_window, qtbot, tmp_path, tiny_assets):
    panel = _panel(main_window, qtbot)
    out = tmp_path / "r.png"
    assert main(["clip", "retrieve", "--prompt", "a green plus", "--k", "3", "--pool", "40", "--out", str(out),
                 "--checkpoint", str(tiny_assets / "clip-tiny")]) == 0
    assert panel.load_png(out)
    tab = panel.view(RetrievalTab)
    assert panel.tabs.currentWidget() is tab and tab.prompt.text() == "green plus" and tab.k_box.value() == 3
    qtbot.waitUntil(lambda: tab.result is not None and tab.result.prompt == "green plus", timeout=60000)
