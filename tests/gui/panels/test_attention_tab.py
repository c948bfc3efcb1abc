"""The Text-to-image panel's Attention tab as a presenter drives it: pick an ldm or a dit, run, click a word,
scrub the step, click a cell (tiny untrained models, T = 100, a few DDIM steps)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from playground.core.latent_diffusion.attention import run_maps
from playground.core.latent_diffusion.attention_picture import overlay, word_overlays
from playground.core.text2img.sampling import to_images
from playground.gui.panels.text2img import Text2ImgPanel

PROMPT = "a large red circle at the top left"
WORDS = ["large", "red", "circle", "at", "the", "top", "left"]


@pytest.fixture
def panel(main_window, qtbot) -> Text2ImgPanel:
    panel = next(p for p in main_window.panels if isinstance(p, Text2ImgPanel))
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=20000)
    return panel


def open_model(main_window, panel, tiny_assets, family: str, qtbot) -> None:
    main_window.load_into(panel, tiny_assets / f"{family}-tiny" / "model.safetensors", interactive=True)
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.loaded.family == family, timeout=20000)
    panel.prompt.set_text(PROMPT)
    panel.apply_settings(panel.settings().replace(steps=4, seed=7))


def show_attention(panel, qtbot) -> None:
    with qtbot.waitSignal(panel.attention_tab.computed, timeout=30000):
        panel.tabs.setCurrentWidget(panel.attention_tab)


def click_image(qtbot, canvas, row: int, col: int) -> None:
    """A left click on pixel (row, col) of an image canvas, as the mouse gives it."""
    scene = canvas.image_item.mapToScene(QPointF(col + 0.5, row + 0.5))
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(scene))


def test_a_pixel_model_says_it_has_no_attention_over_words(panel, qtbot):
    assert panel.loaded.family == "text2img"
    panel.tabs.setCurrentWidget(panel.attention_tab)
    tab = panel.attention_tab
    qtbot.waitUntil(lambda: "no attention over prompt words" in tab.note.text(), timeout=5000)
    assert not tab.run_button.isEnabled() and not tab.word_group.buttons()


def test_ldm_words_are_buttons_and_a_click_shows_that_words_map(main_window, panel, tiny_assets, qtbot):
    open_model(main_window, panel, tiny_assets, "ldm", qtbot)
    show_attention(panel, qtbot)
    tab = panel.attention_tab
    assert [b.text() for b in tab.word_group.buttons()] == WORDS
    run, maps = tab.run, tab.maps
    assert run.num_steps == 4 and tab.step_slider.value() == 2 and maps.t == run.timesteps[2]
    assert run.settings.seed == 7 and maps.side == 8 and len(maps.layers) == tab.layer_box.count() - 1
    qtbot.mouseClick(tab.word_group.button(2), Qt.MouseButton.LeftButton)  # "circle"
    assert tab.map_view.title.text() == "“circle”"
    np.testing.assert_array_equal(tab.map_view.image, word_overlays(maps, run.final)[2])
    tab.head_box.setCurrentIndex(2)  # head 2 of the mean of layers
    np.testing.assert_array_equal(tab.map_view.image, word_overlays(maps, run.final, None, 1)[2])
    # another step: one forward on the worker, the same maps the core computes for that step
    with qtbot.waitSignal(tab.computed, timeout=20000):
        tab.step_slider.setValue(0)
    expected = run_maps(panel.loaded.model, run, 0, "cross")
    assert tab.maps.t == run.timesteps[0]
    for shown, core in zip(tab.maps.layers, expected.layers):
        np.testing.assert_array_equal(shown.weights, core.weights)
    tab.over_box.setCurrentIndex(1)  # over the x0 predicted at that step instead of the final sample
    np.testing.assert_array_equal(tab.step_image, to_images(panel.loaded.model, run.pred_x0[0])[0])
    np.testing.assert_array_equal(tab.map_view.image, word_overlays(tab.maps, tab.step_image, None, 1)[2])


def test_dit_click_a_cell_shows_where_it_looks(main_window, panel, tiny_assets, qtbot):
    open_model(main_window, panel, tiny_assets, "dit", qtbot)
    show_attention(panel, qtbot)
    tab = panel.attention_tab
    with qtbot.waitSignal(tab.computed, timeout=20000):
        click_image(qtbot, tab.image_view.canvas, 30, 9)  # pixel (30, 9): token (3, 1) of the 4x4 grid
    maps = tab.maps
    assert maps.kind == "self" and tab.self_button.isChecked() and tab.cell == (3, 1)
    assert tab.map_view.title.text() == "cell 3,1 looks at"
    np.testing.assert_array_equal(tab.map_view.image, overlay(tab.run.final, maps.cell_map(3, 1), cell=(3, 1)))
    tab.layer_box.setCurrentIndex(1)  # block 1 only
    np.testing.assert_array_equal(tab.map_view.image,
                                  overlay(tab.run.final, maps.cell_map(3, 1, layer=0), cell=(3, 1)))
    click_image(qtbot, tab.map_view.canvas, 0, 31)  # the heat map takes clicks too: token (0, 3)
    assert tab.cell == (0, 3)
    np.testing.assert_array_equal(tab.map_view.image,
                                  overlay(tab.run.final, maps.cell_map(0, 3, layer=0), cell=(0, 3)))
    with qtbot.waitSignal(tab.computed, timeout=20000):  # a word click goes back to cross-attention
        qtbot.mouseClick(tab.word_group.button(1), Qt.MouseButton.LeftButton)
    assert tab.maps.kind == "cross" and tab.map_view.title.text() == "“red”"


def test_an_empty_prompt_has_no_words_but_its_cells_still_look_somewhere(main_window, panel, tiny_assets, qtbot):
    open_model(main_window, panel, tiny_assets, "dit", qtbot)
    panel.prompt.set_text("")
    tab = panel.attention_tab
    panel.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: "empty prompt has no words" in tab.note.text(), timeout=30000)
    assert not tab.word_group.buttons() and tab.maps is None
    with qtbot.waitSignal(tab.computed, timeout=20000):
        tab.self_button.setChecked(True)
    assert tab.maps.kind == "self" and tab.maps.words == () and not tab.note.isVisible()
