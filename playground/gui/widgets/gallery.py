"""The data-set gallery: a grid of thumbnails to pick an image from (one widget for every panel).

`load` fetches a data set's images (`core.data.gallery_images`) in a panel's worker, through
`Panel.submit` (so a result for an older model or request is dropped), and fills the gallery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from ...core.data import ImageSet, gallery_images
from .images import thumbnail_icon

if TYPE_CHECKING:
    from ..panels.base import Panel
    from ..worker import ModelWorker

GALLERY_SIZE = 96  # images a gallery loads


def as_icon_grid(icons: QListWidget, icon_px: int) -> QListWidget:
    """Make a list widget a static grid of `icon_px` image icons (galleries, code lists, the atlas)."""
    icons.setViewMode(QListWidget.ViewMode.IconMode)
    icons.setIconSize(QSize(icon_px, icon_px))
    icons.setGridSize(QSize(icon_px + 6, icon_px + 6))
    icons.setResizeMode(QListWidget.ResizeMode.Adjust)
    icons.setMovement(QListWidget.Movement.Static)
    icons.setUniformItemSizes(True)
    return icons


def icon_list(icon_px: int, one_row: bool = False) -> QListWidget:
    """A grid of image icons (or one row of them), as the gallery and the code lists use."""
    icons = as_icon_grid(QListWidget(), icon_px)
    if one_row:
        icons.setFlow(QListWidget.Flow.LeftToRight)
        icons.setWrapping(False)
        icons.setFixedHeight(icon_px + 14)
        icons.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return icons


def icon_item(image: np.ndarray, value: int, tooltip: str, scale: int = 1) -> QListWidgetItem:
    item = QListWidgetItem(thumbnail_icon(image, scale=scale), "")
    item.setData(Qt.ItemDataRole.UserRole, int(value))
    item.setToolTip(tooltip)
    return item


def item_value(item: QListWidgetItem) -> int:
    return int(item.data(Qt.ItemDataRole.UserRole))


class DataGallery(QListWidget):
    """Thumbnails of a data set; `picked(index)` fires on a click or keyboard move, also on the
    item already selected (clicking the same image again re-encodes it)."""

    picked = Signal(int)

    def __init__(self, icon_px: int = 48, parent=None):
        super().__init__(parent)
        self.data: ImageSet | None = None
        as_icon_grid(self, icon_px)
        self.setToolTip("Images from the data set (not the training draw)")
        self._press_on_current = False
        self.currentRowChanged.connect(self._emit_row)
        self.itemClicked.connect(self._on_clicked)

    def load(self, panel: Panel, name: str, n: int = GALLERY_SIZE, on_loaded: Callable[[ImageSet], None] | None = None,
             worker: ModelWorker | None = None, select_first: bool = False) -> None:
        """Load `n` images of data set `name` in the panel's worker (channel "gallery") and show them;
        then `on_loaded(data)`. `select_first` picks the first image (which fires `picked`)."""

        def done(data: ImageSet) -> None:
            self.set_data(data, select_first=select_first)
            if on_loaded is not None:
                on_loaded(data)

        panel.submit(lambda ctx: gallery_images(name, n), channel="gallery", on_result=done, worker=worker)

    def set_data(self, data: ImageSet, select_first: bool = False) -> None:
        self.data = data
        self.blockSignals(True)
        self.clear()
        for i in range(len(data)):
            self.addItem(icon_item(data.images[i], i, data.describe(i), scale=2))
        self.blockSignals(False)
        if select_first and len(data):
            self.setCurrentRow(0)

    def image(self, index: int | None = None) -> np.ndarray | None:
        index = self.currentRow() if index is None else index
        if self.data is None or not 0 <= index < len(self.data):
            return None
        return self.data.images[index]

    def describe(self, index: int) -> str:
        return self.data.describe(index) if self.data is not None else ""

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        item = self.itemAt(event.position().toPoint())
        self._press_on_current = item is not None and item is self.currentItem()
        super().mousePressEvent(event)

    def _on_clicked(self, item: QListWidgetItem) -> None:
        if self._press_on_current:  # a click on the image already picked: pick it again
            self._press_on_current = False
            self._emit_row(self.row(item))

    def _emit_row(self, row: int) -> None:
        if self.data is not None and row >= 0:
            self.picked.emit(row)
