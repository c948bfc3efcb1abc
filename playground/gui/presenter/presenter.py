"""Presenter mode of the main window: full screen, the light high-contrast theme at >= 20 px text,
the window's bars and each panel's controls hidden (the panel's scene widgets stay: `stage.py`),
a caption bar, a pointer highlight, and lessons that play scene by scene (`player.py`).

Keys while presenting (a presentation clicker sends PageDown/PageUp): PageDown, Right, Down:
next scene; PageUp, Left, Up: the one before; Space: pause or resume the scene's action;
L: the pointer highlight; Esc: leave. Outside presenter mode none of them is taken (arrows
move a focused slider as usual). F5 enters and leaves; Ctrl+Shift+A records the current
panel's state as a scene of the open lesson (or of a new one) and saves the lesson.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QToolBar

from ..dialogs import save_file
from .caption import CaptionBar
from .player import ScenePlayer
from .pointer import PointerHighlight
from .slide_view import SlideView
from .stage import Stage, Theme

NEXT_KEYS = {Qt.Key.Key_PageDown, Qt.Key.Key_Right, Qt.Key.Key_Down}
PREVIOUS_KEYS = {Qt.Key.Key_PageUp, Qt.Key.Key_Left, Qt.Key.Key_Up}
KEYS = NEXT_KEYS | PREVIOUS_KEYS | {Qt.Key.Key_Escape, Qt.Key.Key_Space, Qt.Key.Key_L}
# what the keys do while presenting, for the shortcuts dialog (F1)
KEY_HELP = [("PageDown, Right, Down", "Next scene"), ("PageUp, Left, Up", "Scene before"),
            ("Space", "Pause or resume the scene's action"), ("L", "Pointer highlight on or off"),
            ("Esc", "Leave presenter mode")]
NO_LESSON = "No lesson open: Ctrl+Shift+A records what this tab shows as a scene (F5 or Esc leaves)."


class Presenter(QObject):
    """Presenter mode of a MainWindow (`window.presenter = Presenter(window)`)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.active = False
        self.lesson = None  # a core.lessons.Lesson, or None
        self.index = 0  # the scene shown
        self.full_screen = True  # tests at a fixed size turn it off
        self._window_state = window.windowState()

        self.caption_bar = CaptionBar()
        self.bar = QToolBar("Presenter caption")
        self.bar.setObjectName("presenter-caption-bar")
        self.bar.setMovable(False)
        self.bar.setFloatable(False)
        self.bar.addWidget(self.caption_bar)
        window.addToolBar(Qt.ToolBarArea.BottomToolBarArea, self.bar)
        self.bar.hide()
        self.pointer = PointerHighlight(window)
        self.player = ScenePlayer(window)
        self.player.message.connect(self.caption_bar.show_message)
        self.player.progress.connect(self.caption_bar.show_progress)
        self.slide = SlideView(window)
        self.player.picture.connect(self._show_picture)
        self.player.ready.connect(lambda: self.active and self.stage.show_panel(self.window.current_panel))
        self.stage = Stage(window, keep=(self.bar,))
        self.theme = Theme()

        self.present_action = self._action("Presenter mode", "F5", self.toggle,
                                           "Full screen for a room: large text, a light theme, controls hidden; "
                                           "PageDown/PageUp step a lesson's scenes, L the pointer, Esc leaves")
        self.present_action.setCheckable(True)
        self.add_scene_action = self._action("Add scene", "Ctrl+Shift+A", self.add_scene,
                                             "Record what this tab shows (its recipe) as a scene of the open lesson "
                                             "(or of a new one) and save the lesson")
        toolbar = window.findChild(QToolBar, "model-toolbar")
        if toolbar is not None:
            toolbar.addAction(self.present_action)
            toolbar.addAction(self.add_scene_action)
        menu = getattr(window, "menu", None)
        if callable(menu):
            menu("View").addActions([self.present_action, self.add_scene_action])
        window.tabs.currentChanged.connect(self._on_tab_changed)
        window.installEventFilter(self)

    def _action(self, text: str, keys: str, slot, tip: str) -> QAction:
        action = QAction(text, self.window)
        action.setShortcut(QKeySequence(keys))
        action.setToolTip(f"{tip} ({keys})")
        action.triggered.connect(lambda _checked=False: slot())
        self.window.addAction(action)
        return action

    # --- entering and leaving ------------------------------------------------------------------

    def enter(self, lesson=None) -> None:
        """Presenter mode on `lesson` (a Lesson, its file or a built-in's name; None: the one open, if any)."""
        if lesson is not None:
            self.lesson = _as_lesson(lesson)
            self.index = 0
        if not self.active:
            self.active = True
            self._window_state = self.window.windowState()
            self.theme.apply()
            self.stage.set_up()
            self.bar.show()
            if self.full_screen:
                self.window.showFullScreen()
            QApplication.instance().installEventFilter(self)
        self.present_action.setChecked(True)
        if self.lesson is not None and self.lesson.scenes:
            self.show_scene(self.index)
        else:
            self._show_panel_caption()

    def leave(self) -> None:
        if not self.active:
            return
        self.active = False
        self.player.stop()
        self.pointer.set_on(False)
        self.slide.show_picture(None)
        QApplication.instance().removeEventFilter(self)
        self.stage.clear()
        self.bar.hide()
        self.theme.restore()
        if self.full_screen:
            self.window.setWindowState(self._window_state)
        self.present_action.setChecked(False)

    def toggle(self) -> None:
        self.leave() if self.active else self.enter()

    # --- scenes ------------------------------------------------------------------------------------

    @property
    def scene_count(self) -> int:
        return len(self.lesson.scenes) if self.lesson is not None else 0

    def show_scene(self, index: int) -> None:
        """Play scene `index` of the lesson (its tab, model, settings, then its action)."""
        if not self.scene_count:
            self._show_panel_caption()
            self.caption_bar.show_message(NO_LESSON)
            return
        self.index = max(0, min(index, self.scene_count - 1))
        scene = self.lesson.scenes[self.index]
        self.caption_bar.show_scene(scene.title, scene.caption, self.index, self.scene_count)
        self.player.play(scene)
        self.stage.show_panel(self.window.current_panel)

    def next_scene(self) -> None:
        if self.scene_count and self.index + 1 >= self.scene_count:
            self.caption_bar.show_message("The last scene of the lesson (PageUp goes back, Esc leaves).")
            return
        self.show_scene(self.index + 1)

    def previous_scene(self) -> None:
        self.show_scene(self.index - 1)

    def _show_picture(self, rgb) -> None:
        self.slide.show_picture(rgb if self.active else None)
        if self.pointer.on:
            self.pointer.raise_()  # the highlight stays on top of the picture

    def _show_panel_caption(self) -> None:
        panel = self.window.current_panel
        self.caption_bar.show_scene(panel.title, "", 0, 0)
        self.stage.show_panel(panel)

    def _on_tab_changed(self, _index: int) -> None:
        if self.active and not self.scene_count:
            self._show_panel_caption()  # presenting no lesson: the caption names the tab
        elif self.active:
            self.stage.show_panel(self.window.current_panel)

    # --- recording ---------------------------------------------------------------------------------

    def add_scene(self) -> None:
        """Record the current panel's recipe as a scene at the end of the open lesson (a new one if
        none is open: its file is asked once) and save the lesson."""
        from ...core.lessons import Lesson, LessonError, save_lesson, scene_from_recipe

        panel = self.window.current_panel
        recipe = panel.recipe()
        if not recipe:
            self._say(f"The {panel.title} tab shows nothing to record yet.")
            return
        path = getattr(self.lesson, "path", None) or self.choose_lesson_file()
        if not path:
            return
        path = Path(path)
        scenes = list(self.lesson.scenes) if self.lesson is not None else []
        scene = scene_from_recipe(panel.title, recipe, caption="", title=f"{panel.title} {len(scenes) + 1}")
        if self.lesson is not None:
            lesson = dataclasses.replace(self.lesson, scenes=tuple(scenes + [scene]), path=path)
        else:
            lesson = Lesson(name=path.stem, title=path.stem.replace("-", " ").capitalize(), scenes=(scene,), path=path)
        try:
            save_lesson(lesson, path)
        except (OSError, LessonError, ValueError) as exc:
            self._say(f"Error: could not save the lesson: {exc}")
            return
        self.lesson, self.index = lesson, len(lesson.scenes) - 1
        if self.active:
            self.caption_bar.show_scene(scene.title, scene.caption, self.index, self.scene_count)
        self._say(f"Scene {len(lesson.scenes)} recorded in {path} (edit its title and caption there)")

    def choose_lesson_file(self) -> str:
        """Where a new lesson is saved (asked once; "" when cancelled)."""
        return save_file(self.window, "lesson", "Save the lesson", "lesson.json", "Lessons (*.json)")

    def _say(self, text: str) -> None:
        if self.active:
            self.caption_bar.show_message(text)
        else:
            self.window.show_message(text)

    # --- keys and the window's size ----------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if watched is self.window and kind in (QEvent.Type.Resize, QEvent.Type.Close):
            self.pointer.fit() if kind == QEvent.Type.Resize else self.leave()  # the window saves its normal state
            return False
        if not self.active or kind not in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            return False
        if not self._ours(watched) or event.key() not in KEYS:
            return False
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        if kind == QEvent.Type.ShortcutOverride:  # keep a shortcut (Space: the window's play) from taking it
            event.accept()
            return True
        self._key(event.key())
        return True

    def _ours(self, watched: QObject) -> bool:
        """An event for the main window (its QWindow, or one of its widgets), not for a dialog."""
        if watched.isWidgetType():
            return watched.window() is self.window
        return watched is self.window.windowHandle()

    def _key(self, key: int) -> None:
        if key == Qt.Key.Key_Escape:
            self.leave()
        elif key in NEXT_KEYS:
            self.next_scene()
        elif key in PREVIOUS_KEYS:
            self.previous_scene()
        elif key == Qt.Key.Key_Space:
            self.player.toggle_pause()
        elif key == Qt.Key.Key_L:
            self.pointer.set_on(not self.pointer.on)


def _as_lesson(lesson):
    """A Lesson from a Lesson, a lesson file or a built-in lesson's name."""
    if isinstance(lesson, (str, Path)):
        from ...core.lessons import find_lesson

        return find_lesson(str(lesson))
    return lesson
