"""The latent explorer for VAE and AE: sliders, prior samples, encoding, interpolation, a 2D map.

The panel keeps the current latent vector `z` as its state; every control edits `z` and
asks the worker for a decode on the "decode" channel, so dragging coalesces to the newest
value. All model calls run in the worker; this file only wires widgets to them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QGridLayout, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
    QPushButton, QScrollArea, QSlider, QSpinBox, QSplitter, QTabWidget, QVBoxLayout, QWidget,
)

from ...core.checkpoints import LoadedModel
from ...core.data import ImageSet, load_dataset, load_image_file
from ...core.data.shapes import COLOR_RGB, COLORS
from ...core.images import save_png, upscale
from ...core.sampling.latent import Projection2D, decode, encode, interpolate, latent_order, prior_latents
from ..widgets import BACKGROUND, ImageCanvas, LatentSliderRow, thumbnail_icon
from ..worker import JobContext, ModelWorker
from .base import Panel

GALLERY_SIZE = 96
MAP_SIZE = 1500
STRIP_FRAMES = 9
EXPORT_SCALE = 8
CATEGORY_COLOURS = [
    (230, 97, 1), (94, 60, 153), (27, 158, 119), (217, 95, 2), (117, 112, 179), (231, 41, 138),
    (102, 166, 30), (230, 171, 2), (166, 118, 29), (31, 120, 180),
]

VAE_NOTE = (
    "<b>VAE.</b> Training pulled every encoding toward the prior N(0, I), so any slider "
    "setting, and any <i>Random</i> draw, decodes to a plausible image. Sliders are sorted by "
    "how much information each dimension carries (KL); grey ones are unused."
)
AE_NOTE = (
    "<b>Plain autoencoder.</b> Same network, no KL term: its codes sit wherever training put "
    "them, not in N(0, I). Press <i>Random</i>: latents drawn from the prior land off the data "
    "and decode to noise and blobs. That gap is why the VAE exists."
)


@dataclass
class EncodedData:
    """A data set encoded by the current model, for the latent map."""

    data: ImageSet
    means: np.ndarray
    projection: Projection2D
    model_id: int


class LatentPanel(Panel):
    title = "VAE / AE"
    families = ("vae", "ae")

    def __init__(self, worker: ModelWorker, device: torch.device, parent: QWidget | None = None):
        super().__init__(worker, device, parent)
        self.z = np.zeros(0, np.float32)
        self.rows: dict[int, LatentSliderRow] = {}
        self.model_id = 0
        self.gallery_data: ImageSet | None = None
        self.encoded: EncodedData | None = None
        self.endpoints: dict[str, np.ndarray | None] = {"A": None, "B": None}
        self.current_image: np.ndarray | None = None
        self.last_seed: int | None = None
        self._build()

    # --- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        self.note = QLabel(VAE_NOTE)
        self.note.setWordWrap(True)
        self.note.setObjectName("note")
        root.addWidget(self.note)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        root.addWidget(splitter, 1)

        # left: sliders and prior controls
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        controls = QHBoxLayout()
        self.random_button = QPushButton("Random")
        self.random_button.setToolTip("Draw z from the prior N(0, I) with the seed in the box")
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setPrefix("seed ")
        self.new_seed_button = QPushButton("New seed")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Set every slider to 0 (the prior's mean)")
        for w in (self.random_button, self.seed_box, self.new_seed_button, self.reset_button):
            controls.addWidget(w)
        left_layout.addLayout(controls)
        self.slider_area = QScrollArea()
        self.slider_area.setWidgetResizable(True)
        self.slider_host = QWidget()
        self.slider_layout = QVBoxLayout(self.slider_host)
        self.slider_layout.setSpacing(0)
        self.slider_layout.addStretch(1)
        self.slider_area.setWidget(self.slider_host)
        left_layout.addWidget(self.slider_area, 1)
        splitter.addWidget(left)

        # centre: the decoded image
        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        self.canvas = ImageCanvas("decoded z", minimum=300)
        centre_layout.addWidget(self.canvas, 1)
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setToolTip("Save the image with its recipe (model, latent, seed) in the PNG metadata")
        centre_layout.addWidget(self.export_button)
        splitter.addWidget(centre)

        # right: encode / interpolate / map
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_encode_tab(), "Encode")
        self.tabs.addTab(self._build_interpolate_tab(), "Interpolate")
        self.tabs.addTab(self._build_map_tab(), "Latent map")
        splitter.addWidget(self.tabs)
        splitter.setSizes([380, 420, 460])

        self.random_button.clicked.connect(self.sample_prior)
        self.new_seed_button.clicked.connect(self._new_seed)
        self.reset_button.clicked.connect(self.reset_latent)
        self.export_button.clicked.connect(self._export_dialog)
        self.tabs.currentChanged.connect(self._on_tab_changed)

    def _build_encode_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        row = QHBoxLayout()
        self.dataset_box = QComboBox()
        self.dataset_box.addItems(["shapes", "digits"])
        self.open_image_button = QPushButton("Open image…")
        row.addWidget(QLabel("Data set"))
        row.addWidget(self.dataset_box, 1)
        row.addWidget(self.open_image_button)
        layout.addLayout(row)
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListWidget.ViewMode.IconMode)
        self.gallery.setIconSize(pg.QtCore.QSize(48, 48))
        self.gallery.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.gallery.setMovement(QListWidget.Movement.Static)
        self.gallery.setGridSize(pg.QtCore.QSize(54, 54))
        self.gallery.setUniformItemSizes(True)
        layout.addWidget(self.gallery, 3)
        pair = QHBoxLayout()
        self.original_canvas = ImageCanvas("original", minimum=140)
        self.recon_canvas = ImageCanvas("reconstruction", minimum=140)
        pair.addWidget(self.original_canvas)
        pair.addWidget(self.recon_canvas)
        layout.addLayout(pair, 2)
        self.encode_info = QLabel("Click an image to encode it: the sliders jump to its latent mean.")
        self.encode_info.setWordWrap(True)
        layout.addWidget(self.encode_info)
        self.dataset_box.currentTextChanged.connect(self._load_gallery)
        self.gallery.currentRowChanged.connect(self._encode_gallery_item)
        self.open_image_button.clicked.connect(self._open_image_dialog)
        return tab

    def _build_interpolate_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        ends = QGridLayout()
        self.endpoint_canvases = {}
        for col, name in enumerate(("A", "B")):
            canvas = ImageCanvas(name, minimum=120)
            button = QPushButton(f"{name} ← current")
            button.setToolTip(f"Use the current latent (e.g. an encoded image) as end point {name}")
            button.clicked.connect(lambda _=False, n=name: self.set_endpoint(n))
            ends.addWidget(canvas, 0, col)
            ends.addWidget(button, 1, col)
            self.endpoint_canvases[name] = canvas
        layout.addLayout(ends)
        row = QHBoxLayout()
        self.interp_mode = QComboBox()
        self.interp_mode.addItems(["spherical", "linear"])
        self.interp_slider = QSlider(Qt.Orientation.Horizontal)
        self.interp_slider.setRange(0, 100)
        self.interp_label = QLabel("t = 0.00")
        row.addWidget(self.interp_mode)
        row.addWidget(self.interp_slider, 1)
        row.addWidget(self.interp_label)
        layout.addLayout(row)
        self.strip_canvas = ImageCanvas("A → B", minimum=60)
        layout.addWidget(self.strip_canvas, 1)
        self.interp_slider.valueChanged.connect(self._on_interp_slider)
        self.interp_mode.currentTextChanged.connect(lambda _: (self._render_strip(), self._on_interp_slider(self.interp_slider.value())))
        return tab

    def _build_map_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        row = QHBoxLayout()
        self.map_label_box = QComboBox()
        row.addWidget(QLabel("Colour by"))
        row.addWidget(self.map_label_box, 1)
        layout.addLayout(row)
        self.map_plot = pg.PlotWidget(background=BACKGROUND)
        self.map_plot.setAspectLocked(True)
        self.map_plot.showGrid(x=True, y=True, alpha=0.15)
        self.map_scatter = pg.ScatterPlotItem(size=5, pen=None)
        self.map_plot.addItem(self.map_scatter)
        self.map_cursor = pg.ScatterPlotItem(size=16, symbol="+", pen=pg.mkPen("w", width=2), brush=None)
        self.map_plot.addItem(self.map_cursor)
        layout.addWidget(self.map_plot, 1)
        self.map_legend = QLabel("")
        self.map_legend.setWordWrap(True)
        layout.addWidget(self.map_legend)
        self.map_info = QLabel("Hover to preview a point of the plane; click to set the sliders there.")
        self.map_info.setWordWrap(True)
        layout.addWidget(self.map_info)
        self.map_label_box.currentIndexChanged.connect(lambda _: self._draw_map())
        self.map_plot.scene().sigMouseMoved.connect(self._on_map_hover)
        self.map_plot.scene().sigMouseClicked.connect(self._on_map_click)
        return tab

    # --- model ---------------------------------------------------------------------------------

    def set_model(self, loaded: LoadedModel) -> None:
        super().set_model(loaded)
        self.model_id += 1
        self.worker.cancel()
        model = loaded.model
        extra = loaded.meta.extra
        usage = extra.get("latent_usage")
        kind = "KL" if loaded.family == "vae" else "var"
        order = latent_order(usage, model.latent_dim)
        for row in self.rows.values():
            row.deleteLater()
        self.rows = {}
        for position, dim in enumerate(order):
            value = float(usage[dim]) if usage else 0.0
            active = loaded.family != "vae" or value > 0.05
            row = LatentSliderRow(dim, value, kind, active=active)
            row.value_changed.connect(self._on_slider)
            self.slider_layout.insertWidget(position, row)
            self.rows[dim] = row
        self.note.setText(AE_NOTE if loaded.family == "ae" else VAE_NOTE)
        self.note.setProperty("warning", loaded.family == "ae")
        self.note.style().unpolish(self.note)
        self.note.style().polish(self.note)
        self.z = np.zeros(model.latent_dim, np.float32)
        self.encoded = None
        self.endpoints = {"A": None, "B": None}
        for canvas in self.endpoint_canvases.values():
            canvas.set_image(None)
        self.strip_canvas.set_image(None)
        dataset = loaded.meta.data if loaded.meta.data in ("shapes", "digits") else "shapes"
        if self.dataset_box.currentText() != dataset:
            self.dataset_box.setCurrentText(dataset)  # triggers the gallery load
        elif self.gallery_data is None:
            self._load_gallery(dataset)
        self.set_latent(self.z)
        if self.tabs.currentIndex() == 2:
            self._encode_map_data()

    # --- latent state and decoding -----------------------------------------------------------

    def set_latent(self, z: np.ndarray, seed: int | None = None) -> None:
        """Make z the current latent: move every slider and render it."""
        self.z = np.asarray(z, np.float32).copy()
        self.last_seed = seed
        for dim, row in self.rows.items():
            row.set_value(float(self.z[dim]))
        self._request_decode(self.z)
        self._update_map_cursor()

    def _on_slider(self, dim: int, value: float) -> None:
        self.z[dim] = value
        self.last_seed = None
        self._request_decode(self.z)
        self._update_map_cursor()

    def _request_decode(self, z: np.ndarray) -> None:
        if self.loaded is None:
            return
        model, model_id, z = self.loaded.model, self.model_id, z.copy()

        def work(ctx: JobContext) -> tuple[int, np.ndarray]:
            return model_id, decode(model, z)[0]

        self.worker.submit(work, channel="decode", on_result=self._show_decoded, on_error=self.report_error)

    def _show_decoded(self, result: tuple[int, np.ndarray]) -> None:
        model_id, image = result
        if model_id != self.model_id:
            return  # from a model that is no longer shown
        self.current_image = image
        self.canvas.set_image(image)

    def sample_prior(self) -> None:
        if self.loaded is None:
            return
        seed = self.seed_box.value()
        self.set_latent(prior_latents(self.loaded.model.latent_dim, 1, seed)[0].numpy(), seed=seed)
        self.status_message.emit(f"z ~ N(0, I) with seed {seed}")

    def _new_seed(self) -> None:
        self.seed_box.setValue(random.randrange(2**31 - 1))
        self.sample_prior()

    def reset_latent(self) -> None:
        if self.loaded is not None:
            self.set_latent(np.zeros(self.loaded.model.latent_dim, np.float32))

    # --- encode --------------------------------------------------------------------------------

    def _load_gallery(self, name: str) -> None:
        def work(ctx: JobContext) -> ImageSet:
            # seed 1: items not used for training (shapes trains on seed 0)
            return load_dataset(name, n=GALLERY_SIZE if name == "shapes" else None, seed=1)

        def show(data: ImageSet) -> None:
            if name == "digits":
                data = data.subset(np.arange(len(data) - GALLERY_SIZE, len(data)))
            self.gallery_data = data
            self.gallery.blockSignals(True)
            self.gallery.clear()
            for i in range(len(data)):
                item = QListWidgetItem(thumbnail_icon(data.images[i]), "")
                item.setToolTip(data.describe(i))
                self.gallery.addItem(item)
            self.gallery.blockSignals(False)

        self.worker.submit(work, channel="gallery", on_result=show, on_error=self.report_error)

    def _encode_gallery_item(self, row: int) -> None:
        if self.gallery_data is None or row < 0:
            return
        self.encode_image(self.gallery_data.images[row], self.gallery_data.describe(row))

    def encode_image(self, image: np.ndarray, description: str = "") -> None:
        """Encode one (32, 32, 3) uint8 image; the sliders jump to its posterior mean."""
        if self.loaded is None:
            return
        model, model_id = self.loaded.model, self.model_id

        def work(ctx: JobContext) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
            mean, logvar = encode(model, image[None])
            return model_id, image, mean[0], decode(model, mean)[0]

        def show(result: tuple[int, np.ndarray, np.ndarray, np.ndarray]) -> None:
            model_id_, original, mean, recon = result
            if model_id_ != self.model_id:
                return
            self.original_canvas.set_image(original)
            self.recon_canvas.set_image(recon)
            mse = float(np.mean(((original.astype(np.float32) - recon) / 127.5) ** 2))
            self.encode_info.setText(f"{description}\nreconstruction MSE {mse:.4f} (pixels in [-1, 1])")
            self.set_latent(mean)

        self.worker.submit(work, channel="encode", on_result=show, on_error=self.report_error)

    def _open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", "Images (*.png *.jpg *.jpeg *.webp)")
        if path:
            self.open_image(path)

    def open_image(self, path: str) -> None:
        size = self.loaded.model.config.image_size if self.loaded is not None else 32

        def work(ctx: JobContext) -> np.ndarray:
            return load_image_file(path, size)

        self.worker.submit(work, channel="open", on_result=lambda img: self.encode_image(img, Path(path).name),
                           on_error=self.report_error)

    # --- interpolation ---------------------------------------------------------------------------

    def set_endpoint(self, name: str) -> None:
        self.endpoints[name] = self.z.copy()
        self.endpoint_canvases[name].set_image(self.current_image)
        self._render_strip()

    def _on_interp_slider(self, value: int) -> None:
        t = value / 100
        self.interp_label.setText(f"t = {t:.2f}")
        a, b = self.endpoints["A"], self.endpoints["B"]
        if a is None or b is None:
            return
        self.set_latent(interpolate(a, b, t, self.interp_mode.currentText()))

    def _render_strip(self) -> None:
        a, b = self.endpoints["A"], self.endpoints["B"]
        if a is None or b is None or self.loaded is None:
            return
        model, mode = self.loaded.model, self.interp_mode.currentText()

        def work(ctx: JobContext) -> np.ndarray:
            frames = decode(model, interpolate(a, b, np.linspace(0, 1, STRIP_FRAMES), mode))
            return np.concatenate(list(frames), axis=1)

        self.worker.submit(work, channel="strip", on_result=self.strip_canvas.set_image, on_error=self.report_error)

    # --- latent map ------------------------------------------------------------------------------

    def _on_tab_changed(self, index: int) -> None:
        if index == 2 and (self.encoded is None or self.encoded.model_id != self.model_id):
            self._encode_map_data()

    def _encode_map_data(self) -> None:
        if self.loaded is None:
            return
        model, model_id = self.loaded.model, self.model_id
        name = self.loaded.meta.data if self.loaded.meta.data in ("shapes", "digits") else "shapes"

        def work(ctx: JobContext) -> EncodedData:
            data = load_dataset(name, n=MAP_SIZE if name == "shapes" else None, seed=1)
            ctx.check()
            means, _ = encode(model, data.images)
            return EncodedData(data, means, Projection2D(means), model_id)

        def show(encoded: EncodedData) -> None:
            if encoded.model_id != self.model_id:
                return
            self.encoded = encoded
            self.map_label_box.blockSignals(True)
            self.map_label_box.clear()
            self.map_label_box.addItems(list(encoded.data.label_names) or ["(none)"])
            if "color" in encoded.data.label_names:
                self.map_label_box.setCurrentText("color")
            self.map_label_box.blockSignals(False)
            self._draw_map()

        self.map_info.setText("Encoding the data set…")
        self.worker.submit(work, channel="map", label="Encoding data set for the latent map", on_result=show,
                           on_error=self.report_error)

    def _draw_map(self) -> None:
        enc = self.encoded
        if enc is None:
            return
        names = enc.data.label_names
        label = self.map_label_box.currentText()
        if label in names:
            k = names.index(label)
            values = enc.data.labels[:, k]
            value_names = enc.data.label_values.get(label, ())
            if label == "color" and tuple(value_names) == COLORS:
                palette = [COLOR_RGB[c] for c in COLORS]
            else:
                palette = [CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i in range(int(values.max()) + 1)]
            brushes = [pg.mkBrush(*palette[v], 200) for v in values]
            legend = "  ".join(
                f"<span style='color: rgb{tuple(palette[i])}'>■</span> {value_names[i] if value_names else i}"
                for i in range(len(palette))
            )
        else:
            brushes = [pg.mkBrush(200, 200, 200, 180)] * len(enc.means)
            legend = ""
        self.map_scatter.setData(pos=enc.projection.coords, brush=brushes)
        self.map_legend.setText(legend)
        ev = enc.projection.explained
        self.map_info.setText(
            f"PCA of {len(enc.means)} encodings (axes explain {ev[0]:.0%} and {ev[1]:.0%} of the variance). "
            "Hover to preview a point of the plane; click to set the sliders there."
        )
        self._update_map_cursor()

    def _update_map_cursor(self) -> None:
        if self.encoded is None or self.encoded.model_id != self.model_id or len(self.z) == 0:
            self.map_cursor.setData(pos=np.zeros((0, 2)))
            return
        self.map_cursor.setData(pos=self.encoded.projection.project(self.z)[None])

    def _map_point_to_latent(self, scene_pos) -> np.ndarray | None:
        if self.encoded is None or self.encoded.model_id != self.model_id:
            return None
        view = self.map_plot.getPlotItem().vb
        if not view.sceneBoundingRect().contains(scene_pos):
            return None
        point = view.mapSceneToView(scene_pos)
        return self.encoded.projection.inverse(np.array([point.x(), point.y()]))

    def _on_map_hover(self, scene_pos) -> None:
        z = self._map_point_to_latent(scene_pos)
        if z is not None:
            self._request_decode(z)

    def _on_map_click(self, event) -> None:
        z = self._map_point_to_latent(event.scenePos())
        if z is not None:
            self.set_latent(z)

    def decode_map_point(self, x: float, y: float) -> None:
        """Set the latent to a point of the map's plane (what a click does)."""
        if self.encoded is not None:
            self.set_latent(self.encoded.projection.inverse(np.array([x, y])))

    # --- export ----------------------------------------------------------------------------------

    def recipe(self) -> dict:
        loaded = self.loaded
        return {
            "model": loaded.name if loaded else None,
            "family": loaded.family if loaded else None,
            "checkpoint": str(loaded.path) if loaded else None,
            "latent": [round(float(v), 6) for v in self.z],
            "seed": self.last_seed,
            "scale": EXPORT_SCALE,
        }

    def export_png(self, path: str | Path) -> Path:
        if self.current_image is None:
            raise ValueError("nothing to export yet")
        return save_png(path, upscale(self.current_image, EXPORT_SCALE), self.recipe())

    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export PNG", "latent.png", "PNG (*.png)")
        if path:
            try:
                saved = self.export_png(path)
                self.status_message.emit(f"Saved {saved} (recipe in its PNG metadata)")
            except (OSError, ValueError) as exc:
                self.report_error(str(exc))
