"""What the presenter tests share: the window's presenter, lessons written by the tests, waiting for a scene."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QApplication

from playground.core.lessons import load_lesson


def presenter_of(window):
    """The window's presenter (made here if the window does not make one yet)."""
    presenter = getattr(window, "presenter", None)
    if presenter is None:
        from playground.gui.presenter import Presenter

        presenter = window.presenter = Presenter(window)
    return presenter


def write_lesson(path: Path, scenes: list[dict], name: str = "test-lesson"):
    """A lesson file of `scenes` (dicts in the lesson format), loaded back as a Lesson."""
    path.write_text(json.dumps({"lesson": 1, "name": name, "title": "A test lesson", "scenes": scenes}))
    return load_lesson(path)


def panel_titled(window, title: str):
    return next(p for p in window.panels if p.title == title)


def wait_for_scene(qtbot, presenter, timeout: int = 30000) -> None:
    """Until the scene is set up and its action has played to its last frame, and the panel's
    worker has drawn it."""
    def settled() -> bool:
        panel = presenter.player.panel
        busy = panel is not None and panel.worker is not None and panel.worker.is_busy()
        return not presenter.player.playing and not busy

    qtbot.waitUntil(settled, timeout=timeout)
    QApplication.processEvents()  # the last result's delivery
