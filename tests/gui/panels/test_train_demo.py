"""The Train panel's Live demo preset: one button fills the form with the core's demo preset, and
`start_demo()` (what a lesson's "train" action calls) starts that run."""

from __future__ import annotations

import pytest
import torch

from playground.core.training.presets import find_preset
from playground.gui.panels.train import TrainPanel


@pytest.fixture(autouse=True)
def app_threads():
    from playground.gui.app import configure_threads

    before = torch.get_num_threads()
    configure_threads()
    yield
    torch.set_num_threads(before)


def _train(window) -> TrainPanel:
    panel = next(p for p in window.panels if isinstance(p, TrainPanel))
    window.show_panel(panel)
    return panel


def test_the_live_demo_button_fills_the_form_with_the_demo_preset(main_window, qtbot, tmp_path):
    panel, demo = _train(main_window), find_preset("demo")
    form = panel.form
    form.family_box.setCurrentText("ddpm")
    form.preset_buttons["demo"].click()
    assert form.family == demo.family and form.steps_box.value() == demo.steps
    assert form.preview_every.value() == demo.preview_every and form.batch_box.value() == int(demo.options["--batch-size"])
    assert form.preset_label.isVisibleTo(panel) and "Live demo" in form.preset_label.text()
    form.out_edit.setText(str(tmp_path / "run"))
    argv = form.arguments(torch.device("cpu"))
    assert argv[:3] == [demo.family, "--preset", "demo"]  # the preset's other options (latent size…) go along
    form.family_box.setCurrentText("ddpm")  # another family: the preset no longer applies
    assert form.preset is None and "--preset" not in form.arguments(torch.device("cpu"))


def test_start_demo_starts_the_demo_run_and_it_previews_fixed_noise(main_window, qtbot):
    panel = _train(main_window)
    assert panel.start_demo(steps=30)
    assert panel.running and panel.form.family == find_preset("demo").family
    qtbot.waitUntil(lambda: panel.run_info is not None, timeout=60000)
    assert "--latent-dim 8" in panel.command_label.text() and "--steps 30" in panel.command_label.text()
    qtbot.waitUntil(lambda: panel.preview.image is not None, timeout=60000)
    assert not panel.start_demo()  # one run at a time
    panel.stop_button.click()
    qtbot.waitUntil(lambda: panel.last_checkpoint is not None, timeout=60000)
    qtbot.waitUntil(lambda: not panel.process.running, timeout=10000)
