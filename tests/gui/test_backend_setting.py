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
