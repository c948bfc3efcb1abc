"""Widgets of the denoising view sized for a projector: titled image canvases and number tiles."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from .images import ImageCanvas

TITLE_STYLE = "color: #e6e6e6; font-size: 15pt; font-weight: bold;"
SMALL_TITLE = "color: #e6e6e6; font-size: 12pt; font-weight: bold;"  # five or six canvases across 1280x720
SUBTITLE_STYLE = "color: #9a9a9a; font-size: 11pt;"


class TitledCanvas(QWidget):
    """A large pixel-crisp image with a title and a one-line caption above it."""

    def __init__(self, title: str, caption: str = "", minimum: int = 180, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.title = QLabel(title)
        self.title.setStyleSheet(TITLE_STYLE)
        self.title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.caption = QLabel(caption)
        self.caption.setStyleSheet(SUBTITLE_STYLE)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        self.canvas = ImageCanvas(minimum=minimum)
        self.canvas.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for label in (self.title, self.caption):  # equal columns: the text must not set the width
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            label.setMinimumWidth(0)
        layout.addWidget(self.title)
        layout.addWidget(self.caption)
        layout.addWidget(self.canvas, 1)
        self.set_caption(caption)

    def set_caption(self, text: str) -> None:
        self.caption.setText(text)
        self.caption.setVisible(bool(text))

    @property
    def image(self) -> np.ndarray | None:
        return self.canvas.image

    def set_image(self, rgb: np.ndarray | None) -> None:
        self.canvas.set_image(rgb)


class NumberTiles(QWidget):
    """A row of named values: a small grey name above a large value, readable from the back of a room."""

    def __init__(self, names: list[tuple[str, str]], columns: int | None = None, parent: QWidget | None = None):
        """`names`: (key, label shown) pairs, in order, `columns` to a row (default: one row)."""
        super().__init__(parent)
        layout = QGridLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setHorizontalSpacing(18)
        layout.setVerticalSpacing(0)
        self.values: dict[str, QLabel] = {}
        columns = columns or len(names)
        for i, (key, label) in enumerate(names):
            row, col = 2 * (i // columns), i % columns
            name = QLabel(label)
            name.setStyleSheet("color: #9a9a9a; font-size: 11pt;")
            value = QLabel("–")
            value.setStyleSheet("color: #f2f2f2; font-size: 16pt; font-family: monospace;")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(name, row, col)
            layout.addWidget(value, row + 1, col)
            self.values[key] = value
        layout.setColumnStretch(columns, 1)
        layout.setRowStretch(2 * ((len(names) - 1) // columns) + 2, 1)

    def set_values(self, values: dict[str, str]) -> None:
        for key, label in self.values.items():
            label.setText(values.get(key, "–"))

    def text(self, key: str) -> str:
        return self.values[key].text()


def canvas_row(*canvases: QWidget) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(10)
    for canvas in canvases:
        layout.addWidget(canvas, 1)
    return row


def fmt(value: float, digits: int = 4) -> str:
    """A number for a tile, `digits` significant digits ("–" for NaN)."""
    if value != value:
        return "–"
    return f"{value:.{digits}g}"


def note_label(text: str = "") -> QLabel:
    """The explanation above a panel or tab (styled by the theme's "note" rule), word-wrapped."""
    note = QLabel(text)
    note.setObjectName("note")
    note.setWordWrap(True)
    return note
