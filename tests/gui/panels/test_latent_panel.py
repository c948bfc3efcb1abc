"""The VAE/AE panel as a user drives it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from PySide6.QtCore import QPointF, Qt

from playground.core.images import RECIPE_KEY, read_recipe, save_png, upscale
from playground.core.latent.sampling import decode, encode, prior_latents
from playground.core.provenance import model_header, read_png_recipe
from playground.core.reproduce import reproduce
from playground.gui.panels.latent import MAP_TAB, LatentPanel


def _panel(window, qtbot) -> LatentPanel:
    panel = next(p for p in window.panels if isinstance(p, LatentPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.current_image is not None, timeout=10000)
    return panel


def _draw(panel, z):
    return decode(panel.loaded.model, z)[0]


def _shows(panel, qtbot, z):
    """Wait until the canvas and the exportable image are z's decode."""
    expected = _draw(panel, z)
    qtbot.waitUntil(lambda: panel.current_image is not None and np.array_equal(panel.current_image, expected),
                    timeout=5000)
    np.testing.assert_array_equal(panel.canvas.image, expected)


def _type_seed(qtbot, panel, text: str) -> None:
    panel.seed_box.setText(text)
    qtbot.keyClick(panel.seed_box, Qt.Key.Key_Return)


def _click_item(qtbot, gallery, row: int) -> None:
    item = gallery.item(row)
    gallery.scrollToItem(item)
    qtbot.mouseClick(gallery.viewport(), Qt.MouseButton.LeftButton, pos=gallery.visualItemRect(item).center())


def test_a_model_opens_on_the_seeds_prior_draw(main_window, qtbot):
    """Not on z = 0: the shipped VAE decodes that to a dim smudge (brightest pixel 47 of 255)."""
    panel = _panel(main_window, qtbot)
    seed = panel.seed_box.seed()
    np.testing.assert_allclose(panel.z, prior_latents(6, 1, seed)[0].numpy())
    assert panel.z_seed == seed  # an export right away records the seed in its recipe
    assert f"seed {seed}" in panel.caption.text()
    _shows(panel, qtbot, panel.z)


