"""The codebook browser's right-hand column: a data-set gallery to encode an image from, and the
selected code up close with its numbers and the images that use it most."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ....core.codebook.analysis import top_items_for_code
from ...widgets.gallery import DataGallery
from .details import CodeDetails
from .state import CodebookView, Usage
from ...widgets.codebook_style import heading

TOP_IMAGES = 16


class CodeColumn(QWidget):
    """`gallery.picked(index)`: encode that image; `details.code_clicked`, `details.image_clicked`."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(heading("Data set · click an image to encode it"))
        self.gallery = DataGallery(icon_px=40)
        layout.addWidget(self.gallery, 3)
        self.details = CodeDetails()
        layout.addWidget(self.details, 4)
        self._data_set_lines: list[str] = []

    def show_code(self, code: int | None, view: CodebookView | None) -> None:
        if code is None or view is None:
            self.details.clear()
            return
        context = view.context_tiles[code] if view.context_tiles is not None else None
        self.details.show_code(code, view.fill_tiles[code], context,
                               [(int(c), view.fill_tiles[c]) for c in view.neighbours[code]])

    def show_stats(self, code: int | None, grid: np.ndarray | None, counts: np.ndarray | None = None,
                   usage: Usage | None = None, data_set: bool = True) -> None:
        """The code's numbers; `data_set=False` (a brush step) keeps the data-set lines already shown."""
        if code is None:
            return
        if data_set:
            lines = []
            if counts is not None:
                total = max(1, int(counts.sum()))
                lines.append(f"{int(counts[code]):,} cells · {counts[code] / total:.2%}" if counts[code]
                             else "<span style='color:#eb4034'>dead: no cell uses it</span>")
            if usage is not None:
                images = int((usage.tokens == code).any(axis=(1, 2)).sum())
                lines.append(f"in {images} of {len(usage.data)} {usage.data.name} images")
            elif counts is not None:
                lines.append("(on the checkpoint's validation set)")
            self._data_set_lines = lines
        in_grid = None if grid is None else int((grid == code).sum())
        grid_line = [] if in_grid is None else [f"<b>{in_grid}</b> cell{'' if in_grid == 1 else 's'} of this grid"]
        self.details.set_stats("<br>".join(self._data_set_lines + grid_line))

    def show_top_images(self, code: int | None, usage: Usage | None) -> None:
        if usage is None or code is None:
            self.details.show_top_images("data-set images that use it most (once usage is counted)", [])
            return
        items, cells = top_items_for_code(usage.tokens, code, TOP_IMAGES)
        per_grid = usage.tokens.shape[1] * usage.tokens.shape[2]
        title = (f"the {len(items)} {usage.data.name} images that use it most" if len(items)
                 else f"no {usage.data.name} image uses it")
        self.details.show_top_images(title, [
            (int(i), usage.data.images[i], f"{usage.data.describe(int(i))}: {int(n)} of {per_grid} cells")
            for i, n in zip(items, cells)])
