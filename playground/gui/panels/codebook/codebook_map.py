"""The codebook map: every code drawn as the tile it decodes to, placed by the codebook's two main
axes (PCA) and snapped to a grid that fills the view, so that no code hides another."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen

from ....core.codebook.layout import grid_layout, grid_shape
from ...widgets.images import BACKGROUND
from ...widgets.codebook_style import HIGHLIGHT, HOVER, mark_dead

GAP = 4  # pixels of the tiles' own resolution between two tiles
FRAME = QColor("#5a5d66")  # every tile's thin frame: dark tiles stay visible on the dark background


class CodebookMap(pg.GraphicsLayoutWidget):
    """Tiles of the codes laid out by PCA on a grid shaped like the view. The wheel zooms, a drag
    pans, a double-click fits; hovering names the code, a click picks it. The selected code is
    framed yellow, the codes of the current grid white, dead codes are crossed out in red."""

    code_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.ci.setContentsMargins(0, 0, 0, 0)
        self.view = self.addViewBox(lockAspect=True, enableMouse=True, invertY=True)
        self.view.setMenuEnabled(False)
        self.view.setDefaultPadding(0.01)
        self.image_item = pg.ImageItem()
        self.view.addItem(self.image_item)
        self.grid_frames = self._path_item("w", 2, 5)
        self.hover_frame = self._path_item(HOVER, 3, 8)
        self.selected_frame = self._path_item(HIGHLIGHT, 4, 10)
        self.hover_label = pg.TextItem("", color="#ffffff", fill=pg.mkBrush(20, 20, 24, 220), anchor=(0.5, 1.0))
        self.hover_label.setZValue(20)
        font = self.hover_label.textItem.font()
        font.setPointSize(14)
        font.setBold(True)
        self.hover_label.setFont(font)
        self.hover_label.hide()
        self.view.addItem(self.hover_label, ignoreBounds=True)
        self.coords = np.zeros((0, 2), np.float32)
        self.tiles: np.ndarray | None = None
        self.counts: np.ndarray | None = None
        self.explained: tuple[float, float] | None = None
        self.cells = np.zeros((0, 2), np.int64)  # (K, 2): each code's (row, column)
        self.shape = (0, 0)  # (rows, columns) of the layout
        self.pitch = 1  # one cell of the mosaic, in tile pixels
        self.in_grid = np.zeros(0, np.int64)
        self.selected: int | None = None
        self.hovered: int | None = None
        self.setMinimumSize(160, 120)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.scene().sigMouseClicked.connect(self._on_scene_click)

    def _path_item(self, colour, width: int, z: float):
        item = pg.QtWidgets.QGraphicsPathItem()
        pen = QPen(QColor(colour))
        pen.setWidthF(width)
        pen.setCosmetic(True)  # the same width in screen pixels at any zoom
        item.setPen(pen)
        item.setZValue(z)
        self.view.addItem(item, ignoreBounds=True)
        return item

    # --- data ------------------------------------------------------------------------------------

    def set_codebook(self, coords: np.ndarray, tiles: np.ndarray, counts: np.ndarray | None,
                     explained: tuple[float, float] | None = None) -> None:
        """`coords` (K, 2): PCA of the code vectors; `tiles` (K, h, w, 3) uint8: what each code draws;
        `counts`: its usage (None: not counted; 0: dead, crossed out)."""
        self.coords = np.asarray(coords, np.float32)
        self.tiles, self.counts, self.explained = np.asarray(tiles), counts, explained
        self.shape = (0, 0)
        self._lay_out()

    def _lay_out(self) -> None:
        """(Re)build the mosaic for the view's current shape (cheap: called when the view's aspect
        asks for another number of rows and columns)."""
        k = len(self.coords)
        if self.tiles is None or k == 0:
            self.image_item.clear()
            return
        width, height = max(1.0, self.width()), max(1.0, self.height())
        shape = grid_shape(k, width / height)
        if shape == self.shape:
            return
        self.shape = rows, columns = shape
        self.cells = grid_layout(self.coords, rows, columns)
        h, w = self.tiles.shape[1:3]
        self.pitch = max(h, w) + GAP
        mosaic = np.empty((rows * self.pitch + GAP, columns * self.pitch + GAP, 3), np.uint8)
        mosaic[:] = QColor(BACKGROUND).getRgb()[:3]
        for code, (row, column) in enumerate(self.cells):
            top, left = row * self.pitch + GAP, column * self.pitch + GAP
            mosaic[top - 1:top + h + 1, left - 1:left + w + 1] = FRAME.getRgb()[:3]
            dead = self.counts is not None and self.counts[code] == 0
            mosaic[top:top + h, left:left + w] = mark_dead(self.tiles[code]) if dead else self.tiles[code]
        self.image_item.setImage(mosaic, levels=(0, 255), autoLevels=False)
        self.view.autoRange(padding=0.01)
        self._draw_frames()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if hasattr(self, "tiles"):  # not while __init__ builds the view
            self._lay_out()

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.view.autoRange(padding=0.01)

    def set_in_grid(self, codes: np.ndarray | list[int]) -> None:
        """Frame the codes the current grid uses (one path: cheap on every brush step)."""
        self.in_grid = np.asarray(sorted(set(int(c) for c in codes)), np.int64)
        self._draw_frames()

    def select(self, code: int | None) -> None:
        self.selected = code
        self._draw_frames()

    def _draw_frames(self) -> None:
        k = len(self.cells)
        self.grid_frames.setPath(self._frames([c for c in self.in_grid if c < k], inset=-1.5))
        self.selected_frame.setPath(self._frames([self.selected] if self.selected is not None
                                                 and 0 <= self.selected < k else [], inset=-3.5))

    def _frames(self, codes, inset: float) -> QPainterPath:
        path = QPainterPath()
        for code in codes:
            path.addRect(self.cell_rect(int(code)).adjusted(inset, inset, -inset, -inset))
        return path

    # --- where things are -------------------------------------------------------------------------

    def cell_rect(self, code: int) -> QRectF:
        """The code's tile, in the mosaic's (view) coordinates."""
        row, column = self.cells[code]
        h, w = self.tiles.shape[1:3]
        return QRectF(column * self.pitch + GAP, row * self.pitch + GAP, w, h)

    def code_at(self, x: float, y: float) -> int | None:
        """The code whose cell holds the view point (x, y), or None."""
        if not len(self.cells) or x < 0 or y < 0:
            return None
        row, column = int(y // self.pitch), int(x // self.pitch)
        hit = np.flatnonzero((self.cells[:, 0] == row) & (self.cells[:, 1] == column))
        return int(hit[0]) if len(hit) else None

    def widget_rect(self, code: int | None = None) -> QRectF:
        """Where a code's tile (or, with None, the whole mosaic) is drawn, in this widget's pixels."""
        if code is None:
            rect = self.image_item.mapRectToScene(self.image_item.boundingRect())
        else:
            rect = self.view.mapViewToScene(self.cell_rect(code)).boundingRect()
        return self.mapFromScene(rect).boundingRect().toRectF()

    def widget_pos(self, code: int) -> QPointF:
        """The centre of a code's tile in this widget's pixels (for tests and pointing)."""
        return self.widget_rect(code).center()

    # --- the mouse --------------------------------------------------------------------------------

    def _on_mouse_moved(self, scene_pos) -> None:
        point = self.view.mapSceneToView(scene_pos)
        self.hover(self.code_at(point.x(), point.y()))

    def hover(self, code: int | None) -> None:
        """Name the code under the mouse above its tile, framed in blue."""
        self.hovered = code
        if code is None or self.tiles is None:
            self.hover_label.hide()
            self.hover_frame.setPath(QPainterPath())
            return
        rect = self.cell_rect(code)
        self.hover_frame.setPath(self._frames([code], inset=-2.5))
        text = f"code {code}"
        if self.counts is not None:
            used = int(self.counts[code])
            text += ": dead" if used == 0 else f": {used:,} cells"
        self.hover_label.setText(text)
        row, column = self.cells[code]
        below = row == 0  # the top row: the name under the tile, not above the view
        side = 0.0 if column < self.shape[1] / 3 else 1.0 if column >= 2 * self.shape[1] / 3 else 0.5  # stays inside
        self.hover_label.setAnchor((side, 0.0 if below else 1.0))
        x = rect.left() if side == 0.0 else rect.right() if side == 1.0 else rect.center().x()
        self.hover_label.setPos(x, rect.bottom() + 2 if below else rect.top() - 2)
        self.hover_label.show()

    def _on_scene_click(self, event) -> None:
        if event.double():
            return
        point = self.view.mapSceneToView(event.scenePos())
        code = self.code_at(point.x(), point.y())
        if code is not None:
            self.code_clicked.emit(code)

    def _on_click(self, _item, points, _event=None) -> None:
        """A click on `points` (objects with `data()` -> code): what the scatter version took."""
        if len(points):
            self.code_clicked.emit(int(points[0].data()))

    LEGEND = ("White frame: a code of the current grid; yellow: the selected code; red cross: a dead code. "
              "Hover names a code, a click selects it; the wheel zooms, a drag pans, a double-click fits.")

    def description(self) -> str:
        """What the layout means, in one line under the map (the legend is its tooltip)."""
        if self.explained is None:
            return "Each code's tile, placed by the code vectors' two main axes (PCA)."
        return (f"Each code's tile, placed by PCA: → PC 1 ({self.explained[0]:.0%} of the variance), "
                f"↓ PC 2 ({self.explained[1]:.0%})")
