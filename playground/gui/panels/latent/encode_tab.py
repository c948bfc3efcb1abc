"""Encode: pick a data-set image (or open a file); the sliders jump to its encoding and the
reconstruction shows how much of the image the latent keeps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ....core.checkpoints import LoadedModel
from ....core.latent.sampling import decode, encode
from ...widgets.gallery import DataGallery
from ...widgets.image_file import ask_image_path, open_image_file
from ...widgets.images import ImageCanvas
from ...worker import JobContext
from .views import LatentView

DATASETS = ("shapes", "digits")
NO_ENCODER = "This model has no encoder (a GAN only decodes), so there is nothing to encode: use Random or Directions."


def model_dataset(loaded: LoadedModel) -> str:
    """The data set a model was trained on, if the panel can show it (else shapes)."""
    return loaded.meta.data if loaded.meta.data in DATASETS else "shapes"


class EncodeView(LatentView):
    def __init__(self, panel):
        super().__init__(panel)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.dataset_box = QComboBox()
        self.dataset_box.addItems(DATASETS)
        self.open_image_button = QPushButton("Open image…")
        row.addWidget(QLabel("Data set"))
        row.addWidget(self.dataset_box, 1)
        row.addWidget(self.open_image_button)
        layout.addLayout(row)
        self.gallery = DataGallery()
        layout.addWidget(self.gallery, 3)
        pair = QHBoxLayout()
        self.original_canvas = ImageCanvas("original", minimum=140)
        self.recon_canvas = ImageCanvas("reconstruction", minimum=140)
        pair.addWidget(self.original_canvas)
        pair.addWidget(self.recon_canvas)
        layout.addLayout(pair, 2)
        self.info = QLabel()
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        self.dataset_box.currentTextChanged.connect(self.load_gallery)
        self.gallery.picked.connect(self._encode_item)
        self.open_image_button.clicked.connect(self._open_image_dialog)

    def on_model(self, loaded: LoadedModel) -> None:
        # the old model's reconstruction and MSE say nothing about this one
        self.original_canvas.set_image(None)
        self.recon_canvas.set_image(None)
        self.gallery.blockSignals(True)
        self.gallery.setCurrentRow(-1)
        self.gallery.blockSignals(False)
        self.info.setText(f"Click an image to encode it with {loaded.name}: the sliders jump to its latent mean.")
        self.dataset_box.blockSignals(True)
        self.dataset_box.setCurrentText(model_dataset(loaded))
        self.dataset_box.blockSignals(False)

    def activate(self) -> None:
        name = self.dataset_box.currentText()
        if self.panel.has_encoder and (self.gallery.data is None or self.gallery.data.name != name):
            self.load_gallery(name)

    def load_gallery(self, name: str) -> None:
        self.gallery.load(self.panel, name)

    def _encode_item(self, index: int) -> None:
        image = self.gallery.image(index)
        if image is not None:
            self.encode_image(image, self.gallery.describe(index))

    def encode_image(self, image: np.ndarray, description: str = "") -> None:
        """Encode one (H, W, 3) uint8 image; the sliders jump to its posterior mean."""
        if self.panel.loaded is None or not self.panel.has_encoder:
            return
        model = self.panel.loaded.model

        def work(ctx: JobContext) -> tuple[np.ndarray, np.ndarray]:
            mean, _ = encode(model, image[None])
            return mean[0], decode(model, mean)[0]

        def show(result: tuple[np.ndarray, np.ndarray]) -> None:
            mean, recon = result
            self.original_canvas.set_image(image)
            self.recon_canvas.set_image(recon)
            mse = float(np.mean(((image.astype(np.float32) - recon) / 127.5) ** 2))
            self.info.setText(f"{description}\nreconstruction MSE {mse:.4f} (pixels in [-1, 1])")
            self.panel.set_latent(mean, source=f"the encoding (posterior mean) of {description or 'an image'}")

        self.panel.submit(work, channel="encode", on_result=show)

    def _open_image_dialog(self) -> None:
        path = ask_image_path(self)
        if path:
            self.open_image(path)

    def open_image(self, path: str | Path) -> None:
        """Read an image file in the worker and encode it; a file that is no image gets a message."""
        if self.panel.loaded is not None:
            open_image_file(self.panel, path, self.panel.loaded.model.config.image_size, self.encode_image)
