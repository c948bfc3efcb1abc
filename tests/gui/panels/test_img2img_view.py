"""The Image-to-image view in the Diffusion panel (pixel DDPM) and the Text-to-image panel (a tiny ldm)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from playground.core.img2img.img2img import img2img
from playground.core.img2img.inversion import invert
from playground.gui.panels.diffusion import DiffusionPanel
from playground.gui.panels.text2img.panel import Text2ImgPanel
from playground.gui.widgets.img2img import Img2ImgView

SHOTS = os.environ.get("PLAYGROUND_SHOTS")  # a folder: save 1280x720 screenshots there


def _view(main_window, qtbot, kind, family: str | None = None, tiny_assets=None) -> Img2ImgView:
    panel = next(p for p in main_window.panels if isinstance(p, kind))
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=20000)
    if family is not None and panel.loaded.family != family:
        main_window.load_into(panel, tiny_assets / f"{family}-tiny" / "model.safetensors", interactive=True)
        qtbot.waitUntil(lambda: panel.loaded is not None and panel.loaded.family == family, timeout=20000)
    view = next(panel.tabs.widget(i) for i in range(panel.tabs.count()) if isinstance(panel.tabs.widget(i), Img2ImgView))
    panel.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.image is not None and view.canvases["noised"].image is not None, timeout=20000)
    return view


def _shot(window, name: str) -> None:
    """The window at 1280x720 in the app's theme (the app applies it at start; the fixture does not)."""
    if SHOTS:
        from PySide6.QtWidgets import QApplication

        from playground.gui.theme import apply_dark_theme

        apply_dark_theme(QApplication.instance())
        window.resize(1280, 720)
        QApplication.processEvents()
        window.grab().save(os.path.join(SHOTS, name))


def test_diffusion_panel_strength_marks_the_start_and_runs_as_the_core(main_window, qtbot):
    view = _view(main_window, qtbot, DiffusionPanel)
    panel = view.panel
    controls = panel.controls
    controls.sampler_box.setCurrentIndex(controls.sampler_box.findData("ddim"))
    controls.steps.setText("10")
    controls.seed_field.setText("3")
    view.strength.set_value(0.5, emit=True)
    start = view.start
    assert (start.index, start.steps_run) == (5, 5) and start.t == 40  # T = 100, 10 steps: 90, 80, ..., 0
    assert view.numbers.text("t") == "40" and view.numbers.text("redone") == "5 / 10"
    assert panel.plots.cursor_t == 40 and view.regions["alpha_bar"].isVisible()
    assert view.regions["alpha_bar"].getRegion() == (0, 40)
    with qtbot.waitSignal(view.ran, timeout=30000):
        view.run_button.click()
    expected = img2img(panel.loaded.model, view.image[None], view.settings(), 0.5)
    np.testing.assert_array_equal(view.canvases["output"].image, expected.output[0])
    np.testing.assert_array_equal(view.canvases["noised"].image, expected.noised[0])
    # the other tabs get the shared plots back without the start point's shading
    panel.tabs.setCurrentIndex(0)
    assert not view.regions["alpha_bar"].isVisible()


def test_diffusion_panel_inverts_and_samples_back(main_window, qtbot):
    view = _view(main_window, qtbot, DiffusionPanel)
    panel = view.panel
    panel.controls.steps.setText("8")
    assert not view.edit_prompt.isEnabled()  # the unconditional DDPM has no prompt
    with qtbot.waitSignal(view.inverted, timeout=30000):
        view.invert_button.click()
    result = view.inversion.inversion
    expected = invert(panel.loaded.model, view.image, view.inversion.settings)
    np.testing.assert_array_equal(result.reconstruction, expected.reconstruction)
    assert view.numbers.text("psnr") == f"{expected.psnr:.1f} dB"
    assert view.canvases["noise"].image.shape == (32, 32, 3)
    with qtbot.waitSignal(view.edited, timeout=30000):
        view.edit_button.click()
    np.testing.assert_array_equal(view.canvases["edited"].image, result.reconstruction[0])  # w = 1: the round trip


def test_strength_that_redoes_no_step_disables_run(main_window, qtbot):
    view = _view(main_window, qtbot, DiffusionPanel)
    view.panel.controls.steps.setText("10")
    view.strength.set_value(0.05, emit=True)
    assert view.start is None and not view.run_button.isEnabled()
    assert "redoes no step" in view.canvases["noised"].caption.text()
    view.strength.set_value(0.3, emit=True)
    assert view.run_button.isEnabled()


