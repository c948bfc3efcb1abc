"""The step-by-step denoising panel as a presenter drives it (tiny model, T = 100, short DDIM runs)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from playground.core.diffusion.forward import forward_view
from playground.core.diffusion.trajectory import VIEWS, SamplerSettings, run_trajectory
from playground.core.images import labelled_grid, read_gif_recipe, read_recipe
from playground.gui.panels.diffusion import DiffusionPanel

T = 100  # the tiny DDPM's schedule length (tests/gui/conftest.py)


def _panel(window, qtbot) -> DiffusionPanel:
    panel = next(p for p in window.panels if isinstance(p, DiffusionPanel))
    window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    return panel


def _set(panel, sampler="ddim", steps=8, eta=0.0, seed=5):
    controls = panel.controls
    controls.sampler_box.setCurrentIndex(controls.sampler_box.findData(sampler))
    if sampler == "ddim":
        controls.steps.setText(str(steps))
        controls.eta.setText(str(eta))
    controls.seed_field.setText(str(seed))


def _run(panel, qtbot, steps=8, eta=0.0, seed=5, sampler="ddim"):
    _set(panel, sampler, steps, eta, seed)
    before = panel.view.current
    panel.view.run_button.click()
    qtbot.waitUntil(lambda: panel.view.current is not before and not panel.view.sampling, timeout=30000)
    return panel.view.current


def picture_mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error of two uint8 pictures in [-1, 1] units: the error of what is shown."""
    return float((((a.astype(np.float32) - b.astype(np.float32)) / 127.5) ** 2).mean())


def _status(panel) -> str:
    return panel.window().statusBar().currentMessage()


