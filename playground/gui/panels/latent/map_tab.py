"""Latent map: the held-out data encoded and projected on its two principal axes, coloured by
a label; hovering previews a point of the plane, clicking sets z there. Computed only while
the tab is shown (encoding 1500 images is the panel's heaviest job)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout

from ....core.checkpoints import LoadedModel
from ....core.data import ImageSet, gallery_images
from ....core.latent.sampling import Projection2D, encode
from ...widgets.images import BACKGROUND
from ...widgets.palette import label_palette
from ...worker import JobContext
from .encode_tab import model_dataset
from .views import LatentView

MAP_SIZE = 1500
NO_MAP = "The latent map places encoded data, and this model has no encoder: use the Directions tab instead."
HINT = "Hover to preview a point of the plane; click to set the sliders there."


@dataclass
class EncodedData:
    """A data set encoded by the current model, for the latent map."""

    data: ImageSet
    means: np.ndarray
    projection: Projection2D


class MapView(LatentView):
    def __init__(self, panel):
        super().__init__(panel)
        self.encoded: EncodedData | None = None
        self._previewing = False
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.label_box = QComboBox()
        row.addWidget(QLabel("Colour by"))
        row.addWidget(self.label_box, 1)
        layout.addLayout(row)
        self.plot = pg.PlotWidget(background=BACKGROUND)
        self.plot.setAspectLocked(True)
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.scatter = pg.ScatterPlotItem(size=5, pen=None)
        self.plot.addItem(self.scatter)
        self.cursor = pg.ScatterPlotItem(size=16, symbol="+", pen=pg.mkPen("w", width=2), brush=None)
        self.plot.addItem(self.cursor)
        layout.addWidget(self.plot, 1)
        self.legend = QLabel("")
        self.legend.setWordWrap(True)
        layout.addWidget(self.legend)
        self.info = QLabel(HINT)
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        self.label_box.currentIndexChanged.connect(lambda _: self.draw())
        self.plot.scene().sigMouseMoved.connect(self._on_hover)
        self.plot.scene().sigMouseClicked.connect(lambda event: self.click_at(event.scenePos()))
        self.plot.installEventFilter(self)

    def on_model(self, loaded: LoadedModel) -> None:
        self.encoded = None
        self._previewing = False
        self.scatter.clear()
        self.cursor.setData(pos=np.zeros((0, 2)))
        self.legend.setText("")
        self.info.setText("The map is computed when this tab is shown.")

    def activate(self) -> None:
        loaded = self.panel.loaded
        if loaded is None or not self.panel.has_encoder:
            return
        model, name = loaded.model, model_dataset(loaded)

        def work(ctx: JobContext) -> EncodedData:
            data = gallery_images(name, MAP_SIZE)
            ctx.check()
            means, _ = encode(model, data.images)
            return EncodedData(data, means, Projection2D(means))

        self.info.setText("Encoding the data set…")
        self.panel.submit(work, channel="map", label="Encoding data set for the latent map", on_result=self._ready)

    def _ready(self, encoded: EncodedData) -> None:
        self.encoded = encoded
        names = list(encoded.data.label_names)
        self.label_box.blockSignals(True)
        self.label_box.clear()
        self.label_box.addItems(names or ["(none)"])
        if "color" in names:
            self.label_box.setCurrentText("color")
        self.label_box.blockSignals(False)
        self.draw()

    def draw(self) -> None:
        enc = self.encoded
        if enc is None:
            return
        label, names = self.label_box.currentText(), enc.data.label_names
        if label in names:
            values = enc.data.labels[:, names.index(label)]
            value_names = enc.data.label_values.get(label, ())
            palette = label_palette(label, max(len(value_names), int(values.max()) + 1))
            brushes = [pg.mkBrush(*palette[v], 200) for v in values]
            self.legend.setText("  ".join(
                f"<span style='color: rgb{tuple(palette[i])}'>■</span> {value_names[i] if value_names else i}"
                for i in range(len(palette))))
        else:
            brushes = [pg.mkBrush(200, 200, 200, 180)] * len(enc.means)
            self.legend.setText("")
        self.scatter.setData(pos=enc.projection.coords, brush=brushes)
        ev = enc.projection.explained
        self.info.setText(f"PCA of {len(enc.means)} encodings (axes explain {ev[0]:.0%} and {ev[1]:.0%} "
                          f"of the variance). {HINT}")
        self.z_changed(self.panel.z)

    def z_changed(self, z: np.ndarray) -> None:
        if self.encoded is None or len(z) == 0:
            self.cursor.setData(pos=np.zeros((0, 2)))
        else:
            self.cursor.setData(pos=self.encoded.projection.project(z)[None])

    def _plane_point(self, scene_pos) -> np.ndarray | None:
        """The latent at a scene position of the plot, or None outside the plot or without a map."""
        if self.encoded is None:
            return None
        view = self.plot.getPlotItem().vb
        if not view.sceneBoundingRect().contains(scene_pos):
            return None
        point = view.mapSceneToView(scene_pos)
        return self.encoded.projection.inverse(np.array([point.x(), point.y()]))

    def _on_hover(self, scene_pos) -> None:
        z = self._plane_point(scene_pos)
        if z is not None:
            self._previewing = True
            self.panel.preview(z, "a preview of the map point under the mouse (click to set z there)")
        elif self._previewing:  # the mouse left the plane: show z again
            self._previewing = False
            self.panel.end_preview()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Leave and self._previewing:  # the mouse left the plot: show z again
            self._previewing = False
            self.panel.end_preview()
        return False

    def click_at(self, scene_pos) -> None:
        z = self._plane_point(scene_pos)
        if z is not None:
            self._previewing = False
            self.panel.set_latent(z, source="a point of the latent map (its PCA plane)")

    def decode_map_point(self, x: float, y: float) -> None:
        """Set the latent to a point of the map's plane (what a click does)."""
        if self.encoded is not None:
            self.panel.set_latent(self.encoded.projection.inverse(np.array([x, y])),
                                  source=f"the latent map's point ({x:.2f}, {y:.2f})")
