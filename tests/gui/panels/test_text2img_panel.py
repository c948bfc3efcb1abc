"""The text-to-image panel as a presenter drives it (tiny untrained models, T = 100, a few DDIM steps)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from PySide6.QtCore import Qt

from playground.core.checkpoints import load_checkpoint
from playground.core.images import RECIPE_KEY, read_recipe, save_png
from playground.core.provenance import picture_recipe
from playground.core.text2img.sampling import GuidedSettings, generate
from playground.gui.panels.text2img import Text2ImgPanel

DEFAULT = "large red circle at the top left"


@pytest.fixture
def panel(main_window, qtbot) -> Text2ImgPanel:
    panel = next(p for p in main_window.panels if isinstance(p, Text2ImgPanel))
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.result is not None, timeout=20000)
    panel.apply_settings(panel.settings().replace(steps=4))
    with qtbot.waitSignal(panel.rendered, timeout=20000):
        panel.generate()
    return panel


@pytest.fixture
def submitted(panel, monkeypatch) -> list[str]:
    """The channels of the jobs the panel submits from now on."""
    channels: list[str] = []
    submit = panel.worker.submit

    def recording(fn, **kwargs):
        channels.append(kwargs.get("channel"))
        return submit(fn, **kwargs)

    monkeypatch.setattr(panel.worker, "submit", recording)
    return channels


def status(panel) -> str:
    return panel.window().statusBar().currentMessage()


def test_a_render_is_the_cores_run_for_the_same_settings(panel):
    result = panel.result
    assert result.settings.steps == 4 and result.settings.prompt == "a large red circle at the top left"
    expected = generate(panel.loaded.model, result.settings)[0]
    np.testing.assert_array_equal(panel.guidance_tab.sample_canvas.image, expected)
    np.testing.assert_array_equal(result.trajectory.final_image(), expected)
    assert panel.guidance_tab.sample_canvas.title.text() == f"“{DEFAULT}”"  # the picture names its prompt


def test_moving_the_slider_shows_a_preview_then_the_new_image(panel, qtbot):
    with qtbot.waitSignal(panel.preview_shown, timeout=10000) as preview:
        panel.controls.guidance_slider.set_value(6.5, emit=True)
    assert preview.args == [0]  # the first step's predicted x0 comes at once
    qtbot.waitUntil(lambda: panel.result.settings.guidance_scale == 6.5, timeout=20000)
    assert "w = 6.5" in panel.guidance_tab.sample_canvas.caption.text()


def test_slider_requests_coalesce_and_the_newest_value_wins(panel, qtbot):
    finished = []
    panel.rendered.connect(lambda: finished.append(panel.result.settings.guidance_scale))
    for w in np.linspace(1.0, 5.0, 15):
        panel.controls.guidance_slider.slider.setValue(int(round(w * 100)))  # as a drag does, one event per position
    qtbot.waitUntil(lambda: panel.result.settings.guidance_scale == 5.0 and not panel.worker.is_busy("render"),
                    timeout=30000)
    assert finished[-1] == 5.0 and len(finished) < 15


def test_an_unknown_word_is_refused_with_the_vocabulary_and_nothing_runs(panel, qtbot, submitted):
    panel.prompt.set_text("a red dog")
    assert not panel.prompt.valid and not panel.controls.generate_button.isEnabled()
    assert "'dog'" in panel.prompt.message.text() and "vocabulary is: a, at, the" in panel.prompt.message.text()
    qtbot.keyClick(panel.prompt.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    panel.controls.guidance_slider.set_value(2.0, emit=True)
    assert "render" not in submitted and "'dog'" in status(panel)


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
        panel.guidance_tab.decomposition_step.setValue(1)
    parts = panel.decomposition
    assert parts.index == 1 and parts.t == int(panel.result.trajectory.t[1])
    for key in ("uncond", "cond", "difference", "guided"):
        assert panel.guidance_tab.decomposition_view.canvases[key].image.shape == (32, 32, 3)


def test_the_steps_tab_shows_the_guided_run_and_the_decomposition_follows_its_scrubber(panel, qtbot):
    tab, trajectory = panel.steps_tab, panel.result.trajectory
    assert tab.current is trajectory and tab.model_function() is panel.result.denoiser
    with qtbot.waitSignal(panel.decomposed, timeout=10000):
        tab.view.scrubber.set_value(2)
    assert panel.guidance_tab.decomposition_step.value() == 2 and panel.decomposition.index == 2
    assert tab.recipe()["guidance_scale"] == panel.result.settings.guidance_scale


def test_run_in_the_steps_tab_redraws_the_guided_run_it_shows(panel, qtbot):
    """Its Run steps as the Guidance tab does (clipped x0 and the eps it implies), so the same image."""
    tab, shown = panel.steps_tab, panel.result.trajectory
    tab.view.run()
    qtbot.waitUntil(lambda: tab.current is not shown and not tab.sampling, timeout=20000)
    assert tab.current.settings.use_clipped_model_output
    np.testing.assert_array_equal(tab.current.final_image(), shown.final_image())


def test_export_then_load_restores_the_settings(panel, qtbot, tmp_path):
    settings = GuidedSettings(prompt="a large green triangle at the bottom", negative_prompt="red", guidance_scale=4.5,
                              guidance_start=0.1, guidance_stop=0.9, steps=5, seed=7)
    panel.apply_settings(settings)
    with qtbot.waitSignal(panel.rendered, timeout=20000):
        panel.generate()
    path = panel.export_png(tmp_path / "sample.png", "sample")
    recipe = read_recipe(path)
    assert recipe["model"] == "text2img-tiny" and recipe["negative_prompt"] == "red" and recipe["seed"] == 7
    assert recipe["picture"] == "sample" and recipe["scale"] == 8 and recipe["family"] == "text2img"
    assert len(recipe["weights_sha256"]) == 64  # the model header: `reproduce` checks the weights
    exported = np.asarray(Image.open(path).convert("RGB"))[::8, ::8]
    np.testing.assert_array_equal(exported, panel.result.trajectory.final_image())
    panel.apply_settings(GuidedSettings(prompt="blue", guidance_scale=1.0, steps=4, seed=1))
    with qtbot.waitSignal(panel.rendered, timeout=20000):
        assert panel.load_png(path)
    assert panel.settings() == settings and "Restored" in status(panel)
    np.testing.assert_array_equal(panel.guidance_tab.sample_canvas.image, exported)



def test_load_png_says_in_one_message_what_differs_from_the_images_making(panel, qtbot, tmp_path):
    path = panel.export_png(tmp_path / "sample.png", "sample")
    other = save_png(tmp_path / "other.png", np.zeros((8, 8, 3), np.uint8), read_recipe(path) | {"model": "t2i-big"})
    messages = []
    panel.status_message.connect(messages.append)
    with qtbot.waitSignal(panel.rendered, timeout=20000):
        assert panel.load_png(other)
    assert messages == ["Restored the Text to image panel from other.png; "
                        "note: it was made with t2i-big, this renders with text2img-tiny"]


def test_the_exported_sample_and_grid_reproduce_headlessly_to_the_pixel(panel, qtbot, tmp_path):
    from playground.core.reproduce import read_pixels, reproduce

    panel.grid_tab.scales_edit.setText("1, 4")
    panel.grid_tab.seeds_box.setValue(2)
    with qtbot.waitSignal(panel.grid_rendered, timeout=30000):
        panel.run_grid()
    for picture in ("sample", "grid"):
        path = panel.export_png(tmp_path / f"{picture}.png", picture)
        image, _, differences = reproduce(path)
        np.testing.assert_array_equal(image, read_pixels(path))
        assert differences == []


def test_a_recipe_beyond_the_sliders_widens_them_rather_than_clamping(panel, qtbot, tmp_path):
    settings = GuidedSettings(prompt="blue square", guidance_scale=20.0, classifier_scale=0.0, steps=3, seed=5)
    recipe = picture_recipe(panel.loaded, "sample", **settings.to_recipe(panel.loaded.name), scale=1)
    path = save_png(tmp_path / "cli.png", np.zeros((32, 32, 3), np.uint8), recipe)
    with qtbot.waitSignal(panel.rendered, timeout=20000):
        assert panel.load_png(path)
    assert panel.result.settings == settings


def test_the_grid_puts_one_seed_at_several_scales_and_round_trips(panel, qtbot, tmp_path):
    panel.grid_tab.scales_edit.setText("0, 3")
    panel.grid_tab.seeds_box.setValue(2)
    with qtbot.waitSignal(panel.grid_rendered, timeout=30000):
        panel.run_grid()
    grid = panel.grid_tab.grid
    seed = panel.controls.sampler.seed_field.value()
    assert grid.scales == (0.0, 3.0) and grid.seeds == (seed, seed + 1)
    assert panel.grid_tab.canvas.image is grid.picture
    path = panel.export_png(tmp_path / "grid.png", "grid")
    recipe = read_recipe(path)
    assert recipe["picture"] == "grid" and recipe["grid"] == {"axis": "w", "scales": [0.0, 3.0], "seeds": list(grid.seeds)}
    assert recipe["model"] == "text2img-tiny" and len(recipe["weights_sha256"]) == 64
    panel.grid_tab.scales_edit.setText("1")
    with qtbot.waitSignal(panel.grid_rendered, timeout=30000):
        assert panel.load_png(path)
    assert panel.grid_tab.scales_edit.text() == "0, 3" and panel.grid_tab.grid.scales == (0.0, 3.0)


def test_classifier_guidance_can_steer_the_unconditional_ddpm(panel, qtbot, tmp_path):
    panel.controls.classifier_slider.set_value(4.0)
    with qtbot.waitSignal(panel.rendered, timeout=30000):
        panel.controls.base_box.setCurrentIndex(panel.controls.base_box.findData("ddpm"))
    settings = panel.result.settings
    assert settings.base == "ddpm" and settings.classifier_scale == 4.0
    assert not panel.controls.guidance_slider.isEnabled()
    assert panel.models.get("ddpm").name == "ddpm-tiny"
    assert panel.models.get("noisy-classifier").name == "noisy-classifier-tiny"
    qtbot.waitUntil(lambda: panel.decomposition is not None and panel.decomposition.cond is None, timeout=10000)
    recipe = read_recipe(panel.export_png(tmp_path / "ddpm.png", "sample"))
    assert recipe["base_model"].endswith("model.safetensors") and len(recipe["classifier_sha256"]) == 64


# --- bugs users reported ------------------------------------------------------------------------------


@pytest.fixture
def vae_png(tiny_assets, tmp_path):
    """A PNG the VAE tab exports: the VAE's model header, a decode of a latent."""
    vae = load_checkpoint(tiny_assets / "vae-tiny" / "model.safetensors")
    recipe = picture_recipe(vae, "decode", seed=3, temperature=1.0, latent=[0.0] * 6, scale=8)
    return save_png(tmp_path / "vae.png", np.zeros((32, 32, 3), np.uint8), recipe)


