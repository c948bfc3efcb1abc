"""The backend combo sets the app's backend setting, keeps it for the next start, and shows what a run used."""

from __future__ import annotations

import torch

from playground.core.backends import BackendChoice
from playground.core.backends.setting import app_backend, backend_for_run, set_app_backend
from playground.gui.widgets.backend_setting import BackendSetting


def test_choosing_sets_the_app_setting_and_is_kept(qtbot):  # settings: a private folder (conftest)
    try:
        widget = BackendSetting()
        qtbot.addWidget(widget)
        assert widget.combo.currentText() == "auto" and app_backend() == "auto"
        widget.combo.setCurrentText("torch")
        assert app_backend() == "torch"
        model = torch.nn.Linear(2, 2)
        assert backend_for_run(model) == BackendChoice(model, "torch")
        again = BackendSetting()  # the next start
        qtbot.addWidget(again)
        assert again.combo.currentText() == "torch"
        again.show_run(BackendChoice(model, "torch", "backend: torch for now (being built)"))
        assert again.used.text() == "(ran torch)" and "being built" in again.used.toolTip()
    finally:
        set_app_backend("auto")


def test_the_status_bar_says_what_a_diffusion_run_sampled_with(main_window, qtbot):
    """A Diffusion run asks the setting in its worker; the box then says which backend ran."""
    from playground.gui.panels.diffusion import DiffusionPanel

    panel = next(p for p in main_window.panels if isinstance(p, DiffusionPanel))
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=20000)
    box = main_window.backend_setting
    assert box.used.text() == "" or box.used.text().startswith("(ran ")
    panel.run_primary()  # Ctrl+Enter: Run
    qtbot.waitUntil(lambda: box.used.text() == "(ran torch)", timeout=30000)  # a tiny model: eager torch
