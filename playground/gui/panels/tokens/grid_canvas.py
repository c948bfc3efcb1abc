"""The token grid as the transformer writes it: the decoded image, its cell lines, the cells not yet
written shaded, the next cell framed in yellow, a cell picked by hand framed in blue.

It only draws what it is handed and reports a left click as a grid cell; it never calls the model.
A plain widget with one `paintEvent`, not a pyqtgraph scene: it repaints after every token while
the worker computes the next one, and each call from Qt back into Python (a scene has dozens per
paint) waits for the worker to hand over the GIL. The picture (image scaled up by a whole factor,
unwritten cells shaded, cell lines) is composed in numpy once per frame and blitted as one RGB32
image: scaling, converting RGB888 and stroking lines in the painter cost ~20 ms a paint.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ....core.images import upscale
from ...widgets.images import BACKGROUND, numpy_to_qimage

NEXT_COLOUR = QColor("#ffd84a")    # the cell the model writes next (the codebook browser's highlight yellow)
PICKED_COLOUR = QColor("#5ad7ff")  # a cell clicked to pick its code by hand


class TokenCanvas(QWidget):
    """`cell_clicked(cell)` with the raster index of a left-clicked grid cell."""

    cell_clicked = Signal(int)

    def __init__(self, minimum: int = 400, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(minimum, minimum)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click a written cell (or the next one) to pick its code yourself: the model continues from there")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.image: np.ndarray | None = None
        self._qimage: QImage | None = None
        self.grid_size = 8
        self.unwritten = np.zeros((8, 8), bool)
        self.next_cell: int | None = None
        self.picked: int | None = None

    def viewport(self) -> QWidget:
        """The widget the mouse lands on (as a scene view's viewport, for tests and repaint)."""
        return self

    def set_image(self, image: np.ndarray | None) -> None:
        self.image = image
        self._qimage = None  # drawn at the next paint, at the size the widget has then
        self.update()

    def show_grid(self, image: np.ndarray, unwritten: np.ndarray, next_cell: int | None, picked: int | None) -> None:
        """The image, the unwritten cells (g, g) shaded, the next and the picked cell framed (None: none)."""
        self.grid_size, self.unwritten, self.next_cell, self.picked = unwritten.shape[0], unwritten, next_cell, picked
        self.set_image(image)

    def image_rect(self) -> QRect:
        """Where the image is drawn: the largest centred square, a whole multiple of the image's size."""
        pixels = self.image.shape[0] if self.image is not None else self.grid_size
        side = min(self.width(), self.height()) - 4
        side = max(pixels, side - side % pixels)
        return QRect((self.width() - side) // 2, (self.height() - side) // 2, side, side)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(BACKGROUND))
        if self.image is None:
            painter.end()
            return
        target = self.image_rect()
        if self._qimage is None or self._qimage.width() != target.width():
            self._qimage = self._compose(target.width())
        painter.drawImage(target.topLeft(), self._qimage)
        g = self.grid_size
        cell = target.width() / g
        for index, colour in ((self.next_cell, NEXT_COLOUR), (self.picked, PICKED_COLOUR)):
            if index is not None and 0 <= index < g * g:
                r, c = divmod(index, g)
                painter.setPen(QPen(colour, 4))
                painter.drawRect(QRectF(target.x() + c * cell + 2, target.y() + r * cell + 2, cell - 4, cell - 4))
        painter.end()

    def _compose(self, side: int) -> QImage:
        """The image at `side` pixels with the unwritten cells shaded (to a quarter) and the cell lines
        drawn (at half), as RGB32; uint8 shifts on the small image, then one whole-factor upscale."""
        g = self.grid_size
        small = self.image.copy()
        if self.unwritten.shape == (g, g) and self.unwritten.any():
            px = small.shape[0] // g
            shade = np.repeat(np.repeat(self.unwritten, px, 0), px, 1)
            small[shade] >>= 2
        picture = upscale(small, side // small.shape[1])
        lines = np.arange(1, g) * (side // g)
        picture[lines] >>= 1
        picture[:, lines] >>= 1
        return numpy_to_qimage(picture).convertToFormat(QImage.Format.Format_RGB32)

    def cell_at(self, pos: QPointF) -> int | None:
        target = self.image_rect()
        if self.image is None or not target.contains(pos.toPoint()):
            return None
        cell = target.width() / self.grid_size
        row = min(self.grid_size - 1, int((pos.y() - target.y()) // cell))
        col = min(self.grid_size - 1, int((pos.x() - target.x()) // cell))
        return row * self.grid_size + col

    def mousePressEvent(self, event) -> None:  # noqa: N802
        cell = self.cell_at(event.position())
        if event.button() == Qt.MouseButton.LeftButton and cell is not None:
            self.cell_clicked.emit(cell)
        event.accept()

    def widget_pos_of_cell(self, cell: int) -> QPointF:
        """The widget position of a cell's centre (for tests)."""
        target = self.image_rect()
        size = target.width() / self.grid_size
        row, col = divmod(cell, self.grid_size)
        return QPointF(target.x() + (col + 0.5) * size, target.y() + (row + 0.5) * size)
