"""The step-by-step denoising panel as a presenter drives it (tiny model, T = 100, short DDIM runs)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from playground.core.diffusion.forward import forward_view
from playground.core.diffusion.trajectory import VIEWS, SamplerSettings, run_trajectory
from playground.core.images import read_gif_recipe
from playground.core.images import read_recipe
from playground.gui.panels.diffusion_panel import DiffusionPanel


def _panel(window, qtbot) -> DiffusionPanel:
    panel = next(p for p in window.panels if isinstance(p, DiffusionPanel))
    window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    return panel


def _run(panel, qtbot, steps=8, eta=0.0, seed=5):
    panel.sampler_box.setCurrentIndex(panel.sampler_box.findData("ddim"))
    panel.steps_box.setValue(steps)
    panel.eta_box.setValue(eta)
    panel.seed_box.setValue(seed)
    before = panel.current
    panel.run_button.click()
    qtbot.waitUntil(lambda: panel.current is not before and not panel.sampling, timeout=20000)
    return panel.current


def test_a_run_fills_the_cache_with_one_frame_per_step(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    assert "cosine" in panel.schedule_label.text() and "T = 100" in panel.schedule_label.text()
    trajectory = _run(panel, qtbot, steps=8, eta=0.0, seed=5)
    assert trajectory.complete and trajectory.num_steps == 8
    for view in VIEWS:
        assert trajectory.frames[view].shape == (8, 32, 32, 3) and trajectory.frames[view].dtype == np.uint8
    assert len(panel.runs) == 1
    assert panel.timeline.maximum() == 7 and panel.timeline.value() == 7
    np.testing.assert_array_equal(panel.canvases["pred_x0"].image, trajectory.frame("pred_x0", 7))
    assert f"{trajectory.nbytes / 2**20:.1f} MiB" in panel.cache_label.text()
    # the GUI's run is the core's run: same seed, same frames
    model = panel.loaded.model
    expected = run_trajectory(model, model.noise_schedule, SamplerSettings("ddim", 8, 0.0), 5)
    for view in VIEWS:
        np.testing.assert_array_equal(trajectory.frames[view], expected.frames[view])
    np.testing.assert_allclose(panel.plots.norm_curves["x_t"].getData()[1], expected.norms["x_t"])


def test_scrubbing_shows_the_cached_frame_of_that_step(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    trajectory = _run(panel, qtbot, steps=6, eta=0.5)
    for step in (0, 3, 5, 2):
        panel.timeline.setValue(step)
        for view in ("x_t", "pred_noise", "pred_x0"):
            np.testing.assert_array_equal(panel.canvases[view].image, trajectory.frame(view, step))
        assert panel.step_numbers.text("step") == f"{step + 1} / 6"
        assert panel.step_numbers.text("t").startswith(str(trajectory.t[step]))
        assert panel.plots.cursor_t == trajectory.t[step]


def test_predicted_x0_is_shown_while_sampling(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    previews = []
    panel.sampler_box.setCurrentIndex(panel.sampler_box.findData("ddpm"))  # all 100 steps
    original = panel._on_trace_progress
    panel._on_trace_progress = lambda done, total, p: (previews.append(p), original(done, total, p))
    panel.run()
    qtbot.waitUntil(lambda: panel.current is not None and not panel.sampling, timeout=30000)
    assert len(previews) >= 2, "previews arrive during the run, not only at its end"
    indices = [p.index for p in previews]
    assert indices == sorted(set(indices)), "previews coalesce to the newest; never an older step after a newer"
    assert panel.timeline.value() == 99, "the finished run ends on its last step"
    assert any(not np.array_equal(p.frames["pred_x0"], previews[-1].frames["pred_x0"]) for p in previews[:-1])


def test_stopping_mid_run_leaves_the_panel_usable(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    panel.sampler_box.setCurrentIndex(panel.sampler_box.findData("ddpm"))
    panel.run_button.click()
    qtbot.waitUntil(lambda: panel.live is not None and panel.live.index >= 2, timeout=20000)
    assert panel.stop_button.isEnabled() and not panel.timeline.isEnabled()
    panel.stop_button.click()
    assert not panel.sampling and not panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.worker.is_busy("sample"), timeout=2000)  # within a step
    assert panel.current is None and panel.runs == []
    trajectory = _run(panel, qtbot, steps=5)
    assert trajectory.complete and panel.timeline.isEnabled()


def test_branch_keeps_the_steps_before_k(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    parent = _run(panel, qtbot, steps=10, eta=1.0, seed=3)
    assert panel.branch_button.isEnabled()
    k = 4
    panel.timeline.setValue(k)
    panel.branch_seed_box.setValue(77)
    panel.branch_button.click()
    qtbot.waitUntil(lambda: panel.current is not parent and not panel.sampling, timeout=20000)
    branch = panel.current
    assert branch.branch.start_index == k and branch.seed == 77 and branch.branch.parent == parent.recipe()
    for view in VIEWS:
        np.testing.assert_array_equal(branch.frames[view][:k], parent.frames[view][:k])
    for view in ("x_t", "pred_noise", "pred_x0"):  # step k starts from the same x_t
        np.testing.assert_array_equal(branch.frame(view, k), parent.frame(view, k))
    assert not np.array_equal(branch.frames["x_t"][k + 1:], parent.frames["x_t"][k + 1:])
    assert len(panel.runs) == 2 and panel.runs_list.count() == 2
    assert panel.branch_seed_box.value() == 78
    assert "branched at step 5" in panel.step_label.text()
    # back to the parent from the list of runs
    panel._on_run_clicked(panel.runs_list.item(0))
    assert panel.current is parent


def test_branching_a_deterministic_run_is_not_offered(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    _run(panel, qtbot, steps=4, eta=0.0)
    assert not panel.branch_button.isEnabled()
    assert "η = 0" in panel.branch_button.toolTip()


def test_the_forward_process_view_follows_t(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    panel.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: panel.forward_tab.gallery.count() > 0 and panel.forward_tab.view is not None, timeout=10000)
    panel.forward_tab.gallery.setCurrentRow(3)
    panel.forward_tab.t_slider.setValue(5)
    qtbot.waitUntil(lambda: panel.forward_tab.view.t == 5, timeout=5000)
    early_x_t = panel.forward_tab.canvases["x_t"].image.copy()
    early_x0 = panel.forward_tab.canvases["pred_x0"].image.copy()
    panel.forward_tab.t_slider.setValue(90)
    assert not np.array_equal(panel.forward_tab.canvases["x_t"].image, early_x_t), "x_t follows t at once"
    qtbot.waitUntil(lambda: panel.forward_tab.view.t == 90, timeout=5000)
    assert not np.array_equal(panel.forward_tab.canvases["pred_x0"].image, early_x0)
    model = panel.loaded.model
    expected = forward_view(model, model.noise_schedule, panel.forward_tab.data.images[3], 90, 0)
    np.testing.assert_array_equal(panel.forward_tab.canvases["pred_x0"].image, expected.pred_x0)
    np.testing.assert_array_equal(panel.forward_tab.canvases["x0"].image, panel.forward_tab.data.images[3])
    assert panel.forward_tab.numbers.text("t") == "90"
    assert panel.plots.cursor_t == 90


def test_export_writes_a_png_with_the_recipe_a_gif_and_a_strip(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot)
    trajectory = _run(panel, qtbot, steps=6, eta=0.5, seed=21)
    panel.timeline.setValue(2)
    frame = panel.export_frame(tmp_path / "frame.png")
    recipe = read_recipe(frame)
    assert recipe["seed"] == 21 and recipe["sampler"] == "ddim" and recipe["steps"] == 6 and recipe["eta"] == 0.5
    assert recipe["step_index"] == 2 and recipe["t"] == int(trajectory.t[2]) and recipe["schedule"] == "cosine"
    assert recipe["model"] == "ddpm-tiny" and recipe["clip_x0"] is True
    from PIL import Image

    with Image.open(frame) as image:
        assert image.size == (3 * 32 * 8 + 4 * 2 * 8, 32 * 8 + 2 * 2 * 8)
    gif = panel.export_gif(tmp_path / "run.gif")
    with Image.open(gif) as image:
        assert image.is_animated and image.n_frames == 6
    assert read_gif_recipe(gif)["seed"] == 21
    panel.strip_steps_edit.setText("1, 3, 6")
    strip = panel.export_strip(tmp_path / "strip.png")
    strip_recipe = read_recipe(strip)
    assert strip_recipe["strip_step_indices"] == [0, 2, 5]
    with Image.open(strip) as image:
        assert image.size == ((3 * 34 + 2) * 4, (2 * 34 + 2) * 4)


def test_left_and_right_keys_step_one_step(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    _run(panel, qtbot, steps=6)
    panel.timeline.setValue(3)
    panel.timeline.setFocus()
    qtbot.keyClick(panel.timeline, Qt.Key.Key_Left)
    assert panel.timeline.value() == 2
    qtbot.keyClick(panel.timeline, Qt.Key.Key_Right)
    qtbot.keyClick(panel.timeline, Qt.Key.Key_Right)
    assert panel.timeline.value() == 4
    np.testing.assert_array_equal(panel.canvases["x_t"].image, panel.current.frame("x_t", 4))
    panel.play_button.setFocus()
    qtbot.keyClick(panel.play_button, Qt.Key.Key_Left)
    assert panel.timeline.value() == 3


def test_playback_runs_to_the_end(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    _run(panel, qtbot, steps=6)
    panel.speed_box.setCurrentIndex(panel.speed_box.count() - 1)
    panel.timeline.setValue(0)
    panel.play_button.click()
    assert panel.play_button.isChecked()
    qtbot.waitUntil(lambda: not panel.play_button.isChecked(), timeout=5000)
    assert panel.timeline.value() == 5


@pytest.mark.parametrize("eta", [0.0])
def test_compare_runs_ddpm_and_ddim_from_the_same_seed(main_window, qtbot, eta):
    panel = _panel(main_window, qtbot)
    panel.steps_box.setValue(5)
    panel.eta_box.setValue(eta)
    panel.seed_box.setValue(9)
    panel.tabs.setCurrentIndex(2)
    panel.compare_tab.compare_button.click()
    qtbot.waitUntil(lambda: panel.compare_tab.comparison is not None and not panel.sampling, timeout=30000)
    c = panel.compare_tab.comparison
    ddpm, ddim = c.ddpm, c.ddim
    assert (ddpm.settings.kind, ddpm.num_steps, ddim.settings.kind, ddim.num_steps) == ("ddpm", 100, "ddim", 5)
    np.testing.assert_array_equal(ddpm.frame("x_t", 0), ddim.frame("x_t", 0))  # same seed, same x_T
    np.testing.assert_array_equal(panel.compare_tab.canvases["ddpm", "pred_x0"].image, ddpm.frame("pred_x0", 99))
    panel.compare_tab.t_slider.setValue(50)
    i = ddim.nearest_step(50)
    np.testing.assert_array_equal(panel.compare_tab.canvases["ddim", "x_t"].image, ddim.frame("x_t", i))
    assert "MiB" in panel.cache_label.text()


def test_clipping_x0_is_a_visible_sampler_setting(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    assert panel.clip_box.isChecked(), "on by default, as in diffusers and improved-diffusion"
    panel.clip_box.setChecked(False)
    trajectory = _run(panel, qtbot, steps=4)
    assert trajectory.settings.clip_x0 is False and trajectory.recipe()["clip_x0"] is False


def test_the_status_bar_cancel_stops_a_run_too(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    panel.sampler_box.setCurrentIndex(panel.sampler_box.findData("ddpm"))
    panel.run()
    qtbot.waitUntil(lambda: main_window.cancel_button.isVisible(), timeout=20000)
    main_window.cancel_button.click()
    qtbot.waitUntil(lambda: not panel.sampling, timeout=3000)
    assert not panel.stop_button.isEnabled() and panel.run_button.isEnabled()
