"""The codebook browser's views: a paintable token grid, the codebook atlas, the usage histogram and the
codebook map. They only draw what the panel hands them and report clicks; they never call the model.

A code has one identity colour (`code_colours`) for its cells in the grid overlay and its
bar in the histogram; on the map a point has the colour the code draws. The selected code
is yellow everywhere.
"""

from __future__ import annotations

import colorsys

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QIcon, QPixmap
from PySide6.QtWidgets import QGraphicsRectItem, QListWidget, QListWidgetItem

from ..widgets.images import BACKGROUND, numpy_to_qimage

HIGHLIGHT = "#ffd84a"  # the selected code, everywhere
HOVER = "#5ad7ff"
DEAD = (235, 64, 52)
TICK_FONT = QFont()
TICK_FONT.setPointSize(11)
LABEL_STYLE = {"color": "#d0d0d0", "font-size": "12pt"}


def code_colours(k: int) -> np.ndarray:
    """(K, 3) uint8 colours, one per code, neighbouring indices far apart in hue (golden-ratio steps).

    Distinct rather than similarity-based on purpose: the background of an image is many
    different but similar codes, and the grid overlay should show that it is.
    """
    hues = (np.arange(k) * 0.6180339887) % 1.0
    saturation = np.where(np.arange(k) % 2, 0.55, 0.8)
    colours = [colorsys.hsv_to_rgb(h, s, 0.95) for h, s in zip(hues, saturation)]
    return (np.asarray(colours).reshape(-1, 3) * 255).round().astype(np.uint8)


