"""The keyboard shortcuts dialog (F1 or ?), generated from what the window has registered, and the
"(keys)" hints on tooltips.

Listed: every action of the menu bar's menus that has keys (in menu order, a section per menu),
the window's other actions with keys (e.g. presenter mode's), and every QShortcut in the window
that says what it does (`shortcut.setWhatsThis("Undo the last edit")`), under its tab's title,
and what Ctrl+Enter and Space press in each tab (`Panel.primary_button`, `mark_primary`, `mark_timeline`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFont, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton, QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QLabel, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from .panels.base import PRIMARY, TIMELINE

if TYPE_CHECKING:
    from .main_window import MainWindow


def keys_text(sequences: list[QKeySequence]) -> str:
    """"Ctrl+Return, Ctrl+Enter": the key sequences as the user reads them."""
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in sequences if not s.isEmpty())


def add_shortcut_hint(target: QAction | QAbstractButton, text: str = "", keys: str = "") -> None:
    """Set `target`'s tooltip to `text` (its own tooltip if empty) followed by its keys in brackets
    (`keys`, else an action's own shortcuts), once."""
    if isinstance(target, QAction) and not keys:
        keys = keys_text(target.shortcuts())
    tip = text or target.toolTip() or (target.text().replace("&", "") if isinstance(target, QAbstractButton) else "")
    if keys and f"({keys})" not in tip:
        tip = f"{tip} ({keys})" if tip else keys
    target.setToolTip(tip)


def shortcut_rows(window: MainWindow) -> list[tuple[str, str, str]]:
    """(section, keys, what it does) for every registered shortcut of `window`, sections in menu order."""
    rows: list[tuple[str, str, str]] = []
    listed: set[QAction] = set()
    for menu_action in window.menus.bar.actions():
        menu = menu_action.menu()
        if menu is None:
            continue
        section = menu.title().replace("&", "")
        for action in menu.actions():
            keys = keys_text(action.shortcuts())
            if keys and not action.isSeparator():
                rows.append((section, keys, _what(action)))
                listed.add(action)
    for action in window.findChildren(QAction):
        keys = keys_text(action.shortcuts())
        if keys and action not in listed and action.text():
            rows.append((_section_of(window, action), keys, _what(action)))
            listed.add(action)
    tabs = [f"{panel.title} tab" for panel in window.panels]
    own = [(_section_of(window, s), keys_text([s.key()]), s.whatsThis())
           for s in window.findChildren(QShortcut) if s.whatsThis() and s.isEnabled()]
    rows += sorted(own, key=lambda row: tabs.index(row[0]) if row[0] in tabs else -1)  # tab order, stable
    run, play = (keys_text(window.menus.actions[name].shortcuts()[:1]) for name in ("run", "play"))
    for panel in window.panels:  # what Ctrl+Enter and Space do in each tab (its marked buttons)
        buttons = panel.findChildren(QAbstractButton)
        runs = [panel.primary_button] * (panel.primary_button is not None) + [b for b in buttons if b.property(PRIMARY)]
        plays = [b for b in buttons if b.property(TIMELINE)]
        if runs:
            rows.append(("In each tab", run, f"{panel.title}: {_names(runs)}"))
        if plays:
            rows.append(("In each tab", play, f"{panel.title}: {_names(plays)}"))
    from .presenter.presenter import KEY_HELP  # keys presenter mode takes only while presenting

    rows += [("Presenter mode (F5)", keys, what) for keys, what in KEY_HELP]
    return rows


def _names(buttons: list[QAbstractButton]) -> str:
    """"Run / Compare": the buttons' labels, each once, without their key hints."""
    names = [b.text().replace("&", "").split("  (")[0].strip("▶❚ ") for b in buttons]
    return " / ".join(dict.fromkeys(n for n in names if n))


def _what(action: QAction) -> str:
    text = action.text().replace("&", "").rstrip("…")
    return f"{text}: {action.statusTip()}" if action.statusTip() else text


def _section_of(window: MainWindow, item: QAction | QShortcut) -> str:
    """The tab a shortcut belongs to ("Latent tab"), "Window" for the window's own."""
    parent = item.parent()
    for panel in window.panels:
        if isinstance(parent, QWidget) and (parent is panel or panel.isAncestorOf(parent)):
            return f"{panel.title} tab"
    return "Window"


class ShortcutsDialog(QDialog):
    """Every shortcut of the window in a table: keys on the left, what they do on the right."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = shortcut_rows(window)
        layout = QVBoxLayout(self)
        intro = QLabel("Ctrl+Enter runs the current tab and Space plays or pauses its timeline "
                       "(except while typing in a text box).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Keys", "Does"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(True)
        section = None
        for name, keys, what in self.rows:
            if name != section:
                section = name
                self._add_row(name, "", heading=True)
            self._add_row(keys, what)
        self.table.resizeRowsToContents()
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        self.resize(720, 560)

    def _add_row(self, keys: str, what: str, heading: bool = False) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, text in enumerate((keys, what)):
            item = QTableWidgetItem(text)
            if heading or column == 0:
                font = QFont(self.font())
                font.setBold(True)
                item.setFont(font)
            if heading:
                item.setBackground(self.palette().color(QPalette.ColorRole.AlternateBase))
            item.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, column, item)
        if heading:
            self.table.setSpan(row, 0, 1, 2)

    def text(self) -> str:
        """Everything the table says, one row a line (for tests and for copying)."""
        return "\n".join(f"{keys}\t{what}" for _, keys, what in self.rows)
