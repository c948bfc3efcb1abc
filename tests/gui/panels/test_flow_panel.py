"""The Latent / flow panel as a user drives it: the comparison, a clicked latent cell, the steps slider,
the cost table, the autoencoder's latent sliders, export and Load PNG."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from playground.core.images import read_recipe
from playground.core.latent_diffusion.comparison import compare
from playground.gui.panels.flow import FlowPanel


@pytest.fixture(scope="module", autouse=True)
def flop_counter_imported():
    """The first FLOP count imports torch._dynamo (seconds, much more on a busy machine; it cannot be
    cancelled): import it before any window, so no test closes its window in the middle of it."""
    import torch._dynamo  # noqa: F401


def _panel(window, qtbot) -> FlowPanel:
    panel = next(p for p in window.panels if isinstance(p, FlowPanel))
    window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None and bool(panel.flow_view.paths), timeout=20000)
    return panel


def _click_cell(qtbot, canvas, row: int, col: int) -> None:
    """A real mouse click on the middle of an image cell of a pyqtgraph canvas."""
    scene = canvas.image_item.mapToScene(QPointF(col + 0.5, row + 0.5))
    pos = canvas.mapFromScene(scene)
    qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_the_tab_runs_every_sampler_from_the_same_noise_beside_the_cost_table(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    assert panel.loaded.family == "sit"  # the tab opens the flow model
    view = panel.flow_view
    assert [p.sampler for p in view.paths] == ["ddpm", "ddim", "euler", "heun"]
    assert all(np.array_equal(p.latents[0], view.noise) for p in view.paths)
    for sampler, titled in view.samples.items():
        assert titled.image is not None and titled.image.shape == (32, 32, 3)
        assert "straightness" in titled.caption.text()
    assert all(c.image is not None and c.image.shape == (8, 8, 3) for c in view.noise_canvases)
    assert all(len(curve.yData) == 11 for curve in view.curves.values())  # 10 steps: 11 points
    # what a user sees equals a run of the core with the shipped tiny models
    models = {f: m.model for f, m in view.models.items()}
    expected = compare(models, 10, 0, samplers=["euler"])[0]
    np.testing.assert_array_equal(view.samples["euler"].image, expected.image)
    qtbot.waitUntil(lambda: len(panel.cost_view.costs) == 4, timeout=30000)
    assert [c.kind for c in panel.cost_view.costs] == ["pixel U-Net", "latent U-Net", "latent DiT", "latent SiT"]
    assert [c.values for c in panel.cost_view.costs] == [3072, 256, 256, 256]
    assert all(c.gflops > 0 and c.ms_batch1 > 0 and c.ms_batch2 > 0 for c in panel.cost_view.costs)
    assert panel.cost_view.table.rowCount() == 4 and "12x fewer values" in panel.cost_view.info.text()


def test_clicking_a_latent_cell_or_a_pixel_follows_that_value(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    view = panel.flow_view
    _click_cell(qtbot, view.noise_canvases[2], 5, 6)
    assert view.cell == (2, 5, 6)
    heun = next(p for p in view.paths if p.sampler == "heun")
    np.testing.assert_array_equal(view.curves["heun"].yData, heun.value_path(2, 5, 6))
    np.testing.assert_array_equal(view.curves["heun"].xData, heun.levels)
    assert "channel 2, row 5, column 6" in view.info.text()
    _click_cell(qtbot, view.samples["ddim"].canvas, 9, 30)  # a pixel: the latent cell that paints it
    assert view.cell == (2, 2, 7)


def test_the_steps_slider_shows_each_familys_sample_at_that_count(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    view = panel.flow_view
    ten = {p.sampler: p.image for p in view.paths}
    view.steps_slider.setValue(2)
    qtbot.waitUntil(lambda: view.paths[0].steps == 2, timeout=20000)
    assert [p.steps for p in view.paths] == [2, 2, 2, 2] and view.steps_label.text() == "2 steps"
    assert all(len(curve.yData) == 3 for curve in view.curves.values())
    view.steps_slider.setValue(10)  # back: from the cache, at once
    assert view.paths[0].steps == 10
    assert all(np.array_equal(p.image, ten[p.sampler]) for p in view.paths)


def test_a_bad_prompt_is_a_message_and_a_prompt_guides(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    view = panel.flow_view
    messages = []
    panel.status_message.connect(messages.append)
    view.prompt_edit.setText("a purple banana")
    view.request()
    assert messages and messages[-1].startswith("Error:") and "purple" in messages[-1]
    view.prompt_edit.setText("a red circle")
    view.request()
    qtbot.waitUntil(lambda: view.shown_key is not None and view.shown_key[2] == "a red circle", timeout=20000)
    assert view.shown_key[3] == 3.0


def test_export_writes_the_side_by_side_picture_and_load_png_restores_it(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot)
    view = panel.flow_view
    view.seed_field.setText("7")
    view.request()
    qtbot.waitUntil(lambda: view.shown_key is not None and view.shown_key[0] == 7, timeout=20000)
    out = panel.export_png(tmp_path / "flow.png")
    recipe = read_recipe(out)
    assert recipe["picture"] == "flow-compare" and recipe["seed"] == 7 and recipe["steps"] == [10]
    assert recipe["spacing"] == "leading"
    assert recipe["dit"].endswith("model.safetensors") and recipe["family"] == "sit"
    view.seed_field.setText("1")
    view.spacing_box.setCurrentText("trailing")
    view.steps_slider.setValue(3)
    qtbot.waitUntil(lambda: view.shown_key == (1, 3, "", 1.0, "trailing"), timeout=20000)
    assert panel.load_png(out)
    qtbot.waitUntil(lambda: view.shown_key == (7, 10, "", 1.0, "leading"), timeout=20000)
    assert view.steps_slider.value() == 10 and view.seed_field.text() == "7"
    assert view.spacing_box.currentText() == "leading"


def test_dragging_a_latent_slider_redraws_the_reconstruction(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    ae_view = panel.autoencoder_view
    panel.tabs.setCurrentWidget(ae_view)
    qtbot.waitUntil(lambda: ae_view.latent is not None and ae_view.recon_canvas.image is not None, timeout=20000)
    assert ae_view.original_canvas.image.shape == (32, 32, 3)
    assert all(c.image.shape == (8, 8, 3) for c in ae_view.channel_canvases)
    assert "scale factor" in ae_view.info.text() and "reconstruction error" in ae_view.info.text()
    before = ae_view.recon_canvas.image.copy()
    _click_cell(qtbot, ae_view.channel_canvases[1], 4, 2)
    assert ae_view.cell == (1, 4, 2)
    assert ae_view.slider.value() == int(round(ae_view.encoded[1, 4, 2] * 100))
    for value in (100, 200, 300, 400):  # a drag: the throttle lets the newest value through
        ae_view.slider.setValue(value)
    qtbot.waitUntil(lambda: not np.array_equal(ae_view.recon_canvas.image, before), timeout=5000)
    qtbot.waitUntil(lambda: "edited" in ae_view.recon_canvas.caption.text(), timeout=5000)
    assert ae_view.latent[1, 4, 2] == pytest.approx(4.0)
    ae_view.reset_button.click()
    qtbot.waitUntil(lambda: np.array_equal(ae_view.recon_canvas.image, before), timeout=5000)


def test_picking_the_autoencoder_keeps_the_comparison_on_the_shipped_dit_and_sit(main_window, qtbot, tiny_assets):
    panel = _panel(main_window, qtbot)
    main_window.load_into(panel, tiny_assets / "autoencoder-kl-tiny" / "model.safetensors", interactive=True)
    qtbot.waitUntil(lambda: panel.loaded.family == "autoencoder-kl" and bool(panel.flow_view.paths), timeout=20000)
    assert sorted(panel.flow_view.models) == ["dit", "sit"]
    entries = [main_window.model_picker.itemText(i) for i in range(main_window.model_picker.count())]
    assert any("sit-tiny" in e for e in entries) and any("dit-tiny" in e for e in entries)
    assert any("autoencoder-kl-tiny" in e for e in entries)


def test_an_opened_image_file_is_encoded_and_a_bad_file_is_a_message(main_window, qtbot, tmp_path):
    from PIL import Image

    panel = _panel(main_window, qtbot)
    ae_view = panel.autoencoder_view
    panel.tabs.setCurrentWidget(ae_view)
    qtbot.waitUntil(lambda: ae_view.latent is not None, timeout=20000)
    image = np.zeros((64, 64, 3), np.uint8)
    image[10:40, 20:50] = (30, 200, 40)
    Image.fromarray(image).save(tmp_path / "green.png")
    ae_view.open_image(tmp_path / "green.png")
    qtbot.waitUntil(lambda: ae_view.description == "green.png", timeout=10000)
    assert ae_view.original_canvas.image[12, 17].tolist() == [30, 200, 40]  # scaled to 32x32
    messages = []
    panel.status_message.connect(messages.append)
    (tmp_path / "notes.png").write_text("not an image")
    ae_view.open_image(tmp_path / "notes.png")
    qtbot.waitUntil(lambda: bool(messages), timeout=10000)
    assert messages[-1].startswith("Error:") and "notes.png" in messages[-1]
    assert ae_view.description == "green.png"
