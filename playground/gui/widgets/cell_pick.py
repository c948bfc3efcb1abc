"""Click a cell of an image canvas (a latent cell, a pixel) and see it marked.

`watch_clicks(canvas, on_cell)` calls `on_cell(row, col)` with the image cell under a left click
on an `ImageCanvas`; a `CellMarker` outlines a block of cells (a latent cell, or the 4x4 pixels
one latent cell decodes to) on a canvas.
"""

from __future__ import annotations

from typing import Callable

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtWidgets import QGraphicsRectItem

from .images import ImageCanvas

MARK_PEN = pg.mkPen("#ffd23f", width=2, cosmetic=True)


def cell_at(canvas: ImageCanvas, scene_pos: QPointF) -> tuple[int, int] | None:
    """The (row, col) of the canvas's image under a scene position, None outside the image."""
    if canvas.image is None:
        return None
    point = canvas.image_item.mapFromScene(scene_pos)
    row, col = int(point.y() // 1), int(point.x() // 1)
    h, w = canvas.image.shape[:2]
    return (row, col) if 0 <= row < h and 0 <= col < w else None


def watch_clicks(canvas: ImageCanvas, on_cell: Callable[[int, int], None]) -> None:
    """Call `on_cell(row, col)` on every left click on the canvas's image."""

    def clicked(event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        cell = cell_at(canvas, event.scenePos())
        if cell is not None:
            on_cell(*cell)

    canvas.scene().sigMouseClicked.connect(clicked)


class CellMarker:
    """An outline over a `size` x `size` block of an image canvas's cells."""

    def __init__(self, canvas: ImageCanvas, size: int = 1):
        self.size = size
        self.item = QGraphicsRectItem()
        self.item.setPen(MARK_PEN)
        self.item.setZValue(10)
        self.item.setVisible(False)
        canvas.view.addItem(self.item)

    def show_cell(self, row: int | None, col: int | None = None) -> None:
        """Outline the block at (row, col) in blocks of `size` cells; None hides it."""
        if row is None or col is None:
            self.item.setVisible(False)
            return
        s = self.size
        self.item.setRect(QRectF(col * s, row * s, s, s))
        self.item.setVisible(True)
