"""The latent explorer for VAE, AE and GAN: sliders, prior samples, encoding, interpolation, a 2D map,
and GANSpace directions (sliders along the generator's main axes of variation).

A GAN has no encoder, so for it the Encode tab and the latent map (built from encodings)
say so in one line instead, and the directions stand in for the encoder's view of z.

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
    QPushButton, QScrollArea, QSlider, QSpinBox, QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget,
)

from ...core.checkpoints import LoadedModel
from ...core.data import ImageSet, load_dataset, load_image_file
from ...core.data.shapes import COLOR_RGB, COLORS
from ...core.images import save_png, upscale
from ...core.latent.directions import LatentDirections, ganspace_directions, load_directions, save_directions
from ...core.latent.sampling import Projection2D, decode, encode, interpolate, latent_order, prior_latents
from ..widgets.images import BACKGROUND, ImageCanvas, LatentSliderRow, thumbnail_icon
from ..worker import JobContext, ModelWorker
from .base import Panel

GALLERY_SIZE = 96
MAP_SIZE = 1500
STRIP_FRAMES = 9
DIRECTION_FRAMES = 7  # the direction preview: the current z moved from -3 to +3 along it
DEFAULT_DIRECTIONS = 10
DIRECTION_SAMPLES = 2000
ENCODE_TAB, INTERPOLATE_TAB, MAP_TAB, DIRECTIONS_TAB = range(4)
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
GAN_NOTE = (
    "<b>GAN.</b> A generator that only maps noise z ~ N(0, I) to images; a discriminator taught it "
    "what shapes look like. There is no encoder, so no image can be encoded: explore z with the sliders, "
    "<i>Random</i> and interpolation, or switch the sliders to <i>directions</i> (GANSpace: the axes "
    "along which the generator's early features vary most)."
)
NO_ENCODER = "This model has no encoder (a GAN only decodes), so there is nothing to encode: use Random or Directions."
NO_MAP = "The latent map places encoded data, and this model has no encoder: use the Directions tab instead."


@dataclass
class EncodedData:
    """A data set encoded by the current model, for the latent map."""

    data: ImageSet
    means: np.ndarray
    projection: Projection2D
    model_id: int


class LatentPanel(Panel):
    title = "VAE / AE / GAN"
    families = ("vae", "ae", "gan")

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
        self.directions: LatentDirections | None = None
        self.slider_mode = "latent"  # or "directions": one slider per direction, value u_j . z
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
        mode_row = QHBoxLayout()
        mode_row.addWidget(QLabel("Sliders"))
        self.slider_mode_box = QComboBox()
        self.slider_mode_box.addItems(["latent dimensions", "directions"])
        self.slider_mode_box.setToolTip("One slider per dimension of z, or one per direction (Directions tab)")
        mode_row.addWidget(self.slider_mode_box, 1)
        left_layout.addLayout(mode_row)
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
        self.encode_stack = _with_explanation(self._build_encode_tab(), NO_ENCODER)
        self.map_stack = _with_explanation(self._build_map_tab(), NO_MAP)
        self.tabs.addTab(self.encode_stack, "Encode")
        self.tabs.addTab(self._build_interpolate_tab(), "Interpolate")
        self.tabs.addTab(self.map_stack, "Latent map")
        self.tabs.addTab(self._build_directions_tab(), "Directions")
        splitter.addWidget(self.tabs)
        splitter.setSizes([380, 420, 460])

        self.random_button.clicked.connect(self.sample_prior)
        self.new_seed_button.clicked.connect(self._new_seed)
        self.reset_button.clicked.connect(self.reset_latent)
        self.export_button.clicked.connect(self._export_dialog)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.slider_mode_box.currentIndexChanged.connect(
            lambda i: self.set_slider_mode("directions" if i == 1 else "latent"))

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

    def _build_directions_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        row = QHBoxLayout()
        self.direction_count = QSpinBox()
        self.direction_count.setRange(1, 64)
        self.direction_count.setValue(DEFAULT_DIRECTIONS)
        self.direction_count.setPrefix("k = ")
        self.compute_directions_button = QPushButton("Compute (GANSpace)")
        self.compute_directions_button.setToolTip(
            f"PCA of the generator's early activations for {DIRECTION_SAMPLES} prior samples, "
            "regressed back to z and orthonormalised")
        row.addWidget(self.direction_count)
        row.addWidget(self.compute_directions_button, 1)
        layout.addLayout(row)
        files = QHBoxLayout()
        self.save_directions_button = QPushButton("Save…")
        self.load_directions_button = QPushButton("Load…")
        files.addWidget(self.save_directions_button)
        files.addWidget(self.load_directions_button)
        layout.addLayout(files)
        self.directions_info = QLabel("Directions are computed when a model is opened.")
        self.directions_info.setWordWrap(True)
        layout.addWidget(self.directions_info)
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Show direction"))
        self.direction_pick = QSpinBox()
        self.direction_pick.setRange(0, 0)
        self.direction_pick.setPrefix("u")
        pick.addWidget(self.direction_pick, 1)
        layout.addLayout(pick)
        self.direction_strip = ImageCanvas("current z moved along u, −3 … +3", minimum=60)
        layout.addWidget(self.direction_strip, 1)
        self.compute_directions_button.clicked.connect(self.compute_directions)
        self.save_directions_button.clicked.connect(self._save_directions_dialog)
        self.load_directions_button.clicked.connect(self._load_directions_dialog)
        self.direction_pick.valueChanged.connect(lambda _: self._render_direction_strip())
        return tab

    # --- model ---------------------------------------------------------------------------------

    def set_model(self, loaded: LoadedModel) -> None:
        super().set_model(loaded)
        self.model_id += 1
        # the old model's work is moot; a model picked while this one loaded still waits to load
        self.worker.cancel(keep=("load",))
        model = loaded.model
        self.directions = None
        self.slider_mode = "latent"
        self.slider_mode_box.blockSignals(True)
        self.slider_mode_box.setCurrentIndex(0)
        self.slider_mode_box.blockSignals(False)
        self._build_rows()
        self.note.setText({"ae": AE_NOTE, "gan": GAN_NOTE}.get(loaded.family, VAE_NOTE))
        self.note.setProperty("warning", loaded.family == "ae")
        self.encode_stack.setCurrentIndex(0 if self.has_encoder else 1)
        self.map_stack.setCurrentIndex(0 if self.has_encoder else 1)
        if not self.has_encoder and self.tabs.currentIndex() in (ENCODE_TAB, MAP_TAB):
            self.tabs.setCurrentIndex(DIRECTIONS_TAB)
        self.direction_count.setMaximum(model.latent_dim)
        self.direction_count.setValue(min(DEFAULT_DIRECTIONS, model.latent_dim))
        self.direction_strip.set_image(None)
        self.note.style().unpolish(self.note)
        self.note.style().polish(self.note)
        # every model opens on the seed's prior draw, as Random shows it: z = 0 draws a smudge (a
        # VAE's blurred mean image; for a GAN it lies off the |z| ~ sqrt(d) shell its noise comes from)
        opening_seed = self.seed_box.value()
        self.z = prior_latents(model.latent_dim, 1, opening_seed)[0].numpy()
        self.encoded = None
        self.endpoints = {"A": None, "B": None}
        for canvas in self.endpoint_canvases.values():
            canvas.set_image(None)
        self.strip_canvas.set_image(None)
        dataset = loaded.meta.data if loaded.meta.data in ("shapes", "digits") else "shapes"
        if not self.has_encoder:
            pass  # nothing to encode: no gallery
        elif self.dataset_box.currentText() != dataset:
            self.dataset_box.setCurrentText(dataset)  # triggers the gallery load
        elif self.gallery_data is None:
            self._load_gallery(dataset)
        self.set_latent(self.z, seed=opening_seed)
        if self.tabs.currentIndex() == MAP_TAB:
            self._encode_map_data()
        if loaded.family == "gan":  # the GAN's stand-in for an encoder: computed at once
            self.compute_directions()

    @property
    def has_encoder(self) -> bool:
        return self.loaded is not None and hasattr(self.loaded.model, "encode")

    def _build_rows(self) -> None:
        """One slider row per latent dimension (ordered by usage) or per direction."""
        for row in self.rows.values():
            # out of the layout at once: deleteLater waits for the event loop, which a nested
            # processEvents (tests, offscreen screenshots) never returns to
            self.slider_layout.removeWidget(row)
            row.hide()
            row.deleteLater()
        self.rows = {}
        if self.loaded is None:
            return
        if self.slider_mode == "directions" and self.directions is not None:
            for j, share in enumerate(self.directions.explained_variance):
                row = LatentSliderRow(j, float(share), "var", active=True)
                row.name.setText(f"u{j}")
                row.usage.setText(f"{share:.1%}")
                row.usage.setToolTip("share of the early activations' variance along this principal axis")
                row.value_changed.connect(self._on_slider)
                self.slider_layout.insertWidget(j, row)
                self.rows[j] = row
            return
        family = self.loaded.family
        usage = self.loaded.meta.extra.get("latent_usage")
        kind = "KL" if family == "vae" else "var"
        for position, dim in enumerate(latent_order(usage, self.loaded.model.latent_dim)):
            value = float(usage[dim]) if usage else 0.0
            active = family != "vae" or value > 0.05
            row = LatentSliderRow(dim, value, kind, active=active)
            if usage is None:
                row.usage.setText("")  # a GAN's z has no per-dimension usage
            row.value_changed.connect(self._on_slider)
            self.slider_layout.insertWidget(position, row)
            self.rows[dim] = row

    def set_slider_mode(self, mode: str) -> None:
        """"latent": a slider per dimension of z; "directions": a slider per direction, at u_j . z."""
        if mode == "directions" and self.directions is None:
            self.status_message.emit("No directions yet: compute or load them in the Directions tab")
            mode = "latent"
        self.slider_mode = mode
        self.slider_mode_box.blockSignals(True)
        self.slider_mode_box.setCurrentIndex(1 if mode == "directions" else 0)
        self.slider_mode_box.blockSignals(False)
        self._build_rows()
        self._sync_rows()

    # --- latent state and decoding -----------------------------------------------------------

    def set_latent(self, z: np.ndarray, seed: int | None = None) -> None:
        """Make z the current latent: move every slider and render it."""
        self.z = np.asarray(z, np.float32).copy()
        self.last_seed = seed
        self._sync_rows()
        self._request_decode(self.z)
        self._update_map_cursor()
        self._render_direction_strip()

    def _sync_rows(self) -> None:
        if self.slider_mode == "directions" and self.directions is not None:
            values = self.directions.coordinates(self.z) if len(self.z) else []
        else:
            values = self.z
        for key, row in self.rows.items():
            if key < len(values):
                row.set_value(float(values[key]))

    def _on_slider(self, key: int, value: float) -> None:
        if self.slider_mode == "directions" and self.directions is not None:
            self.z = self.directions.move(self.z, key, value)
        else:
            self.z[key] = value
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
        """Use the current latent as end point A or B (decoded afresh: the shown image may lag z)."""
        if self.loaded is None:
            return
        z, model, model_id = self.z.copy(), self.loaded.model, self.model_id
        self.endpoints[name] = z

        def work(ctx: JobContext) -> tuple[int, np.ndarray]:
            return model_id, decode(model, z)[0]

        def show(result: tuple[int, np.ndarray]) -> None:
            if result[0] == self.model_id:
                self.endpoint_canvases[name].set_image(result[1])

        self.worker.submit(work, channel=f"endpoint-{name}", on_result=show, on_error=self.report_error)
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
        if index == MAP_TAB and (self.encoded is None or self.encoded.model_id != self.model_id):
            self._encode_map_data()
        if index == DIRECTIONS_TAB:
            self._render_direction_strip()

    def _encode_map_data(self) -> None:
        if self.loaded is None or not self.has_encoder:
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

    # --- directions ------------------------------------------------------------------------------

    def compute_directions(self) -> None:
        """GANSpace directions of the current model, in the worker; they replace any loaded ones."""
        if self.loaded is None:
            return
        model, model_id, name = self.loaded.model, self.model_id, self.loaded.name
        k = self.direction_count.value()

        def work(ctx: JobContext) -> tuple[int, LatentDirections]:
            directions = ganspace_directions(model, n_directions=k, n_samples=DIRECTION_SAMPLES)
            directions.model = name
            return model_id, directions

        self.directions_info.setText("Computing directions…")
        self.worker.submit(work, channel="directions", label="Computing GANSpace directions",
                           on_result=self._directions_ready, on_error=self.report_error)

    def _directions_ready(self, result: tuple[int, LatentDirections]) -> None:
        model_id, directions = result
        if model_id == self.model_id:
            self.set_directions(directions)

    def set_directions(self, directions: LatentDirections, source: str = "") -> None:
        self.directions = directions
        shares = ", ".join(f"{v:.1%}" for v in directions.explained_variance[:5])
        origin = source or (f"{directions.method} on {directions.n_samples} samples, "
                            f"generator layer {directions.layer}")
        self.directions_info.setText(
            f"{len(directions)} orthonormal directions ({origin}). Variance of the early activations "
            f"along the first ones: {shares}. Switch the sliders to <i>directions</i> to use them.")
        self.direction_pick.setRange(0, len(directions) - 1)
        if self.slider_mode == "directions":
            self._build_rows()
            self._sync_rows()
        self._render_direction_strip()

    def save_directions(self, path: str | Path) -> Path:
        if self.directions is None:
            raise ValueError("no directions to save yet")
        return save_directions(path, self.directions)

    def load_directions(self, path: str | Path) -> None:
        """Read a directions file made for this model's latent size (errors go to the status bar)."""
        if self.loaded is None:
            return
        try:
            directions = load_directions(path, latent_dim=self.loaded.model.latent_dim)
        except ValueError as exc:
            self.report_error(str(exc))
            return
        if directions.model and directions.model != self.loaded.name:
            self.status_message.emit(f"Note: {Path(path).name} was made for {directions.model}, not {self.loaded.name}")
        self.set_directions(directions, source=f"loaded from {Path(path).name}")

    def _save_directions_dialog(self) -> None:
        self.save_with_dialog("Save directions", "directions.json", "JSON (*.json)", self.save_directions)

    def _load_directions_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load directions", "", "JSON (*.json)")
        if path:
            self.load_directions(path)

    def _render_direction_strip(self) -> None:
        """The current z moved along the picked direction from -3 to +3 (only while the tab shows)."""
        if self.directions is None or self.loaded is None or self.tabs.currentIndex() != DIRECTIONS_TAB:
            return
        model, directions, z = self.loaded.model, self.directions, self.z.copy()
        j = min(self.direction_pick.value(), len(directions) - 1)

        def work(ctx: JobContext) -> np.ndarray:
            frames = decode(model, np.stack([directions.move(z, j, v) for v in np.linspace(-3, 3, DIRECTION_FRAMES)]))
            return np.concatenate(list(frames), axis=1)

        self.worker.submit(work, channel="direction-strip", on_result=self.direction_strip.set_image,
                           on_error=self.report_error)

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
        self.save_with_dialog("Export PNG", "latent.png", "PNG (*.png)", self.export_png, "recipe in its PNG metadata")


def _with_explanation(page: QWidget, explanation: str) -> QStackedWidget:
    """A tab page that can be swapped for one line saying why it does not apply to this model."""
    stack = QStackedWidget()
    stack.addWidget(page)
    label = QLabel(explanation)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setStyleSheet("color: #aaa; padding: 24px;")
    stack.addWidget(label)
    return stack
