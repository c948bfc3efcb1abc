"""The latent panel with a GAN: same sliders and prior, no encoder, GANSpace direction sliders and files."""

from __future__ import annotations

import numpy as np
import pytest

from playground.core.latent.directions import load_directions
from playground.core.latent.sampling import decode, prior_latents
from playground.gui.panels.latent import DIRECTIONS_TAB, ENCODE_TAB, MAP_TAB, LatentPanel


@pytest.fixture
def gan_panel(main_window, qtbot, tiny_assets) -> LatentPanel:
    panel = next(p for p in main_window.panels if isinstance(p, LatentPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    main_window.load_into(panel, tiny_assets / "gan-tiny" / "model.safetensors")
    qtbot.waitUntil(lambda: panel.loaded.family == "gan" and panel.directions is not None, timeout=20000)
    return panel


def test_the_gan_opens_in_the_latent_panel_with_a_slider_per_noise_dimension(gan_panel, qtbot, main_window):
    assert "GAN" in gan_panel.note.text()
    assert list(gan_panel.sliders.rows) == list(range(8))
    # it opens on a sample, not on z = 0 (off the shell a GAN's noise comes from: a smudge)
    np.testing.assert_allclose(gan_panel.z, prior_latents(8, 1, gan_panel.seed_box.value())[0].numpy())
    opened_on = decode(gan_panel.loaded.model, gan_panel.z)[0]
    qtbot.waitUntil(lambda: np.array_equal(gan_panel.current_image, opened_on), timeout=5000)
    gan_panel.random_button.click()
    np.testing.assert_allclose(gan_panel.z, prior_latents(8, 1, gan_panel.seed_box.value())[0].numpy())
    expected = decode(gan_panel.loaded.model, gan_panel.z)[0]
    qtbot.waitUntil(lambda: np.array_equal(gan_panel.current_image, expected), timeout=5000)
    gan_panel.sliders.rows[3].slider.setValue(-200)
    assert gan_panel.z[3] == pytest.approx(-2.0)
    expected = decode(gan_panel.loaded.model, gan_panel.z)[0]
    qtbot.waitUntil(lambda: np.array_equal(gan_panel.current_image, expected), timeout=5000)
    entries = [main_window.model_picker.itemText(i) for i in range(main_window.model_picker.count())]
    assert any(e.startswith("gan-tiny") for e in entries)


def test_without_an_encoder_encode_and_map_explain_why(gan_panel, qtbot):
    assert gan_panel.encode_stack.currentIndex() == 1 and gan_panel.map_stack.currentIndex() == 1
    assert "no encoder" in gan_panel.encode_stack.currentWidget().text()
    assert "no encoder" in gan_panel.map_stack.currentWidget().text()
    gan_panel.tabs.setCurrentIndex(MAP_TAB)
    qtbot.wait(200)
    assert gan_panel.map_view.encoded is None and not gan_panel.worker.is_busy("map")
    gan_panel.tabs.setCurrentIndex(ENCODE_TAB)  # still clickable, shows the one-line reason


def test_direction_sliders_move_z_along_orthonormal_directions(gan_panel, qtbot):
    directions = gan_panel.directions
    np.testing.assert_allclose(directions.vectors @ directions.vectors.T, np.eye(len(directions)), atol=1e-5)
    gan_panel.random_button.click()
    z_before = gan_panel.z.copy()
    gan_panel.sliders.mode_box.setCurrentIndex(1)
    rows = gan_panel.sliders.rows
    assert gan_panel.slider_mode == "directions" and list(rows) == list(range(len(directions)))
    assert rows[0].name.text() == "u0"
    coords = directions.coordinates(z_before)
    assert rows[1].slider.value() == int(round(np.clip(coords[1], -3, 3) * 100))
    rows[0].slider.setValue(150)
    after = directions.coordinates(gan_panel.z)
    assert after[0] == pytest.approx(1.5, abs=1e-5)
    np.testing.assert_allclose(after[1:], coords[1:], atol=1e-5)
    expected = decode(gan_panel.loaded.model, gan_panel.z)[0]
    qtbot.waitUntil(lambda: np.array_equal(gan_panel.current_image, expected), timeout=5000)
    gan_panel.tabs.setCurrentIndex(DIRECTIONS_TAB)
    strip = gan_panel.directions_view.strip
    qtbot.waitUntil(lambda: strip.image is not None, timeout=5000)
    assert strip.image.shape == (32, 32 * 7, 3)
    gan_panel.sliders.mode_box.setCurrentIndex(0)
    assert list(gan_panel.sliders.rows) == list(range(8))


def test_directions_save_and_load(gan_panel, qtbot, tmp_path):
    view = gan_panel.directions_view
    path = view.save(tmp_path / "dirs.json")
    saved = load_directions(path, latent_dim=8)
    assert saved.model == "gan-tiny"
    view.count.setValue(3)
    view.compute_button.click()
    qtbot.waitUntil(lambda: len(gan_panel.directions) == 3, timeout=20000)
    view.load(path)
    assert len(gan_panel.directions) == len(saved)
    np.testing.assert_allclose(gan_panel.directions.vectors, saved.vectors)
    assert "loaded from dirs.json" in view.info.text()


def test_a_direction_file_for_another_model_size_is_refused(gan_panel, qtbot, tmp_path):
    from playground.core.latent.directions import LatentDirections, save_directions

    path = save_directions(tmp_path / "wrong.json", LatentDirections(np.eye(3, dtype=np.float32), [0.4, 0.3, 0.3]))
    before = gan_panel.directions
    with qtbot.waitSignal(gan_panel.status_message, timeout=5000) as blocker:
        gan_panel.directions_view.load(path)
    assert "wrong.json" in blocker.args[0] and "3-dimensional" in blocker.args[0]
    assert gan_panel.directions is before


def test_switching_back_to_the_vae_restores_encoding(gan_panel, qtbot, main_window, tiny_assets):
    main_window.load_into(gan_panel, tiny_assets / "vae-tiny" / "model.safetensors")
    qtbot.waitUntil(lambda: gan_panel.loaded.family == "vae", timeout=5000)
    assert gan_panel.encode_stack.currentIndex() == 0 and gan_panel.map_stack.currentIndex() == 0
    assert gan_panel.directions is None and gan_panel.slider_mode == "latent"
    gan_panel.tabs.setCurrentIndex(ENCODE_TAB)  # the gallery loads when its tab is shown
    qtbot.waitUntil(lambda: gan_panel.encode_view.gallery.count() > 5, timeout=10000)


def test_a_gan_png_restores_z_and_the_direction_sliders(gan_panel, qtbot, tmp_path):
    gan_panel.sliders.mode_box.setCurrentIndex(1)
    gan_panel.random_button.click()
    seed = gan_panel.seed_box.value()
    expected = decode(gan_panel.loaded.model, gan_panel.z)[0]
    qtbot.waitUntil(lambda: np.array_equal(gan_panel.current_image, expected), timeout=5000)
    path = gan_panel.export_png(tmp_path / "gan.png")
    recipe = gan_panel.recipe()
    assert recipe["family"] == "gan" and recipe["seed"] == seed and recipe["picture"] == "decode"
    assert None not in (recipe["model"], recipe["checkpoint"], recipe["weights_sha256"])
    gan_panel.random_button.click()
    assert gan_panel.load_png(path)
    np.testing.assert_array_equal(gan_panel.z, prior_latents(8, 1, seed)[0].numpy())
    assert gan_panel.seed_box.value() == seed and gan_panel.slider_mode == "directions"
    coords = gan_panel.directions.coordinates(gan_panel.z)
    assert gan_panel.sliders.rows[0].slider.value() == int(round(np.clip(coords[0], -3, 3) * 100))