def test_a_run_fills_the_cache_with_one_frame_per_step(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    assert "cosine" in panel.schedule_label.text() and f"T = {T}" in panel.schedule_label.text()
    view = panel.view
    trajectory = _run(panel, qtbot, steps=8, eta=0.0, seed=5)
    assert trajectory.complete and trajectory.num_steps == 8
    for name in VIEWS:
        assert trajectory.frames[name].shape == (8, 32, 32, 3) and trajectory.frames[name].dtype == np.uint8
    assert view.runs.runs == [trajectory]
    assert view.scrubber.maximum() == 7 and view.scrubber.value() == 7
    np.testing.assert_array_equal(view.steps.image("pred_x0"), trajectory.frame("pred_x0", 7))
    assert f"1 run, {trajectory.nbytes / 2**20:.1f} of 256 MiB" in view.runs.label.text()
    # the GUI's run is the core's run: same seed, same frames (the same computation, so exactly)
    model = panel.loaded.model
    expected = run_trajectory(model, model.noise_schedule, SamplerSettings("ddim", 8, 0.0), 5)
    for name in VIEWS:
        np.testing.assert_array_equal(trajectory.frames[name], expected.frames[name])
    curve = panel.plots.norm_curves["x_t"]  # drawn on the next turn of the event loop
    qtbot.waitUntil(lambda: curve.yData is not None and len(curve.yData) == 8, timeout=2000)
    np.testing.assert_allclose(curve.yData, expected.norms["x_t"])


def test_scrubbing_shows_the_cached_frame_of_that_step(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    view = panel.view
    trajectory = _run(panel, qtbot, steps=6, eta=0.5)
    for step in (0, 3, 5, 2):
        view.scrubber.set_value(step)
        for name in ("x_t", "pred_noise", "pred_x0"):
            np.testing.assert_array_equal(view.steps.image(name), trajectory.frame(name, step))
        assert view.steps.numbers.text("step") == f"{step + 1} / 6"
        assert view.steps.numbers.text("t").startswith(str(trajectory.t[step]))
        assert panel.plots.cursor_t == trajectory.t[step]


def test_previews_arrive_while_sampling_newest_first(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    view, previews = panel.view, []
    original = view._on_progress
    view._on_progress = lambda done, total, p: (previews.append(p), original(done, total, p))
    _run(panel, qtbot, sampler="ddpm")
    assert len(previews) >= 2, "previews arrive during the run, not only at its end"
    indices = [p.index for p in previews]
    assert indices == sorted(set(indices)), "previews coalesce to the newest; never an older step after a newer"
    assert all(p.frames["pred_x0"].dtype == np.uint8 for p in previews), "converted to pictures in the worker"
    assert view.scrubber.value() == T - 1, "the finished run ends on its last step"
    assert any(not np.array_equal(p.frames["pred_x0"], previews[-1].frames["pred_x0"]) for p in previews[:-1])


def test_stop_keeps_the_partial_run_marked_as_stopped(main_window, qtbot):
    """Bug: Stop on a DDPM run threw it away and showed the previous DDIM run under a "DDPM" label."""
    panel = _panel(main_window, qtbot)
    view = panel.view
    ddim = _run(panel, qtbot, steps=5)
    _set(panel, "ddpm")
    view.run_button.click()
    qtbot.waitUntil(lambda: view.live is not None and view.live.index >= 2, timeout=20000)
    assert view.stop_button.isEnabled() and not view.scrubber.slider.isEnabled()
    view.stop_button.click()
    qtbot.waitUntil(lambda: not view.sampling, timeout=5000)  # within a step
    stopped = view.current
    assert stopped is not ddim and stopped.settings.kind == "ddpm" and not stopped.complete
    k = stopped.count
    assert 3 <= k < T and view.runs.runs == [ddim, stopped]
    assert f"stopped at step {k} of {T}" in view.scrubber.label.text()
    assert f"stopped at step {k} of {T}" in view.runs.list.item(1).toolTip()
    assert f"Stopped: DDPM, {T} steps" in _status(panel)
    assert view.scrubber.value() == k - 1 and view.scrubber.maximum() == k - 1
    np.testing.assert_array_equal(view.steps.image("x_t"), stopped.frame("x_t", k - 1))
    assert view.scrubber.slider.isEnabled() and view.branch_button.isEnabled()  # a stopped run can be scrubbed, branched
    assert _run(panel, qtbot, steps=5).complete  # and the panel goes on


def test_branch_keeps_the_steps_before_k(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    view = panel.view
    parent = _run(panel, qtbot, steps=10, eta=1.0, seed=3)
    assert view.branch_button.isEnabled()
    k = 4
    view.scrubber.set_value(k)
    view.branch_seed.setText("77")
    view.branch_button.click()
    qtbot.waitUntil(lambda: view.current is not parent and not view.sampling, timeout=20000)
    branch = view.current
    assert branch.branch.start_index == k and branch.seed == 77 and branch.branch.parent == parent.recipe()
    for name in VIEWS:
        np.testing.assert_array_equal(branch.frames[name][:k], parent.frames[name][:k])
    for name in ("x_t", "pred_noise", "pred_x0"):  # step k starts from the same x_t
        np.testing.assert_array_equal(branch.frame(name, k), parent.frame(name, k))
    assert not np.array_equal(branch.frames["x_t"][k + 1:], parent.frames["x_t"][k + 1:])
    assert view.runs.runs == [parent, branch] and view.runs.list.count() == 2
    assert view.branch_seed.text() == "78"
    assert "branched at step 5" in view.scrubber.label.text()
    view.runs.picked.emit(parent)  # back to the parent from the list of runs
    assert view.current is parent


def test_branching_a_deterministic_run_is_not_offered(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    _run(panel, qtbot, steps=4, eta=0.0)
    assert not panel.view.branch_button.isEnabled()
    assert "η = 0" in panel.view.branch_button.toolTip()


def test_the_forward_process_view_follows_t(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    tab = panel.forward_tab
    panel.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.gallery.count() > 0 and tab.view is not None, timeout=10000)
    tab.gallery.setCurrentRow(3)
    tab.t_slider.setValue(5)
    qtbot.waitUntil(lambda: tab.view.t == 5 and tab.view.x0 is not None, timeout=5000)
    early_x_t, early_x0 = tab.canvases["x_t"].image.copy(), tab.canvases["pred_x0"].image.copy()
    tab.t_slider.setValue(90)
    assert not np.array_equal(tab.canvases["x_t"].image, early_x_t), "x_t follows t at once"
    qtbot.waitUntil(lambda: tab.view.t == 90, timeout=5000)
    assert not np.array_equal(tab.canvases["pred_x0"].image, early_x0)
    model = panel.loaded.model
    expected = forward_view(model, model.noise_schedule, tab.gallery.data.images[3], 90, 0)
    np.testing.assert_array_equal(tab.canvases["pred_x0"].image, expected.pred_x0)
    np.testing.assert_array_equal(tab.canvases["x0"].image, tab.gallery.data.images[3])
    assert tab.numbers.text("t") == "90" and panel.plots.cursor_t == 90


def test_the_forward_tab_says_what_it_shows_at_the_last_t(main_window, qtbot):
    """Bug: at t = T-1 a saturated one-shot x0 with "MSE 2.16e+05" under a banner claiming an average."""
    panel = _panel(main_window, qtbot)
    tab = panel.forward_tab
    panel.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.view is not None, timeout=10000)
    tab.t_slider.setValue(T - 1)
    qtbot.waitUntil(lambda: tab.view.t == T - 1, timeout=5000)
    shown_x0, x0 = tab.canvases["pred_x0"].image, tab.canvases["x0"].image
    mse = float(tab.numbers.text("x0_mse"))
    assert mse == pytest.approx(picture_mse(shown_x0, x0), rel=1e-2), "the number is the error of the picture shown"
    assert 0 <= mse <= 4, "a clipped x0 in [-1, 1] is at most 2 off per value"
    assert "average" not in tab.note.text() and "clipped" in tab.note.text()


def test_export_writes_a_frame_a_labelled_gif_and_a_labelled_strip(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot)
    view = panel.view
    trajectory = _run(panel, qtbot, steps=6, eta=0.5, seed=21)
    view.scrubber.set_value(2)
    recipe = read_recipe(view.exports.frame(tmp_path / "frame.png"))
    header = {key: recipe[key] for key in ("recipe_version", "model", "family", "checkpoint", "weights_sha256",
                                           "steps_trained")}
    assert header["model"] == "ddpm-tiny" and header["family"] == "ddpm" and len(header["weights_sha256"]) == 64
    assert (recipe["sampler"], recipe["steps"], recipe["eta"], recipe["clip_x0"], recipe["seed"],
            recipe["schedule"]) == ("ddim", 6, 0.5, True, 21, "cosine")
    assert (recipe["picture"], recipe["step_index"], recipe["t"], recipe["views"], recipe["scale"]) == \
        ("frame", 2, int(trajectory.t[2]), ["x_t", "pred_noise", "pred_x0"], 8)
    with Image.open(tmp_path / "frame.png") as image:
        assert image.size == (3 * 32 * 8 + 4 * 2 * 8, 32 * 8 + 2 * 2 * 8)
    gif = view.exports.gif(tmp_path / "run.gif")
    with Image.open(gif) as image:
        assert image.is_animated and image.n_frames == 6
        first = np.asarray(image.convert("RGB"))
    band = first[:int(16 * 1.8)]  # the caption band above the pictures
    assert len(np.unique(band.reshape(-1, 3), axis=0)) > 2, "each frame is captioned with its step and t"
    assert read_gif_recipe(gif)["seed"] == 21
    view.exports.strip_steps.setText("1, 3, 6")
    strip_recipe = read_recipe(view.exports.strip(tmp_path / "strip.png"))
    assert (strip_recipe["picture"], strip_recipe["strip_step_indices"], strip_recipe["views"]) == \
        ("strip", [0, 2, 5], ["x_t", "pred_x0"])
    assert strip_recipe["strip_t"] == [int(trajectory.t[i]) for i in (0, 2, 5)]
    strip = np.asarray(Image.open(tmp_path / "strip.png").convert("RGB"))
    images = np.stack([trajectory.frames[name][[0, 2, 5]] for name in ("x_t", "pred_x0")])
    labels = [f"step {i + 1} · t {int(trajectory.t[i])}" for i in (0, 2, 5)]
    np.testing.assert_array_equal(strip, labelled_grid(images, labels, ["x_t", "predicted x0"], scale=4))
    assert not np.array_equal(strip, labelled_grid(images, ["", "", ""], ["x_t", "predicted x0"], scale=4))


def test_strip_steps_mean_what_the_placeholder_says_and_are_checked_as_typed(main_window, qtbot, tmp_path,
                                                                             monkeypatch):
    """Bug: every typed list failed ("0,10,20", the placeholder's example, read as 1-based), after the dialog."""
    panel = _panel(main_window, qtbot)
    view, row = panel.view, panel.view.exports
    trajectory = _run(panel, qtbot, steps=30)
    example = re.search(r"e\.g\. ([\d, ]+)", row.strip_steps.placeholderText()).group(1)
    row.strip_steps.setText(example)
    assert row.check() == "" and row.strip_button.isEnabled()
    steps = [int(s) for s in example.split(",")]
    assert row.steps() == [s - 1 for s in steps] and steps[0] == 1 and steps[-1] == 30
    dialogs = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a: dialogs.append(a) or ("", "")))
    for typed, words in (("0,10,20", "0 is outside 1..30"), ("5, 31", "31 is outside 1..30"), ("3, x", "'x'")):
        row.strip_steps.setText(typed)  # checked as typed: no button needed
        assert words in row.message.text() and row.message.isVisibleTo(view)
        assert "strip steps" in row.message.text() and "1 to 30" in row.message.text()
        assert "border" in row.strip_steps.styleSheet() and not row.strip_button.isEnabled()
        row.dialog("strip")
        assert dialogs == [], "the file dialog never opens on steps that cannot be drawn"
    row.strip_steps.setText("2, 30")
    assert not row.message.isVisibleTo(view) and row.strip_steps.styleSheet() == "" and row.strip_button.isEnabled()
    assert read_recipe(view.exports.strip(tmp_path / "s.png"))["strip_t"] == [int(trajectory.t[1]), int(trajectory.t[29])]


def test_left_and_right_keys_step_one_step(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    view = panel.view
    _run(panel, qtbot, steps=6)
    slider = view.scrubber.slider
    view.scrubber.set_value(3)
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Left)
    assert slider.value() == 2
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert slider.value() == 4
    np.testing.assert_array_equal(view.steps.image("x_t"), view.current.frame("x_t", 4))
    view.scrubber.play_button.setFocus()
    qtbot.keyClick(view.scrubber.play_button, Qt.Key.Key_Left)
    assert slider.value() == 3


def test_playback_runs_to_the_end(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    scrubber = panel.view.scrubber
    _run(panel, qtbot, steps=6)
    scrubber.speed_box.setCurrentIndex(scrubber.speed_box.count() - 1)
    scrubber.set_value(0)
    scrubber.play_button.click()
    assert scrubber.play_button.isChecked()
    qtbot.waitUntil(lambda: not scrubber.play_button.isChecked(), timeout=5000)
    assert scrubber.value() == 5


@pytest.mark.parametrize("sampler, steps, expected", [("ddim", 5, ("ddim", 5)), ("ddpm", None, ("ddim", 50))])
def test_compare_runs_a_meaningful_pair_and_says_which(main_window, qtbot, sampler, steps, expected):
    """Bug: with the sampler set to DDPM, "DDPM vs DDIM" ran a DDIM over all T steps and called it a comparison."""
    panel = _panel(main_window, qtbot)
    _set(panel, sampler, steps or 5, 0.0, 9)
    tab = panel.compare_tab
    panel.tabs.setCurrentWidget(tab)
    assert f"DDPM, {T} steps" in tab.info.text() and f"DDIM, {expected[1]} steps" in tab.info.text()
    tab.compare_button.click()
    qtbot.waitUntil(lambda: tab.comparison is not None and tab.compare_button.isEnabled(), timeout=60000)
    ddpm, ddim = tab.comparison.ddpm, tab.comparison.ddim
    assert (ddpm.settings.kind, ddpm.num_steps, ddim.settings.kind, ddim.num_steps) == ("ddpm", T, *expected)
    np.testing.assert_array_equal(ddpm.frame("x_t", 0), ddim.frame("x_t", 0))  # same seed, same x_T
    np.testing.assert_array_equal(tab.canvases["ddpm", "pred_x0"].image, ddpm.frame("pred_x0", T - 1))
    tab.t_slider.setValue(50)
    np.testing.assert_array_equal(tab.canvases["ddim", "x_t"].image, ddim.frame("x_t", ddim.nearest_step(50)))
    assert f"{ddim.settings.describe()}" in tab.info.text() and "MiB" in panel.view.runs.label.text()


def test_clipping_x0_is_a_visible_sampler_setting(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    assert panel.controls.clip_box.isChecked(), "on by default, as in diffusers and improved-diffusion"
    panel.controls.clip_box.setChecked(False)
    trajectory = _run(panel, qtbot, steps=4)
    assert trajectory.settings.clip_x0 is False and trajectory.recipe()["clip_x0"] is False


def test_the_status_bar_cancel_stops_a_run_and_keeps_its_steps(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    view = panel.view
    _set(panel, "ddpm")
    view.run()
    qtbot.waitUntil(lambda: main_window.cancel_button.isVisible() and view.live is not None, timeout=20000)
    main_window.cancel_button.click()
    qtbot.waitUntil(lambda: not view.sampling, timeout=5000)
    assert not view.stop_button.isEnabled() and view.run_button.isEnabled()
    assert view.current is not None and not view.current.complete and view.runs.runs == [view.current]


@pytest.mark.parametrize("field, typed, words", [
    ("steps", "0", "steps must be a whole number from 1 to 100"),
    ("steps", "101", "steps must be a whole number from 1 to 100"),
    ("steps", "2.5", "steps must be a whole number"),
    ("eta", "1.5", "η (eta) must be a number from 0 to 1"),
    ("eta", "nan", "η (eta) must be a number from 0 to 1"),
    ("seed_field", "-1", "seed must be a whole number from 0 to 2147483647"),
    ("seed_field", "99999999999", "seed must be a whole number from 0 to 2147483647"),
])
def test_every_typed_number_is_checked_against_its_range(main_window, qtbot, field, typed, words):
    panel = _panel(main_window, qtbot)
    box = getattr(panel.controls, field)
    box.clear()
    qtbot.keyClicks(box, typed)
    assert words in panel.controls.message.text() and panel.controls.message.isVisibleTo(panel)
    assert "border" in box.styleSheet() and words in box.toolTip()
    panel.view.run_button.click()
    assert words in _status(panel) and not panel.view.sampling, "Run refuses with the message"
    box.clear()
    qtbot.keyClicks(box, "3" if field != "eta" else "0.5")
    assert not panel.controls.message.isVisibleTo(panel) and box.styleSheet() == ""


def test_the_branch_seed_and_the_noise_seed_are_checked_too(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    _run(panel, qtbot, steps=4, eta=1.0)
    panel.view.branch_seed.setText("-3")
    panel.view.branch_button.click()
    assert "branch seed must be a whole number from 0 to 2147483647" in _status(panel) and not panel.view.sampling
    panel.tabs.setCurrentWidget(panel.forward_tab)
    panel.forward_tab.seed_field.setText("1e9x")
    assert "noise seed must be a whole number" in panel.forward_tab.seed_field.toolTip()


def test_load_png_restores_the_settings_and_runs_the_branch_again(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot)
    view = panel.view
    parent = _run(panel, qtbot, steps=7, eta=1.0, seed=11)
    view.scrubber.set_value(3)
    view.branch(seed=40)
    qtbot.waitUntil(lambda: view.current is not parent and not view.sampling, timeout=20000)
    branch = view.current
    view.scrubber.set_value(5)
    path = view.exports.frame(tmp_path / "branch.png")
    _run(panel, qtbot, steps=3, eta=0.0, seed=2)  # something else on screen
    assert panel.load_png(path)
    qtbot.waitUntil(lambda: view.current is not None and view.current.branch is not None and not view.sampling
                    and view.current.count == 7, timeout=30000)
    restored = view.current
    assert restored.recipe() == branch.recipe() and view.scrubber.value() == 5
    np.testing.assert_array_equal(restored.frames["x_t"], branch.frames["x_t"])
    assert panel.controls.settings() == parent.settings and panel.controls.seed() == 11



def test_a_restore_whose_run_fails_leaves_no_branch_for_the_next_run(main_window, qtbot, tmp_path, monkeypatch):
    """The restore's branch and shown step follow its own run only: after it failed, the user's next run is just that."""
    from playground.gui.widgets.steps import runs

    panel = _panel(main_window, qtbot)
    view = panel.view
    _run(panel, qtbot, steps=7, eta=1.0, seed=11)
    view.scrubber.set_value(3)
    view.branch(seed=40)
    qtbot.waitUntil(lambda: view.current.branch is not None and not view.sampling, timeout=20000)
    path = view.exports.frame(tmp_path / "branch.png")
    real_trace = runs.trace

    def failing_once(*args, **kwargs):
        monkeypatch.setattr(runs, "trace", real_trace)
        raise RuntimeError("out of memory")

    monkeypatch.setattr(runs, "trace", failing_once)
    assert panel.load_png(path)
    qtbot.waitUntil(lambda: not view.sampling, timeout=20000)
    assert "out of memory" in _status(panel)
    plain = _run(panel, qtbot, steps=4, eta=1.0, seed=3)
    qtbot.wait(300)  # a leftover branch would start now
    assert not view.sampling and view.current is plain and plain.branch is None and plain.count == 4


def test_a_hand_edited_recipe_is_refused_with_a_message(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot)
    _run(panel, qtbot, steps=3)
    path = panel.view.exports.frame(tmp_path / "f.png")
    from playground.core.images import save_png

    recipe = read_recipe(path) | {"steps": 5000}
    bad = save_png(tmp_path / "bad.png", np.zeros((4, 4, 3), np.uint8), recipe)
    assert not panel.load_png(bad)
    assert "'steps' must be a whole number from 1 to 100" in _status(panel)


def _assert_plots_read(plots) -> None:
    """Every shown plot's title fits its width, and its value labels are far enough apart not to overlap."""
    for key, plot in plots.plots.items():
        if not plot.isVisible():
            continue
        assert plot.titleLabel.item.boundingRect().width() <= plot.width() + 1, f"the {key} plot's title is cut off"
        axis, (low, high) = plot.getAxis("left"), plot.getViewBox().viewRange()[1]
        major = axis.tickSpacing(low, high, axis.height())[0][0]
        assert major / (high - low) * axis.height() >= 18, f"the {key} plot's value labels overlap"


def test_every_tab_reads_at_1280x720(main_window, qtbot):
    """Bug: forward-process titles clipped ("rue noise"), schedule plot headers cut at the right edge."""
    from playground.gui.theme import apply_dark_theme

    apply_dark_theme(QApplication.instance())
    panel = _panel(main_window, qtbot)
    main_window.resize(1280, 690)
    for tab in (panel.reverse, panel.forward_tab, panel.compare_tab):
        panel.tabs.setCurrentWidget(tab)
        QApplication.processEvents()
        area = main_window.tabs.currentWidget()
        assert not area.horizontalScrollBar().isVisible() and not area.verticalScrollBar().isVisible()
        _assert_plots_read(panel.plots)
    for name, canvas in panel.forward_tab.canvases.items():
        label = canvas.title
        assert label.fontMetrics().horizontalAdvance(label.text()) <= label.width(), f"{name}: title clipped"


# --- the same widget in the Text-to-image panel's "Denoising steps" tab ----------------------------


@pytest.fixture
def guided_host(qtbot, tiny_assets):
    """A bare host panel on the tiny text-to-image model, holding a StepsTab (the Text-to-image panel's tab)."""
    import torch

    from playground.core.checkpoints import load_checkpoint
    from playground.core.text2img.denoiser import GuidanceModels
    from playground.gui.panels.base import Panel
    from playground.gui.panels.text2img.steps_tab import StepsTab
    from playground.gui.worker import ModelWorker

    class Host(Panel):
        title, families = "Text to image", ("text2img",)

        def __init__(self, worker, device):
            super().__init__(worker, device)
            self.models = GuidanceModels(device)
            self.tab = StepsTab(self)

        def on_model(self, loaded):
            self.tab.clear()

    worker = ModelWorker()
    host = Host(worker, torch.device("cpu"))
    qtbot.addWidget(host)
    host.set_model(load_checkpoint(tiny_assets / "text2img-tiny" / "model.safetensors"))
    host.resize(1280, 600)
    host.show()
    yield host
    host.tab.view.shutdown()
    worker.shutdown()


def _guided_result(host, **changes):
    from playground.core.diffusion.trajectory import run_trajectory
    from playground.core.text2img.denoiser import make_denoiser
    from playground.core.text2img.sampling import GuidedSettings
    from playground.gui.panels.text2img.results import RenderResult

    settings = GuidedSettings(prompt="a large red circle", guidance_scale=4.0, steps=6, seed=3, **changes)
    model = host.loaded.model
    denoiser = make_denoiser(model, settings)
    trajectory = run_trajectory(denoiser, model.noise_schedule, settings.sampler_settings(), settings.seed)
    return RenderResult(trajectory, denoiser, settings, host.loaded.name)


def test_the_steps_tab_shows_a_guided_run_and_merges_its_settings_into_the_recipe(guided_host, qtbot, tmp_path):
    tab = guided_host.tab
    result = _guided_result(guided_host)
    tab.show_guided_run(result)
    assert tab.current is result.trajectory and tab.view.scrubber.value() == 5
    assert tab.controls.settings().steps == 6 and tab.controls.seed() == 3
    with qtbot.waitSignal(tab.step_changed, timeout=2000) as blocker:
        tab.view.scrubber.set_value(2)
    assert blocker.args == [2]
    np.testing.assert_array_equal(tab.view.steps.image("pred_x0"), result.trajectory.frame("pred_x0", 2))
    recipe = read_recipe(tab.view.exports.frame(tmp_path / "frame.png"))
    assert recipe == tab.recipe()
    assert (recipe["prompt"], recipe["guidance_scale"], recipe["family"], recipe["picture"]) == \
        ("a large red circle", 4.0, "text2img", "frame")
    assert (recipe["sampler"], recipe["steps"], recipe["seed"], recipe["clip_x0"], recipe["step_index"]) == \
        ("ddim", 6, 3, True, 2)
    assert len(recipe["weights_sha256"]) == 64


def test_the_steps_tab_plots_read_in_its_shorter_space(guided_host, qtbot):
    """Bug: at 1280x720 the Denoising-steps plots' value labels overlapped (four plots in a short column)."""
    guided_host.resize(1270, 440)  # what the Text-to-image panel leaves its tabs at 1280x720
    guided_host.tab.show_guided_run(_guided_result(guided_host))
    QApplication.processEvents()
    _assert_plots_read(guided_host.tab.view.plots)


def test_run_in_the_steps_tab_redraws_the_guided_run_with_the_clipped_eps(guided_host, qtbot):
    """Its Run uses the guided denoiser and steps with the clipped x0's eps, as the render did: the same image."""
    tab = guided_host.tab
    result = _guided_result(guided_host)
    tab.show_guided_run(result)
    tab.view.run_button.click()
    qtbot.waitUntil(lambda: tab.current is not result.trajectory and not tab.sampling, timeout=20000)
    assert tab.current.settings.use_clipped_model_output
    np.testing.assert_array_equal(tab.current.final_image(), result.trajectory.final_image())
    tab.controls.seed_field.setText("4")  # another seed: another image of the same prompt
    tab.view.run_button.click()
    qtbot.waitUntil(lambda: tab.current.seed == 4 and not tab.sampling, timeout=20000)
    assert tab.view.runs.runs[-1] is tab.current and len(tab.view.runs.runs) == 3


def test_a_frame_and_a_strip_of_a_branch_are_drawn_again_from_their_recipes(main_window, qtbot, tmp_path):
    """`playground reproduce` renders the recipe the tab writes: the same pixels (same machine, same computation)."""
    from playground.core.diffusion.render import render

    panel = _panel(main_window, qtbot)
    view = panel.view
    parent = _run(panel, qtbot, steps=8, eta=0.5, seed=7)
    view.scrubber.set_value(3)
    view.branch(seed=42)
    qtbot.waitUntil(lambda: view.current is not parent and not view.sampling, timeout=20000)
    view.scrubber.set_value(5)
    view.exports.strip_steps.setText("1, 4, 8")
    for path in (view.exports.frame(tmp_path / "frame.png"), view.exports.strip(tmp_path / "strip.png")):
        drawn = np.asarray(Image.open(path).convert("RGB"))
        np.testing.assert_array_equal(render(read_recipe(path), panel.loaded), drawn)
