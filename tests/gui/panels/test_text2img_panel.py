"""The text-to-image panel as a presenter drives it (tiny untrained models, T = 100, a few DDIM steps)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from playground.core.images import read_recipe
from playground.core.text2img.sampling import GuidedSettings, generate
from playground.gui.panels.text2img_panel import Text2ImgPanel


@pytest.fixture
def panel(main_window, qtbot) -> Text2ImgPanel:
    panel = next(p for p in main_window.panels if isinstance(p, Text2ImgPanel))
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.result is not None, timeout=20000)
    panel.apply_settings(panel.settings().replace(steps=4))
    with qtbot.waitSignal(panel.rendered, timeout=20000):
        panel.generate()
    return panel


def test_a_render_is_the_cores_run_for_the_same_settings(panel):
    result = panel.result
    assert result.settings.steps == 4 and result.settings.prompt == "a large red circle at the top left"
    expected = generate(panel.loaded.model, result.settings)[0]
    np.testing.assert_array_equal(panel.sample_canvas.image, expected)
    np.testing.assert_array_equal(result.trajectory.final_image(), expected)


def test_moving_the_slider_shows_a_preview_then_the_new_image(panel, qtbot):
    with qtbot.waitSignal(panel.preview_shown, timeout=10000) as preview:
        panel.guidance_slider.set_value(6.5, emit=True)
    assert preview.args == [0]  # the first step's predicted x0 comes at once
    qtbot.waitUntil(lambda: panel.result.settings.guidance_scale == 6.5, timeout=20000)
    assert "w = 6.5" in panel.sample_canvas.caption.text()


def test_slider_requests_coalesce_and_the_newest_value_wins(panel, qtbot):
    finished = []
    panel.rendered.connect(lambda: finished.append(panel.result.settings.guidance_scale))
    for w in np.linspace(1.0, 5.0, 15):
        panel.guidance_slider.slider.setValue(int(round(w * 100)))  # as a drag does, one event per position
    qtbot.waitUntil(lambda: panel.result.settings.guidance_scale == 5.0 and not panel.worker.is_busy("render"),
                    timeout=30000)
    assert finished[-1] == 5.0 and len(finished) < 15


def test_an_unknown_word_is_refused_with_the_vocabulary_and_nothing_runs(panel, qtbot):
    request = panel.request
    panel.prompt.set_text("a red dog")
    assert not panel.prompt.valid and not panel.generate_button.isEnabled()
    assert "'dog'" in panel.prompt.message.text() and "vocabulary is: a, at, the" in panel.prompt.message.text()
    qtbot.keyClick(panel.prompt.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    panel.guidance_slider.set_value(2.0, emit=True)
    assert panel.request == request


def test_ctrl_enter_generates_the_typed_prompt(panel, qtbot):
    panel.prompt.set_text("small blue square")
    with qtbot.waitSignal(panel.rendered, timeout=20000):
        qtbot.keyClick(panel.prompt.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert panel.result.settings.prompt == "small blue square"


def test_completion_offers_the_next_words_of_the_prompt(panel):
    assert panel.prompt.completion_candidates("a large re") == ["a large red"]
    assert panel.prompt.completion_candidates("red circle at ") == ["red circle at the"]


def test_the_decomposition_follows_its_step_slider(panel, qtbot):
    qtbot.waitUntil(lambda: panel.decomposition is not None, timeout=10000)
    with qtbot.waitSignal(panel.decomposed, timeout=10000):
        panel.decomposition_step.setValue(1)
    parts = panel.decomposition
    assert parts.index == 1 and parts.t == int(panel.result.trajectory.t[1])
    for key in ("uncond", "cond", "difference", "guided"):
        assert panel.decomposition_view.canvases[key].image.shape == (32, 32, 3)


def test_the_step_scrubber_shows_the_guided_run(panel):
    view = panel.steps_view
    trajectory = panel.result.trajectory
    assert view.current is trajectory and view.model_function() is panel.result.denoiser
    view.timeline.setValue(2)
    np.testing.assert_array_equal(view.canvases["pred_x0"].image, trajectory.frame("pred_x0", 2))
    assert view.recipe(trajectory)["guidance_scale"] == panel.result.settings.guidance_scale
    assert panel.decomposition_step.value() == 2  # the decomposition follows the scrubber


def test_run_in_the_step_view_redraws_the_guided_run_it_shows(panel, qtbot):
    """Its Run uses the same sampler as the Guidance tab (clipped x0 and the eps it implies), so the same image."""
    view = panel.steps_view
    shown = panel.result.trajectory
    view.run()
    qtbot.waitUntil(lambda: view.current is not shown and not view.sampling, timeout=20000)
    assert view.current.settings.use_clipped_model_output
    np.testing.assert_array_equal(view.current.final_image(), shown.final_image())


def test_export_then_load_restores_the_settings(panel, qtbot, tmp_path):
    settings = GuidedSettings(prompt="a large green triangle at the bottom", negative_prompt="red", guidance_scale=4.5,
                              guidance_start=0.1, guidance_stop=0.9, steps=5, seed=7)
    panel.apply_settings(settings)
    with qtbot.waitSignal(panel.rendered, timeout=20000):
        panel.generate()
    path = panel.export_png(tmp_path / "sample.png", "sample")
    recipe = read_recipe(path)
    assert recipe["model"] == "text2img-tiny" and recipe["negative_prompt"] == "red" and recipe["seed"] == 7
    exported = np.asarray(Image.open(path).convert("RGB"))[::8, ::8]
    np.testing.assert_array_equal(exported, panel.result.trajectory.final_image())
    panel.apply_settings(GuidedSettings(prompt="blue", guidance_scale=1.0, steps=4, seed=1))
    with qtbot.waitSignal(panel.rendered, timeout=20000):
        panel.load_recipe(path)
    assert panel.settings() == settings
    np.testing.assert_array_equal(panel.sample_canvas.image, exported)


def test_the_grid_puts_one_seed_at_several_scales_and_round_trips(panel, qtbot, tmp_path):
    panel.grid_scales_edit.setText("0, 3")
    panel.grid_seeds_box.setValue(2)
    with qtbot.waitSignal(panel.grid_rendered, timeout=30000):
        panel.run_grid()
    grid = panel.grid
    assert grid.scales == (0.0, 3.0) and grid.seeds == (panel.seed_box.value(), panel.seed_box.value() + 1)
    assert panel.grid_canvas.image is grid.picture
    path = panel.export_png(tmp_path / "grid.png", "grid")
    assert read_recipe(path)["grid"] == {"axis": "w", "scales": [0.0, 3.0], "seeds": list(grid.seeds)}
    panel.grid_scales_edit.setText("1")
    with qtbot.waitSignal(panel.grid_rendered, timeout=30000):
        panel.load_recipe(path)
    assert panel.grid_scales_edit.text() == "0, 3" and panel.grid.scales == (0.0, 3.0)


def test_classifier_guidance_can_steer_the_unconditional_ddpm(panel, qtbot):
    panel.classifier_slider.set_value(4.0)
    with qtbot.waitSignal(panel.rendered, timeout=30000):
        panel.base_box.setCurrentIndex(panel.base_box.findData("ddpm"))
    settings = panel.result.settings
    assert settings.base == "ddpm" and settings.classifier_scale == 4.0
    assert not panel.guidance_slider.isEnabled()
    assert panel.aux.get("ddpm").name == "ddpm-tiny" and panel.aux.get("noisy-classifier").name == "noisy-classifier-tiny"
    qtbot.waitUntil(lambda: panel.decomposition is not None and panel.decomposition.cond is None, timeout=10000)
