"""CLIP guidance in the Text-to-image panel: the CLIP scale beside w changes the image, is the core's run,
travels in the exported PNG, steers the unconditional DDPM, and a missing CLIP is one line in the status bar."""

from __future__ import annotations

import numpy as np
import pytest

from playground.core.checkpoints import CheckpointError
from playground.core.images import read_recipe
from playground.core.reproduce import read_pixels, reproduce
from playground.core.text2img.sampling import generate
from playground.gui.panels.text2img import Text2ImgPanel


@pytest.fixture
def panel(main_window, qtbot) -> Text2ImgPanel:
    panel = next(p for p in main_window.panels if isinstance(p, Text2ImgPanel))
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.result is not None, timeout=20000)
    panel.apply_settings(panel.settings().replace(steps=4))
    with qtbot.waitSignal(panel.rendered, timeout=20000):
        panel.generate()
    return panel


def test_the_clip_scale_changes_the_image_as_the_core_does_and_reproduces(panel, qtbot, tmp_path):
    before = panel.result.trajectory.final_image().copy()
    assert panel.controls.clip_slider.isEnabled() and panel.result.settings.clip_scale == 0.0
    panel.controls.clip_slider.set_value(250.0, emit=True)
    qtbot.waitUntil(lambda: panel.result.settings.clip_scale == 250.0 and not panel.worker.is_busy("render"),
                    timeout=30000)
    after = panel.result.trajectory.final_image()
    assert not np.array_equal(after, before)
    assert panel.models.get("clip").name == "clip-tiny"  # the shipped CLIP, loaded in the worker
    expected = generate(panel.loaded.model, panel.result.settings, clip=panel.models.get("clip").model)[0]
    np.testing.assert_array_equal(after, expected)
    assert "CLIP s = 250" in panel.guidance_tab.sample_canvas.caption.text()
    path = panel.export_png(tmp_path / "clip.png", "sample")
    recipe = read_recipe(path)
    assert recipe["clip_scale"] == 250.0 and len(recipe["clip_model_sha256"]) == 64
    image, _, differences = reproduce(path)
    np.testing.assert_array_equal(image, read_pixels(path))
    assert differences == []
    panel.controls.clip_slider.set_value(0.0)
    with qtbot.waitSignal(panel.rendered, timeout=20000):
        assert panel.load_png(path)
    assert panel.controls.clip_slider.value() == 250.0 and panel.result.settings.clip_scale == 250.0


def test_clip_alone_steers_the_unconditional_ddpm(panel, qtbot):
    panel.controls.applying = True
    panel.controls.base_box.setCurrentIndex(panel.controls.base_box.findData("ddpm"))
    panel.controls.classifier_slider.set_value(0.0)
    panel.controls.clip_slider.set_value(200.0)
    panel.controls.applying = False
    with qtbot.waitSignal(panel.rendered, timeout=30000):
        panel.generate()
    settings = panel.result.settings
    assert settings.base == "ddpm" and settings.classifier_scale == 0.0 and settings.clip_scale == 200.0
    assert "DDPM + CLIP" in panel.guidance_tab.sample_canvas.title.text()
    ddpm, clip = panel.models.get("ddpm").model, panel.models.get("clip").model
    np.testing.assert_array_equal(panel.result.trajectory.final_image(), generate(ddpm, settings, clip=clip)[0])
    assert not np.array_equal(panel.result.trajectory.final_image(), generate(ddpm, settings.replace(clip_scale=0.0))[0])


def test_a_missing_clip_is_one_line_in_the_status_bar(panel, qtbot):
    def missing(family):
        raise CheckpointError(f"assets/{family}-shapes/model.safetensors: the shipped {family} checkpoint is missing")

    panel.models.find = missing
    panel.controls.clip_slider.set_value(50.0, emit=True)
    status = panel.window().statusBar()
    qtbot.waitUntil(lambda: "the shipped clip checkpoint is missing" in status.currentMessage(), timeout=20000)
    assert "\n" not in status.currentMessage()


def test_the_cfg_vs_clip_tab_compares_the_four_ways_on_the_same_seeds(panel, qtbot):
    panel.compare_tab.run_button.click()  # CLIP s = 0: nothing to compare, one line, nothing runs
    assert "needs a prompt and a CLIP scale s > 0" in panel.window().statusBar().currentMessage()
    panel.controls.applying = True
    panel.controls.clip_slider.set_value(150.0)
    panel.controls.applying = False
    panel.compare_tab.seeds_box.setValue(2)
    with qtbot.waitSignal(panel.compared, timeout=30000):
        panel.compare_tab.run_button.click()
    comparison = panel.compare_tab.comparison
    assert comparison.final and comparison.seeds == (panel.settings().seed, panel.settings().seed + 1)
    assert panel.compare_tab.canvas.image is comparison.picture
    assert "plain conditional (w = 1) · CFG (w = 3) · CLIP (s = 150, w = 1) · both" in panel.compare_tab.info.text()