def test_moving_a_slider_changes_the_image(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    before = panel.current_image.copy()
    most_used = next(iter(panel.sliders.rows))
    assert most_used == 2, "sliders are ordered by KL per dimension, most used first"
    panel.sliders.rows[most_used].slider.setValue(250)
    qtbot.waitUntil(lambda: not np.array_equal(panel.current_image, before), timeout=5000)
    assert panel.z[most_used] == pytest.approx(2.5)
    _shows(panel, qtbot, panel.z)


def test_random_draws_a_new_seed_each_press_and_keeps_it_visible(main_window, qtbot):
    """Bug: Random drew the seed in the box again and again; only "New seed" changed the image."""
    panel = _panel(main_window, qtbot)
    seeds = []
    for _ in range(3):
        panel.random_button.click()
        seed = panel.seed_box.seed()
        assert panel.seed_box.text() == str(seed)
        np.testing.assert_allclose(panel.z, prior_latents(6, 1, seed)[0].numpy())
        assert panel.z_seed == seed and f"seed {seed}" in panel.caption.text()
        assert panel.sliders.rows[0].value.text() == f"{panel.z[0]:+.2f}"
        seeds.append(seed)
    assert len(set(seeds)) == 3
    _shows(panel, qtbot, panel.z)
    _type_seed(qtbot, panel, "42")  # a typed seed is drawn, so a seed read off an image reproduces it
    np.testing.assert_allclose(panel.z, prior_latents(6, 1, 42)[0].numpy())
    _shows(panel, qtbot, panel.z)


def test_reset_returns_to_the_seeds_draw_and_the_window_says_so(main_window, qtbot):
    """Bug: Reset set z = 0 (a smudge) while the status bar still said "z ~ N(0, I) with seed …"."""
    panel = _panel(main_window, qtbot)
    _type_seed(qtbot, panel, "7")
    drawn = prior_latents(6, 1, 7)[0].numpy()
    panel.sliders.rows[2].slider.setValue(250)
    assert panel.z_seed is None and "moved with the sliders" in panel.caption.text()
    assert "moved with the sliders" in main_window.statusBar().currentMessage()
    panel.reset_button.click()
    np.testing.assert_allclose(panel.z, drawn)
    assert panel.z_seed == 7
    assert "seed 7" in main_window.statusBar().currentMessage()
    assert "moved" not in main_window.statusBar().currentMessage()
    _shows(panel, qtbot, drawn)
    assert panel.caption.text() == "z = the prior draw of seed 7, z ~ N(0, I)"


def test_encoding_a_gallery_item_sets_the_sliders(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    view = panel.encode_view
    qtbot.waitUntil(lambda: view.gallery.count() > 5, timeout=10000)
    view.gallery.setCurrentRow(4)
    image = view.gallery.data.images[4]
    mean, _ = encode(panel.loaded.model, image[None])
    qtbot.waitUntil(lambda: np.allclose(panel.z, mean[0], atol=1e-5), timeout=5000)
    np.testing.assert_array_equal(view.original_canvas.image, image)
    assert view.recon_canvas.image is not None and "MSE" in view.info.text()
    assert panel.z_seed is None and "encoding" in panel.caption.text()
    top = next(iter(panel.sliders.rows))
    assert panel.sliders.rows[top].slider.value() == int(round(np.clip(mean[0][top], -3, 3) * 100))


def test_switching_model_clears_the_encoding_and_clicking_the_same_image_encodes_it_again(
        main_window, qtbot, tiny_assets):
    """Bug: after a model switch the Encode view kept the old reconstruction and MSE, and a
    click on the image already picked did nothing."""
    panel = _panel(main_window, qtbot)
    view = panel.encode_view
    qtbot.waitUntil(lambda: view.gallery.count() > 5, timeout=10000)
    image = view.gallery.data.images[4]
    _click_item(qtbot, view.gallery, 4)
    vae_mean = encode(panel.loaded.model, image[None])[0][0]
    qtbot.waitUntil(lambda: np.allclose(panel.z, vae_mean, atol=1e-5) and view.recon_canvas.image is not None,
                    timeout=5000)
    panel.sliders.rows[2].slider.setValue(-250)
    assert not np.allclose(panel.z, vae_mean, atol=1e-5)
    _click_item(qtbot, view.gallery, 4)  # the same image again: encoded again
    qtbot.waitUntil(lambda: np.allclose(panel.z, vae_mean, atol=1e-5), timeout=5000)

    main_window.load_into(panel, tiny_assets / "ae-tiny" / "model.safetensors")
    qtbot.waitUntil(lambda: panel.loaded.family == "ae", timeout=5000)
    assert view.original_canvas.image is None and view.recon_canvas.image is None
    assert "MSE" not in view.info.text() and "ae-tiny" in view.info.text()
    _click_item(qtbot, view.gallery, 4)
    ae_mean = encode(panel.loaded.model, image[None])[0][0]
    ae_recon = decode(panel.loaded.model, ae_mean)[0]
    qtbot.waitUntil(lambda: view.recon_canvas.image is not None and np.array_equal(view.recon_canvas.image, ae_recon),
                    timeout=5000)
    np.testing.assert_allclose(panel.z, ae_mean, atol=1e-5)


def test_opening_an_image_file_encodes_it(main_window, qtbot, tmp_path):
    path = tmp_path / "mine.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(path)
    panel = _panel(main_window, qtbot)
    view = panel.encode_view
    view.open_image(str(path))
    qtbot.waitUntil(lambda: view.original_canvas.image is not None, timeout=5000)
    assert view.original_canvas.image.shape == (32, 32, 3)
    assert tuple(view.original_canvas.image[16, 16]) == (200, 30, 30)
    assert "mine.png" in panel.caption.text()


@pytest.mark.parametrize("name, content, words", [
    ("notes.txt", b"shopping: milk, eggs\n", "notes.txt is not an image file"),
    ("broken.png", b"not an image", "broken.png is not an image file"),
    ("cut.png", None, "cut.png is damaged or cut short"),
    ("gone.png", "missing", "gone.png: no such file"),
])
def test_a_file_that_is_no_image_is_answered_in_words_and_the_panel_keeps_working(
        main_window, qtbot, tmp_path, name, content, words):
    path = tmp_path / name
    if content is None:  # a real PNG, truncated half-way
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(tmp_path / "full.png")
        path.write_bytes((tmp_path / "full.png").read_bytes()[:2000])
    elif content != "missing":
        path.write_bytes(content)
    panel = _panel(main_window, qtbot)
    with qtbot.waitSignal(panel.status_message, timeout=5000) as blocker:
        panel.encode_view.open_image(str(path))
    message = blocker.args[0]
    assert words in message and message.startswith("Error: ")
    assert "Error:" not in message[7:] and "ImageFileError" not in message and "\n" not in message
    before = panel.current_image.copy()
    panel.sliders.rows[2].slider.setValue(-250)
    qtbot.waitUntil(lambda: not np.array_equal(panel.current_image, before), timeout=5000)


@pytest.mark.parametrize("typed", ["-5", "abc", "99999999999", "1.5", ""])
def test_a_typed_seed_out_of_range_is_answered_and_z_stays(main_window, qtbot, typed):
    panel = _panel(main_window, qtbot)
    z, seed = panel.z.copy(), panel.seed_box.seed()
    with qtbot.waitSignal(panel.status_message, timeout=5000) as blocker:
        _type_seed(qtbot, panel, typed)
    assert "seed must be a whole number from 0 to 2147483647" in blocker.args[0]
    assert "seed must be a whole number" in panel.seed_box.toolTip()  # the box is marked, as typed
    assert panel.seed_box.text() == typed  # kept, not clamped
    np.testing.assert_array_equal(panel.z, z)
    assert panel.seed_box.seed() == seed
    _type_seed(qtbot, panel, "3")  # fixed: drawn, and the error goes
    np.testing.assert_allclose(panel.z, prior_latents(6, 1, 3)[0].numpy())
    assert "Error" not in main_window.statusBar().currentMessage()


def test_interpolation_moves_between_the_end_points(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    view = panel.interpolate_view
    a, b = prior_latents(6, 2, 3).numpy()
    panel.set_latent(a)
    view.set_endpoint("A")
    panel.set_latent(b)
    view.set_endpoint("B")
    qtbot.waitUntil(lambda: view.strip_canvas.image is not None, timeout=5000)
    expected_a = _draw(panel, a)
    qtbot.waitUntil(lambda: np.array_equal(view.endpoint_canvases["A"].image, expected_a), timeout=5000)
    assert view.strip_canvas.image.shape == (32, 32 * 9, 3)
    view.mode.setCurrentText("linear")
    view.slider.setValue(50)
    np.testing.assert_allclose(panel.z, (a + b) / 2, atol=1e-6)
    assert "linear interpolation A → B at t = 0.50" in panel.caption.text()
    view.slider.setValue(100)
    np.testing.assert_allclose(panel.z, b, atol=1e-6)


def test_the_latent_map_is_computed_only_when_its_tab_is_shown(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    qtbot.wait(300)
    assert panel.map_view.encoded is None and not panel.worker.is_busy("map")
    panel.tabs.setCurrentIndex(MAP_TAB)
    qtbot.waitUntil(lambda: panel.map_view.encoded is not None, timeout=20000)


def test_clicking_the_latent_map_decodes_that_point(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    view = panel.map_view
    panel.tabs.setCurrentIndex(MAP_TAB)
    qtbot.waitUntil(lambda: view.encoded is not None, timeout=20000)
    assert view.label_box.currentText() == "color"
    coords = view.encoded.projection.coords
    assert len(view.scatter.data) == len(coords)
    target = coords[10]
    box = view.plot.getPlotItem().vb
    point = QPointF(float(target[0]), float(target[1]))
    # under load the plot may not be laid out and ranged yet: wait until the point is on screen
    qtbot.waitUntil(lambda: box.sceneBoundingRect().contains(box.mapViewToScene(point)), timeout=10000)
    view.click_at(box.mapViewToScene(point))
    expected = view.encoded.projection.inverse(target)
    np.testing.assert_allclose(panel.z, expected, atol=1e-3 * (1 + np.abs(expected).max()))
    _shows(panel, qtbot, panel.z)


def test_export_writes_the_recipe_that_reproduces_the_picture(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot)
    _type_seed(qtbot, panel, "11")
    _shows(panel, qtbot, panel.z)
    path = panel.export_png(tmp_path / "out.png")
    recipe = read_recipe(path)
    assert recipe == model_header(panel.loaded) | {
        "picture": "decode", "latent": recipe["latent"], "seed": 11, "scale": 8}
    assert None not in recipe.values()
    np.testing.assert_array_equal(np.asarray(recipe["latent"], np.float32), panel.z)  # exact float32
    # what `playground reproduce` renders from these keys: decode(latent) upscaled by scale
    rendered = upscale(_draw(panel, np.asarray(recipe["latent"], np.float32)), recipe["scale"])
    exported = np.asarray(Image.open(path).convert("RGB"))
    np.testing.assert_array_equal(exported, rendered)
    image, _, differences = reproduce(path)
    assert differences == [] and np.array_equal(image, exported)
    panel.sliders.rows[2].slider.setValue(120)  # edited: no longer the seed's draw
    assert panel.recipe()["seed"] is None


def test_load_png_restores_z_seed_and_sliders(main_window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    panel = _panel(main_window, qtbot)
    _type_seed(qtbot, panel, "21")
    _shows(panel, qtbot, panel.z)
    seeded = panel.export_png(tmp_path / "seeded.png")
    panel.sliders.rows[2].slider.setValue(-170)
    _shows(panel, qtbot, panel.z)
    edited_z = panel.z.copy()
    edited = panel.export_png(tmp_path / "edited.png")
    panel.random_button.click()

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *args: (str(seeded), "")))
    messages = []
    panel.status_message.connect(messages.append)
    panel.load_button.click()
    np.testing.assert_array_equal(panel.z, prior_latents(6, 1, 21)[0].numpy())  # the draw itself, not rounded
    assert panel.seed_box.seed() == 21 and panel.z_seed == 21
    assert panel.sliders.rows[0].value.text() == f"{panel.z[0]:+.2f}"
    assert messages == [  # one message says it all
        "Restored the VAE / AE / GAN panel from seeded.png; z = the prior draw of seed 21, z ~ N(0, I)"]
    _shows(panel, qtbot, panel.z)

    assert panel.load_png(edited)
    np.testing.assert_array_equal(panel.z, edited_z)
    assert panel.z_seed is None and "edited.png" in panel.caption.text()
    assert panel.sliders.rows[2].slider.value() == -170


def test_load_png_takes_the_command_lines_samples_and_encodings(main_window, qtbot, tmp_path, tiny_assets):
    from playground.cli import main as cli

    panel = _panel(main_window, qtbot)
    checkpoint = str(tiny_assets / "vae-tiny")
    assert cli(["sample", "vae", "--checkpoint", checkpoint, "--n", "3", "--seed", "5",
                "--out-dir", str(tmp_path / "samples")]) == 0
    assert panel.load_png(tmp_path / "samples" / "sample_0002.png")
    assert panel.z_seed == 7 and panel.seed_box.seed() == 7  # sample i of --seed s is seed s + i
    np.testing.assert_array_equal(panel.z, prior_latents(6, 1, 7)[0].numpy())

    assert cli(["encode", "vae", "--checkpoint", checkpoint, "--image", "3", "--out", str(tmp_path / "enc.png")]) == 0
    assert panel.load_png(tmp_path / "enc.png")
    np.testing.assert_allclose(panel.z, read_png_recipe(tmp_path / "enc.png")["latent"], atol=1e-6)
    assert panel.z_seed is None
    _shows(panel, qtbot, panel.z)


def _png(path, recipe: dict | str | None):
    info = PngImagePlugin.PngInfo()
    if recipe is not None:
        info.add_text(RECIPE_KEY, recipe if isinstance(recipe, str) else json.dumps(recipe))
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    return path


@pytest.mark.parametrize("recipe, words", [
    ({"family": "text2img", "model": "text2img-shapes", "prompt": "a red circle"},
     "t2i.png is a text2img image (model text2img-shapes), not an image from the VAE / AE / GAN panel"),
    (None, "t2i.png: this PNG carries no playground recipe"),
    ({"family": "gan", "model": "gan-tiny", "latent": [0.5] * 8, "seed": None},
     "t2i.png: its latent has 8 numbers but vae-tiny takes 6: it was made with gan-tiny"),
    ('{"family": "vae", "latent": [NaN, 0, 0, 0, 0, 0]}', "'latent' must be a list of 6 numbers"),
    ({"family": "vae", "latent": [1e9, 0, 0, 0, 0, 0]}, "'latent' must be a list of 6 numbers from -1e+06 to 1e+06"),
    ({"family": "vae", "latent": ["a", 0, 0, 0, 0, 0]}, "'latent' must be a list of 6 numbers"),
    ({"family": "vae", "latent": [0] * 6, "seed": -1}, "'seed' must be a whole number from 0 to 2147483647, not -1"),
    ({"family": "vae", "latent": [0] * 6, "seed": "x"}, "'seed' must be a whole number from 0 to 2147483647"),
    ({"family": "vae", "latent": [0] * 6, "seed": 5, "n": 3, "index": 7}, "'index' must be a whole number from 0 to 2"),
    ({"family": "vae", "latent": [0] * 6, "scale": 0}, "'scale' must be a whole number from 1 to 16"),
    ({"family": "vae", "picture": "interpolation"}, "its recipe holds no single latent (its picture: interpolation)"),
    ({"grid_of": {"family": "vae", "model": "vae-tiny"}, "n": 64}, "it is a grid of 64 samples"),
])
def test_load_png_refuses_what_it_cannot_restore_with_a_message(main_window, qtbot, tmp_path, recipe, words):
    panel = _panel(main_window, qtbot)
    z = panel.z.copy()
    path = _png(tmp_path / "t2i.png", recipe)
    assert not panel.load_png(path)
    message = main_window.statusBar().currentMessage()
    assert message.startswith("Error: ") and words in message
    np.testing.assert_array_equal(panel.z, z)


def test_a_png_of_another_model_with_the_same_latent_size_says_so(main_window, qtbot, tmp_path, tiny_assets):
    from playground.core.checkpoints import load_checkpoint

    ae = load_checkpoint(tiny_assets / "ae-tiny" / "model.safetensors")
    latent = [0.25, -1.0, 0.5, 0.0, 1.5, -0.75]
    path = save_png(tmp_path / "from_ae.png", np.zeros((8, 8, 3), np.uint8),
                    model_header(ae) | {"picture": "decode", "latent": latent, "seed": None, "scale": 8})
    panel = _panel(main_window, qtbot)
    assert panel.load_png(path)
    np.testing.assert_allclose(panel.z, latent)
    assert "it was made with ae-tiny, decoded here with vae-tiny" in main_window.statusBar().currentMessage()


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
    (bad.with_suffix(".json")).write_text((tiny_assets / "vae-tiny" / "model.json").read_text())
    bad.write_bytes(b"\x00" * 100)
    loaded_before = panel.loaded
    main_window.open_checkpoint(bad)
    qtbot.waitUntil(lambda: "Error" in main_window.statusBar().currentMessage(), timeout=5000)
    assert "model.safetensors" in main_window.statusBar().currentMessage()
    assert panel.loaded is loaded_before
    before = panel.current_image.copy()
    panel.sliders.rows[2].slider.setValue(200)
    qtbot.waitUntil(lambda: not np.array_equal(panel.current_image, before), timeout=5000)


def test_a_worker_error_reaches_the_status_bar(main_window, qtbot):
    panel = _panel(main_window, qtbot)

    def broken(ctx):
        raise RuntimeError("decoder on fire")

    panel.worker.submit(broken, channel="decode")
    qtbot.waitUntil(lambda: "decoder on fire" in main_window.statusBar().currentMessage(), timeout=5000)
    assert main_window.isVisible()
