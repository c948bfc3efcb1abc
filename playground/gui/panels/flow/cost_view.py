"""What latent space buys: per-step time and GFLOPs of the pixel U-Net, the latent U-Net, the DiT and
the SiT, and the numbers each denoises; measured in the panel's worker on this machine, cached per
checkpoint (core/latent_diffusion/cost.py)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from ....core.checkpoints import LoadedModel
from ....core.latent_diffusion.cost import LATENT_COST_FAMILIES, REPEATS, ForwardCost, cached_measure
from ...widgets.images import BACKGROUND

COLUMNS = ("network", "values", "GFLOP", "ms b1", "ms b2")
SHORT = {"pixel U-Net": "pixel", "latent U-Net": "LDM", "latent DiT": "DiT", "latent SiT": "SiT"}
BATCH_COLORS = ("#6fa8dc", "#f2cc8f")


class CostView(QWidget):
    def __init__(self, panel):
        super().__init__()
        self.panel = panel
        self.costs: list[ForwardCost] = []
        self._pending: list[LoadedModel] = []   # networks still to time, one job each
        self._measured: list[ForwardCost] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        title = QLabel("What latent space buys")
        title.setStyleSheet("color: #e6e6e6; font-size: 13pt; font-weight: bold;")
        layout.addWidget(title)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setFixedHeight(4 * 26 + 30)
        layout.addWidget(self.table)
        self.plot = pg.PlotWidget(background=BACKGROUND)
        self.plot.setMinimumHeight(160)
        self.plot.setLabel("left", "ms per step", color="#c8c8c8")
        self.plot.setMouseEnabled(False, False)
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.addLegend(offset=(-4, 4), labelTextColor="#e6e6e6", brush=pg.mkBrush(22, 23, 26, 200))
        layout.addWidget(self.plot, 1)
        self.info = QLabel("Measured when this panel is first shown.")
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        self.measure_button = QPushButton("Measure")
        self.measure_button.setToolTip("Time one forward of each network (cached per checkpoint file)")
        self.measure_button.clicked.connect(self.request)
        layout.addWidget(self.measure_button)

    def request(self) -> None:
        """Load the networks, then time them one job each, on the panel's timing worker (its views
        never wait for it); the table fills when the last is timed."""
        if self.panel.loaded is None:
            return
        partners, picked = self.panel.partners, self.panel.loaded

        def listed(models: list[LoadedModel]) -> None:
            self._pending, self._measured = list(models), []
            self._measure_next()

        self.info.setText("Measuring one forward of each network…")
        self.panel.submit(lambda ctx: partners.costed(picked), channel="cost", on_result=listed,
                          worker=self.panel.timing)

    def _measure_next(self) -> None:
        if not self._pending:
            self.show_costs(self._measured)
            return
        loaded = self._pending.pop(0)

        def measured(cost: ForwardCost) -> None:
            self._measured.append(cost)
            self._measure_next()

        self.info.setText(f"Timing {loaded.name} ({len(self._measured) + 1} of "
                          f"{len(self._measured) + len(self._pending) + 1})…")
        self.panel.submit(lambda ctx: cached_measure(loaded, REPEATS, on_repeat=ctx.check), channel="cost",
                          on_result=measured, worker=self.panel.timing)

    def show_costs(self, costs: list[ForwardCost]) -> None:
        self.costs = costs
        self.table.setRowCount(len(costs))
        for row, c in enumerate(costs):
            cells = (c.kind, f"{c.values:,}", f"{c.gflops:.3g}", f"{c.ms_batch1:.2f}", f"{c.ms_batch2:.2f}")
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{c.name}: {c.parameters:,} parameters per step")
                self.table.setItem(row, col, item)
        self.plot.clear()
        x = np.arange(len(costs), dtype=float)
        for i, (name, values) in enumerate((("batch 1", [c.ms_batch1 for c in costs]),
                                            ("batch 2 (a guided step)", [c.ms_batch2 for c in costs]))):
            bars = pg.BarGraphItem(x=x + (i - 0.5) * 0.36, height=values, width=0.34, brush=BATCH_COLORS[i], name=name)
            self.plot.addItem(bars)
        self.plot.getAxis("bottom").setTicks([[(i, SHORT.get(c.kind, c.kind)) for i, c in enumerate(costs)]])
        rows = max(len(costs), 1) * self.table.rowHeight(0)
        self.table.setFixedHeight(rows + self.table.horizontalHeader().height() + 4)
        self.info.setText(self._summary(costs))

    @staticmethod
    def _summary(costs: list[ForwardCost]) -> str:
        if not costs:
            return "No networks to time: no shipped ddpm, ldm, dit or sit checkpoint."
        text = f"One forward each, median of {REPEATS} timed calls, {costs[0].threads} torch thread(s)."
        pixel = next((c for c in costs if c.values > 1000), None)
        latent = [c for c in costs if c.values < (pixel.values if pixel else 0)]
        if pixel is not None and latent:
            fewer = pixel.values / latent[0].values
            flops = ", ".join(f"{c.kind} {c.gflops / pixel.gflops:.2f}x" for c in latent)
            text += f" A latent has {fewer:.0f}x fewer values; GFLOPs per step against the pixel U-Net: {flops}."
        missing = [f for f in LATENT_COST_FAMILIES if all(c.family != f for c in costs)]
        if missing:
            text += f" No {', '.join(missing)} checkpoint shipped yet."
        return text
