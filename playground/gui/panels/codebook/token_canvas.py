"""The decoded image with its token grid over it, to paint on: the codebook browser's canvas.

It only draws what the panel hands it (an image, a grid, the codes' colours, the selected
code) and reports the mouse in grid cells; it never calls the model.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtWidgets import QGraphicsRectItem

from ...widgets.images import BACKGROUND
from ...widgets.codebook_style import HIGHLIGHT, HOVER, bold_font


def boundary_segments(mask: np.ndarray, cell_h: float, cell_w: float) -> np.ndarray:
    """Line segments (x, y pairs, in pixels) around the region where `mask` is True, for connect='pairs'."""
    rows, cols = mask.shape
    padded = np.pad(mask, 1)
    points = []
    for r, c in np.argwhere(mask):
        x0, x1, y0, y1 = c * cell_w, (c + 1) * cell_w, r * cell_h, (r + 1) * cell_h
        if not padded[r, c + 1]:      # above
            points += [(x0, y0), (x1, y0)]
        if not padded[r + 2, c + 1]:  # below
            points += [(x0, y1), (x1, y1)]
        if not padded[r + 1, c]:      # left
            points += [(x0, y0), (x0, y1)]
        if not padded[r + 1, c + 2]:  # right
            points += [(x1, y0), (x1, y1)]
    return np.asarray(points, np.float64).reshape(-1, 2)


def cells_between(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
    """The cells on the straight line from a to b, b included (a fast drag skips no cell)."""
    (r0, c0), (r1, c1) = a, b
    steps = max(abs(r1 - r0), abs(c1 - c0))
    if steps == 0:
        return [b]
    line = [(round(r0 + (r1 - r0) * i / steps), round(c0 + (c1 - c0) * i / steps)) for i in range(1, steps + 1)]
    return [(int(r), int(c)) for r, c in line]


class TokenGridCanvas(pg.GraphicsLayoutWidget):
    """The decoded image with its token grid drawn over it: each cell tinted by its code, the selected
    code's cells outlined, the hovered cell named. Left-drag paints, right-click picks a cell's code."""

    stroke_started = Signal()
    cell_painted = Signal(int, int)
    stroke_finished = Signal()
    cell_picked = Signal(int, int)
    cell_hovered = Signal(int, int)  # (-1, -1) when the mouse leaves the grid

    def __init__(self, minimum: int = 360, parent=None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.ci.setContentsMargins(2, 2, 2, 2)
        self.view = self.addViewBox(lockAspect=True, enableMouse=False, invertY=True)
        self.view.setMenuEnabled(False)
        self.image_item = pg.ImageItem()
        self.overlay_item = pg.ImageItem()
        self.grid_lines = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen((0, 0, 0, 150), width=1))
        self.outline = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen(HIGHLIGHT, width=4))
        self.hover_box = QGraphicsRectItem()
        self.hover_box.setPen(pg.mkPen(HOVER, width=3))
        self.hover_box.setVisible(False)
        self.hover_label = pg.TextItem("", color="#101010", fill=pg.mkBrush(HOVER), anchor=(0, 0))
        self.hover_label.setFont(bold_font(12))
        self.hover_label.setVisible(False)
        for item in (self.image_item, self.overlay_item, self.grid_lines, self.outline, self.hover_box,
                     self.hover_label):
            self.view.addItem(item)
        self.overlay_item.setZValue(1)
        self.grid_lines.setZValue(2)
        self.outline.setZValue(3)
        self.hover_box.setZValue(4)
        self.hover_label.setZValue(5)
        self.number_items: list[pg.TextItem] = []
        self.setMinimumSize(minimum, minimum)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.image: np.ndarray | None = None
        self.grid: np.ndarray | None = None
        self.colours: np.ndarray | None = None
        self.highlight: int | None = None
        self.opacity = 0.25
        self.show_numbers = False
        self._numbers_shown = False
        self._painting = False
        self._last_cell: tuple[int, int] | None = None
        self._hover: tuple[int, int] | None = None

    # --- what it shows ----------------------------------------------------------------------------

    @property
    def image_size(self) -> tuple[int, int]:
        if self.image is not None:
            return self.image.shape[0], self.image.shape[1]
        return (32, 32)

    @property
    def hovered(self) -> tuple[int, int] | None:
        """The cell under the mouse, or None."""
        return self._hover

    @property
    def cell_size(self) -> tuple[float, float]:
        h, w = self.image_size
        rows, cols = self.grid.shape if self.grid is not None else (1, 1)
        return h / rows, w / cols

    def set_image(self, rgb: np.ndarray | None) -> None:
        first = self.image is None or rgb is None or self.image.shape != rgb.shape
        self.image = rgb
        if rgb is None:
            self.image_item.clear()
            return
        self.image_item.setImage(rgb, levels=(0, 255), autoLevels=False)
        if first:
            self._layout_grid()
            self._draw_overlay()
            self._draw_numbers()
            self._draw_outline()
            self.view.autoRange(padding=0.0)

    def set_grid(self, grid: np.ndarray | None, colours: np.ndarray | None = None, highlight: int | None = -1) -> None:
        """Show a grid (and optionally new colours and the highlighted code; -1 keeps the highlight)."""
        shape_changed = grid is None or self.grid is None or grid.shape != self.grid.shape
        self.grid = None if grid is None else np.array(grid)
        if colours is not None:
            self.colours = colours
        if highlight != -1:
            self.highlight = highlight
        if shape_changed:
            self._layout_grid()
        self._draw_overlay()
        self._draw_numbers()
        self._draw_outline()
        self._draw_hover()

    def set_highlight(self, code: int | None) -> None:
        self.highlight = code
        self._draw_overlay()
        self._draw_outline()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = float(opacity)
        self._draw_overlay()

    def set_show_numbers(self, show: bool) -> None:
        self.show_numbers = show
        self._draw_numbers()

    def _layout_grid(self) -> None:
        """Grid lines and the overlay's placement for the current grid and image size."""
        for item in self.number_items:
            self.view.removeItem(item)
        self.number_items = []
        self._numbers_shown = False
        if self.grid is None:
            self.grid_lines.setData([], [])
            return
        h, w = self.image_size
        rows, cols = self.grid.shape
        xs = [(c * w / cols, 0, c * w / cols, h) for c in range(1, cols)]
        ys = [(0, r * h / rows, w, r * h / rows) for r in range(1, rows)]
        segments = np.asarray(xs + ys, np.float64).reshape(-1, 2, 2).reshape(-1, 2)
        self.grid_lines.setData(segments[:, 0], segments[:, 1])
        ch, cw = self.cell_size
        for r in range(rows):
            for c in range(cols):
                item = pg.TextItem("", color="#ffffff", anchor=(0.5, 0.5), fill=pg.mkBrush(0, 0, 0, 110))
                item.setFont(bold_font(10))
                item.setPos((c + 0.5) * cw, (r + 0.5) * ch)
                item.setVisible(False)
                item.setZValue(2.5)
                self.view.addItem(item)
                self.number_items.append(item)

    def _draw_overlay(self) -> None:
        if self.grid is None or self.colours is None:
            self.overlay_item.clear()
            return
        rgba = np.zeros(self.grid.shape + (4,), np.uint8)
        rgba[..., :3] = self.colours[self.grid]
        rgba[..., 3] = int(round(255 * self.opacity))
        if self.highlight is not None:  # the selected code's cells are left clear (and outlined)
            rgba[self.grid == self.highlight, 3] = 0
        self.overlay_item.setImage(rgba, levels=(0, 255), autoLevels=False)
        h, w = self.image_size
        self.overlay_item.setRect(QRectF(0, 0, w, h))  # after setImage: the rect is a scale of the image's size

    def _draw_numbers(self) -> None:
        if self.grid is None or (not self.show_numbers and not self._numbers_shown):
            return
        for item, code in zip(self.number_items, self.grid.flat):
            item.setVisible(self.show_numbers)  # hidden, not blank: an empty label still paints its fill
            if self.show_numbers:
                item.setText(str(int(code)))
        self._numbers_shown = self.show_numbers

    def _draw_outline(self) -> None:
        if self.grid is None or self.highlight is None:
            self.outline.setData([], [])
            return
        ch, cw = self.cell_size
        segments = boundary_segments(self.grid == self.highlight, ch, cw)
        self.outline.setData(segments[:, 0], segments[:, 1]) if len(segments) else self.outline.setData([], [])

    def _draw_hover(self) -> None:
        if self._hover is None or self.grid is None:
            self.hover_box.setVisible(False)
            self.hover_label.setVisible(False)
            return
        r, c = self._hover
        ch, cw = self.cell_size
        self.hover_box.setRect(QRectF(c * cw, r * ch, cw, ch))
        self.hover_box.setVisible(True)
        self.hover_label.setText(f" {int(self.grid[r, c])} ")
        self.hover_label.setPos(c * cw, r * ch)
        self.hover_label.setVisible(True)

    # --- mouse ----------------------------------------------------------------------------------------

    def cell_at(self, widget_pos: QPointF) -> tuple[int, int] | None:
        """The grid cell under a point of the widget, or None outside the grid."""
        if self.grid is None:
            return None
        point = self.view.mapSceneToView(self.mapToScene(widget_pos.toPoint()))
        h, w = self.image_size
        if not (0 <= point.x() < w and 0 <= point.y() < h):
            return None
        ch, cw = self.cell_size
        rows, cols = self.grid.shape
        return min(int(point.y() // ch), rows - 1), min(int(point.x() // cw), cols - 1)

    def widget_pos_of_cell(self, row: int, col: int) -> QPointF:
        """The widget position of a cell's centre (for tests and for drawing hints)."""
        ch, cw = self.cell_size
        scene = self.view.mapViewToScene(QPointF((col + 0.5) * cw, (row + 0.5) * ch))
        return QPointF(self.mapFromScene(scene))

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        cell = self.cell_at(event.position())
        if cell is None:
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self._painting = True
            self._last_cell = cell
            self.stroke_started.emit()
            self.cell_painted.emit(*cell)
        elif event.button() == Qt.MouseButton.RightButton:
            self.cell_picked.emit(*cell)
        event.accept()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        cell = self.cell_at(event.position())
        self._set_hover(cell)
        if self._painting and cell is not None and cell != self._last_cell:
            path = cells_between(self._last_cell, cell) if self._last_cell is not None else [cell]
            self._last_cell = cell
            for r, c in path:
                self.cell_painted.emit(r, c)
        event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self._painting:
            self._painting = False
            self._last_cell = None
            self.stroke_finished.emit()
        event.accept()

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._set_hover(None)
        super().leaveEvent(event)

    def point_at(self, cell: tuple[int, int] | None) -> None:
        """Frame a cell and show its code on it, as hovering does (a painted cell the room should see)."""
        self._hover = None
        self._set_hover(cell)

    def _set_hover(self, cell: tuple[int, int] | None) -> None:
        if cell == self._hover:
            return
        self._hover = cell
        self._draw_hover()
        self.cell_hovered.emit(*(cell if cell is not None else (-1, -1)))
