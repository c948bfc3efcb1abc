"""The selected code up close: drawn alone and in context, how much it is used, its nearest codes,
and the data-set images that use it most."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ...widgets.gallery import icon_item, icon_list, item_value
from ...widgets.images import BACKGROUND
from ...widgets.codebook_style import HIGHLIGHT, heading, subheading, tile_pixmap

TILE_PX = 84


class CodeDetails(QWidget):
    """What one code is: drawn alone and in context, its usage, its neighbours, the images that use it most."""

    code_clicked = Signal(int)  # a nearest code was clicked
    image_clicked = Signal(int)  # a data-set item (index) was clicked

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(heading("Selected code"))
        card = QGridLayout()
        self.fill = QLabel()
        self.context = QLabel()
        for label, tip in ((self.fill, "the code in every cell"),
                           (self.context, "the code alone in the centre cell, amid the most used code (3×3 cells)")):
            label.setFixedSize(TILE_PX, TILE_PX)
            label.setToolTip(tip)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet(f"background: {BACKGROUND};")
        self.title = QLabel("–")
        self.title.setStyleSheet(f"color: {HIGHLIGHT}; font-size: 18pt; font-weight: bold;")
        self.stats = QLabel("")
        self.stats.setWordWrap(True)
        self.stats.setStyleSheet("font-size: 11pt;")
        self.stats.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        card.addWidget(self.fill, 0, 0, 2, 1)
        card.addWidget(self.context, 0, 1, 2, 1)
        card.addWidget(self.title, 0, 2)
        card.addWidget(self.stats, 1, 2)
        card.setColumnStretch(2, 1)
        layout.addLayout(card)
        layout.addWidget(subheading("nearest codes in the codebook"))
        self.nearest = icon_list(32, one_row=True)
        layout.addWidget(self.nearest)
        self.top_title = subheading("data-set images that use it most")
        layout.addWidget(self.top_title)
        self.top = icon_list(40)
        layout.addWidget(self.top, 1)
        self.nearest.itemClicked.connect(lambda item: self.code_clicked.emit(item_value(item)))
        self.top.itemClicked.connect(lambda item: self.image_clicked.emit(item_value(item)))

    def clear(self) -> None:
        self.title.setText("–")
        self.stats.setText("")
        self.fill.clear()
        self.context.clear()
        self.nearest.clear()
        self.top.clear()

    def show_code(self, code: int, fill: np.ndarray, context: np.ndarray | None,
                  neighbours: list[tuple[int, np.ndarray]]) -> None:
        self.title.setText(f"code {code}")
        self.fill.setPixmap(tile_pixmap(fill, TILE_PX))
        if context is not None:
            self.context.setPixmap(tile_pixmap(context, TILE_PX))
        else:
            self.context.clear()
        self.nearest.clear()
        for near, tile in neighbours:
            self.nearest.addItem(icon_item(tile, near, f"code {near}"))

    def set_stats(self, html: str) -> None:
        self.stats.setText(html)

    def show_top_images(self, title: str, items: list[tuple[int, np.ndarray, str]]) -> None:
        """(data-set index, image, tooltip) per image, most first."""
        self.top_title.setText(title)
        self.top.clear()
        for index, image, tip in items:
            self.top.addItem(icon_item(image, index, tip, scale=2))

    @property
    def top_indices(self) -> list[int]:
        return [item_value(self.top.item(i)) for i in range(self.top.count())]
