"""The pointer highlight: the cursor drawn large, a translucent circle that follows the mouse
over the whole window (for pointing at a pixel or a plot from across a room)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QColor, QCursor, QPainter, QPen
from PySide6.QtWidgets import QWidget

RADIUS = 30
FOLLOW_MS = 30  # the cursor is read ~33 times a second while the highlight is on


class PointerHighlight(QWidget):
    """A transparent overlay over its parent window; it never takes a mouse event."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.position: QPoint | None = None  # in this widget's coordinates
        self._timer = QTimer(self)
        self._timer.setInterval(FOLLOW_MS)
        self._timer.timeout.connect(self.follow)
        self.hide()

    @property
    def on(self) -> bool:
        return self._timer.isActive()

    def set_on(self, on: bool) -> None:
        if on:
            self.setGeometry(self.parentWidget().rect())
            self.raise_()
            self.show()
            self.follow()
            self._timer.start()
        else:
            self._timer.stop()
            self.hide()

    def follow(self) -> None:
        self.move_to(self.mapFromGlobal(QCursor.pos()))

    def move_to(self, position: QPoint) -> None:
        if position != self.position:
            old, self.position = self.position, QPoint(position)
            for point in (old, self.position):
                if point is not None:
                    self.update(point.x() - RADIUS - 4, point.y() - RADIUS - 4, 2 * RADIUS + 8, 2 * RADIUS + 8)

    def fit(self) -> None:
        """Cover the window again (after it was resized)."""
        if self.on:
            self.setGeometry(self.parentWidget().rect())
            self.raise_()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if self.position is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(200, 0, 0, 220), 3))
        painter.setBrush(QColor(255, 40, 40, 90))
        painter.drawEllipse(self.position, RADIUS, RADIUS)
