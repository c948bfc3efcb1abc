"""Zero-shot: read an image's shape, colour, size and position by prompt templates, as CLIP reads
ImageNet with "a photo of a {label}": one prompt per value, softmax over the scaled cosines.

Pick a data-set image (its true attributes are outlined in green) or open your own file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ....core.clip.classify import Reading, read_attributes
from ....core.data.shapes import ATTRIBUTE_VALUES, ATTRIBUTES
from ....core.serving.remote_tokens import remote_read_attributes
from ...twins import remotable
from ...widgets.gallery import DataGallery
from ...widgets.image_file import ask_image_path, open_image_file
from ...widgets.images import BACKGROUND
from ...widgets.titled import TitledCanvas, note_label

if TYPE_CHECKING:
    from .panel import ClipPanel

BAR = (90, 150, 230)
READ = (255, 196, 40)
TRUE_PEN = pg.mkPen((80, 220, 120), width=3)


class ProbabilityBars(pg.GraphicsLayoutWidget):
    """One horizontal bar chart per attribute: each value's probability, the value read in yellow."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.plots: dict[str, pg.PlotItem] = {}
        self.bars: dict[str, pg.BarGraphItem] = {}
        for i, attribute in enumerate(ATTRIBUTES):
            values = ATTRIBUTE_VALUES[attribute]
            plot = self.addPlot(row=i // 2, col=i % 2)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(False, False)
            plot.hideButtons()
            plot.setXRange(-0.03, 1.08, padding=0)
            plot.setYRange(-0.75, len(values) - 0.25, padding=0)
            plot.invertY(True)
            plot.getAxis("left").setTicks([list(enumerate(values))])
            plot.getAxis("left").setWidth(100)
            plot.getAxis("bottom").setTicks([[(0, "0"), (0.5, "50%"), (1, "100%")]])
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setStyle(tickFont=_font(10), hideOverlappingLabels=False)
                plot.getAxis(axis).setTextPen("#c8c8c8")
            plot.setTitle(attribute, color="#e6e6e6", size="11pt")
            self.plots[attribute] = plot
        self.reading: Reading | None = None

    def set_reading(self, reading: Reading | None, truth: np.ndarray | None = None) -> None:
        """Draw the probabilities; `truth` (4,) outlines the true value of each attribute."""
        self.reading = reading
        for k, attribute in enumerate(ATTRIBUTES):
            plot = self.plots[attribute]
            if attribute in self.bars:
                plot.removeItem(self.bars.pop(attribute))
            if reading is None:
                plot.setTitle(attribute, color="#e6e6e6", size="11pt")
                continue
            r = reading[attribute]
            n = len(r.values)
            brushes = [pg.mkBrush(*(READ if v == r.index else BAR)) for v in range(n)]
            pens = [TRUE_PEN if truth is not None and v == int(truth[k]) else pg.mkPen(None) for v in range(n)]
            bars = pg.BarGraphItem(x0=np.zeros(n), y=np.arange(n), width=r.probabilities, height=0.7,
                                   brushes=brushes, pens=pens)
            plot.addItem(bars)
            self.bars[attribute] = bars
            mark = "" if truth is None else (" ✓" if r.index == int(truth[k]) else " ✗")
            plot.setTitle(f"{attribute}: {r.value} {r.confidence:.0%}{mark}", color="#e6e6e6", size="11pt")


def _font(points: int):
    from PySide6.QtGui import QFont

    font = QFont()
    font.setPointSize(points)
    return font


class ZeroShotTab(QWidget):
    title = "Zero-shot"

    def __init__(self, panel: ClipPanel):
        super().__init__()
        self.panel = panel
        self.image: np.ndarray | None = None
        self.truth: np.ndarray | None = None
        self.reading: Reading | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        left = QVBoxLayout()
        self.gallery = DataGallery(icon_px=48)
        self.gallery.setMaximumWidth(250)
        self.open_button = QPushButton("Open image…")
        self.open_button.setToolTip("Your own image, scaled and centre-cropped to 32x32")
        left.addWidget(QLabel("Data set (not the training draw)"))
        left.addWidget(self.gallery, 1)
        left.addWidget(self.open_button)
        layout.addLayout(left)
        middle = QVBoxLayout()
        self.canvas = TitledCanvas("Image", "", minimum=180)
        self.summary = note_label("Pick an image.")
        middle.addWidget(self.canvas, 1)
        middle.addWidget(self.summary)
        layout.addLayout(middle, 2)
        self.bars = ProbabilityBars()
        layout.addWidget(self.bars, 4)
        self.gallery.picked.connect(self._on_picked)
        self.open_button.clicked.connect(self._open_dialog)

    def on_model(self) -> None:
        self.reading = None
        self.bars.set_reading(None)

    def activate(self) -> None:
        if self.gallery.data is None:
            self.gallery.load(self.panel, "shapes", select_first=True)
        elif self.image is not None:
            self.classify(self.image, self.canvas.caption.text(), self.truth)

    def _on_picked(self, index: int) -> None:
        data = self.gallery.data
        self.classify(data.images[index], data.describe(index), data.labels[index])

    def _open_dialog(self) -> None:
        path = ask_image_path(self)
        if path:
            self.open_file(path)

    def open_file(self, path: str) -> None:
        """Read a file in the worker and classify it (a file that is no image is one status message)."""
        if self.panel.loaded is None:
            return
        size = self.panel.loaded.model.config.image_size
        open_image_file(self.panel, path, size, lambda image, name: self.classify(image, name, None))

    def classify(self, image: np.ndarray, caption: str, truth: np.ndarray | None) -> None:
        self.image, self.truth = image, truth
        self.canvas.set_image(image)
        self.canvas.set_caption(caption)
        if self.panel.loaded is None:
            return
        model = self.panel.loaded.model
        self.panel.submit(remotable(lambda ctx: read_attributes(model, image[None])[0],
                                    lambda ctx, server: remote_read_attributes(server, model, image[None])[0]),
                          channel="zero-shot",
                          on_result=self._show, cancel_running=True)

    def _show(self, reading: Reading) -> None:
        self.reading = reading
        self.panel.clear_error()
        self.bars.set_reading(reading, self.truth)
        words = " ".join(reading[a].value for a in ("size", "color", "shape"))
        text = f"CLIP reads: <b>a {words} at the {reading['position'].value}</b>"
        if self.truth is not None:
            right = sum(reading[a].index == int(self.truth[k]) for k, a in enumerate(ATTRIBUTES))
            text += f" — {right} of 4 attributes right (green outline: the true value)"
        self.summary.setText(text)
