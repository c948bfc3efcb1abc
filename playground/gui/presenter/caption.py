"""The caption bar: the scene's title and caption in large type, the scene counter, and a
message line (e.g. a model that is not there), readable from the back of a room."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

TITLE_PX, CAPTION_PX, MESSAGE_PX = 30, 24, 22
CAPTION_LINES = 2  # the box holds two lines of caption; a longer one is cut (and the lesson's test says so)
BACKGROUND, INK, MUTED, WARNING = "#ffffff", "#000000", "#333333", "#a00000"


def _paint(widget: QWidget, ink: str, background: str = BACKGROUND) -> None:
    """Colours by palette, not style sheet: the theme's zoom and light turn-over leave them alone."""
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor(background))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(ink))
    widget.setPalette(palette)


def _label(px: int, bold: bool = False, colour: str = INK) -> QLabel:
    label = QLabel("")
    font = QFont()
    font.setPixelSize(px)
    font.setBold(bold)
    label.setFont(font)
    _paint(label, colour)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
    return label


def _fit(label: QLabel) -> None:
    label.setFixedWidth(label.fontMetrics().horizontalAdvance(label.text() + "   ") if label.text() else 0)


class CaptionBar(QWidget):
    """Title and counter on the first line, the caption (word-wrapped, two lines) and a message below."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("presenter-caption")
        _paint(self, INK)
        self.title = _label(TITLE_PX, bold=True)
        self.counter = _label(TITLE_PX, colour=MUTED)
        self.counter.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.counter.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.progress = _label(CAPTION_PX, colour=MUTED)  # where the scene's action is: "latent.3 = 1.50"
        self.progress.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.progress.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.caption = _label(CAPTION_PX)
        self.caption.setWordWrap(True)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.caption.setFixedHeight(self.caption.fontMetrics().lineSpacing() * CAPTION_LINES + 4)
        self.message = _label(MESSAGE_PX, bold=True, colour=WARNING)
        self.message.setWordWrap(True)
        self.message.setFixedHeight(self.message.fontMetrics().lineSpacing() * 2 + 4)
        self.message.setVisible(False)
        for label in (self.title, self.counter, self.progress):
            label.setFixedHeight(label.fontMetrics().lineSpacing() + 4)
        layout = QGridLayout(self)
        layout.setContentsMargins(24, 8, 24, 10)
        layout.setVerticalSpacing(4)
        layout.addWidget(self.title, 0, 0)
        layout.addWidget(self.progress, 0, 1)
        layout.addWidget(self.counter, 0, 2)
        layout.addWidget(self.caption, 1, 0, 1, 3)
        layout.addWidget(self.message, 2, 0, 1, 3)
        layout.setColumnStretch(0, 1)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def show_scene(self, title: str, caption: str, index: int, count: int) -> None:
        self.title.setText(title)
        self.caption.setText(caption)
        self.counter.setText(f"{index + 1} / {count}" if count else "")
        _fit(self.counter)
        self.show_progress("")
        self.show_message("")

    def show_progress(self, text: str) -> None:
        self.progress.setText(text)
        _fit(self.progress)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(BACKGROUND))
        painter.setPen(QPen(QColor(INK), 3))
        painter.drawLine(0, 1, self.width(), 1)  # the rule between the scene and its caption

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
