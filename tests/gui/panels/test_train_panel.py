"""The Train panel as a user drives it: start, watch, pause, stop, open the result; crashes and closing."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from playground.gui.panels.latent import LatentPanel
from playground.gui.panels.train import TrainPanel


@pytest.fixture(autouse=True)
def app_threads():
    """Torch threads as the app sets them (one core left to the GUI): on a busy 2-core machine a
    second intra-op thread in the training thread made each step 15x slower."""
    from playground.gui.app import configure_threads

    before = torch.get_num_threads()
    configure_threads()
    yield
    torch.set_num_threads(before)


def _panel(window, qtbot, tmp_path, steps: int = 100_000, family: str = "gan") -> TrainPanel:
    panel = next(p for p in window.panels if isinstance(p, TrainPanel))
    window.show_panel(panel)
    form = panel.form
    form.family_box.setCurrentText(family)
    form.data_box.setCurrentText("shapes")
    form.data_size.setValue(200)
    if family == "gan":
        form.size_box.setCurrentText("small")
    form.steps_box.setValue(steps)
    form.batch_box.setValue(8)
    form.preview_every.setValue(20)
    form.out_edit.setText(str(tmp_path / "run"))
    return panel


def test_a_gan_run_plots_live_stops_and_opens_in_the_gan_panel(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot, tmp_path)
    panel.start_button.click()
    assert panel.running and not panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: panel.curves.points >= 3, timeout=60000)
    # the default recipe's lazy R1 gets its own plot, drawn through the windows that logged it
    assert set(panel.curves.curves) == {"d_loss", "g_loss", "d_real", "d_fake", "r1"}
    assert set(panel.curves.plots) == {"losses", "D output (real vs fake)", "R1 penalty (real images)"}
    seen = panel.curves.points
    qtbot.waitUntil(lambda: panel.curves.points > seen, timeout=30000)  # the plot keeps growing
    assert np.isfinite(panel.curves.series("d_loss")).all()
    r1_steps, r1_values = panel.curves.curves["r1"].getData()  # R1 runs every 16th step only
    assert 1 <= len(r1_steps) < panel.curves.points and np.isfinite(r1_values).all()
    assert panel.preview.image is not None and panel.preview.image.dtype == np.uint8
    assert "steps/s" in panel.speed_label.text() and "ETA" in panel.speed_label.text()
    assert panel.command_label.text().startswith("playground train gan ")

    panel.stop_button.click()
    qtbot.waitUntil(lambda: panel.last_checkpoint is not None, timeout=30000)
    assert not panel.running and panel.start_button.isEnabled()
    assert panel.last_checkpoint.exists()
    qtbot.waitUntil(lambda: not panel.process.running, timeout=10000)  # the child exits after its last report
    # every logged window reached the plot (one point per 10 steps, and the partial last one)
    assert panel.curves.points == -(-panel.last_update.step // 10)
    assert panel.last_checkpoint in main_window.extra_checkpoints

    panel.open_button.click()
    latent = main_window.panel_for_family("gan")
    qtbot.waitUntil(lambda: latent.loaded is not None and latent.loaded.path == panel.last_checkpoint, timeout=10000)
    assert latent.loaded.family == "gan" and main_window.current_panel is latent
    assert latent.loaded.meta.steps == panel.last_update.step
    assert main_window.model_picker.currentData() == str(panel.last_checkpoint)


def test_pause_holds_training_and_resume_continues(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot, tmp_path)
    panel.start_button.click()
    qtbot.waitUntil(lambda: panel.curves.points >= 2, timeout=60000)
    panel.pause_button.click()
    assert panel.pause_button.text() == "Resume"
    qtbot.wait(300)  # at most the step under way and its report arrive after the pause
    held = panel.last_update.step
    qtbot.wait(700)
    assert panel.last_update.step == held
    panel.pause_button.click()
    qtbot.waitUntil(lambda: panel.last_update.step > held, timeout=30000)
    panel.stop_button.click()
    qtbot.waitUntil(lambda: not panel.running, timeout=30000)


def test_a_crash_shows_its_message_and_the_window_stays_usable(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot, tmp_path)
    missing = tmp_path / "no-such-folder"
    panel.form.data_box.insertItem(0, str(missing))
    panel.form.data_box.setCurrentIndex(0)
    panel.start_button.click()
    qtbot.waitUntil(lambda: not panel.running, timeout=30000)
    assert "training failed" in panel.state_label.text() and "no-such-folder" in panel.state_label.text()
    assert "no-such-folder" in main_window.statusBar().currentMessage()
    assert panel.start_button.isEnabled() and main_window.isVisible()
    # the same panel trains fine afterwards
    panel.form.data_box.setCurrentText("shapes")
    panel.form.steps_box.setValue(3)
    panel.start_button.click()
    qtbot.waitUntil(lambda: panel.last_checkpoint is not None, timeout=60000)


def test_a_training_process_that_dies_says_so_and_the_window_stays_usable(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot, tmp_path)
    panel.start_button.click()
    qtbot.waitUntil(lambda: panel.curves.points >= 1, timeout=60000)
    panel.process._process.kill()  # as the OOM killer or a crash in native code would end it
    qtbot.waitUntil(lambda: not panel.running, timeout=10000)
    assert "ended unexpectedly" in panel.state_label.text()
    assert panel.start_button.isEnabled() and main_window.isVisible()


def test_closing_the_window_mid_run_saves_and_leaks_no_thread_or_process(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot, tmp_path)
    panel.start_button.click()
    qtbot.waitUntil(lambda: panel.curves.points >= 2, timeout=60000)
    child = panel.process._process.processId()
    main_window.close()
    assert panel.worker is None and not panel.process.running  # the panel runs no model: no worker thread
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # the child is gone, not orphaned
    assert (tmp_path / "run" / "model.safetensors").exists()  # closing kept the model so far


@pytest.mark.parametrize("family", ["gan", "vae"])
def test_the_panel_and_the_command_line_write_the_same_model(main_window, qtbot, tmp_path, family):
    from playground.cli import main

    panel = _panel(main_window, qtbot, tmp_path, steps=4, family=family)
    panel.start_button.click()
    qtbot.waitUntil(lambda: panel.last_checkpoint is not None, timeout=60000)
    argv = shlex.split(panel.command_label.text())[1:]
    argv[argv.index("--out") + 1] = str(tmp_path / "cli")
    assert main([*argv, "--quiet"]) == 0
    gui, cli = load_file(str(panel.last_checkpoint)), load_file(str(tmp_path / "cli" / "model.safetensors"))
    assert gui.keys() == cli.keys()
    # two processes, each training with every core but one: the same training, but a multi-threaded
    # backward need not sum in the same order in both, so the weights agree to float rounding, not bit
    # for bit (tests/tolerance.py); a different seed or recipe moves them by orders of magnitude more
    from tolerance import WEIGHT_ATOL, WEIGHT_RTOL

    for key in gui:
        torch.testing.assert_close(gui[key].float(), cli[key].float(), rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL, msg=key)


# --- where runs go, what the form accepts, what the live view costs ------------------------------------


def test_a_run_goes_to_the_users_data_folder_and_the_panel_says_where(main_window, qtbot, tmp_path, monkeypatch):
    import platformdirs

    monkeypatch.chdir(tmp_path)  # the folder the app was started in must stay clean
    panel = _panel(main_window, qtbot, tmp_path, steps=3, family="vae")
    panel.form.out_edit.setText("")
    data_dir = Path(platformdirs.user_data_dir("playground", appauthor=False))
    assert str(data_dir / "runs") in panel.form.where_label.text()
    panel.start_button.click()
    qtbot.waitUntil(lambda: panel.last_checkpoint is not None, timeout=60000)
    assert panel.last_checkpoint.is_relative_to(data_dir / "runs") and panel.last_checkpoint.exists()
    assert str(panel.last_checkpoint.parent) in panel.state_label.text()
    assert not (tmp_path / "runs").exists()


def _type(spin_or_edit, text: str) -> None:
    from PySide6.QtWidgets import QAbstractSpinBox

    from pytestqt.qtbot import QtBot

    edit = spin_or_edit.lineEdit() if isinstance(spin_or_edit, QAbstractSpinBox) else spin_or_edit
    edit.selectAll()
    QtBot.keyClicks(edit, text)


@pytest.mark.parametrize("field, text, words", [
    ("steps_box", "0", "Steps must be a whole number from 1"),
    ("batch_box", "0", "Batch size must be a whole number from 1"),
    ("lr_edit", "nan", "Learning rate must be a finite number above 0"),
    ("lr_edit", "-1e-3", "Learning rate must be a finite number above 0"),
    ("lr_edit", "1e999", "Learning rate must be a finite number above 0"),
    ("lr_edit", "fast", "Learning rate must be a finite number above 0"),
])
def test_every_number_is_checked_as_it_is_typed(main_window, qtbot, tmp_path, field, text, words):
    panel = _panel(main_window, qtbot, tmp_path)
    assert panel.start_button.isEnabled() and not panel.problem_label.text()
    _type(getattr(panel.form, field), text)
    assert words in panel.problem_label.text() and repr(text) in panel.problem_label.text()
    assert not panel.start_button.isEnabled()
    panel.start()  # e.g. a shortcut: still refused, with the message
    assert not panel.running and words in main_window.statusBar().currentMessage()
    _type(getattr(panel.form, field), "2e-4" if field == "lr_edit" else "16")
    assert panel.start_button.isEnabled() and not panel.problem_label.text()
    assert main_window.statusBar().currentMessage() == ""  # the error no longer holds


def test_arguments_the_core_refuses_give_a_message_not_an_exception(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot, tmp_path)
    panel.begin(["gan", "--steps", "0", "--out", str(tmp_path / "x")])
    assert not panel.running and "--steps" in panel.state_label.text() and "1" in panel.state_label.text()
    panel.begin(["gan", "--steps", "5", "--lr", "inf", "--out", str(tmp_path / "x")])
    assert not panel.running and "finite number above 0" in panel.state_label.text()
    assert panel.start_button.isEnabled()


def test_the_live_view_draws_at_a_low_rate_and_only_what_is_on_screen(main_window, qtbot, tmp_path):
    from playground.core.training.live import LiveUpdate
    from playground.gui.panels.train.panel import DRAW_INTERVAL_MS

    panel = _panel(main_window, qtbot, tmp_path)
    panel.curves.set_groups({"losses": ("loss",)}, 1000)

    def report(step: int, preview: bool = False) -> None:
        image = np.full((8, 8, 3), step % 255, np.uint8) if preview else None
        panel.process.message.emit(LiveUpdate(step, 1000, {"loss": 1.0 / step}, 5.0, 10.0, image, step))

    panel._draw_timer.start()
    for step in range(10, 510, 10):  # 50 reports arrive at once: drawn once, not 50 times
        report(step, preview=step % 100 == 0)
    qtbot.wait(3 * DRAW_INTERVAL_MS)
    assert panel.curves.points == 50 and panel.curves.draws == 1
    assert panel.preview.image is not None and panel.preview.image[0, 0, 0] == 500 % 255

    main_window.show_panel(next(p for p in main_window.panels if isinstance(p, LatentPanel)))  # hidden: reports are kept, nothing is drawn
    for step in range(510, 610, 10):
        report(step, preview=step == 600)
    qtbot.wait(3 * DRAW_INTERVAL_MS)
    assert panel.curves.points == 60 and panel.curves.draws == 1
    assert panel.preview.image[0, 0, 0] == 500 % 255
    main_window.show_panel(panel)  # shown again: it catches up at once
    qtbot.waitUntil(lambda: panel.curves.draws == 2, timeout=2000)
    assert panel.curves.curves["loss"].getData()[0][-1] == 600 and panel.preview.image[0, 0, 0] == 600 % 255
    panel._draw_timer.stop()


def test_a_long_run_is_drawn_from_a_bounded_number_of_points(main_window, qtbot, tmp_path):
    from playground.gui.panels.train.live_view import MAX_DRAWN

    panel = _panel(main_window, qtbot, tmp_path)
    curves = panel.curves
    curves.set_groups({"losses": ("loss", "r1")}, 1_000_000)
    steps = np.arange(10, 500_001, 10)
    curves.extend([(int(s), {"loss": 1.0 / s, **({"r1": 2.0} if s % 160 == 0 else {})}) for s in steps])
    assert curves.draw()
    x, y = curves.curves["loss"].getData()
    assert len(x) <= MAX_DRAWN and x[-1] == steps[-1] and y[-1] == pytest.approx(1.0 / steps[-1])
    assert np.all(np.diff(x) > 0) and y.max() <= 1.0 / 10 and y.min() >= 1.0 / steps[-1]
    r1_x, r1_y = curves.curves["r1"].getData()  # a metric some windows lack is drawn through its points
    assert len(r1_x) <= MAX_DRAWN and np.all(r1_y == 2.0)
    assert len(curves.series("loss")) == len(steps)  # every logged point is kept
