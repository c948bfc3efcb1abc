"""A strip of frames (an interpolation, a walk along a direction) drawn as large as its space allows.

The frames wrap into as many rows as make each one largest: a strip of 9 in a narrow column
becomes 3 rows of 3 rather than one row of slivers. Each frame is scaled by nearest neighbour
(the pixels stay pixels) and may carry a label in its top-left corner ("t = 0.25", "−3"), on a
dark chip: a label row under each frame would cost the frames a fifth of their size.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from .images import BACKGROUND, numpy_to_qimage

TITLE_PT = 12
LABEL_PT = 11
SPACING = 6


def strip_layout(n: int, width: float, height: float) -> tuple[int, int, int]:
    """(rows, columns, frame px) that make `n` square frames largest in a `width` x `height` area."""
    best = (1, max(1, n), 0)
    for columns in range(1, max(1, n) + 1):
        rows = math.ceil(n / columns)
        side = min((width - SPACING * (columns - 1)) / columns,
                   (height - SPACING * (rows - 1)) / rows)
        if int(side) > best[2]:
            best = (rows, columns, int(side))
    return best


class FrameStrip(QWidget):
    """Frames (N of H x W x 3 uint8) in rows, as large as they fit; `image` is the strip as one picture."""

    def __init__(self, title: str = "", minimum: int = 96, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = title
        self.frames: list[np.ndarray] = []
        self.labels: list[str] = []
        self._images = []
        self.setMinimumSize(minimum, minimum)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.title_font, self.label_font = QFont(), QFont()
        self.title_font.setPointSize(TITLE_PT)
        self.label_font.setPointSize(LABEL_PT)

    def set_frames(self, frames: np.ndarray | list[np.ndarray] | None, labels: list[str] | None = None) -> None:
        self.frames = [] if frames is None else [np.ascontiguousarray(f) for f in frames]
        self.labels = list(labels or [])
        self._images = [numpy_to_qimage(f) for f in self.frames]
        self.update()

    @property
    def image(self) -> np.ndarray | None:
        """The frames side by side (what the strip shows, as one picture), or None."""
        return np.concatenate(self.frames, axis=1) if self.frames else None

    # --- geometry ---------------------------------------------------------------------------------

    def _title_px(self) -> int:
        return self.fontMetrics().height() * 3 // 2 + 4 if self.title else 0

    def arrangement(self) -> tuple[int, int, int]:
        """(rows, columns, frame px) for the widget's current size."""
        return strip_layout(len(self.frames) or 1, self.width() - 4, self.height() - self._title_px() - 4)

    @property
    def frame_px(self) -> int:
        """How large each frame is drawn now, in pixels (0 without frames)."""
        return self.arrangement()[2] if self.frames else 0

    def frame_rects(self) -> list[QRect]:
        rows, columns, side = self.arrangement()
        cell_h = side
        used_w = columns * side + (columns - 1) * SPACING
        used_h = rows * cell_h + (rows - 1) * SPACING
        left0 = (self.width() - used_w) // 2
        top0 = self._title_px() + max(0, (self.height() - self._title_px() - used_h) // 2)
        rects = []
        for i in range(len(self.frames)):
            row, column = divmod(i, columns)
            rects.append(QRect(left0 + column * (side + SPACING), top0 + row * (cell_h + SPACING), side, side))
        return rects

    # --- drawing ----------------------------------------------------------------------------------

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(BACKGROUND))
        if self.title:
            painter.setPen(QColor("#c8c8c8"))
            painter.setFont(self.title_font)
            painter.drawText(QRect(0, 2, self.width(), self._title_px()), Qt.AlignmentFlag.AlignCenter, self.title)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.setFont(self.label_font)
        metrics = QFontMetrics(self.label_font)
        for i, rect in enumerate(self.frame_rects()):
            painter.drawImage(rect, self._images[i])
            painter.setPen(QColor("#5a5d66"))
            painter.drawRect(rect.adjusted(-1, -1, 0, 0))
            if i < len(self.labels) and self.labels[i]:
                chip = metrics.boundingRect(self.labels[i]).adjusted(-4, -1, 4, 1)
                chip.moveTopLeft(rect.topLeft() + QPoint(1, 1))
                painter.fillRect(chip, QColor(0, 0, 0, 170))
                painter.setPen(QColor("#f0f0f0"))
                painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, self.labels[i])
        painter.end()
