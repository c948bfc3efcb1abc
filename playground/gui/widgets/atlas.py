"""The codebook atlas: every code as a tile of what it draws, in a chosen order, dead codes crossed out."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from .gallery import as_icon_grid
from .images import BACKGROUND, numpy_to_qimage
from .codebook_style import HIGHLIGHT, mark_dead


class CodebookAtlas(QListWidget):
    """Every code as a tile of what it draws, in a chosen order; dead codes crossed out in red."""

    code_selected = Signal(int)

    def __init__(self, tile_px: int = 40, parent=None, columns: int | None = None):
        """`columns`: tiles grow (never below `tile_px`) so that this many fill a row: larger in a larger window."""
        super().__init__(parent)
        as_icon_grid(self, tile_px)
        self.min_tile, self.columns = tile_px, columns
        self._shown: tuple | None = None  # the last set_tiles arguments, drawn again at a new tile size
        self.setSpacing(0)
        self.setStyleSheet(f"QListWidget {{ background: {BACKGROUND}; }} "
                           f"QListWidget::item:selected {{ background: {HIGHLIGHT}; border: 3px solid {HIGHLIGHT}; }}")
        self.codes: list[int] = []
        self.currentItemChanged.connect(self._on_current)

    def set_tiles(self, tiles: np.ndarray, order: np.ndarray, counts: np.ndarray | None, total_cells: int = 0,
                  selected: int | None = None) -> None:
        """Tiles (K, h, w, 3) uint8 in code order, shown in `order`; `counts` marks dead codes (count 0)."""
        self._shown = (tiles, order, counts, total_cells)
        self.blockSignals(True)
        self.clear()
        scale = max(1, round(self.iconSize().width() / tiles.shape[1]))
        self.codes = [int(c) for c in order]
        for code in self.codes:
            dead = counts is not None and counts[code] == 0
            tile = np.repeat(np.repeat(tiles[code], scale, 0), scale, 1)
            item = QListWidgetItem(_unselected_look(mark_dead(tile) if dead else tile, self.iconSize().width()), "")
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

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if not self.columns:
            return
        width = self.width() - 2 * self.frameWidth() - self.verticalScrollBar().sizeHint().width()  # stable: no loop
        tile = max(self.min_tile, width // self.columns - 6)
        if tile != self.iconSize().width():
            as_icon_grid(self, tile)
            if self._shown is not None:
                current = self.currentItem()
                self.set_tiles(*self._shown, selected=int(current.data(Qt.ItemDataRole.UserRole)) if current else None)

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


def _unselected_look(tile: np.ndarray, size: int = 0) -> QIcon:
    """An icon that looks the same when selected (Qt would tint it with the highlight colour, and a
    tile must show the code's true colours): the selection shows as the item's yellow frame instead."""
    pixmap = QPixmap.fromImage(numpy_to_qimage(tile))
    if size and pixmap.width() != size:  # the icon's size exactly, pixels kept square and sharp
        pixmap = pixmap.scaled(size, size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.FastTransformation)
    icon = QIcon(pixmap)
    icon.addPixmap(pixmap, QIcon.Mode.Selected)
    return icon
