"""The main window's menu bar (File, View, Help; at the head of the model toolbar, so that both take
one row of a 1280x720 projector) and its keys.

File: Open checkpoint… (Ctrl+O), Load PNG… (Ctrl+L: into the tab that made it), Quit (Ctrl+Q).
View: Run the current tab (Ctrl+Enter: `Panel.run_primary()`), Play / pause (Space: its
`Panel.timeline()`), Full screen (F11), Zoom in / out / Actual size (Ctrl+plus or Ctrl+=,
Ctrl+minus, Ctrl+0), Light theme (Ctrl+Shift+L). Help: Keyboard shortcuts (F1 or ?), About.
Zoom and theme are saved in the window's settings.
Others add their actions with `MainWindow.menu(name).addAction(...)`; the shortcuts dialog
lists whatever is registered.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QMenu, QMenuBar, QMessageBox,
    QPlainTextEdit, QSizePolicy, QTextEdit, QWidget,
)

from . import theme, window_state
from .dialogs import open_file
from .panels.base import PRIMARY, TIMELINE
from .shortcuts_help import ShortcutsDialog, add_shortcut_hint, keys_text

if TYPE_CHECKING:
    from .main_window import MainWindow

MENUS = ("File", "View", "Help")
RUN_KEYS = ("Ctrl+Enter", "Ctrl+Return")  # the keypad's Enter (the name people use) and the main keyboard's
ABOUT = ("<b>playground</b>: generative models by hand.<br>One tab per model family; every picture "
         "exports as a PNG that carries its recipe. Press F1 for the keyboard shortcuts.")


class WindowMenus:
    """Builds the menu bar of `window` and owns its actions (`actions[name]`)."""

    def __init__(self, window: MainWindow):
        self.window = window
        self.bar = QMenuBar()  # the window puts it at the head of its toolbar: one row for both on a projector
        self.bar.setNativeMenuBar(False)
        self.bar.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)  # all its menus, never folded into "»"
        self.menus: dict[str, QMenu] = {name: self.bar.addMenu(f"&{name}") for name in MENUS}
        self.actions: dict[str, QAction] = {}
        self.help_dialog: ShortcutsDialog | None = None
        add = self._add
        add("File", "open", "&Open checkpoint…", ["Ctrl+O"], window.open_checkpoint_dialog,
            "Open a checkpoint file: it goes to the tab of its family")
        add("File", "load_png", "&Load PNG…", ["Ctrl+L"], self.load_png,
            "Restore an exported PNG's settings in the tab that made it")
        self.menus["File"].addSeparator()
        add("File", "quit", "&Quit", ["Ctrl+Q"], window.close, "Close the window (it remembers its layout)")
        add("View", "run", "&Run the current tab", list(RUN_KEYS), self.run_current,
            "Click the current tab's main button (Run, Generate, Compare…)")
        add("View", "play", "&Play / pause", ["Space"], self.toggle_timeline,
            "Play or pause the current tab's timeline (denoising steps, token generation, training)")
        self.menus["View"].addSeparator()
        add("View", "full_screen", "&Full screen", ["F11"], self.toggle_full_screen, checkable=True)
        self.menus["View"].addSeparator()
        add("View", "zoom_in", "Zoom &in", ["Ctrl++", "Ctrl+="], lambda: self.zoom_by(1), "Larger text and controls")
        add("View", "zoom_out", "Zoom &out", ["Ctrl+-"], lambda: self.zoom_by(-1), "Smaller text and controls")
        add("View", "actual_size", "&Actual size", ["Ctrl+0"], lambda: self.set_look(zoom=1.0))
        self.menus["View"].addSeparator()
        add("View", "light", "&Light theme (for projectors)", ["Ctrl+Shift+L"], self.toggle_light, checkable=True)
        add("Help", "shortcuts", "&Keyboard shortcuts", ["F1", "?"], self.show_shortcuts)
        add("Help", "about", "&About playground", [], self.show_about)
        self.menus["View"].aboutToShow.connect(self.sync_checks)  # the look may be changed by others (presenter mode)
        self.sync_checks()
        self.hint_keys()

    def sync_checks(self) -> None:
        """The View menu's ticks say what the window shows now."""
        self.actions["light"].setChecked(theme.current_theme(QApplication.instance()) == "light")
        self.actions["full_screen"].setChecked(self.window.isFullScreen())

    def hint_keys(self) -> None:
        """Each panel's Ctrl+Enter and Space buttons say so in their tooltips (and the Ctrl+Enter ones are bold)."""
        run, play = (keys_text(self.actions[name].shortcuts()[:1]) for name in ("run", "play"))
        for panel in self.window.panels:
            for button in panel.findChildren(QAbstractButton):
                if button is panel.primary_button or button.property(PRIMARY):
                    add_shortcut_hint(button, keys=run)
                    button.setProperty("runsTab", True)  # the style sheet bolds it
                if button.property(TIMELINE):
                    add_shortcut_hint(button, keys=play)

    def _add(self, menu: str, name: str, text: str, keys: list[str], slot: Callable[[], None], tip: str = "",
             checkable: bool = False) -> QAction:
        action = QAction(text, self.window)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        action.setStatusTip(tip)
        add_shortcut_hint(action, tip or text.replace("&", "").rstrip("…"))
        action.triggered.connect(lambda _checked=False: slot())
        self.menus[menu].addAction(action)
        self.window.addAction(action)  # its keys work while the menu bar is hidden (full screen, presenter)
        self.actions[name] = action
        return action

    def menu(self, name: str) -> QMenu:
        """The menu `name` ("File", "View", "Help"; another name gets a new menu before Help)."""
        if name not in self.menus:
            menu = QMenu(f"&{name}", self.window)
            self.bar.insertMenu(self.menus["Help"].menuAction(), menu)
            self.menus[name] = menu
        return self.menus[name]

    def load_png(self) -> None:
        path = open_file(self.window, "png", "Load PNG", "PNG (*.png)")
        if path:
            self.window.open_dropped(Path(path))  # the tab whose recipe it is, as if dropped

    # --- the current tab ----------------------------------------------------------------------------

    def run_current(self) -> None:
        """Ctrl+Enter: the current tab's run (`Panel.run_primary`: its primary button, if it can be clicked now)."""
        self.window.current_panel.run_primary()

    def toggle_timeline(self) -> None:
        """Space: play or pause the current tab's timeline; with none, a focused button is pressed as usual."""
        focus = QApplication.focusWidget()
        if is_text_input(focus):
            return  # (a text input takes Space itself: its ShortcutOverride keeps the key from the action)
        timeline = self.window.current_panel.timeline()
        if timeline is not None:
            timeline.toggle_play()
        elif isinstance(focus, QAbstractButton) and focus.isEnabled():
            focus.click()

    # --- window and look ----------------------------------------------------------------------------

    def toggle_full_screen(self) -> None:
        window = self.window
        if window.isFullScreen():
            window.showMaximized() if getattr(self, "_was_maximized", False) else window.showNormal()
        else:
            self._was_maximized = window.isMaximized()
            window.showFullScreen()
        self.window_state_changed()

    def window_state_changed(self) -> None:
        """The window went full screen or back (F11, presenter mode, the window manager): the menu says so."""
        self.sync_checks()

    def zoom_by(self, direction: int) -> None:
        self.set_look(zoom=theme.next_zoom(theme.current_zoom(QApplication.instance()), direction))

    def toggle_light(self) -> None:
        self.set_look(name="light" if theme.current_theme(QApplication.instance()) != "light" else "dark")

    def set_look(self, name: str | None = None, zoom: float | None = None, save: bool = True) -> None:
        """Apply a theme and zoom (what is not given stays as it is) and save them for the next start
        (`save=False`: for a while only, e.g. presenter mode's light theme)."""
        app = QApplication.instance()
        name = name or theme.current_theme(app)
        zoom = theme.current_zoom(app) if zoom is None else zoom
        theme.apply_theme(app, name, zoom)
        if save:
            window_state.save_look(window_state.window_settings(), name, theme.current_zoom(app))
        self.sync_checks()
        self.window.model_picker.fit_to(self.window.width())  # its width follows the font

    # --- help ---------------------------------------------------------------------------------------

    def show_shortcuts(self) -> None:
        """F1 / ?: the dialog of every registered shortcut (non-modal; built anew, so it lists what is there now)."""
        if self.help_dialog is not None:
            self.help_dialog.close()
        self.help_dialog = ShortcutsDialog(self.window)
        self.help_dialog.show()

    def show_about(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "About playground", ABOUT, QMessageBox.StandardButton.Ok,
                          self.window)
        box.open()
        self.window.last_dialog = box


def is_text_input(widget: QWidget | None) -> bool:
    """Whether `widget` takes typed text (Space must reach it, not the play action)."""
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return isinstance(widget, (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit))
