"""The Train panel as a user drives it: start, watch, pause, stop, open the result; crashes and closing."""

from __future__ import annotations

import os
import shlex

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from playground.gui.panels.latent_panel import LatentPanel
from playground.gui.panels.train_panel import TrainPanel


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
    panel.family_box.setCurrentText(family)
    panel.data_box.setCurrentText("shapes")
    panel.data_size.setValue(200)
    if family == "gan":
        panel.size_box.setCurrentText("small")
    panel.steps_box.setValue(steps)
    panel.batch_box.setValue(8)
    panel.preview_every.setValue(20)
    panel.out_edit.setText(str(tmp_path / "run"))
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
    latent = next(p for p in main_window.panels if isinstance(p, LatentPanel))
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
    panel.data_box.insertItem(0, str(missing))
    panel.data_box.setCurrentIndex(0)
    panel.start_button.click()
    qtbot.waitUntil(lambda: not panel.running, timeout=30000)
    assert "training failed" in panel.state_label.text() and "no-such-folder" in panel.state_label.text()
    assert "no-such-folder" in main_window.statusBar().currentMessage()
    assert panel.start_button.isEnabled() and main_window.isVisible()
    # the same panel trains fine afterwards
    panel.data_box.setCurrentText("shapes")
    panel.steps_box.setValue(3)
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
    assert not panel.worker._thread.is_alive() and not panel.process.running
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
