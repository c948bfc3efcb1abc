"""The autoencoder-kl by hand: an image, its 4 latent channels (8x8 each), the reconstruction; drag
one latent cell's value and the reconstruction follows (throttled, newest value wins).

The autoencoder is the picked autoencoder-kl, or the first stage inside the picked dit/sit (the
one it was trained on). The latent shown is the scaled one the diffusion models denoise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from ....core.latent_diffusion.first_stage import (LATENT_DISPLAY_RANGE, Reconstruction, channel_image,
                                                   first_stage_of, reconstruct)
from ....core.serving.remote_views import remote_reconstruct
from ...widgets.cell_pick import CellMarker, watch_clicks
from ...widgets.gallery import DataGallery
from ...widgets.image_file import ask_image_path, open_image_file
from ...widgets.images import ImageCanvas
from ...widgets.throttle import Throttle
from ...widgets.titled import TitledCanvas, note_label
from ...worker import JobContext

NOTE = ("32x32x3 pixels -> an 8x8x4 latent (12x fewer numbers) -> pixels. Pick an image, click a latent cell, "
        "drag its value: blue below 0, red above (+-3). The latent is scaled by the factor measured from the data, "
        "so it has about unit variance, like the noise the diffusion models mix it with.")
SLIDER_STEPS = 100  # slider units per latent unit


class AutoencoderView(QWidget):
    def __init__(self, panel):
        super().__init__()
        self.panel = panel
        self.original: np.ndarray | None = None
        self.description = ""
        self.encoded: np.ndarray | None = None   # the image's own latent
        self.latent: np.ndarray | None = None    # as edited
        self.cell = (0, 3, 3)
        self.scale_factor = float("nan")
        self.throttle = Throttle()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(lambda: (self.throttle.ready(), self._decode()))
        self._build()

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.addWidget(note_label(NOTE))
        body = QHBoxLayout()
        root.addLayout(body, 1)
        left = QVBoxLayout()
        self.open_button = QPushButton("Open image…")
        left.addWidget(self.open_button)
        self.gallery = DataGallery(icon_px=40)
        self.gallery.setFixedWidth(230)
        left.addWidget(self.gallery, 1)
        body.addLayout(left)

        centre = QVBoxLayout()
        pair = QHBoxLayout()
        self.original_canvas = TitledCanvas("original", "", minimum=150)
        self.recon_canvas = TitledCanvas("reconstruction", "", minimum=150)
        pair.addWidget(self.original_canvas, 1)
        pair.addWidget(self.recon_canvas, 1)
        centre.addLayout(pair, 3)
        channels = QGridLayout()
        channels.setSpacing(4)
        self.channel_canvases: list[ImageCanvas] = []
        self.markers: list[CellMarker] = []
        for c in range(4):
            canvas = ImageCanvas(f"latent channel {c}", minimum=110)
            canvas.setToolTip("Click a cell to put its value on the slider")
            watch_clicks(canvas, lambda r, k, c=c: self.set_cell(c, r, k))
            self.channel_canvases.append(canvas)
            self.markers.append(CellMarker(canvas))
            channels.addWidget(canvas, 0, c)
        centre.addLayout(channels, 2)
        slider_row = QHBoxLayout()
        self.cell_label = QLabel()
        self.cell_label.setMinimumWidth(170)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        limit = int(2 * LATENT_DISPLAY_RANGE * SLIDER_STEPS)
        self.slider.setRange(-limit, limit)
        self.slider.setToolTip("The chosen latent value (scaled latent); the reconstruction follows as you drag")
        self.value_label = QLabel("+0.00")
        self.value_label.setMinimumWidth(48)
        self.reset_button = QPushButton("Reset latent")
        self.reset_button.setToolTip("Back to the image's own latent")
        for widget in (self.cell_label, self.slider, self.value_label, self.reset_button):
            slider_row.addWidget(widget)
        slider_row.setStretch(1, 1)
        centre.addLayout(slider_row)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        centre.addWidget(self.info)
        body.addLayout(centre, 1)

        self.gallery.picked.connect(self._on_picked)
        self.open_button.clicked.connect(self._open_dialog)
        self.slider.valueChanged.connect(self._on_slider)
        self.reset_button.clicked.connect(self.reset_latent)
        self._show_cell()

    # --- model and images ----------------------------------------------------------------------

    def source_words(self) -> str:
        loaded = self.panel.loaded
        if loaded is None:
            return ""
        return loaded.name if loaded.family == "autoencoder-kl" else f"the first stage inside {loaded.name}"

    def on_model(self) -> None:
        self.encoded = self.latent = None
        for titled in (self.original_canvas, self.recon_canvas):
            titled.set_image(None)
            titled.set_caption("")
        for canvas in self.channel_canvases:
            canvas.set_image(None)
        self.info.setText(f"Autoencoder: {self.source_words()}. Pick an image.")

    def activate(self) -> None:
        if self.gallery.data is None:
            self.gallery.load(self.panel, "shapes", select_first=True)
        elif self.original is not None:
            self.encode(self.original, self.description)

    def _on_picked(self, index: int) -> None:
        image = self.gallery.image(index)
        if image is not None:
            self.encode(image, self.gallery.describe(index))

    def _open_dialog(self) -> None:
        path = ask_image_path(self)
        if path:
            self.open_image(path)

    def open_image(self, path: str | Path) -> None:
        open_image_file(self.panel, path, 32, self.encode)

    def encode(self, image: np.ndarray, description: str = "") -> None:
        if self.panel.loaded is None:
            return
        model = self.panel.loaded.model

        def work(ctx: JobContext) -> tuple[Reconstruction, float]:
            ae = first_stage_of(model)
            return reconstruct(ae, image), float(ae.scale_factor)

        def done(result: tuple[Reconstruction, float]) -> None:
            recon, self.scale_factor = result
            self.original, self.description = image, description
            self.encoded, self.latent = recon.latent.copy(), recon.latent.copy()
            self.original_canvas.set_image(image)
            self.original_canvas.set_caption(description)
            self._show(recon)
            self._show_cell()

        work.remote = lambda ctx, connection: remote_reconstruct(connection, model, image)  # gui/remote_worker.py
        self.panel.submit(work, channel="ae-encode", on_result=done)

    # --- editing a latent cell -------------------------------------------------------------------

    def set_cell(self, channel: int, row: int, col: int) -> None:
        self.cell = (channel, row, col)
        self._show_cell()

    def _show_cell(self) -> None:
        c, r, k = self.cell
        self.cell_label.setText(f"channel {c}, row {r}, column {k}")
        for i, marker in enumerate(self.markers):
            marker.show_cell(r if i == c else None, k)
        value = float(self.latent[c, r, k]) if self.latent is not None else 0.0
        self.slider.blockSignals(True)
        self.slider.setValue(int(round(value * SLIDER_STEPS)))
        self.slider.blockSignals(False)
        self.value_label.setText(f"{value:+.2f}")

    def _on_slider(self, raw: int) -> None:
        if self.latent is None:
            return
        value = raw / SLIDER_STEPS
        self.latent[self.cell] = value
        self.value_label.setText(f"{value:+.2f}")
        self.request_decode()

    def reset_latent(self) -> None:
        if self.encoded is not None:
            self.latent = self.encoded.copy()
            self._show_cell()
            self.request_decode()

    def request_decode(self) -> None:
        """Decode the edited latent now, or at the end of the throttle's interval (the newest value)."""
        if self.throttle.ready():
            self._decode()
        elif not self._timer.isActive():
            self._timer.start(max(1, int(self.throttle.interval * 1000)))

    def _decode(self) -> None:
        if self.panel.loaded is None or self.latent is None or self.original is None:
            return
        model, original, latent = self.panel.loaded.model, self.original, self.latent.copy()
        def work(ctx: JobContext) -> Reconstruction:
            return reconstruct(first_stage_of(model), original, latent)

        work.remote = lambda ctx, connection: remote_reconstruct(connection, model, original, latent)[0]
        self.panel.submit(work, channel="ae-decode", on_result=self._show)

    def _show(self, recon: Reconstruction) -> None:
        self.recon_canvas.set_image(recon.image)
        edited = self.encoded is not None and not np.array_equal(recon.latent, self.encoded)
        self.recon_canvas.set_caption("from the edited latent" if edited else "decode(encode(image))")
        for c, canvas in enumerate(self.channel_canvases):
            canvas.set_image(channel_image(recon.latent[c]))
        self.info.setText(f"Autoencoder: {self.source_words()} · scale factor {self.scale_factor:.4g} (measured: "
                          f"1 / std of the data's latents) · reconstruction error (MSE, pixels in [-1, 1]) "
                          f"{recon.mse:.5f}" + (" (edited latent)" if edited else ""))
