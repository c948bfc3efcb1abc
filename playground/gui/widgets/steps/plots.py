"""The plots beside the denoising view: the model's noise schedule and the run's norms, with a cursor.

Every plot has the timestep t on its x axis, reversed so that sampling runs left to right
(from pure noise at t = T-1 to the image at t = 0), and the x axes are linked: the
cursor at the current step lines up across all four.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsItem, QWidget

from ....core.diffusion.schedules import SCHEDULE_NAMES, NoiseSchedule
from ....core.diffusion.trajectory import Trajectory, schedule_curves
from ..images import BACKGROUND

MODEL_PEN = pg.mkPen("#5aa9ff", width=3)
OTHER_PEN = pg.mkPen("#8a8a8a", width=2, style=pg.QtCore.Qt.PenStyle.DashLine)
NORM_PENS = {"x_t": pg.mkPen("#f0a030", width=3), "pred_noise": pg.mkPen("#c678dd", width=3),
             "pred_x0": pg.mkPen("#56c596", width=2)}
NORM_NAMES = {"x_t": "x_t", "pred_noise": "ε̂", "pred_x0": "x̂₀"}
CURSOR_PEN = pg.mkPen("#ffffff", width=2)
BRANCH_PEN = pg.mkPen("#ff6b6b", width=2, style=pg.QtCore.Qt.PenStyle.DotLine)
LABEL_STYLE = {"color": "#d0d0d0", "font-size": "13pt"}
TICK_FONT = QFont()
TICK_FONT.setPointSize(11)
LIVE_NORM_TOP = 1.5  # the norms plot's first y range during a run (pure noise has norm 1)
TITLE_SIZE, LEGEND_SIZE = "12pt", "10pt"
SCHEDULE_KEYS = ("beta", "alpha_bar", "log_snr")
MIN_LABEL_GAP_PX = 20  # between two value labels of an axis: 11 pt text (15 px) never overlaps


class SparseAxis(pg.AxisItem):
    """An axis whose value labels never overlap, however short the plot: pyqtgraph puts at least
    two major intervals on any axis, which crowds a 40-pixel one (a 1280x720 window)."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float):
        if size <= 0:  # a hidden plot's axis
            return []
        levels = super().tickSpacing(minVal, maxVal, size)
        if not levels:
            return levels
        major, offset = levels[0]
        needed = abs(maxVal - minVal) * MIN_LABEL_GAP_PX / size  # the value span of one label gap
        if major >= needed:
            return levels
        power = 10.0 ** math.floor(math.log10(needed))
        major = next(m * power for m in (1, 2, 5, 10) if m * power >= needed)  # a round 1, 2 or 5 × 10^k
        return [(major, offset)] + [level for level in levels[1:] if level[0] < major]