def test_load_png_of_a_vae_image_is_refused_naming_what_the_file_is(panel, vae_png, submitted):
    """It used to say 'Restored "", w = 3', wipe the prompt and render an unconditional sample."""
    before = panel.settings()
    assert not panel.load_png(vae_png)
    assert "vae.png is a vae image (model vae-tiny), not an image from the Text to image panel" in status(panel)
    assert panel.settings() == before and panel.prompt.text() == "a large red circle at the top left"
    assert "render" not in submitted and "grid" not in submitted


def test_load_png_of_a_png_without_a_recipe_or_with_a_partial_one_is_refused(panel, tmp_path, submitted):
    plain = tmp_path / "photo.png"
    Image.new("RGB", (8, 8)).save(plain)
    assert not panel.load_png(plain)
    assert "photo.png: this PNG carries no playground recipe" in status(panel)
    partial = save_png(tmp_path / "partial.png", np.zeros((4, 4, 3), np.uint8),
                       picture_recipe(panel.loaded, "sample", scale=8))  # the header and nothing else
    assert not panel.load_png(partial)
    assert "lacks prompt" in status(panel) and panel.prompt.text() == "a large red circle at the top left"
    assert submitted == []


@pytest.mark.parametrize("edit, message", [
    ({"guidance_scale": math.nan}, "guidance scale w must be a number from 0 to 50, not nan"),
    ({"steps": 500}, "steps must be a whole number from 1 to 100"),
    ({"seed": 2**40}, "seed must be a whole number from 0 to 2147483647"),
    ({"guidance_start": 0.9, "guidance_stop": 0.1}, "guidance range must start before it stops"),
    ({"prompt": "a gigantic circle"}, "'gigantic'"),
    ({"grid": {"axis": "w", "scales": [1.0, math.inf], "seeds": [0]}, "picture": "grid"}, "guidance scale w"),
])
def test_a_hand_edited_recipe_is_refused_naming_the_setting(panel, tmp_path, submitted, edit, message):
    recipe = picture_recipe(panel.loaded, "sample", **panel.settings().to_recipe(panel.loaded.name), scale=8) | edit
    before = panel.settings()
    info = PngImagePlugin.PngInfo()
    info.add_text(RECIPE_KEY, json.dumps(recipe))  # as an editor writes it: NaN and Infinity included
    Image.new("RGB", (4, 4)).save(tmp_path / "edited.png", pnginfo=info)
    assert not panel.load_png(tmp_path / "edited.png")
    assert message in status(panel) and panel.settings() == before and submitted == []


