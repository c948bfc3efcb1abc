"""The VAE/AE panel as a user drives it."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from playground.core.images import read_recipe
from playground.core.latent.sampling import decode, encode, prior_latents


def _panel(window, qtbot):
    panel = window.panels[0]
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.current_image is not None, timeout=10000)
    return panel


def test_a_model_opens_on_the_seeds_prior_draw(main_window, qtbot):
    """Not on z = 0: the shipped VAE decodes that to a dim smudge (brightest pixel 47 of 255)."""
    panel = _panel(main_window, qtbot)
    seed = panel.seed_box.value()
    np.testing.assert_allclose(panel.z, prior_latents(6, 1, seed)[0].numpy())
    assert panel.last_seed == seed  # an export right away records the seed in its recipe
    expected = decode(panel.loaded.model, panel.z)[0]
    qtbot.waitUntil(lambda: np.array_equal(panel.current_image, expected), timeout=5000)


def test_moving_a_slider_changes_the_image(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    before = panel.current_image.copy()
    most_used = next(iter(panel.rows))
    assert most_used == 2, "sliders are ordered by KL per dimension, most used first"
    panel.rows[most_used].slider.setValue(250)
    qtbot.waitUntil(lambda: not np.array_equal(panel.current_image, before), timeout=5000)
    assert panel.z[most_used] == pytest.approx(2.5)
    expected = decode(panel.loaded.model, panel.z)[0]
    qtbot.waitUntil(lambda: np.array_equal(panel.current_image, expected), timeout=5000)
    np.testing.assert_array_equal(panel.canvas.image_item.image, expected)


def test_random_uses_the_seed_and_reset_returns_to_zero(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    panel.seed_box.setValue(7)
    panel.random_button.click()
    np.testing.assert_allclose(panel.z, prior_latents(6, 1, 7)[0].numpy())
    assert panel.rows[0].value.text() == f"{panel.z[0]:+.2f}"
    panel.reset_button.click()
    assert not panel.z.any()


def test_encoding_a_gallery_item_sets_the_sliders(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    qtbot.waitUntil(lambda: panel.gallery.count() > 5, timeout=10000)
    panel.gallery.setCurrentRow(4)
    image = panel.gallery_data.images[4]
    mean, _ = encode(panel.loaded.model, image[None])
    qtbot.waitUntil(lambda: np.allclose(panel.z, mean[0], atol=1e-5), timeout=5000)
    np.testing.assert_array_equal(panel.original_canvas.image, image)
    assert panel.recon_canvas.image is not None
    top = next(iter(panel.rows))
    assert panel.rows[top].slider.value() == int(round(np.clip(mean[0][top], -3, 3) * 100))


def test_opening_an_image_file_encodes_it(main_window, qtbot, tmp_path):
    from PIL import Image

    path = tmp_path / "mine.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(path)
    panel = _panel(main_window, qtbot)
    panel.open_image(str(path))
    qtbot.waitUntil(lambda: panel.original_canvas.image is not None, timeout=5000)
    assert panel.original_canvas.image.shape == (32, 32, 3)
    assert tuple(panel.original_canvas.image[16, 16]) == (200, 30, 30)


def test_a_bad_image_file_reports_and_keeps_the_panel_working(main_window, qtbot, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image")
    panel = _panel(main_window, qtbot)
    with qtbot.waitSignal(panel.status_message, timeout=5000) as blocker:
        panel.open_image(str(bad))
    assert "broken.png" in blocker.args[0] and "Error" in blocker.args[0]
    before = panel.current_image.copy()
    panel.rows[2].slider.setValue(-250)
    qtbot.waitUntil(lambda: not np.array_equal(panel.current_image, before), timeout=5000)


def test_interpolation_moves_between_the_end_points(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    a, b = prior_latents(6, 2, 3).numpy()
    panel.set_latent(a)
    panel.set_endpoint("A")
    panel.set_latent(b)
    panel.set_endpoint("B")
    qtbot.waitUntil(lambda: panel.strip_canvas.image is not None, timeout=5000)
    expected_a = decode(panel.loaded.model, a)[0]
    qtbot.waitUntil(lambda: np.array_equal(panel.endpoint_canvases["A"].image, expected_a), timeout=5000)
    assert panel.strip_canvas.image.shape == (32, 32 * 9, 3)
    panel.interp_mode.setCurrentText("linear")
    panel.interp_slider.setValue(50)
    np.testing.assert_allclose(panel.z, (a + b) / 2, atol=1e-6)
    panel.interp_slider.setValue(100)
    np.testing.assert_allclose(panel.z, b, atol=1e-6)


def test_clicking_the_latent_map_decodes_that_point(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    panel.tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: panel.encoded is not None, timeout=20000)
    assert panel.map_label_box.currentText() == "color"
    coords = panel.encoded.projection.coords
    assert len(panel.map_scatter.data) == len(coords)
    target = coords[10]
    view = panel.map_plot.getPlotItem().vb
    point = QPointF(float(target[0]), float(target[1]))
    # under load the plot may not be laid out and ranged yet: wait until the point is on screen
    qtbot.waitUntil(lambda: view.sceneBoundingRect().contains(view.mapViewToScene(point)), timeout=10000)
    scene_pos = view.mapViewToScene(point)

    class Click:
        def scenePos(self):
            return scene_pos

    panel._on_map_click(Click())
    expected = panel.encoded.projection.inverse(target)
    np.testing.assert_allclose(panel.z, expected, atol=1e-3 * (1 + np.abs(expected).max()))
    image = decode(panel.loaded.model, panel.z)[0]
    qtbot.waitUntil(lambda: np.array_equal(panel.current_image, image), timeout=5000)


def test_export_writes_the_recipe(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot)
    panel.seed_box.setValue(11)
    panel.random_button.click()
    expected = decode(panel.loaded.model, panel.z)[0]
    qtbot.waitUntil(lambda: np.array_equal(panel.current_image, expected), timeout=5000)
    path = panel.export_png(tmp_path / "out.png")
    recipe = read_recipe(path)
    assert recipe["seed"] == 11 and recipe["family"] == "vae"
    np.testing.assert_allclose(recipe["latent"], panel.z, atol=1e-5)


def test_switching_to_the_ae_explains_why_prior_samples_fail(main_window, qtbot, tiny_assets):
    panel = _panel(main_window, qtbot)
    assert "VAE" in panel.note.text()
    main_window.load_into(panel, tiny_assets / "ae-tiny" / "model.safetensors")
    qtbot.waitUntil(lambda: panel.loaded.family == "ae", timeout=5000)
    assert "Plain autoencoder" in panel.note.text()
    assert panel.note.property("warning") is True


def test_a_corrupt_checkpoint_is_refused_and_the_model_stays(main_window, qtbot, tmp_path, tiny_assets):
    panel = _panel(main_window, qtbot)
    bad = tmp_path / "bad" / "model.safetensors"
    bad.parent.mkdir()
    (tiny_assets / "vae-tiny" / "model.json").read_text()
    (bad.with_suffix(".json")).write_text((tiny_assets / "vae-tiny" / "model.json").read_text())
    bad.write_bytes(b"\x00" * 100)
    loaded_before = panel.loaded
    main_window.open_checkpoint(bad)
    qtbot.waitUntil(lambda: "Error" in main_window.statusBar().currentMessage(), timeout=5000)
    assert "model.safetensors" in main_window.statusBar().currentMessage()
    assert panel.loaded is loaded_before
    before = panel.current_image.copy()
    panel.rows[2].slider.setValue(200)
    qtbot.waitUntil(lambda: not np.array_equal(panel.current_image, before), timeout=5000)


def test_a_worker_error_reaches_the_status_bar(main_window, qtbot):
    panel = _panel(main_window, qtbot)

    def broken(ctx):
        raise RuntimeError("decoder on fire")

    panel.worker.submit(broken, channel="decode")
    qtbot.waitUntil(lambda: "decoder on fire" in main_window.statusBar().currentMessage(), timeout=5000)
    assert main_window.isVisible()
