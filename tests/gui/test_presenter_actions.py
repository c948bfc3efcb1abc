"""A scene's action plays frame by frame to the picture `render_recipe` draws of its last frame (the
Diffusion panel scrubs its one run, it does not run again per frame); Space pauses it; "Add scene"
records a panel's state that replays to the same pixels."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from playground.core.diffusion.trajectory_pictures import frame_row
from playground.core.images import upscale
from playground.core.reproduce import render_recipe
from presenter_support import panel_titled, presenter_of, wait_for_scene, write_lesson
from tolerance import assert_same_picture

LATENT, DIFFUSION = "VAE / AE / GAN", "Diffusion"


def _latent(window, qtbot):
    panel = panel_titled(window, LATENT)
    window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.current_image is not None, timeout=10000)
    return panel


def _shown_latent_picture(panel) -> np.ndarray:
    return upscale(panel.current_image, panel.recipe()["scale"])


def _diffusion_run(window, qtbot, seed: int, steps: int = 6):
    panel = panel_titled(window, DIFFUSION)
    window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    controls = panel.controls
    controls.sampler_box.setCurrentIndex(controls.sampler_box.findData("ddim"))
    controls.steps.setText(str(steps))
    controls.seed_field.setText(str(seed))
    before = panel.view.current
    panel.view.run_button.click()
    qtbot.waitUntil(lambda: panel.view.current is not before and not panel.view.sampling, timeout=30000)
    return panel


def _shown_frame(panel, recipe: dict) -> np.ndarray:
    return frame_row(panel.view.current, panel.view.scrubber.value(), tuple(recipe["views"]), recipe["scale"])


def test_a_sweep_plays_to_its_last_frame_and_space_pauses_it(main_window, qtbot, tmp_path):
    presenter = presenter_of(main_window)
    presenter.full_screen = False
    panel = _latent(main_window, qtbot)
    panel.draw_seed(3)
    recipe = panel.recipe()
    lesson = write_lesson(tmp_path / "lesson.json", [
        {"title": "Slide z3", "tab": LATENT, "caption": "one coordinate of z, from -2 to 2", "recipe": recipe,
         "action": {"kind": "sweep", "key": "latent.3", "from": -2.0, "to": 2.0, "frames": 9, "back": False}}])
    main_window.activateWindow()
    presenter.enter(lesson)
    qtbot.waitUntil(lambda: presenter.player.frame_index >= 2, timeout=10000)
    qtbot.keyClick(main_window, Qt.Key.Key_Space)
    paused_at = presenter.player.frame_index
    qtbot.wait(500)
    assert presenter.player.frame_index == paused_at and presenter.player.playing, "Space pauses the action"
    qtbot.keyClick(main_window, Qt.Key.Key_Space)
    wait_for_scene(qtbot, presenter)
    assert presenter.player.frame_index == 9, "every frame was shown"
    last = presenter.player.frames[-1]
    assert panel.z[3] == 2.0 and panel.recipe()["latent"] == last["latent"]
    expected, _, _ = render_recipe(last)
    assert_same_picture(_shown_latent_picture(panel), expected)
    presenter.leave()


def test_a_step_sweep_in_the_diffusion_panel_scrubs_one_run(main_window, qtbot, tmp_path, monkeypatch):
    presenter = presenter_of(main_window)
    presenter.full_screen = False
    panel = _diffusion_run(main_window, qtbot, seed=21)
    recipe = panel.recipe()
    assert recipe["step_index"] == 5
    _diffusion_run(main_window, qtbot, seed=4)  # another run is shown: the scene runs its own again
    runs = []
    run = panel.view.run
    monkeypatch.setattr(panel.view, "run", lambda: (runs.append(1), run())[1])
    lesson = write_lesson(tmp_path / "lesson.json", [
        {"title": "Denoising, scrubbed back", "tab": DIFFUSION, "caption": "x_t at every step", "recipe": recipe,
         "action": {"kind": "sweep", "key": "step_index", "from": 5, "to": 0, "frames": 6, "back": False}}])
    presenter.enter(lesson)
    wait_for_scene(qtbot, presenter)
    assert len(runs) == 1, "one run for the scene, then only the scrubber moves"
    last = presenter.player.frames[-1]
    assert panel.view.scrubber.value() == 0 and panel.recipe()["step_index"] == 0 and panel.recipe()["seed"] == 21
    expected, _, _ = render_recipe({k: v for k, v in last.items() if k != "t"})  # "t" is the first frame's
    assert_same_picture(_shown_frame(panel, last), expected)
    presenter.leave()


def test_an_added_scene_replays_to_the_same_pixels(main_window, qtbot, tmp_path, monkeypatch):
    presenter = presenter_of(main_window)
    presenter.full_screen = False
    asked = []
    monkeypatch.setattr(presenter, "choose_lesson_file", lambda: asked.append(1) or str(tmp_path / "mine.json"))
    panel = _latent(main_window, qtbot)
    panel.draw_seed(7)
    qtbot.waitUntil(lambda: np.array_equal(panel.current_z, panel.z), timeout=10000)
    recorded = _shown_latent_picture(panel).copy()
    main_window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is main_window, timeout=5000)
    qtbot.keyClick(main_window, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert (tmp_path / "mine.json").exists() and presenter.scene_count == 1

    diffusion = _diffusion_run(main_window, qtbot, seed=11)
    diffusion.view.scrubber.set_value(2)
    frame_recipe = diffusion.recipe()
    frame = _shown_frame(diffusion, frame_recipe).copy()
    presenter.add_scene()
    assert len(asked) == 1, "the lesson's file is asked once"
    from playground.core.lessons import load_lesson

    saved = load_lesson(tmp_path / "mine.json")
    assert [s.tab for s in saved.scenes] == [LATENT, DIFFUSION]

    panel.draw_seed(8)
    _diffusion_run(main_window, qtbot, seed=12)
    presenter.enter(saved)
    wait_for_scene(qtbot, presenter)
    assert main_window.current_panel is panel
    np.testing.assert_array_equal(_shown_latent_picture(panel), recorded)  # the same computation: exact
    presenter.next_scene()
    wait_for_scene(qtbot, presenter)
    qtbot.waitUntil(lambda: diffusion.view.scrubber.value() == 2, timeout=10000)
    np.testing.assert_array_equal(_shown_frame(diffusion, frame_recipe), frame)
    presenter.leave()


def test_a_picture_its_tab_cannot_show_live_is_drawn_large_and_its_sweep_plays(main_window, qtbot, tmp_path):
    """A grid of prior samples (the Latent tab restores single latents only) is drawn by render_recipe."""
    presenter = presenter_of(main_window)
    presenter.full_screen = False
    sample = {"model": "vae-tiny", "family": "vae", "picture": "decode", "seed": 0, "temperature": 1.0, "n": 4,
              "scale": 1, "index": None, "latent": None}
    grid = {"model": "vae-tiny", "family": "vae", "picture": "grid", "grid_of": sample, "n": 4, "scale": 1}
    lesson = write_lesson(tmp_path / "lesson.json", [
        {"title": "Temperature", "tab": LATENT, "caption": "samples of N(0, T² I)", "recipe": grid,
         "action": {"kind": "sweep", "key": "grid_of.temperature", "from": 0.5, "to": 1.5, "frames": 3}},
        {"title": "One latent", "tab": LATENT, "caption": "", "recipe": _latent(main_window, qtbot).recipe()}])
    presenter.enter(lesson)
    wait_for_scene(qtbot, presenter)
    qtbot.waitUntil(lambda: presenter.slide.image is not None, timeout=10000)
    assert presenter.slide.isVisible() and not presenter.caption_bar.message.isVisible()
    assert presenter.caption_bar.progress.text() == "grid_of.temperature = 1.50"
    expected, _, _ = render_recipe(presenter.player.frames[-1])
    assert_same_picture(presenter.slide.image, expected)
    assert presenter.slide.width() >= main_window.width() - 20, "as large as the window allows"
    presenter.next_scene()
    wait_for_scene(qtbot, presenter)
    assert not presenter.slide.isVisible(), "a scene its tab shows live is the tab's"
    presenter.leave()


def test_a_step_sweep_in_the_text_to_image_panel_scrubs_its_denoising_steps(main_window, qtbot, tmp_path, monkeypatch):
    presenter = presenter_of(main_window)
    presenter.full_screen = False
    panel = panel_titled(main_window, "Text to image")
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.result is not None and panel.steps_tab.current is not None, timeout=30000)
    recipe = panel.steps_tab.recipe()
    last = recipe["step_index"]
    assert recipe["picture"] == "frame" and last >= 3
    shown = []
    show_run = panel.steps_tab.show_guided_run
    monkeypatch.setattr(panel.steps_tab, "show_guided_run", lambda result: (shown.append(1), show_run(result))[1])
    lesson = write_lesson(tmp_path / "lesson.json", [
        {"title": "The run, scrubbed back", "tab": "Text to image", "caption": "", "recipe": recipe,
         "action": {"kind": "sweep", "key": "step_index", "from": last, "to": 0, "frames": last + 1}}])
    presenter.enter(lesson)
    wait_for_scene(qtbot, presenter)
    assert len(shown) == 1, "one run for the scene, then only the scrubber moves"
    assert panel.tabs.currentWidget() is panel.steps_tab and panel.steps_tab.view.scrubber.value() == 0
    assert panel.steps_tab.recipe()["step_index"] == 0 and panel.steps_tab.recipe()["seed"] == recipe["seed"]
    presenter.leave()
