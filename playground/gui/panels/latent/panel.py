"""The latent explorer for VAE, AE and GAN: sliders, prior samples, encoding, interpolation, a 2D
map, and GANSpace directions (sliders along the generator's main axes of variation).

The panel keeps the current latent `z`, the seed whose prior draw it is (None once z came
from anywhere else) and words for where it came from, shown under the image. Every control
edits z and asks the worker for a decode on the "decode" channel, so dragging coalesces to
the newest value. Each tab is a view in its own file, computed only while shown.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget

from ....core.checkpoints import LoadedModel
from ....core.images import save_png, upscale
from ....core.latent.directions import LatentDirections
from ....core.latent.sampling import decode
from ....core.serving.remote import remote_decode
from ...widgets.images import ImageCanvas
from ...widgets.nearest import nearest_button
from ...widgets.titled import note_label
from ...worker import JobContext, ModelWorker
from ..base import Panel, mark_primary
from .dae_view import DAE_NOTE, NO_DAE, DenoiseView
from .directions_tab import DirectionsView
from .encode_tab import NO_ENCODER, EncodeView
from .interpolate_tab import InterpolateView
from .map_tab import NO_MAP, MapView
from .notes import AE_NOTE, GAN_NOTE, VAE_NOTE
from .recipe import EXPORT_SCALE, SEED_MAX, export_recipe, latent_from_recipe, seed_latent, seed_source
from .seed_box import SeedBox
from .sliders import LatentSliders
from .views import LatentView, with_explanation

ENCODE_TAB, INTERPOLATE_TAB, MAP_TAB, DIRECTIONS_TAB = range(4)
EDITED = ", then moved with the sliders"


class LatentPanel(Panel):
    title = "VAE / AE / GAN"
    families = ("vae", "ae", "gan", "dae")

    def __init__(self, worker: ModelWorker, device: torch.device, parent: QWidget | None = None):
        super().__init__(worker, device, parent)
        self.z = np.zeros(0, np.float32)
        self.z_seed: int | None = None  # the seed whose prior draw z is; None once z is anything else
        self.z_source = ""  # where z came from, in words (shown under the image)
        self.current_image: np.ndarray | None = None  # decode(current_z): what an export writes
        self.current_z: np.ndarray | None = None
        self.slider_mode = "latent"
        self._build()

    def _build(self) -> None:
        root = QVBoxLayout(self)
        self.note = note_label(VAE_NOTE)
        root.addWidget(self.note)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        root.addWidget(splitter, 1)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        controls = QHBoxLayout()
        self.random_button = QPushButton("Random")
        self.random_button.setToolTip("Draw z from the prior N(0, I) with a new seed (shown beside it)")
        self.seed_box = SeedBox(0)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Back to the prior draw of the seed in the box")
        for widget in (self.random_button, QLabel("seed"), self.seed_box, self.reset_button):
            controls.addWidget(widget)
        left_layout.addLayout(controls)
        self.sliders = LatentSliders()
        left_layout.addWidget(self.sliders, 1)
        splitter.addWidget(left)

        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        self.canvas = ImageCanvas("decoded z", minimum=300)
        centre_layout.addWidget(self.canvas, 1)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #c8c8c8;")
        centre_layout.addWidget(self.caption)
        buttons = QHBoxLayout()
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setToolTip("Save the image with its recipe (model, latent, seed) in the PNG metadata")
        self.load_button = QPushButton("Load PNG…")
        self.load_button.setToolTip("Restore z and its seed from a PNG exported here or by playground sample/encode")
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.load_button)
        buttons.addWidget(nearest_button(self, lambda: self.current_image))
        centre_layout.addLayout(buttons)
        splitter.addWidget(centre)

        self.encode_view, self.interpolate_view = EncodeView(self), InterpolateView(self)
        self.map_view, self.directions_view = MapView(self), DirectionsView(self)
        self.denoise_view = DenoiseView(self)
        self.primary_button = self.random_button  # Ctrl+Enter; on the Directions tab its Compute
        mark_primary(self.directions_view.compute_button)
        self.views: list[LatentView] = [self.encode_view, self.interpolate_view, self.map_view, self.directions_view,
                                        self.denoise_view]
        self.denoise_stack = with_explanation(self.denoise_view, NO_DAE)
        self.encode_stack = with_explanation(self.encode_view, NO_ENCODER)
        self.map_stack = with_explanation(self.map_view, NO_MAP)
        self.tabs = QTabWidget()
        for page, name in ((self.encode_stack, "Encode"), (self.interpolate_view, "Interpolate"),
                           (self.map_stack, "Latent map"), (self.directions_view, "Directions"),
                           (self.denoise_stack, "Denoise")):
            self.tabs.addTab(page, name)
        splitter.addWidget(self.tabs)
        splitter.setSizes([380, 420, 460])

        self.random_button.clicked.connect(self.sample_prior)
        self.seed_box.entered.connect(self.draw_seed)
        self.seed_box.invalid.connect(self.report_error)
        self.reset_button.clicked.connect(self.reset_latent)
        self.export_button.clicked.connect(self._export_dialog)
        self.load_button.clicked.connect(self.load_png_dialog)
        self.sliders.moved.connect(self._on_slider)
        self.sliders.mode_requested.connect(self.set_slider_mode)
        self.directions_view.changed.connect(self._on_directions)

    # --- model and activation ------------------------------------------------------------------

    @property
    def has_encoder(self) -> bool:
        return self.loaded is not None and hasattr(self.loaded.model, "encode")

    @property
    def directions(self) -> LatentDirections | None:
        return self.directions_view.directions

    def on_model(self, loaded: LoadedModel) -> None:
        for view in self.views:
            view.on_model(loaded)
        self.note.setText({"ae": AE_NOTE, "gan": GAN_NOTE, "dae": DAE_NOTE}.get(loaded.family, VAE_NOTE))
        self.note.setProperty("warning", loaded.family in ("ae", "dae"))
        self.denoise_stack.setCurrentIndex(0 if loaded.family == "dae" else 1)
        self.note.style().unpolish(self.note)
        self.note.style().polish(self.note)
        self.encode_stack.setCurrentIndex(0 if self.has_encoder else 1)
        self.map_stack.setCurrentIndex(0 if self.has_encoder else 1)
        self.slider_mode = "latent"
        self.sliders.build(loaded)
        self.current_image = self.current_z = None
        self.canvas.set_image(None)
        # every model opens on the seed's prior draw, as Random shows it: z = 0 draws a smudge (a
        # VAE's blurred mean image; for a GAN it lies off the |z| ~ sqrt(d) shell its noise comes from)
        seed = self.seed_box.seed()
        self._set_z(seed_latent(loaded.model.latent_dim, seed), seed, seed_source(seed))
        if not self.has_encoder and self.tabs.currentIndex() in (ENCODE_TAB, MAP_TAB):
            self.tabs.setCurrentIndex(DIRECTIONS_TAB)

    def activate(self) -> None:
        self._request_decode(self.z)
        if self.loaded.family == "gan":  # the GAN's stand-in for an encoder, for the sliders: at once
            self.directions_view.compute()

    # --- the latent ----------------------------------------------------------------------------

    def _set_z(self, z: np.ndarray, seed: int | None, source: str) -> None:
        self.z, self.z_seed, self.z_source = np.asarray(z, np.float32).copy(), seed, source
        self._show_slider_values()
        self.caption.setText(f"z = {source}")
        for view in self.views:
            view.z_changed(self.z)

    def set_latent(self, z: np.ndarray, seed: int | None = None, source: str = "a latent set by hand") -> None:
        """Make z the current latent: move every slider, render it, and say where it came from."""
        if self.loaded is None:
            return
        if np.shape(z) != (self.loaded.model.latent_dim,) or not np.isfinite(z).all():
            self.report_error(f"{source} is not {self.loaded.model.latent_dim} finite numbers: z is unchanged")
            return
        self._set_z(z, seed, source)
        self._request_decode(self.z)
        self.report(f"z = {source}")

    def _show_slider_values(self) -> None:
        directions = self.directions if self.slider_mode == "directions" else None
        self.sliders.show_values(directions.coordinates(self.z) if directions is not None else self.z)

    def _on_slider(self, key: int, value: float) -> None:
        z = self.z.copy()
        if self.slider_mode == "directions" and self.directions is not None:
            z = self.directions.move(z, key, value)
        else:
            z[key] = value
        source = self.z_source if self.z_source.endswith(EDITED) else self.z_source + EDITED
        if source != self.z_source:
            self.report(f"z = {source}")  # once per edit, not per slider step
        self.z, self.z_seed, self.z_source = z, None, source
        self.caption.setText(f"z = {source}")
        self._request_decode(self.z)
        for view in self.views:
            view.z_changed(self.z)

    def set_slider_mode(self, mode: str) -> None:
        """"latent": a slider per dimension of z; "directions": a slider per direction, at u_j . z."""
        if mode == "directions" and self.directions is None:
            self.report("No directions yet: compute or load them in the Directions tab")
            mode = "latent"
        self.slider_mode = mode
        self.sliders.build(self.loaded, self.directions if mode == "directions" else None)
        self._show_slider_values()

    def _on_directions(self) -> None:
        if self.slider_mode == "directions":
            self.set_slider_mode("directions")

    def sample_prior(self) -> None:
        """Random: a new seed each press (shown in the seed box, so the draw can be reproduced)."""
        seed = random.randrange(SEED_MAX + 1)
        while seed == self.seed_box.seed():
            seed = random.randrange(SEED_MAX + 1)
        self.seed_box.set_value(seed)
        self.draw_seed(seed)

    def draw_seed(self, seed: int) -> None:
        """z = the prior draw of `seed` (a typed seed, Random's, or Reset's)."""
        if self.loaded is None:
            return
        self.clear_error()
        self.set_latent(seed_latent(self.loaded.model.latent_dim, seed), seed, seed_source(seed))

    def reset_latent(self) -> None:
        """Back to the prior draw of the seed in the box (not z = 0, which decodes to a smudge)."""
        self.draw_seed(self.seed_box.seed())

    # --- decoding --------------------------------------------------------------------------------

    def _request_decode(self, z: np.ndarray, preview: str = "") -> None:
        if self.loaded is None:
            return
        model, z = self.loaded.model, z.copy()

        def work(ctx: JobContext) -> tuple[np.ndarray, np.ndarray, str]:
            return z, decode(model, z)[0], preview

        work.remote = lambda ctx, server: (z, remote_decode(server, model, z)[0], preview)  # gui/remote_worker.py
        self.submit(work, channel="decode", on_result=self._show_decoded)

    def _show_decoded(self, result: tuple[np.ndarray, np.ndarray, str]) -> None:
        z, image, preview = result
        self.canvas.set_image(image)
        if preview:
            self.caption.setText(f"Showing {preview}")
            return
        self.current_image, self.current_z = image, z
        self.caption.setText(f"z = {self.z_source}")

    def preview(self, z: np.ndarray, what: str) -> None:
        """Show the decode of `z` without making it the latent (the map's hover)."""
        self._request_decode(np.asarray(z, np.float32), preview=what)

    def end_preview(self) -> None:
        self._request_decode(self.z)

    # --- recipes: export and Load PNG --------------------------------------------------------------

    def recipe(self) -> dict[str, Any]:
        return export_recipe(self.loaded, self.z, self.z_seed) if self.loaded is not None else {}

    def restore(self, recipe: dict[str, Any], source: str = "the recipe") -> str:
        """Restore z (and its seed); the note says what z now is and what differs from the PNG's making."""
        if self.loaded is None:
            raise ValueError("no model is loaded yet")
        restored = latent_from_recipe(recipe, self.loaded, source)  # z checked: its size, finite numbers
        if restored.seed is not None:
            self.seed_box.set_value(restored.seed)
        words = seed_source(restored.seed) if restored.seed is not None else f"the latent of {source}"
        self._set_z(restored.z, restored.seed, words)  # as set_latent, less its message: load_png posts one
        self._request_decode(self.z)
        return "; ".join([f"z = {self.z_source}"] + restored.notes)

    def export_png(self, path: str | Path) -> Path:
        if self.current_image is None or self.current_z is None or not np.array_equal(self.current_z, self.z):
            raise ValueError("the image of the current z is still being drawn: export again in a moment")
        return save_png(path, upscale(self.current_image, EXPORT_SCALE), self.recipe())

    def _export_dialog(self) -> None:
        self.save_with_dialog("Export PNG", "latent.png", "PNG (*.png)", self.export_png, "recipe in its PNG metadata")
