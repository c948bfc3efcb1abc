"""The Train panel's live view: loss curves and the fixed-input preview, drawn cheaply.

Watching must not slow training down (target: at most 5% of steps/s, measured by
benchmarks/bench_training_view.py), so the view separates taking data from drawing it:

- `extend` / `set_preview` only store what the training process reported;
- `draw` (called by the panel at a fixed low rate) redraws only what changed, and only
  while it is on screen: a hidden tab, a collapsed pane or a minimised window draws nothing,
  and catches up when shown;
- a long run's curves are drawn from at most `MAX_DRAWN` points (bin means; the newest
  point is always drawn exactly), so a redraw costs the same at step 100 and at step 100,000;
- the step axis grows in 1-2-5 steps instead of with every point, so its tick labels are
  re-rendered a few times per run, not at every redraw;
- curves are drawn aliased, which pyqtgraph turns into plain line segments: stroking an
  antialiased 2-px path was most of a redraw's cost.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsItem, QWidget

from ...widgets.images import BACKGROUND, ImageCanvas
from ...widgets.palette import SERIES_COLOURS

MAX_DRAWN = 800  # points per curve on screen: more than the plots' width in pixels adds nothing
TICK_FONT = QFont()
TICK_FONT.setPointSize(10)


def format_duration(seconds: float) -> str:
    """"1:02:03" or "2:03"; "–" for an unknown time (e.g. an ETA before the first steps)."""
    if not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def on_screen(widget: QWidget) -> bool:
    """Whether drawing `widget` would show anything (not hidden, not collapsed, not minimised)."""
    window = widget.window()
    return widget.isVisible() and widget.width() > 0 and widget.height() > 0 and not window.isMinimized()


def downsample(x: np.ndarray, y: np.ndarray, limit: int = MAX_DRAWN) -> tuple[np.ndarray, np.ndarray]:
    """At most `limit` points: means of equal runs of consecutive points, the last point kept as is."""
    n = len(x)
    if n <= limit:
        return x, y
    factor = math.ceil((n - 1) / (limit - 1))
    body = ((n - 1) // factor) * factor  # whole bins; the rest (and the newest point) drawn unbinned
    bx = x[:body].reshape(-1, factor).mean(axis=1)
    by = y[:body].reshape(-1, factor).mean(axis=1)
    return np.concatenate([bx, x[body:]])[-limit:], np.concatenate([by, y[body:]])[-limit:]


def step_axis_limit(step: int, total: int) -> float:
    """The right end of the step axis: the next 1-2-5 number above `step`, never past the run's end."""
    if step <= 0:
        return float(max(1, min(total, 10)))
    magnitude = 10 ** math.floor(math.log10(step))
    for factor in (1, 2, 5, 10):
        if factor * magnitude > step:
            return float(min(total, factor * magnitude)) if total > 0 else float(factor * magnitude)
    return float(step)


class LiveCurves(pg.GraphicsLayoutWidget):
    """Stacked plots with linked step axes; `set_groups` starts a run, `extend` adds logged steps."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.ci.setSpacing(4)
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.steps = np.zeros(0)
        self.values: dict[str, np.ndarray] = {}
        self.total_steps = 0
        self.draws = 0  # how many times the curves were redrawn (for tests and the benchmark)
        self._size = 0
        self._dirty = False
        self._x_limit = 0.0

    def set_groups(self, groups: dict[str, tuple[str, ...]], total_steps: int = 0) -> None:
        """Forget the last run; one plot per group with a legend of its metrics."""
        self.clear()
        self.plots, self.curves, self.values = {}, {}, {}
        self.steps = np.zeros(256)
        self.total_steps, self._size, self._dirty, self._x_limit = total_steps, 0, False, 0.0
        first = last = None
        colour = 0
        for row, (title, names) in enumerate((t, n) for t, n in groups.items() if n):
            plot = self.addPlot(row=row, col=0)
            plot.setTitle(title, color="#e6e6e6", size="11pt")
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setTickFont(TICK_FONT)
                # blitted unless its range moves: tick text is most of a repaint's cost
                axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            plot.addLegend(offset=(-4, 4), labelTextColor="#e6e6e6", brush=pg.mkBrush(22, 23, 26, 200))
            if first is None:
                first = plot
                plot.disableAutoRange(axis="x")  # the step axis grows in 1-2-5 steps (see step_axis_limit)
            else:
                plot.setXLink(first)
            for name in names:
                pen = pg.mkPen(SERIES_COLOURS[colour % len(SERIES_COLOURS)], width=2)
                colour += 1
                # aliased: pyqtgraph then draws a 2-px line as segments, a third of the cost of an
                # antialiased path (about 25 ms of GUI time per update across five curves)
                self.curves[name] = plot.plot(name=name, pen=pen, antialias=False)
                self.values[name] = np.zeros(256)
            self.plots[title] = plot
            last = plot
        if last is not None:
            last.setLabel("bottom", "step", color="#c8c8c8")
            for plot in self.plots.values():  # the x axes are linked: step numbers once, at the bottom
                if plot is not last:
                    plot.getAxis("bottom").setStyle(showValues=False)

    @property
    def points(self) -> int:
        """Logged steps received (drawn or waiting for the next draw)."""
        return self._size

    def extend(self, points: list[tuple[int, dict[str, float]]]) -> None:
        """Store logged steps; they appear at the next `draw`."""
        for step, metrics in points:
            if self._size == len(self.steps):  # grow the buffers geometrically
                self.steps = np.resize(self.steps, 2 * len(self.steps))
                self.values = {k: np.resize(v, 2 * len(v)) for k, v in self.values.items()}
            n = self._size
            self.steps[n] = step
            for name, buffer in self.values.items():
                buffer[n] = metrics.get(name, np.nan)
            self._size = n + 1
        self._dirty = self._dirty or bool(points)

    def draw(self) -> bool:
        """Redraw the curves if they changed and are on screen; returns whether it drew."""
        if not self._dirty or not on_screen(self):
            return False
        self._dirty = False
        self.draws += 1
        steps = self.steps[:self._size]
        for name, curve in self.curves.items():
            # a metric some windows lack (the GAN's lazy R1) is drawn through its logged points
            values = self.values[name][:self._size]
            logged = np.isfinite(values)
            curve.setData(*downsample(steps[logged], values[logged]))
        limit = step_axis_limit(int(steps[-1]) if self._size else 0, self.total_steps)
        if limit != self._x_limit and self.plots:
            self._x_limit = limit
            next(iter(self.plots.values())).setXRange(0, limit, padding=0.02)
        return True

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.draw()  # what arrived while hidden

    def series(self, name: str) -> np.ndarray:
        return self.values[name][:self._size].copy()


class LivePreview(ImageCanvas):
    """The newest preview grid; drawn only while on screen (the newest one waits otherwise)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("samples", minimum=260, parent=parent)
        self._pending: tuple[np.ndarray | None, str] | None = None

    def show_preview(self, image: np.ndarray | None, title: str) -> None:
        self._pending = (image, title)

    def set_title(self, text: str) -> None:
        label = self.ci.getItem(0, 0)
        if label is not None and hasattr(label, "setText"):
            label.setText(text, color="#c8c8c8", size="10pt")

    def draw(self) -> bool:
        if self._pending is None or not on_screen(self):
            return False
        (image, title), self._pending = self._pending, None
        self.set_image(image)
        self.set_title(title)
        return True

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self.draw()
