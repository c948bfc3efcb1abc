"""The codebook browser's middle column: the whole codebook (as an atlas of tiles or as a PCA map)
and how much each code is used on a data set (numbers and a histogram)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget

from ....core.codebook.analysis import codes_used, perplexity
from ...widgets.titled import NumberTiles
from ...widgets.atlas import CodebookAtlas
from .codebook_map import CodebookMap
from .histogram import UsageHistogram
from .state import CodebookView, Usage
from ...widgets.codebook_style import heading, subheading

DATA_SETS = {"shapes": 2000, "digits": None}  # items encoded for usage (None: all); shapes are held out (seed 1)
ORDERS = {"index": "index", "usage": "usage", "similarity": "similarity"}
TILE_MODES = {"fill": "filled", "context": "in context"}


class CodebookColumn(QWidget):
    """Atlas and map of the codebook, the data set to count usage on, and the usage numbers and histogram.
    `code_selected` fires when a tile, a point or a bar is clicked."""

    code_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.views = QTabWidget()
        self.views.addTab(self._atlas_tab(), "Codebook atlas")
        self.views.addTab(self._map_tab(), "Codebook map")
        self.large_button = QPushButton("⤢ Larger")
        self.large_button.setCheckable(True)
        self.large_button.setToolTip("Hide the usage numbers and histogram: the atlas and the map take the whole "
                                     "column (for a room); press again to bring them back")
        self.large_button.toggled.connect(self.set_large)
        self.views.setCornerWidget(self.large_button)
        self.split = QSplitter(Qt.Orientation.Vertical)  # the views above, usage below: the map gets the height
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.views)
        usage = QWidget()
        layout.addWidget(self.split, 1)
        layout = QVBoxLayout(usage)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        data_row = QHBoxLayout()
        self.dataset_box = QComboBox()
        for name, n in DATA_SETS.items():
            self.dataset_box.addItem(f"{name} ({n} held out)" if n else name, name)
        self.dataset_box.setToolTip("The data set whose token grids are counted (and shown in the gallery)")
        self.count_button = QPushButton("Count usage")
        self.count_button.setToolTip("Encode the whole data set to token grids (in the background; Cancel stops it)")
        data_row.addWidget(heading("Usage on"))
        data_row.addWidget(self.dataset_box, 1)
        data_row.addWidget(self.count_button)
        layout.addLayout(data_row)
        self.usage_numbers = NumberTiles([("used", "codes used"), ("perplexity", "perplexity"),
                                          ("dead", "dead codes"), ("cells", "cells counted")])
        self.usage_numbers.values["perplexity"].setToolTip(
            "exp(entropy) of the usage: how many codes are in effective use (K if all are used equally)")
        layout.addWidget(self.usage_numbers)
        self.usage_title = subheading("")
        layout.addWidget(self.usage_title)
        self.histogram = UsageHistogram()
        self.histogram.setMinimumHeight(100)
        layout.addWidget(self.histogram, 1)
        self.split.addWidget(usage)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        self.split.setSizes([540, 460])
        for view in (self.map, self.histogram):
            view.code_clicked.connect(self.code_selected)
        self.atlas.code_selected.connect(self.code_selected)

    def _atlas_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(2, 4, 2, 2)
        controls = QHBoxLayout()
        self.order_box = QComboBox()
        for key, text in ORDERS.items():
            self.order_box.addItem(text, key)
        self.order_box.setToolTip("Order of the tiles and of the histogram's bars: code index, most used first, "
                                  "or similarity (a nearest-neighbour chain through the codebook)")
        self.tile_box = QComboBox()
        for key, text in TILE_MODES.items():
            self.tile_box.addItem(text, key)
        self.tile_box.setToolTip("Filled: the grid is this code in every cell.\n"
                                 "In context: the most used code everywhere and this one in the centre cell, "
                                 "zoomed to the 3×3 cells around it")
        controls.addWidget(QLabel("sort by"))
        controls.addWidget(self.order_box, 1)
        controls.addWidget(QLabel("tiles"))
        controls.addWidget(self.tile_box, 1)
        layout.addLayout(controls)
        self.atlas = CodebookAtlas(tile_px=40, columns=8)  # 8 a row, as large as the column allows
        layout.addWidget(self.atlas, 1)
        self.atlas_info = subheading("")
        layout.addWidget(self.atlas_info)
        return tab

    def _map_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(2, 4, 2, 2)
        self.map = CodebookMap()
        layout.addWidget(self.map, 1)
        self.map_info = subheading(self.map.description())
        self.map_info.setToolTip(self.map.LEGEND)
        layout.addWidget(self.map_info)
        return tab

    def set_large(self, large: bool) -> None:
        """The atlas and the map over the whole column (the usage section hidden), or back."""
        self.large_button.setChecked(large)
        self.split.widget(1).setVisible(not large)

    # --- what it shows -------------------------------------------------------------------------------

    @property
    def data_set(self) -> str:
        return self.dataset_box.currentData()

    @property
    def in_context(self) -> bool:
        return self.tile_box.currentData() == "context"

    def set_data_set(self, name: str) -> None:
        """Pick the data set the model was trained on, without asking for a count."""
        self.dataset_box.blockSignals(True)
        self.dataset_box.setCurrentIndex(max(0, self.dataset_box.findData(name)))
        self.dataset_box.blockSignals(False)

    def order(self, k: int, counts: np.ndarray | None, view: CodebookView | None) -> np.ndarray:
        key = self.order_box.currentData()
        if key == "usage" and counts is not None:
            return np.argsort(-counts, kind="stable")
        if key == "similarity" and view is not None:
            return view.similarity
        return np.arange(k)

    def show_usage(self, counts: np.ndarray | None, k: int, usage: Usage | None, counting: bool) -> None:
        if counts is None:
            self.usage_numbers.set_values({})
        else:
            self.usage_numbers.set_values({
                "used": f"{codes_used(counts)} / {k}", "perplexity": f"{perplexity(counts):.1f}",
                "dead": str(int((counts == 0).sum())), "cells": f"{int(counts.sum()):,}",
            })
        if usage is not None:
            self.usage_title.setText(f"Cells per code over {len(usage.data)} {usage.data.name} images "
                                     f"({usage.tokens.shape[1]}×{usage.tokens.shape[2]} tokens each). "
                                     "Click a bar to select its code.")
        elif counting:
            self.usage_title.setText("Counting… (Cancel in the status bar stops it)")
        else:
            shown = " Shown: the checkpoint's validation-set counts." if counts is not None else ""
            self.usage_title.setText("Usage on the data set not counted: press Count usage." + shown)

    def show_codebook(self, view: CodebookView, counts: np.ndarray | None, selected: int | None,
                      in_grid: np.ndarray) -> None:
        order = self.order(len(view.fill_tiles), counts, view)
        context = self.in_context and view.context_tiles is not None
        tiles = view.context_tiles if context else view.fill_tiles
        self.atlas.set_tiles(tiles, order, counts, int(counts.sum()) if counts is not None else 0, selected)
        self.histogram.set_counts(counts, order, view.colours, self.order_box.currentData())
        self.histogram.select(selected)
        self.map.set_codebook(view.coords, view.fill_tiles, counts, view.explained)
        self.map_info.setText(self.map.description())
        self.map.set_in_grid(in_grid)
        self.map.select(selected)
        dead = int((counts == 0).sum()) if counts is not None else 0
        what = "the code over the whole grid" if not context else f"one cell amid code {view.background}, zoomed"
        self.atlas_info.setText(f"{len(order)} codes, each decoded as {what}"
                                + (f"; {dead} dead (red cross)" if dead else "; no dead codes"))

    def select(self, code: int | None) -> None:
        self.atlas.select(code)
        self.histogram.select(code)
        self.map.select(code)
