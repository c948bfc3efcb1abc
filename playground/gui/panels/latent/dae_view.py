"""Denoise (a dae is loaded): corrupt an image by hand (Gaussian noise, masked patches) and see what
the denoising autoencoder paints back, beside the plain AE's reconstruction of the same corrupted
input, each with its error against the clean image.

The AE is the shipped ae-shapes (`PartnerModels`), loaded in the panel's worker. The corruption
is drawn from a fixed seed, so a slider's value always means the same corrupted picture and
only the sliders change the numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from ....core.checkpoints import LoadedModel
from ....core.data import gallery_images, to_tensor, to_uint8
from ....core.models.dae import corrupt
from ...widgets.gallery import DataGallery
from ...widgets.image_file import ask_image_path, open_image_file
from ...widgets.images import ImageCanvas
from ...widgets.partner_models import PartnerModels
from ...widgets.sliders import ScaleSlider
from ...worker import JobContext
from .views import LatentView

NO_DAE = ("Denoising applies to a denoising autoencoder: open a dae checkpoint (dae-shapes) to corrupt "
          "an image and compare its reconstruction with the plain AE's.")
DAE_NOTE = ("Denoising autoencoder: the AE's network trained to paint the clean image from a noised, "
            "patch-masked one. Like the AE it has no prior: Random decodes noise through its decoder. "
            "The Denoise tab corrupts an image by hand.")
CORRUPTION_SEED = 0


@torch.inference_mode()
def denoise_comparison(dae: torch.nn.Module, ae: torch.nn.Module | None, image: np.ndarray, noise_std: float,
                       mask_ratio: float, patch: int, seed: int = CORRUPTION_SEED) -> dict:
    """The corrupted image and both reconstructions (uint8) with each one's MSE against the clean
    image (pixels in [-1, 1])."""
    device = next(dae.parameters()).device
    clean = to_tensor(image[None]).to(device)
    noisy = corrupt(clean, noise_std, mask_ratio, patch, torch.Generator().manual_seed(seed))
    out = {"clean": image, "corrupted": to_uint8(noisy)[0], "mse": {"corrupted": (noisy - clean).pow(2).mean().item()}}
    for name, model in (("dae", dae), ("ae", ae)):
        if model is None:
            continue
        recon = model(noisy.to(next(model.parameters()).device))[0].to(device)
        out[name] = to_uint8(recon)[0]
        out["mse"][name] = (recon.clamp(-1, 1) - clean).pow(2).mean().item()
    return out


class DenoiseView(LatentView):
    def __init__(self, panel):
        super().__init__(panel)
        self.partners = PartnerModels(panel.device)
        self.image: np.ndarray | None = None
        self.description = ""
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Pick a shapes image, or"))
        self.open_image_button = QPushButton("Open image…")
        row.addWidget(self.open_image_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.gallery = DataGallery(icon_px=40)
        self.gallery.setMaximumHeight(150)
        layout.addWidget(self.gallery)
        self.noise = ScaleSlider("noise σ", 1.0, 0.01, 0.2, "std of the Gaussian noise added to the pixels "
                                 "(in [-1, 1] units); the dae trained with up to its noise_std")
        self.mask = ScaleSlider("masked", 0.95, 0.05, 0.25, "share of patches blanked to the background")
        layout.addWidget(self.noise)
        layout.addWidget(self.mask)
        grid = QGridLayout()
        self.canvases: dict[str, ImageCanvas] = {}
        self.errors: dict[str, QLabel] = {}
        for column, (key, title) in enumerate((("corrupted", "corrupted input"), ("dae", "DAE's output"),
                                               ("ae", "plain AE's output"))):
            self.canvases[key] = ImageCanvas(title, minimum=96)
            self.errors[key] = QLabel("")
            self.errors[key].setStyleSheet("color: #c8c8c8;")
            grid.addWidget(self.canvases[key], 0, column)
            grid.addWidget(self.errors[key], 1, column)
        layout.addLayout(grid, 1)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        self.gallery.picked.connect(self._pick)
        self.open_image_button.clicked.connect(self._open_image_dialog)
        self.noise.value_changed.connect(lambda _: self.run())
        self.mask.value_changed.connect(lambda _: self.run())
        self.result: dict | None = None

    @property
    def applies(self) -> bool:
        return self.panel.loaded is not None and self.panel.loaded.family == "dae"

    def on_model(self, loaded: LoadedModel) -> None:
        self.result = None
        for key, canvas in self.canvases.items():
            canvas.set_image(None)
            self.errors[key].setText("")
        if loaded.family == "dae":
            config = loaded.model.config
            self.noise.set_value(float(config.noise_std))
            self.mask.set_value(float(config.mask_ratio))
            self.info.setText(f"{loaded.name} trained on noise σ up to {config.noise_std:g} and up to "
                              f"{config.mask_ratio:.0%} of its {config.mask_patch}x{config.mask_patch} patches "
                              "masked. MSE against the clean image, pixels in [-1, 1].")

    def activate(self) -> None:
        if not self.applies:
            return
        if self.gallery.data is None:
            first = self.image is None  # its own channel: the Encode tab's gallery may be loading on "gallery"
            self.panel.submit(lambda ctx: gallery_images("shapes"), channel="denoise-gallery",
                              on_result=lambda data: self.gallery.set_data(data, select_first=first))
        else:
            self.run()

    def _pick(self, index: int) -> None:
        image = self.gallery.image(index)
        if image is not None:
            self.set_image(image, self.gallery.describe(index))

    def set_image(self, image: np.ndarray, description: str = "") -> None:
        self.image, self.description = np.ascontiguousarray(image[..., :3]), description
        self.run()

    def run(self) -> None:
        """Corrupt the chosen image at the sliders' levels and reconstruct it with both models (worker)."""
        if not self.applies or self.image is None:
            return
        loaded, image, partners = self.panel.loaded, self.image, self.partners
        noise, mask, patch = self.noise.value(), self.mask.value(), loaded.model.config.mask_patch

        def work(ctx: JobContext) -> dict:
            ae = partners.family("ae", None)
            result = denoise_comparison(loaded.model, ae.model if ae is not None else None, image, noise, mask, patch)
            result["ae_name"] = ae.name if ae is not None else None
            return result

        self.panel.submit(work, channel="denoise", on_result=self.show_result)

    def show_result(self, result: dict) -> None:
        self.result = result
        mse = result["mse"]
        names = {"corrupted": "input", "dae": self.panel.loaded.name, "ae": result.get("ae_name") or "no shipped ae"}
        for key, canvas in self.canvases.items():
            canvas.set_image(result.get(key))
            self.errors[key].setText(f"{names[key]}: MSE {mse[key]:.4f}" if key in mse else names[key])

    def _open_image_dialog(self) -> None:
        path = ask_image_path(self)
        if path:
            self.open_image(path)

    def open_image(self, path: str | Path) -> None:
        if self.panel.loaded is not None:
            open_image_file(self.panel, path, self.panel.loaded.model.config.image_size, self.set_image)
