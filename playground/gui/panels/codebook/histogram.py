"""The usage histogram: how many cells of the counted data set use each code."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal

from ...widgets.images import BACKGROUND
from ...widgets.codebook_style import DEAD, HIGHLIGHT, LABEL_STYLE, style_plot


class UsageHistogram(pg.PlotWidget):
    """How many cells use each code (bars in the atlas's order and the codes' colours); a click picks a bar."""

    code_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent, background=BACKGROUND)
        plot = self.getPlotItem()
        style_plot(plot)
        plot.setMouseEnabled(x=False, y=False)
        plot.showGrid(y=True, alpha=0.15)
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
