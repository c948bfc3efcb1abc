"""The Train panel's Processes box: a run with 2 processes (torchrun, gloo on 127.0.0.1) shows its
progress, stops on Stop, and its checkpoint records the processes and the global batch."""

from __future__ import annotations

import json

import pytest
import torch

from playground.gui.panels.train import TrainPanel


@pytest.fixture(autouse=True)
def app_threads():
    from playground.gui.app import configure_threads

    before = torch.get_num_threads()
    configure_threads()
    yield
    torch.set_num_threads(before)


def test_a_two_process_run_reports_stops_and_records_its_processes(main_window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    panel = next(p for p in main_window.panels if isinstance(p, TrainPanel))
    main_window.show_panel(panel)
    form = panel.form
    form.family_box.setCurrentText("vae")
    form.data_size.setValue(200)
    form.batch_box.setValue(8)
    form.steps_box.setValue(100000)
    form.processes_box.setValue(2)
    form.out_edit.setText(str(tmp_path / "run"))
    argv = form.arguments(torch.device("cpu"))
    panel.begin([*argv, "--channels", "8,16", "--latent-dim", "4", "--precision", "fp32"])
    assert not form.processes_box.isEnabled()  # fixed while the run goes
    qtbot.waitUntil(lambda: panel.run_info is not None, timeout=90000)
    qtbot.waitUntil(lambda: panel.last_update is not None and panel.last_update.step >= 20, timeout=90000)
    panel.stop_button.click()
    qtbot.waitUntil(lambda: panel.last_checkpoint is not None, timeout=60000)
    qtbot.waitUntil(lambda: not panel.process.running, timeout=30000)
    meta = json.loads((tmp_path / "run" / "model.json").read_text())
    assert meta["extra"]["processes"] == 2 and meta["extra"]["global_batch_size"] == 16
    assert form.processes_box.isEnabled()
