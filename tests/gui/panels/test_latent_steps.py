"""Every denoiser in the Diffusion and Text-to-image tabs: the latent ones (ldm, dit, sit) step by step.

Tiny untrained checkpoints (tests/latent_models.py, T = 100; sit: K = 100 flow intervals). Each is
picked from the model picker in both tabs, run, scrubbed, branched, exported as a PNG with its recipe
and loaded back; a latent step shows the 4 latent channels and the images its autoencoder decodes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from tolerance import assert_same_picture  # a batch of 2 decoded against a batch of 1: see tests/tolerance.py

from playground.core.diffusion.latent_pictures import LatentPictures
from playground.core.diffusion.trajectory import LATENT_VIEWS
from playground.core.images import read_recipe
from playground.gui.panels.diffusion import DiffusionPanel
from playground.gui.panels.latent import LatentPanel
from playground.gui.panels.text2img import Text2ImgPanel
from playground.gui.widgets.steps.views import LATENT_SHOWN

FAMILIES = ("ldm", "dit", "sit")
SAMPLERS = {"ldm": ("ddpm", "ddim"), "dit": ("ddpm", "ddim"), "sit": ("euler", "heun", "sde")}
DEFAULTS = {"ldm": ("ddim", 50), "dit": ("ddim", 50), "sit": ("heun", 10)}
BRANCHABLE = {"ldm": "ddim", "dit": "ddim", "sit": "sde"}  # with eta 1 for DDIM: noise after x_T, so a branch differs


def _panel(window, qtbot, kind: type):
    panel = next(p for p in window.panels if isinstance(p, kind))
    window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=20000)
    return panel


def _pick(window, qtbot, panel, family: str) -> None:
    """Choose `family`'s tiny checkpoint in the toolbar's picker, as a user does, and wait for it."""
    picker = window.model_picker
    index = next(i for i in range(picker.count()) if f"{family}-tiny" in picker.itemText(i))
    picker.setCurrentIndex(index)
    picker.activated.emit(index)
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.loaded.family == family, timeout=20000)


def _set_sampler(controls, kind: str, steps: int, seed: int, eta: float = 1.0) -> None:
    controls.sampler_box.setCurrentIndex(controls.sampler_box.findData(kind))
    if controls.steps.isEnabled():
        controls.steps.setText(str(steps))
    if controls.eta.isEnabled():
        controls.eta.setText(str(eta))
    controls.seed_field.setText(str(seed))


def _offered(controls) -> tuple[str, ...]:
    return tuple(controls.sampler_box.itemData(i) for i in range(controls.sampler_box.count()))


def _run(view, qtbot):
    before = view.current
    view.run_button.click()
    qtbot.waitUntil(lambda: view.current is not before and not view.sampling, timeout=60000)
    return view.current


def _check_latent_step(view, trajectory, index: int) -> None:
    """The row shows x_t's 4 channels, x0's, and the images decoded from them, straight from the cache."""
    assert trajectory.latent and trajectory.views == LATENT_VIEWS
    for name in LATENT_SHOWN:
        assert view.steps.canvases[name].isVisible()
        np.testing.assert_array_equal(view.steps.image(name), trajectory.frame(name, index))
    assert not view.steps.canvases["pred_noise"].isVisible()
    pictures = trajectory.pictures
    state = torch.from_numpy(trajectory.states[index])
    np.testing.assert_array_equal(trajectory.frame("x_t", index), pictures.channels(state))
    tile = trajectory.frame("x_t", index)
    assert pictures.grid == (2, 2) and tile.shape == (33, 33, 3)
    quarters = [tile[:16, :16], tile[:16, 17:], tile[17:, :16], tile[17:, 17:]]  # four 8x8 maps at 2 px a value
    for channel, quarter in enumerate(quarters):
        assert (quarter[..., 0] == quarter[..., 1]).all(), "channel maps are greyscale"
        values = np.clip((state[channel].numpy() / 2 + 1) * 127.5, 0, 255)  # +-2 sigma to black..white
        assert np.abs(quarter[::2, ::2, 0] - values).max() <= 1.0
    decoded = pictures.unframed(trajectory.frame("decoded_x_t", index))
    assert_same_picture(decoded, pictures.paint(state[None])[0])


def test_both_tabs_list_every_latent_model_and_opening_one_picks_a_tab(main_window, qtbot, tiny_assets):
    for kind in (DiffusionPanel, Text2ImgPanel):
        _panel(main_window, qtbot, kind)
        entries = [main_window.model_picker.itemText(i) for i in range(main_window.model_picker.count())]
        for family in FAMILIES:
            assert any(f"{family}-tiny" in e for e in entries), (kind.__name__, family, entries)
    # from a tab that does not show them, a latent checkpoint opens in Text to image (its home) ...
    latent_tab = next(p for p in main_window.panels if isinstance(p, LatentPanel))
    main_window.show_panel(latent_tab)
    main_window.open_checkpoint(tiny_assets / "dit-tiny" / "model.safetensors")
    text2img = next(p for p in main_window.panels if isinstance(p, Text2ImgPanel))
    assert main_window.current_panel is text2img
    qtbot.waitUntil(lambda: text2img.loaded is not None and text2img.loaded.family == "dit", timeout=20000)
    # ... and on the Diffusion tab it stays there
    diffusion = _panel(main_window, qtbot, DiffusionPanel)
    main_window.open_checkpoint(tiny_assets / "sit-tiny" / "model.safetensors")
    assert main_window.current_panel is diffusion
    qtbot.waitUntil(lambda: diffusion.loaded.family == "sit", timeout=20000)


@pytest.mark.parametrize("family", FAMILIES)
def test_diffusion_tab_runs_scrubs_branches_and_restores_a_latent_model(main_window, qtbot, tmp_path, family):
    panel = _panel(main_window, qtbot, DiffusionPanel)
    _pick(main_window, qtbot, panel, family)
    controls, view = panel.controls, panel.view
    assert _offered(controls) == SAMPLERS[family]  # no DDIM for sit, no Heun for dit
    assert (controls.kind, int(controls.steps.text())) == DEFAULTS[family]
    assert not controls.clip_box.isEnabled() and not controls.clip_box.isChecked()
    assert panel.tabs.isTabEnabled(2) == (family != "sit") and not panel.tabs.isTabEnabled(1)
    _set_sampler(controls, BRANCHABLE[family], 6, 7)
    run = _run(view, qtbot)
    assert run.complete and not run.settings.clip_x0 and run.final_image().shape == (32, 32, 3)
    for step in (0, 3, run.count - 1):  # scrubbing shows the cached pictures
        view.scrubber.set_value(step)
        _check_latent_step(view, run, step)
    assert_same_picture(run.final_image(), run.pictures.paint(torch.from_numpy(run.final)[None])[0])
    # a branch keeps the steps before it and decodes its own
    view.scrubber.set_value(2)
    view.branch(seed=40)
    qtbot.waitUntil(lambda: view.current is not run and not view.sampling, timeout=60000)
    branch = view.current
    assert branch.latent and branch.branch.start_index == 2 and branch.complete
    for name in LATENT_VIEWS:
        np.testing.assert_array_equal(branch.frames[name][:2], run.frames[name][:2])
    view.scrubber.set_value(4)
    _check_latent_step(view, branch, 4)
    # export the frame with its recipe, run something else, and load it back
    path = view.exports.frame(tmp_path / "latent-frame.png")
    recipe = read_recipe(path)
    assert recipe["family"] == family and recipe["views"] == list(LATENT_SHOWN) and recipe["clip_x0"] is False
    _set_sampler(controls, DEFAULTS[family][0], 3, 2)
    _run(view, qtbot)
    assert panel.load_png(path)
    qtbot.waitUntil(lambda: view.current is not None and view.current.branch is not None and not view.sampling
                    and view.current.count == 6, timeout=60000)
    restored = view.current
    assert restored.recipe() == branch.recipe() and view.scrubber.value() == 4
    for name in LATENT_VIEWS:
        np.testing.assert_array_equal(restored.frames[name], branch.frames[name])
    strip_path = view.exports.strip(tmp_path / "strip.png")
    assert read_recipe(strip_path)["views"] == ["x_t", "pred_x0", "decoded_x0"]
    # `playground reproduce` draws the frame and the strip again from their recipes
    from playground.core.latent_diffusion.render import render

    for exported in (path, strip_path):
        drawn = np.asarray(Image.open(exported).convert("RGB"))
        assert_same_picture(render(read_recipe(exported), panel.loaded), drawn)


@pytest.mark.parametrize("family", FAMILIES)
def test_text_to_image_guides_a_latent_model_step_by_step(main_window, qtbot, tmp_path, family):
    panel = _panel(main_window, qtbot, Text2ImgPanel)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=30000)
    _pick(main_window, qtbot, panel, family)
    sampler = panel.controls.sampler
    assert _offered(sampler) == SAMPLERS[family] and (sampler.kind, int(sampler.steps.text())) == DEFAULTS[family]
    assert panel.controls.guidance_slider.value() == 2.0  # the checkpoint's recorded best w
    assert not panel.controls.classifier_slider.isEnabled() and not sampler.clip_box.isEnabled()
    _set_sampler(sampler, BRANCHABLE[family], 5, 3)
    with qtbot.waitSignal(panel.rendered, timeout=60000):
        panel.generate()
    result = panel.result
    assert result.settings.sampler == BRANCHABLE[family] and result.trajectory.latent
    np.testing.assert_array_equal(panel.guidance_tab.sample_canvas.image, result.trajectory.final_image())
    # a render decodes its sample, not its steps (they cost more than the denoising): those when shown
    assert result.trajectory.missing_pictures == 5
    tab = panel.steps_tab
    panel.tabs.setCurrentWidget(tab)
    view = tab.view
    qtbot.waitUntil(lambda: view.current is result.trajectory, timeout=30000)
    assert result.trajectory.missing_pictures == 0 and _offered(tab.controls) == SAMPLERS[family]
    for step in (0, 2, 4):
        view.scrubber.set_value(step)
        _check_latent_step(view, result.trajectory, step)
    view.scrubber.set_value(1)
    view.branch(seed=9)
    qtbot.waitUntil(lambda: view.current is not result.trajectory and not view.sampling, timeout=60000)
    assert view.current.latent and view.current.branch.start_index == 1
    # the sample's PNG carries the latent family and its prompt; loading it back renders the same picture
    path = panel.export_png(tmp_path / "sample.png")
    recipe = read_recipe(path)
    assert recipe["family"] == family and recipe["kind"] == "text2img" and recipe["sampler"] == BRANCHABLE[family]
    picture = result.trajectory.final_image()
    panel.controls.sampler.seed_field.setText("99")
    with qtbot.waitSignal(panel.rendered, timeout=60000):
        assert panel.load_png(path)
    assert panel.result.settings == result.settings
    np.testing.assert_array_equal(panel.result.trajectory.final_image(), picture)


def test_a_latent_run_costs_no_decode_when_scrubbed(main_window, qtbot, monkeypatch):
    """Scrubbing a cached latent run shows stored pictures: the autoencoder is never called again."""
    panel = _panel(main_window, qtbot, DiffusionPanel)
    _pick(main_window, qtbot, panel, "ldm")
    _set_sampler(panel.controls, "ddim", 5, 1)
    run = _run(panel.view, qtbot)
    calls = []
    monkeypatch.setattr(LatentPictures, "paint", lambda *a: calls.append(a))
    monkeypatch.setattr(panel.loaded.model, "decode", lambda *a: calls.append(a))
    for step in range(run.count):
        panel.view.scrubber.set_value(step)
    assert not calls


def test_back_on_the_pixel_model_the_row_offers_its_samplers_again(main_window, qtbot):
    panel = _panel(main_window, qtbot, DiffusionPanel)
    _pick(main_window, qtbot, panel, "sit")
    assert panel.schedule_label.text().startswith("sit: flow")
    _pick(main_window, qtbot, panel, "ddpm")
    controls = panel.controls
    assert _offered(controls) == ("ddpm", "ddim") and controls.kind == "ddim" and controls.steps.text() == "50"
    assert controls.clip_box.isEnabled() and controls.clip_box.isChecked()
    assert panel.tabs.isTabEnabled(1) and panel.tabs.isTabEnabled(2)
    assert not panel.view.steps.latent and panel.view.steps.canvases["pred_noise"].isVisible()


def test_a_latent_models_grid_is_drawn_from_decoded_samples_as_reproduce_draws_it(tiny_assets):
    from playground.core.checkpoints import load_checkpoint
    from playground.core.latent_diffusion.render import render
    from playground.core.text2img.denoiser import GuidanceModels
    from playground.core.text2img.sampling import GuidedSettings
    from playground.gui.panels.text2img.jobs import grid_job
    from playground.gui.panels.text2img.recipe import export_recipe

    class Job:
        def check(self) -> None: ...

        def progress(self, *args) -> None: ...

    loaded = load_checkpoint(tiny_assets / "ldm-tiny" / "model.safetensors", "cpu")
    settings = GuidedSettings(prompt="a red circle", steps=3, clip_x0=False, seed=4)
    models = GuidanceModels()
    grid = grid_job(models, loaded.model, settings, [1.0, 3.0], [4, 5])(Job())
    recipe = export_recipe(loaded, settings, models, "grid", grid=grid.layout())
    assert recipe["family"] == "ldm" and grid.final
    np.testing.assert_array_equal(render(recipe, loaded), grid.picture)
