"""Presenter mode as a lecturer uses it: F5 and Esc, a clicker's PageDown through a lesson's scenes
(tab and model follow), a caption a room can read at 1280x720, a missing model said on the caption bar."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFontInfo, QFontMetrics
from PySide6.QtWidgets import QApplication, QSlider

from playground.gui.presenter.pointer import RADIUS
from presenter_support import panel_titled, presenter_of, wait_for_scene, write_lesson

LATENT, DIFFUSION = "VAE / AE / GAN", "Diffusion"


def _latent_recipe(window, qtbot, seed: int = 3) -> dict:
    panel = panel_titled(window, LATENT)
    window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.current_image is not None, timeout=10000)
    panel.draw_seed(seed)
    return panel.recipe()


def test_f5_enters_presenter_mode_and_esc_leaves_it(main_window, qtbot):
    presenter = presenter_of(main_window)
    panel = panel_titled(main_window, LATENT)
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    toolbar, status, tab_bar = main_window.findChild(type(presenter.bar), "model-toolbar"), \
        main_window.statusBar(), main_window.tabs.tabBar()
    main_window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is main_window, timeout=5000)

    qtbot.keyClick(main_window, Qt.Key.Key_F5)
    assert presenter.active and main_window.isFullScreen()
    assert not toolbar.isVisible() and not status.isVisible() and not tab_bar.isVisible()
    assert presenter.caption_bar.isVisible()
    assert QFontInfo(QApplication.font()).pixelSize() >= 20, "text a room can read"
    assert QApplication.palette().window().color().lightness() > 200, "the light theme (projectors wash dark out)"
    assert panel.canvas.isVisible() and not panel.random_button.isVisible(), "the scene stays, its controls go"
    qtbot.keyClick(main_window, Qt.Key.Key_L)
    assert presenter.pointer.isVisible(), "L: the pointer highlight"

    qtbot.keyClick(main_window, Qt.Key.Key_Escape)
    assert not presenter.active and not main_window.isFullScreen()
    assert toolbar.isVisible() and status.isVisible() and tab_bar.isVisible() and panel.random_button.isVisible()
    assert not presenter.caption_bar.isVisible() and not presenter.pointer.isVisible()
    assert QApplication.palette().window().color().lightness() < 100, "the dark theme is back"

    slider = panel.sliders.findChild(QSlider)  # outside presenter mode the arrows are the slider's
    slider.setFocus()
    before = slider.value()
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert slider.value() != before


def test_page_down_plays_the_next_scene_in_its_tab_with_its_model(main_window, qtbot, tmp_path):
    presenter = presenter_of(main_window)
    presenter.full_screen = False
    recipe = _latent_recipe(main_window, qtbot)
    ae_recipe = dict(recipe, model="ae-tiny", family="ae", checkpoint="/nowhere/model.safetensors")
    lesson = write_lesson(tmp_path / "lesson.json", [
        {"title": "A VAE's latent", "tab": LATENT, "caption": "z ~ N(0, I)", "recipe": recipe},
        {"title": "An autoencoder's", "tab": LATENT, "caption": "the same z, no prior", "recipe": ae_recipe},
        {"title": "Noise to picture", "tab": DIFFUSION, "caption": "DDPM", "recipe": {"family": "ddpm",
                                                                                       "model": "ddpm-tiny"}},
    ])
    presenter.enter(lesson)
    wait_for_scene(qtbot, presenter)
    latent = panel_titled(main_window, LATENT)
    assert presenter.caption_bar.counter.text() == "1 / 3" and presenter.caption_bar.title.text() == "A VAE's latent"
    assert main_window.current_panel is latent and latent.loaded.name == "vae-tiny"

    qtbot.keyClick(main_window, Qt.Key.Key_PageDown)
    wait_for_scene(qtbot, presenter)
    assert presenter.caption_bar.counter.text() == "2 / 3"
    assert latent.loaded.name == "ae-tiny", "the scene's model, found by its shipped name"
    np.testing.assert_array_equal(latent.z, np.asarray(recipe["latent"], np.float32))

    qtbot.keyClick(main_window, Qt.Key.Key_Right)  # a clicker's other key
    wait_for_scene(qtbot, presenter)
    diffusion = panel_titled(main_window, DIFFUSION)
    assert main_window.current_panel is diffusion and diffusion.loaded.name == "ddpm-tiny"
    assert presenter.caption_bar.title.text() == "Noise to picture"
    qtbot.keyClick(main_window, Qt.Key.Key_PageUp)
    wait_for_scene(qtbot, presenter)
    assert main_window.current_panel is latent and presenter.caption_bar.counter.text() == "2 / 3"
    presenter.leave()


def test_the_caption_fits_its_box_at_1280x720_in_large_type(main_window, qtbot, tmp_path):
    presenter = presenter_of(main_window)
    presenter.full_screen = False
    main_window.resize(1280, 720)
    caption = ("Each of the 128 codebook vectors is a small picture piece; the encoder picks the nearest code "
               "for every cell of the 8x8 grid, and the decoder paints them back")
    lesson = write_lesson(tmp_path / "lesson.json", [
        {"title": "The codebook: 128 learned pieces", "tab": "Train", "caption": caption,
         "recipe": {"family": "vqvae", "model": "vqvae-tiny"}}])
    presenter.enter(lesson)
    qtbot.waitUntil(lambda: main_window.width() == 1280 and presenter.caption_bar.caption.width() > 1000, timeout=5000)
    bar = presenter.caption_bar
    for label in (bar.title, bar.caption):
        font_px = QFontMetrics(label.font()).height()
        assert label.font().pixelSize() >= 20 and font_px >= 20
        box = label.contentsRect()
        flags = int(Qt.TextFlag.TextWordWrap) | int(label.alignment())
        needed = QFontMetrics(label.font()).boundingRect(box, flags, label.text())
        assert needed.height() <= box.height() and needed.width() <= box.width(), f"{label.text()!r} is cut"
    assert bar.caption.text() == caption
    presenter.leave()


def test_a_missing_model_is_said_on_the_caption_bar_and_the_lesson_goes_on(main_window, qtbot, tmp_path):
    presenter = presenter_of(main_window)
    presenter.full_screen = False
    recipe = _latent_recipe(main_window, qtbot)
    gone = dict(recipe, model="vae-gone", checkpoint="/nowhere/model.safetensors")
    lesson = write_lesson(tmp_path / "lesson.json", [
        {"title": "Gone", "tab": LATENT, "caption": "", "recipe": gone},
        {"title": "Here", "tab": LATENT, "caption": "", "recipe": recipe}])
    presenter.enter(lesson)
    wait_for_scene(qtbot, presenter)
    message = presenter.caption_bar.message
    assert message.isVisible() and "vae-gone" in message.text() and "not here" in message.text()
    presenter.next_scene()
    wait_for_scene(qtbot, presenter)
    assert not message.isVisible() and presenter.caption_bar.title.text() == "Here"
    presenter.leave()


def test_a_train_scene_starts_the_train_panels_demo_run(main_window, qtbot, tmp_path, monkeypatch):
    presenter = presenter_of(main_window)
    presenter.full_screen = False
    train = panel_titled(main_window, "Train")
    started = []
    monkeypatch.setattr(train, "start_demo", lambda steps=None: started.append(steps), raising=False)
    lesson = write_lesson(tmp_path / "lesson.json", [
        {"title": "Watch it learn", "tab": "Train", "caption": "a minute of training on shapes",
         "recipe": {"family": "vae", "model": "vae-tiny"}, "action": {"kind": "train", "steps": 300, "preset": "demo"}}])
    presenter.enter(lesson)
    wait_for_scene(qtbot, presenter)
    assert main_window.current_panel is train and started == [300]
    assert train.isVisible() and not presenter.caption_bar.message.isVisible()
    presenter.leave()


def test_every_built_in_scene_caption_fits_the_caption_bar_at_1280(qtbot):
    from playground.core.lessons import builtin_lessons
    from playground.gui.presenter.caption import CaptionBar

    bar = CaptionBar()
    qtbot.addWidget(bar)
    bar.resize(1280, bar.sizeHint().height())
    bar.show()
    cut = []
    for lesson in builtin_lessons():
        for index, scene in enumerate(lesson.scenes):
            bar.show_scene(scene.title, scene.caption, index, len(lesson.scenes))
            bar.show_progress("grid_of.temperature = 0.20")  # the widest progress text an action shows
            bar.layout().activate()
            for label in (bar.title, bar.caption):
                box = label.contentsRect()
                flags = int(Qt.TextFlag.TextWordWrap) | int(label.alignment())
                needed = QFontMetrics(label.font()).boundingRect(box, flags, label.text())
                if needed.height() > box.height() or needed.width() > box.width():
                    cut.append(f"{lesson.name} scene {index + 1}: {label.text()!r}")
    assert not cut, "captions cut at 1280x720:\n" + "\n".join(cut)


def test_the_pointer_highlight_is_a_large_circle_where_the_mouse_is(main_window, qtbot, monkeypatch):
    presenter = presenter_of(main_window)
    presenter.full_screen = False
    presenter.enter()
    pointer = presenter.pointer
    monkeypatch.setattr(pointer, "follow", lambda: None)  # the test moves it, not the (offscreen) cursor
    pointer.set_on(True)
    pointer.move_to(QPoint(300, 200))
    picture = main_window.grab().toImage()
    centre, outside = picture.pixelColor(300, 200), picture.pixelColor(300, 200 + 3 * RADIUS)
    assert centre.red() > centre.green() + 40 and centre != outside, "a red translucent disc at the cursor"
    assert pointer.geometry() == main_window.rect(), "over the whole window"
    presenter.leave()
    assert not pointer.isVisible()