def test_an_invalid_prompt_greys_out_the_last_valid_prompts_picture(panel, qtbot):
    tab = panel.guidance_tab
    with qtbot.waitSignal(panel.grid_rendered, timeout=30000):
        panel.run_grid()
    shown = panel.result.trajectory.final_image()
    panel.prompt.set_text("a gigantic red circle")
    assert not np.array_equal(tab.sample_canvas.image, shown)
    assert tab.sample_canvas.image.std() < shown.std()  # greyed out, not another picture
    assert tab.sample_canvas.title.text() == f"last valid prompt: “{DEFAULT}”"
    assert "not valid" in tab.sample_canvas.caption.text()
    assert not np.array_equal(panel.grid_tab.canvas.image, panel.grid_tab.grid.picture)
    assert "last valid prompt" in panel.grid_tab.info.text()
    panel.prompt.set_text("a large red circle at the top left")  # valid again: the picture is its own again
    np.testing.assert_array_equal(tab.sample_canvas.image, shown)
    assert tab.sample_canvas.title.text() == f"“{DEFAULT}”"
    assert panel.grid_tab.canvas.image is panel.grid_tab.grid.picture


def test_ctrl_enter_closes_the_completion_popup(panel, qtbot):
    """An open popup after Ctrl+Enter swallowed the next click."""
    edit, popup = panel.prompt.edit, panel.prompt.completer.popup()
    panel.window().activateWindow()
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=5000)
    edit.clear()
    qtbot.keyClicks(edit, "a large red")
    qtbot.waitUntil(popup.isVisible, timeout=5000)
    with qtbot.waitSignal(panel.rendered, timeout=20000):
        qtbot.keyClick(edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not popup.isVisible()


def test_an_error_goes_once_the_next_prompt_renders(panel, qtbot):
    """The status bar kept "Error: unknown word 'gigantic'…" after the next prompt rendered fine."""
    panel.prompt.set_text("a gigantic red circle")
    panel.generate()
    assert "Error" in status(panel) and "'gigantic'" in status(panel)
    panel.prompt.set_text("a large red circle")
    with qtbot.waitSignal(panel.rendered, timeout=20000):
        panel.generate()
    assert "Error" not in status(panel) and "gigantic" not in status(panel)


@pytest.mark.parametrize("text, message", [
    ("1, nan", "each guidance scale w of the grid must be a number from 0 to 50, not nan"),
    ("inf", "not inf"), ("1e9", "not 1000000000.0"), ("-1", "not -1.0"),
    ("1, two", "grid scales must be numbers separated by commas"), ("", "a grid takes 1 to 10 scales"),
])
def test_grid_scales_are_checked_as_typed_and_never_reach_the_sampler(panel, submitted, text, message):
    panel.grid_tab.scales_edit.setText(text)
    assert not panel.grid_tab.run_button.isEnabled() and message in panel.grid_tab.info.text()
    panel.run_grid()
    assert "grid" not in submitted and message in status(panel)
    panel.grid_tab.scales_edit.setText("0, 2")
    assert panel.grid_tab.run_button.isEnabled()


def test_the_ddpm_base_checks_grid_scales_against_the_classifier_scales_range(panel):
    panel.grid_tab.scales_edit.setText("0, 80")
    assert "guidance scale w" in panel.grid_tab.info.text()  # w goes to 50
    panel.controls.base_box.setCurrentIndex(panel.controls.base_box.findData("ddpm"))
    assert panel.grid_tab.run_button.isEnabled()  # s goes to 100


@pytest.mark.parametrize("typed", ["99999", "abc"])
def test_typed_steps_out_of_range_are_answered_inline_and_nothing_renders(panel, qtbot, submitted, typed):
    """The row's spin boxes clamped 99999 steps to the maximum without a word."""
    field, message = panel.controls.sampler.steps, panel.controls.sampler.message
    field.clear()
    qtbot.keyClicks(field, typed)  # "9" and "99" on the way are steps too, and render
    submitted.clear()
    assert "steps must be a whole number from 1 to 100" in message.text() and not message.isHidden()
    assert field.text() == typed  # kept as typed, not clamped
    panel.generate()
    assert "render" not in submitted and "steps must be a whole number from 1 to 100" in status(panel)
    field.clear()
    with qtbot.waitSignal(panel.rendered, timeout=20000):
        qtbot.keyClicks(field, "5")  # fixed: the message goes and the run renders
    assert panel.result.settings.steps == 5 and message.isHidden()


def test_new_seed_draws_a_seed_in_range_and_renders_it(panel, qtbot):
    before = panel.result.settings.seed
    with qtbot.waitSignal(panel.rendered, timeout=20000):
        panel.controls.sampler.new_seed_button.click()
    seed = panel.result.settings.seed
    assert seed == panel.controls.sampler.seed_field.value() and 0 <= seed <= 2**31 - 1 and seed != before
