"""The distribution over codes for one cell: the likeliest codes as atlas tiles with their
probabilities as bars, painted in one widget (a slider drag repaints it, nothing is laid out again).

Rows are ordered by the model's own probability (temperature 1, nothing cut), so moving the
temperature, top-k or top-p sliders changes the bars and never the order: a code that top-k or
top-p cuts keeps its row, greyed, with "cut" in place of its bar.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from ...widgets.images import BACKGROUND, numpy_to_qimage

ROW_PX = 34
TILE_PX = 30
BAR_COLOUR = QColor("#4aa3ff")
CHOSEN_COLOUR = QColor("#ffd84a")
SCALES = (0.05, 0.1, 0.25, 0.5, 1.0)  # the bar axis: the smallest that holds the top probability


class DistributionBars(QWidget):
    """`code_clicked(code)` when a row is clicked."""

    code_clicked = Signal(int)

    def __init__(self, rows: int = 12, parent: QWidget | None = None):
        super().__init__(parent)
        self.rows = rows
        self.tiles: list[QPixmap] = []
        self.order = np.zeros(0, np.int64)
        self.probabilities = np.zeros(0)
        self.chosen: int | None = None
        self.setMinimumHeight(ROW_PX * 6)
        self.setMinimumWidth(300)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click a code to write it into the picked cell (the model continues from there)")

    def set_tiles(self, tiles: np.ndarray | None) -> None:
        """(K, h, w, 3) uint8 atlas tiles, one per code (None: codes shown by number only)."""
        self.tiles = [] if tiles is None else [
            QPixmap.fromImage(numpy_to_qimage(t)).scaled(TILE_PX, TILE_PX, Qt.AspectRatioMode.IgnoreAspectRatio,
                                                         Qt.TransformationMode.FastTransformation) for t in tiles]
        self.update()

    def show_distribution(self, order: np.ndarray, probabilities: np.ndarray, chosen: int | None = None) -> None:
        """Rows for the codes in `order` (most likely first) with their `probabilities` (K,); `chosen` outlined."""
        self.order, self.probabilities, self.chosen = np.asarray(order), np.asarray(probabilities), chosen
        self.update()

    def clear(self) -> None:
        self.show_distribution(np.zeros(0, np.int64), np.zeros(0))

    @property
    def shown_codes(self) -> list[int]:
        return [int(c) for c in self.order[:self.visible_rows]]

    @property
    def visible_rows(self) -> int:
        return max(1, min(self.rows, (self.height() - 22) // ROW_PX, len(self.order)))

    def row_of_code(self, code: int) -> int | None:
        codes = self.shown_codes
        return codes.index(code) if code in codes else None

    def row_centre(self, row: int) -> tuple[int, int]:
        return self.width() // 2, 22 + row * ROW_PX + ROW_PX // 2

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(BACKGROUND))
        if not len(self.order):
            painter.end()
            return
        top = float(self.probabilities[self.order].max()) if len(self.order) else 0.0
        scale = next((s for s in SCALES if top <= s), 1.0)
        font = QFont()
        font.setPointSize(12)
        painter.setFont(font)
        label_w, text_w = 92, 86
        bar_x = 6 + TILE_PX + 8 + label_w
        bar_w = max(40, self.width() - bar_x - text_w - 8)
        painter.setPen(QColor("#8a8f98"))
        painter.drawText(QRectF(bar_x, 0, bar_w, 20), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         f"bar scale 0–{scale:.0%}")
        for row, code in enumerate(self.shown_codes):
            y = 22 + row * ROW_PX
            p = float(self.probabilities[code])
            if code < len(self.tiles):
                painter.drawPixmap(6, y + 2, self.tiles[code])
            if code == self.chosen:
                painter.setPen(QPen(CHOSEN_COLOUR, 3))
                painter.drawRect(5, y + 1, TILE_PX + 2, TILE_PX + 2)
            painter.setPen(QColor("#f2f2f2" if p > 0 else "#6a6a6a"))
            painter.drawText(QRectF(6 + TILE_PX + 8, y, label_w, ROW_PX), Qt.AlignmentFlag.AlignVCenter,
                             f"code {code}" + (" ✓" if code == self.chosen else ""))
            if p > 0:
                painter.fillRect(QRectF(bar_x, y + 7, max(2.0, bar_w * min(1.0, p / scale)), ROW_PX - 14),
                                 CHOSEN_COLOUR if code == self.chosen else BAR_COLOUR)
                text = f"{p:.1%}" if p >= 0.001 else f"{p:.0e}"
            else:
                painter.setPen(QColor("#6a6a6a"))
                painter.drawText(QRectF(bar_x, y, bar_w, ROW_PX), Qt.AlignmentFlag.AlignVCenter, "cut")
                text = "0"
            painter.setPen(QColor("#f2f2f2" if p > 0 else "#6a6a6a"))
            painter.drawText(QRectF(bar_x + bar_w + 6, y, text_w, ROW_PX),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        painter.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        row = int((event.position().y() - 22) // ROW_PX)
        codes = self.shown_codes
        if event.button() == Qt.MouseButton.LeftButton and 0 <= row < len(codes) and event.position().y() >= 22:
            self.code_clicked.emit(codes[row])
        event.accept()