def test_open_image_and_a_file_that_is_no_image(main_window, qtbot, tmp_path, monkeypatch):
    view = _view(main_window, qtbot, DiffusionPanel)
    picture = tmp_path / "mine.png"
    Image.fromarray(np.full((64, 48, 3), (200, 30, 30), np.uint8)).save(picture)
    monkeypatch.setattr("playground.gui.widgets.img2img.view.ask_image_path", lambda parent: str(picture))
    view.open_button.click()
    qtbot.waitUntil(lambda: view.canvases["input"].caption.text() == "mine.png", timeout=10000)
    assert tuple(view.image[0, 0]) == (200, 30, 30)
    bad = tmp_path / "bad.png"
    bad.write_text("no picture")
    monkeypatch.setattr("playground.gui.widgets.img2img.view.ask_image_path", lambda parent: str(bad))
    view.open_button.click()
    status = main_window.statusBar()
    qtbot.waitUntil(lambda: "is not an image file" in status.currentMessage(), timeout=10000)


def test_text2img_panel_ldm_img2img_invert_and_edit(main_window, qtbot, tiny_assets):
    view = _view(main_window, qtbot, Text2ImgPanel, "ldm", tiny_assets)
    panel = view.panel
    panel.prompt.set_text("a red circle")
    panel.apply_settings(panel.settings().replace(steps=6, seed=2, guidance_scale=2.0))
    view.strength.set_value(0.5, emit=True)
    assert view.start.index == 3
    with qtbot.waitSignal(view.ran, timeout=30000):
        view.run_button.click()
    expected = img2img(panel.loaded.model, view.image[None], view.settings(), 0.5)
    np.testing.assert_array_equal(view.canvases["output"].image, expected.output[0])
    _shot(main_window, "img2img-ldm-run.png")
    with qtbot.waitSignal(view.inverted, timeout=30000):
        view.invert_button.click()
    assert view.inversion.settings.guidance_scale == 1.0 and view.inversion.settings.prompt == "a red circle"
    assert view.canvases["noise"].image.shape[:2] == (70, 70)  # the 4 latent channels, 2 x 2
    assert view.edit_prompt.text() == "a red circle" and view.edit_prompt.isEnabled()
    view.edit_prompt.setText("a blue square")
    view.edit_w.setValue(3.0)
    with qtbot.waitSignal(view.edited, timeout=30000):
        view.edit_button.click()
    assert "a blue square" in view.canvases["edited"].toolTip() and view.canvases["edited"].caption.text() == "w = 3"
    _shot(main_window, "img2img-ldm-invert.png")


@pytest.mark.skipif(not SHOTS, reason="screenshots only when PLAYGROUND_SHOTS names a folder")
def test_screenshot_diffusion_panel(main_window, qtbot):
    view = _view(main_window, qtbot, DiffusionPanel)
    view.panel.controls.steps.setText("10")
    view.strength.set_value(0.6, emit=True)
    with qtbot.waitSignal(view.ran, timeout=30000):
        view.run_button.click()
    with qtbot.waitSignal(view.inverted, timeout=30000):
        view.invert_button.click()
    qtbot.wait(200)
    _shot(main_window, "img2img-diffusion.png")


def test_a_run_can_be_cancelled_from_the_status_bar(main_window, qtbot):
    view = _view(main_window, qtbot, DiffusionPanel)
    controls = view.panel.controls
    controls.sampler_box.setCurrentIndex(controls.sampler_box.findData("ddpm"))  # every step: 100 of them
    view.strength.set_value(1.0, emit=True)
    finished = []
    view.ran.connect(lambda: finished.append(True))
    view.run_button.click()
    cancel = main_window.cancel_button
    qtbot.waitUntil(lambda: cancel.isVisible() and "step" in view.canvases["output"].caption.text(), timeout=20000)
    cancel.click()
    qtbot.waitUntil(lambda: not cancel.isVisible(), timeout=20000)
    qtbot.wait(100)
    assert not finished and not view.canvases["output"].caption.text().startswith("s = ")


@pytest.mark.skipif(not SHOTS, reason="screenshots only when PLAYGROUND_SHOTS names a folder")
def test_screenshot_flow_model(main_window, qtbot, tiny_assets):
    view = _view(main_window, qtbot, Text2ImgPanel, "sit", tiny_assets)
    view.panel.apply_settings(view.panel.settings().replace(sampler="heun", steps=10))
    view.strength.set_value(0.7, emit=True)
    assert view.start.flow and view.start.t == 70
    with qtbot.waitSignal(view.inverted, timeout=30000):
        view.invert_button.click()
    _shot(main_window, "img2img-sit.png")