class SchedulePlots(pg.GraphicsLayoutWidget):
    """beta_t, alpha-bar_t, log SNR(t) and per-step norms, stacked, with a shared cursor at t."""

    def __init__(self, schedule_keys: tuple[str, ...] = SCHEDULE_KEYS, parent=None):
        """`schedule_keys`: which schedule plots to show above the norms (a short host shows fewer)."""
        super().__init__(parent)
        self.schedule_keys = schedule_keys
        self.setToolTip("The model's noise schedule (solid) and the other named schedule (dashed, for comparison: "
                        "not this model's), and this run's norms; the white line is the current t")
        self.setBackground(BACKGROUND)
        self.ci.setSpacing(6)
        self.plots: dict[str, pg.PlotItem] = {}
        self.cursors: dict[str, pg.InfiniteLine] = {}
        self.dots: dict[str, pg.ScatterPlotItem] = {}
        self.model_curves: dict[str, pg.PlotDataItem] = {}
        self.other_curves: dict[str, pg.PlotDataItem] = {}
        self.norm_curves: dict[str, pg.PlotDataItem] = {}
        self.branch_lines: dict[str, pg.InfiniteLine] = {}
        self.curves: dict[str, np.ndarray] = {}
        self.norm_t = np.zeros(0)
        self.norm_values: dict[str, np.ndarray] = {}
        self.cursor_t: int | None = None
        self._live_top: float | None = None  # the norms plot's fixed y range while a run samples
        self._later: tuple[Callable[[], object], QWidget] | None = None
        self._later_timer = QTimer(self)
        self._later_timer.setSingleShot(True)
        self._later_timer.setInterval(0)
        self._later_timer.timeout.connect(self._draw_later)
        self.titles = {"beta": "β_t", "alpha_bar": "ᾱ_t = ∏ (1 − β_s)", "log_snr": "log SNR = log ᾱ_t/(1−ᾱ_t)",
                       "norms": "this run's ‖·‖/√d"}
        first = None
        for row, key in enumerate((*schedule_keys, "norms")):
            plot = self.addPlot(row=row, col=0, axisItems={"left": SparseAxis("left")})
            self._set_title(plot, self.titles[key], color="#e6e6e6")
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.invertX(True)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                # the cursor moves on every step: repaint the axes from a pixmap, not by drawing text again
                axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
                axis.setTickFont(TICK_FONT)
                axis.setTextPen("#c8c8c8")
                axis.setPen("#666666")
            plot.getAxis("left").setWidth(54)
            if key == "beta":
                plot.setLogMode(y=True)
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            if key == "norms":
                plot.setLabel("bottom", "t   (sampling runs left → right)", **LABEL_STYLE)
                for view in NORM_PENS:
                    self.norm_curves[view] = curve = plot.plot([], [], pen=NORM_PENS[view], antialias=False)
                    # at most a point per pixel column: a DDPM-1000 run's norms are redrawn while it samples
                    curve.setDownsampling(auto=True, method="peak")
                    curve.setClipToView(True)
                self._set_title(plot, self._legend_title(key, [(NORM_NAMES[v], NORM_PENS[v].color().name(), "━")
                                                              for v in NORM_PENS]))
            else:
                self.model_curves[key] = plot.plot([], [], pen=MODEL_PEN)
                self.other_curves[key] = plot.plot([], [], pen=OTHER_PEN)
            for item in plot.listDataItems():  # static curves: blit them when the cursor passes over
                item.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            cursor = pg.InfiniteLine(angle=90, movable=False, pen=CURSOR_PEN)
            cursor.setVisible(False)
            plot.addItem(cursor, ignoreBounds=True)
            branch = pg.InfiniteLine(angle=90, movable=False, pen=BRANCH_PEN)
            branch.setVisible(False)
            plot.addItem(branch, ignoreBounds=True)
            dot = pg.ScatterPlotItem(size=11, pen=pg.mkPen("w", width=1.5), brush=pg.mkBrush("#ffffff"))
            plot.addItem(dot, ignoreBounds=True)  # a moving cursor must not rescale the axes
            self.plots[key], self.cursors[key], self.dots[key], self.branch_lines[key] = plot, cursor, dot, branch
        self.show_norms(True)

    def later(self, update: Callable[[], object], owner: QWidget) -> None:
        """Run `update` on the next turn of the event loop (the newest wins), if `owner` is on screen then:
        a preview's pictures and the plots' repaint then come as two short stalls, not one long one."""
        self._later = (update, owner)
        self._later_timer.start()

    @property
    def update_waiting(self) -> bool:
        return self._later is not None

    def _draw_later(self) -> None:
        waiting, self._later = self._later, None
        if waiting is not None and waiting[1].isVisible():
            waiting[0]()

    def set_schedule(self, schedule: NoiseSchedule) -> None:
        """Draw the model's schedule, and the other named schedule dashed, for comparison only."""
        self.curves = schedule_curves(schedule)
        T = schedule.num_train_timesteps
        # a flow is set against the cosine DDPM schedule (dit's: the same noise levels, another path)
        others = ["cosine"] if schedule.name == "flow" else [name for name in SCHEDULE_NAMES if name != schedule.name]
        other = schedule_curves(NoiseSchedule.from_name(others[0], T)) if others else None
        for key, curve in self.model_curves.items():
            curve.setData(self.curves["t"], self._finite(key, self.curves[key]))
            if other is not None:
                self.other_curves[key].setData(other["t"], self._finite(key, other[key]))
            self.other_curves[key].setVisible(other is not None)
        legend = [(schedule.name, MODEL_PEN.color().name(), "━")]
        if other is not None:
            top = self.schedule_keys[0]  # a long title (log SNR) leaves no room to say "(other)": the tooltip does
            legend.append((others[0] + (" (other)" if top == "beta" else ""), OTHER_PEN.color().name(), "╌"))
        top = self.schedule_keys[0]
        self._set_title(self.plots[top], self._legend_title(top, legend))
        self.plots[top].setXRange(0, T - 1, padding=0.02)  # the x axes are linked: all of them
        self.set_norms(None)
        self.set_cursor(None)

    @staticmethod
    def _set_title(plot: pg.PlotItem, html: str, **style: str) -> None:
        """Set a plot's title without letting it widen the plot column.

        A pyqtgraph title's minimum width is its text's (and `LabelItem` sets it again on every
        resize), and a graphics layout wider than its view is cut off at the right edge, axes and
        all. Here the title asks for no width and clips what does not fit, so the plots always fit
        the column the splitter gives them.
        """
        label = plot.titleLabel
        plot.setTitle(html, size=TITLE_SIZE, justify="left", **style)  # clipped, a title loses its end, not both ends
        if not getattr(label, "_fits_column", False):
            label._fits_column = True
            label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
            measure = label.updateMin

            def update_min() -> None:  # the height the text needs, no width
                measure()
                label.setMinimumWidth(0)
                label._sizeHint[Qt.SizeHint.MinimumSize] = (0, label._sizeHint[Qt.SizeHint.MinimumSize][1])

            label.updateMin = update_min
        label.updateMin()

    def _legend_title(self, key: str, entries: list[tuple[str, str, str]]) -> str:
        """A plot title with a colour key after it (legends inside the plots would hide the curves)."""
        keys = "  ".join(f"<span style='color:{colour}'>{mark} {name}</span>" for name, colour, mark in entries)
        return f"<span style='color:#e6e6e6'>{self.titles[key]}</span>&nbsp;&nbsp;<span style='font-size:{LEGEND_SIZE}'>{keys}</span>"

    @staticmethod
    def _finite(key: str, values: np.ndarray) -> np.ndarray:
        if key == "log_snr":  # alpha-bar reaches 0 or 1 at the ends of some schedules
            return np.clip(values, -25.0, 25.0)
        return values

    def show_norms(self, shown: bool) -> None:
        """Show or hide the run's norms plot (the forward process has no run to plot)."""
        visible = [key for key in self.plots if key != "norms" or shown]
        for row, (key, plot) in enumerate(self.plots.items()):
            plot.setVisible(key in visible)
            self.ci.layout.setRowMaximumHeight(row, 100000 if key in visible else 0)
            self.ci.layout.setRowSpacing(row, 6 if key in visible else 0)
            axis = plot.getAxis("bottom")  # the x axes are linked: t's values and name under the lowest plot only
            axis.setStyle(showValues=key == visible[-1])
            if key == visible[-1]:
                plot.setLabel("bottom", "t   (sampling runs left → right)", **LABEL_STYLE)
            else:
                plot.setLabel("bottom", None)
                axis.showLabel(False)

    def set_norms(self, trajectory: Trajectory | None) -> None:
        """Show the norms of every step a run has (none for None), the y axis fitted to them."""
        self._live_top = None
        self.plots["norms"].enableAutoRange(axis="y")
        if trajectory is None:
            self._set_norm_data(np.zeros(0), {})
            self.set_branch(None)
        else:
            n = trajectory.count
            self._set_norm_data(trajectory.t[:n], {view: values[:n] for view, values in trajectory.norms.items()})
            self.set_branch(int(trajectory.t[trajectory.branch.start_index]) if trajectory.branch is not None else None)
        self._place_dots()

    def begin_live(self) -> None:
        """A run starts: no norms yet, no cursor, a fixed y range (see `set_live_norms`)."""
        self._live_top = None
        self.set_branch(None)
        self.set_cursor(None, dots=False)
        self.set_live_norms(np.zeros(0), {})

    def set_live_norms(self, t: np.ndarray, norms: dict[str, np.ndarray]) -> None:
        """The norms of a run so far, drawn cheaply: the y range only grows, in steps, so the axis and
        its grid are re-drawn only when a norm outgrows it (not on every preview)."""
        top = max(float(np.nanmax(values)) for values in norms.values()) if len(t) else 0.0
        if self._live_top is None or top > self._live_top or not np.isfinite(top):
            self._live_top = max(LIVE_NORM_TOP, 1.5 * top) if np.isfinite(top) else LIVE_NORM_TOP
            self.plots["norms"].setYRange(0.0, self._live_top, padding=0.0)
        self._set_norm_data(t, norms)

    def _set_norm_data(self, t: np.ndarray, norms: dict[str, np.ndarray]) -> None:
        self.norm_t, self.norm_values = t, norms
        for view, curve in self.norm_curves.items():
            if norms:
                curve.setData(t, norms[view])
            else:
                curve.setData([], [])

    def set_branch(self, t: int | None) -> None:
        """Mark the timestep a branch left its parent run."""
        for line in self.branch_lines.values():
            line.setVisible(t is not None)
            if t is not None:
                line.setValue(t)

    def set_cursor(self, t: int | None, dots: bool = True) -> None:
        """The current t on every plot; `dots=False` (a run's previews) leaves the dots where they were."""
        self.cursor_t = t
        for cursor in self.cursors.values():
            cursor.setVisible(t is not None)
            if t is not None:
                cursor.setValue(t)
        for dot in self.dots.values():
            dot.setVisible(dots)
        if dots:
            self._place_dots()

    def _place_dots(self) -> None:
        t = self.cursor_t
        for key, dot in self.dots.items():
            if t is None or not self.curves:
                dot.setData([], [])
            elif key == "norms":
                hits = np.flatnonzero(self.norm_t == t)
                if len(hits):
                    i = hits[0]
                    dot.setData([t] * 2, [self.norm_values["x_t"][i], self.norm_values["pred_noise"][i]])
                else:
                    dot.setData([], [])
            else:
                value = self._finite(key, self.curves[key])[t]
                dot.setData([t], [np.log10(value) if key == "beta" else value])