def mark_dead(tile: np.ndarray) -> np.ndarray:
    """A tile with a red frame and a red diagonal: the code was never used on the data set."""
    tile = tile.copy()
    h, w, _ = tile.shape
    t = max(1, h // 16)
    tile[:t], tile[-t:], tile[:, :t], tile[:, -t:] = DEAD, DEAD, DEAD, DEAD
    for i in range(min(h, w)):
        tile[i, max(0, i - t // 2):i + t // 2 + 1] = DEAD
    return tile


def context_crop(tile: np.ndarray, grid_size: int, cells: int = 3) -> np.ndarray:
    """The `cells` x `cells` cells around the centre of an in-context tile (the code sits at the centre cell)."""
    h = tile.shape[0]
    cell = h // grid_size
    centre = grid_size // 2
    top = max(0, (centre - cells // 2) * cell)
    return tile[top:top + cells * cell, top:top + cells * cell]


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
        self.hover_label.setFont(_bold_font(12))
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
                item.setFont(_bold_font(10))
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

    def _set_hover(self, cell: tuple[int, int] | None) -> None:
        if cell == self._hover:
            return
        self._hover = cell
        self._draw_hover()
        self.cell_hovered.emit(*(cell if cell is not None else (-1, -1)))


class CodebookAtlas(QListWidget):
    """Every code as a tile of what it draws, in a chosen order; dead codes crossed out in red."""

    code_selected = Signal(int)

    def __init__(self, tile_px: int = 40, parent=None):
        super().__init__(parent)
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setIconSize(QSize(tile_px, tile_px))
        self.setGridSize(QSize(tile_px + 6, tile_px + 6))
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setMovement(QListWidget.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSpacing(0)
        self.setStyleSheet(f"QListWidget {{ background: {BACKGROUND}; }} "
                           f"QListWidget::item:selected {{ background: {HIGHLIGHT}; border: 3px solid {HIGHLIGHT}; }}")
        self.codes: list[int] = []
        self.currentItemChanged.connect(self._on_current)

    def set_tiles(self, tiles: np.ndarray, order: np.ndarray, counts: np.ndarray | None, total_cells: int = 0,
                  selected: int | None = None) -> None:
        """Tiles (K, h, w, 3) uint8 in code order, shown in `order`; `counts` marks dead codes (count 0)."""
        self.blockSignals(True)
        self.clear()
        scale = max(1, round(self.iconSize().width() / tiles.shape[1]))
        self.codes = [int(c) for c in order]
        for code in self.codes:
            dead = counts is not None and counts[code] == 0
            tile = np.repeat(np.repeat(tiles[code], scale, 0), scale, 1)
            item = QListWidgetItem(_unselected_look(mark_dead(tile) if dead else tile), "")
            item.setData(Qt.ItemDataRole.UserRole, code)
            if counts is None:
                item.setToolTip(f"code {code}")
            elif dead:
                item.setToolTip(f"code {code}: dead, used in no cell of the data set")
            else:
                share = counts[code] / total_cells if total_cells else 0.0
                item.setToolTip(f"code {code}: {int(counts[code]):,} cells ({share:.2%})")
            self.addItem(item)
        self.blockSignals(False)
        self.select(selected)

    def select(self, code: int | None) -> None:
        """Show `code` as selected without emitting."""
        self.blockSignals(True)
        if code is None or code not in self.codes:
            self.setCurrentRow(-1)
        else:
            row = self.codes.index(code)
            self.setCurrentRow(row)
            self.scrollToItem(self.item(row))
        self.blockSignals(False)

    def _on_current(self, item: QListWidgetItem | None, _previous) -> None:
        if item is not None:
            self.code_selected.emit(int(item.data(Qt.ItemDataRole.UserRole)))


class UsageHistogram(pg.PlotWidget):
    """How many cells use each code (bars in the atlas's order and the codes' colours); a click picks a bar."""

    code_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent, background=BACKGROUND)
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.hideButtons()
        plot.showGrid(y=True, alpha=0.15)
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            axis.setTickFont(TICK_FONT)
            axis.setTextPen("#c8c8c8")
            axis.setPen("#666666")
        plot.setLabel("left", "cells", **LABEL_STYLE)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.85)
        self.dead_marks = pg.ScatterPlotItem(symbol="x", size=9, pen=pg.mkPen(DEAD, width=2), brush=None)
        self.selected_bar = pg.BarGraphItem(x=[], height=[], width=1.0, brush=pg.mkBrush(HIGHLIGHT), pen=None)
        for item in (self.bars, self.dead_marks, self.selected_bar):
            self.addItem(item)
        self.order = np.zeros(0, np.int64)
        self.counts: np.ndarray | None = None
        self.selected: int | None = None
        self.scene().sigMouseClicked.connect(self._on_click)

    def set_counts(self, counts: np.ndarray | None, order: np.ndarray, colours: np.ndarray | None,
                   order_name: str = "index") -> None:
        self.counts = None if counts is None else np.asarray(counts)
        self.order = np.asarray(order)
        k = len(self.order)
        plot = self.getPlotItem()
        if self.counts is None or k == 0:
            self.bars.setOpts(x=[], height=[])
            self.dead_marks.setData([], [])
            self._draw_selected()
            return
        heights = self.counts[self.order]
        brushes = [pg.mkBrush(*colours[c]) for c in self.order] if colours is not None else None
        self.bars.setOpts(x=np.arange(k), height=heights, width=0.85, brushes=brushes, pen=None)
        dead = np.flatnonzero(heights == 0)
        self.dead_marks.setData(dead.astype(float), np.zeros(len(dead)))
        plot.setXRange(-1, k, padding=0)
        plot.setYRange(0, max(1, heights.max()) * 1.05, padding=0)
        bottom = plot.getAxis("bottom")
        if order_name == "index":
            bottom.setTicks(None)
            plot.setLabel("bottom", "code", **LABEL_STYLE)
        else:
            step = max(1, k // 8)
            bottom.setTicks([[(i, str(int(self.order[i]))) for i in range(0, k, step)]])
            plot.setLabel("bottom", f"code (sorted by {order_name})", **LABEL_STYLE)
        self._draw_selected()

    def select(self, code: int | None) -> None:
        self.selected = code
        self._draw_selected()

    def _draw_selected(self) -> None:
        if self.counts is None or self.selected is None or self.selected not in self.order:
            self.selected_bar.setOpts(x=[], height=[])
            return
        i = int(np.flatnonzero(self.order == self.selected)[0])
        top = self.getPlotItem().vb.viewRange()[1][1]
        height = max(float(self.counts[self.selected]), top * 0.02)  # a dead code still shows where it is
        self.selected_bar.setOpts(x=[i], height=[height], width=1.0)

    def code_at(self, scene_pos) -> int | None:
        vb = self.getPlotItem().vb
        if self.counts is None or not vb.sceneBoundingRect().contains(scene_pos):
            return None
        i = int(round(vb.mapSceneToView(scene_pos).x()))
        return int(self.order[i]) if 0 <= i < len(self.order) else None

    def scene_pos_of_code(self, code: int):
        i = int(np.flatnonzero(self.order == code)[0])
        height = float(self.counts[code]) if self.counts is not None else 0.0
        return self.getPlotItem().vb.mapViewToScene(QPointF(i, height / 2))

    def _on_click(self, event) -> None:
        code = self.code_at(event.scenePos())
        if code is not None:
            self.code_clicked.emit(code)


class CodebookMap(pg.PlotWidget):
    """The codebook vectors projected on their two main axes (PCA); points sized by usage and filled
    with the colour the code draws, dead codes as red rings, codes of the current grid ringed in
    white; a click picks a code."""

    code_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent, background=BACKGROUND)
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setAspectLocked(True)
        plot.showGrid(x=True, y=True, alpha=0.12)
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            axis.setTickFont(TICK_FONT)
            axis.setTextPen("#c8c8c8")
            axis.setPen("#666666")
        self.points = pg.ScatterPlotItem(hoverable=True, tip=lambda x, y, data: f"code {data}",
                                         hoverPen=pg.mkPen(HOVER, width=2))
        self.ring = pg.ScatterPlotItem(size=30, pen=pg.mkPen(HIGHLIGHT, width=4), brush=None, symbol="o")
        self.ring.setAcceptHoverEvents(False)
        self.ring.setZValue(10)
        self.grid_rings = pg.ScatterPlotItem(pen=pg.mkPen("w", width=2), brush=None, symbol="o", pxMode=True)
        self.grid_rings.setAcceptHoverEvents(False)
        self.grid_rings.setZValue(5)
        self.in_grid = np.zeros(0, np.int64)
        self.addItem(self.points)
        self.addItem(self.grid_rings)
        self.addItem(self.ring)
        self.coords = np.zeros((0, 2), np.float32)
        self.sizes = np.zeros(0)
        self.selected: int | None = None
        self.points.sigClicked.connect(self._on_click)

    def set_codebook(self, coords: np.ndarray, colours: np.ndarray, counts: np.ndarray | None,
                     explained: tuple[float, float] | None = None) -> None:
        """`colours`: what each code draws (e.g. its tile's mean colour), so colour clusters show on the map.

        Builds one symbol per point (slow-ish, ~100 ms for 128 codes on a busy machine): call it when
        the codebook or the counts change, and `set_in_grid` (cheap) when the grid does.
        """
        self.coords = np.asarray(coords, np.float32)
        k = len(self.coords)
        if counts is None:
            self.sizes = np.full(k, 12.0)
        else:
            share = np.sqrt(np.asarray(counts, np.float64) / max(1, np.max(counts)))
            self.sizes = 6 + 24 * share
        dead = np.zeros(k, bool) if counts is None else np.asarray(counts) == 0
        live_pen, dead_pen = pg.mkPen("#707070", width=1), pg.mkPen(DEAD, width=2)
        self.points.setData(
            pos=self.coords, size=np.where(dead, 10.0, self.sizes), data=np.arange(k),
            pen=[dead_pen if d else live_pen for d in dead],
            brush=[pg.mkBrush(0, 0, 0, 0) if d else pg.mkBrush(*colours[c], 230) for c, d in enumerate(dead)])
        plot = self.getPlotItem()
        if explained is not None:
            plot.setLabel("bottom", f"PC 1 ({explained[0]:.0%} of the variance)", **LABEL_STYLE)
            plot.setLabel("left", f"PC 2 ({explained[1]:.0%})", **LABEL_STYLE)
        self.set_in_grid(self.in_grid)
        self._draw_ring()

    def set_in_grid(self, codes: np.ndarray | list[int]) -> None:
        """Ring the codes the current grid uses (one shared symbol: cheap on every brush step)."""
        self.in_grid = np.asarray(sorted(set(int(c) for c in codes)), np.int64)
        codes = self.in_grid[self.in_grid < len(self.coords)]
        self.grid_rings.setData(pos=self.coords[codes], size=self.sizes[codes] + 6)

    def select(self, code: int | None) -> None:
        self.selected = code
        self._draw_ring()

    def _draw_ring(self) -> None:
        if self.selected is None or not 0 <= self.selected < len(self.coords):
            self.ring.setData([])
            return
        self.ring.setData(pos=self.coords[self.selected][None], size=float(self.sizes[self.selected]) + 14)

    def _on_click(self, _item, points, _event=None) -> None:
        if len(points):
            self.code_clicked.emit(int(points[0].data()))


def _unselected_look(tile: np.ndarray) -> QIcon:
    """An icon that looks the same when selected (Qt would tint it with the highlight colour, and a
    tile must show the code's true colours): the selection shows as the item's yellow frame instead."""
    pixmap = QPixmap.fromImage(numpy_to_qimage(tile))
    icon = QIcon(pixmap)
    icon.addPixmap(pixmap, QIcon.Mode.Selected)
    return icon


def _bold_font(points: int) -> QFont:
    font = QFont()
    font.setPointSize(points)
    font.setBold(True)
    return font

