"""The app's backend setting: one choice for every panel's runs, read in the worker before each run.

The GUI thread only sets it (`set_app_backend`, instant); a panel's worker asks
`backend_for_run(model)` at the start of a run and samples with the model it gives for the
whole run (so a run never switches backend half way), recording `choice.name` in the
recipes it exports. It never waits: while a checkpoint's session is being built the run
is torch, and the runs after the build use it.
"""

from __future__ import annotations

import threading

from torch import nn

from . import BACKEND_CHOICES, BackendChoice, choose_backend

_lock = threading.Lock()
_choice = "auto"


def app_backend() -> str:
    with _lock:
        return _choice


def set_app_backend(name: str) -> None:
    global _choice
    if name not in BACKEND_CHOICES:
        raise ValueError(f"unknown backend {name!r}; use one of {', '.join(BACKEND_CHOICES)}")
    with _lock:
        _choice = name


_last: BackendChoice | None = None


def backend_for_run(model: nn.Module) -> BackendChoice:
    """The model a run of the app samples with, under the app's setting (never waits for a build)."""
    global _last
    choice = choose_backend(model, app_backend(), wait=False)
    with _lock:
        _last = choice
    return choice


def last_run() -> BackendChoice | None:
    """What the app's last run sampled with (None: no run yet), for the status bar to say."""
    with _lock:
        return _last
