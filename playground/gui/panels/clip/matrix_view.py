"""The caption matrix drawn: images across the top, captions down the left, each cell's value in its
heat colour; the diagonal (each image's own caption) outlined in dashed white, each image's nearest caption in cyan."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from ....core.clip.matrix import CaptionMatrix
from ....core.latent_diffusion.attention_picture import heat_colors
from ...widgets.images import BACKGROUND, numpy_to_qimage

BEST = QColor(80, 220, 255)
OWN = QColor(255, 255, 255)


class MatrixView(QWidget):
    """Paints a CaptionMatrix as cosines or, with `probabilities`, softmax over captions per image;
    hovering a cell names its image, caption and both values."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.matrix: CaptionMatrix | None = None
        self.probabilities = False
        self.setMouseTracking(True)
        self.setMinimumSize(420, 300)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.font_ = QFont()
        self.font_.setPointSize(11)

    def set_matrix(self, matrix: CaptionMatrix | None) -> None:
        self.matrix = matrix
        self.update()

    def set_probabilities(self, on: bool) -> None:
        self.probabilities = on
        self.update()

    def values(self) -> np.ndarray:
        """(images, captions) what the cells show."""
        m = self.matrix
        return m.probabilities if self.probabilities else m.similarity

    def _layout(self) -> tuple[int, int, int]:
        """(left edge of the cells, top edge of the cells, cell side) for the current size."""
        n = len(self.matrix.captions)
        metrics = QFontMetrics(self.font_)
        labels = max(metrics.horizontalAdvance(c) for c in self.matrix.captions) + 16
        cell = max(16, min((self.width() - labels - 8) // n, (self.height() - 12) // (n + 1)))
        left = labels + max(0, (self.width() - labels - n * cell) // 2)  # the figure centred
        return left, cell + 8, cell

    def cell_at(self, point: QPoint) -> tuple[int, int] | None:
        """(image, caption) under a point of the widget, or None."""
        if self.matrix is None:
            return None
        left, top, cell = self._layout()
        n = len(self.matrix.captions)
        j, i = (point.x() - left) // cell, (point.y() - top) // cell
        return (j, i) if point.x() >= left and point.y() >= top and j < n and i < n else None

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(BACKGROUND))
        if self.matrix is None:
            return
        m = self.matrix
        n = len(m.captions)
        left, top, cell = self._layout()
        values = self.values()
        lo, hi = (0.0, 1.0) if self.probabilities else (float(values.min()), float(values.max()))
        shade = (values - lo) / max(hi - lo, 1e-6)
        colours = heat_colors(shade)
        best = values.argmax(axis=1)
        font = QFont(self.font_)
        font.setPointSize(max(7, min(12, cell // 5)))
        painter.setFont(self.font_)
        for j in range(n):  # image j's column: its thumbnail on top
            painter.drawImage(QRect(left + j * cell + 3, 3, cell - 6, cell - 6), numpy_to_qimage(m.images[j]))
        for i in range(n):  # caption i's row
            y = top + i * cell
            painter.setPen(QColor(220, 220, 220))
            painter.setFont(self.font_)
            painter.drawText(QRect(0, y, left - 10, cell), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             m.captions[i])
            painter.setFont(font)
            for j in range(n):
                box = QRect(left + j * cell + 1, y + 1, cell - 2, cell - 2)
                painter.fillRect(box, QColor(*(int(c) for c in colours[j, i])))
                painter.setPen(QColor(0, 0, 0) if shade[j, i] > 0.6 else QColor(235, 235, 235))
                text = f"{values[j, i]:.2f}"
                painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
                if best[j] == i:
                    painter.setPen(QPen(BEST, 4))
                    painter.drawRect(box.adjusted(1, 1, -2, -2))
                if i == j:
                    painter.setPen(QPen(OWN, 2, Qt.PenStyle.DashLine))
                    painter.drawRect(box.adjusted(5, 5, -6, -6))
        painter.end()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        hit = self.cell_at(event.position().toPoint())
        if hit is None:
            QToolTip.hideText()
            return
        j, i = hit
        m = self.matrix
        QToolTip.showText(event.globalPosition().toPoint(),
                          f"image {j + 1} ({m.captions[j]})\nagainst “{m.captions[i]}”\n"
                          f"cosine {m.similarity[j, i]:.3f}, probability {m.probabilities[j, i]:.1%}", self)
