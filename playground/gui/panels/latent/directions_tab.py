"""Directions (GANSpace): the generator's main axes of variation as unit vectors in z, computed,
saved or loaded here; the sliders can switch to one per direction. The strip shows the current
z moved along one direction from -3 to +3 (drawn only while the tab is shown)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout

from ....core.checkpoints import LoadedModel
from ....core.latent.directions import (
    DirectionsError, LatentDirections, ganspace_directions, load_directions, save_directions,
)
from ....core.latent.sampling import decode
from ...dialogs import open_file
from ...widgets.frame_strip import FrameStrip
from ...worker import JobContext
from .views import LatentView

DEFAULT_DIRECTIONS = 10
DIRECTION_SAMPLES = 2000
DIRECTION_FRAMES = 7  # the strip: the current z moved from -3 to +3 along the direction
MAX_DIRECTIONS = 64


class DirectionsView(LatentView):
    changed = Signal()  # new directions (computed or loaded)

    def __init__(self, panel):
        super().__init__(panel)
        self.directions: LatentDirections | None = None
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.count = QSpinBox()
        self.count.setRange(1, MAX_DIRECTIONS)
        self.count.setValue(DEFAULT_DIRECTIONS)
        self.count.setPrefix("k = ")
        self.count.setToolTip("How many directions: from 1 to the latent size")
        self.compute_button = QPushButton("Compute (GANSpace)")
        self.compute_button.setToolTip(
            f"PCA of the generator's early activations for {DIRECTION_SAMPLES} prior samples, "
            "regressed back to z and orthonormalised")
        row.addWidget(self.count)
        row.addWidget(self.compute_button, 1)
        layout.addLayout(row)
        files = QHBoxLayout()
        self.save_button = QPushButton("Save…")
        self.load_button = QPushButton("Load…")
        files.addWidget(self.save_button)
        files.addWidget(self.load_button)
        layout.addLayout(files)
        self.info = QLabel("Directions are computed when a GAN is opened, or with the button above.")
        self.info.setWordWrap(True)
        layout.addWidget(self.info)
        pick = QHBoxLayout()
        pick.addWidget(QLabel("Show direction"))
        self.pick = QSpinBox()
        self.pick.setRange(0, 0)
        self.pick.setPrefix("u")
        pick.addWidget(self.pick, 1)
        layout.addLayout(pick)
        self.strip = FrameStrip("current z moved along u, −3 … +3")  # as large as the tab allows
        layout.addWidget(self.strip, 1)
        self.compute_button.clicked.connect(self.compute)
        self.save_button.clicked.connect(self._save_dialog)
        self.load_button.clicked.connect(self._load_dialog)
        self.pick.valueChanged.connect(lambda _: self.invalidate())

    def on_model(self, loaded: LoadedModel) -> None:
        self.directions = None
        latent_dim = loaded.model.latent_dim
        self.count.setMaximum(min(MAX_DIRECTIONS, latent_dim))
        self.count.setValue(min(DEFAULT_DIRECTIONS, latent_dim))
        self.pick.setRange(0, 0)
        self.strip.set_frames(None)
        self.info.setText("Directions are computed when a GAN is opened, or with the button above.")

    def activate(self) -> None:
        self.render_strip()

    def z_changed(self, z: np.ndarray) -> None:
        if self.directions is not None:
            self.invalidate()  # the strip starts from z: redrawn now if shown, else when shown

    def compute(self) -> None:
        """GANSpace directions of the current model, in the worker; they replace any loaded ones."""
        if self.panel.loaded is None:
            return
        model, name, k = self.panel.loaded.model, self.panel.loaded.name, self.count.value()

        def work(ctx: JobContext) -> LatentDirections:
            directions = ganspace_directions(model, n_directions=k, n_samples=DIRECTION_SAMPLES)
            directions.model = name
            return directions

        self.info.setText("Computing directions…")
        self.panel.submit(work, channel="directions", label="Computing GANSpace directions",
                          on_result=self.set_directions)

    def set_directions(self, directions: LatentDirections, source: str = "") -> None:
        self.directions = directions
        shares = ", ".join(f"{v:.1%}" for v in directions.explained_variance[:5])
        origin = source or (f"{directions.method} on {directions.n_samples} samples, "
                            f"generator layer {directions.layer}")
        self.info.setText(
            f"{len(directions)} orthonormal directions ({origin}). Variance of the early activations "
            f"along the first ones: {shares}. Switch the sliders to <i>directions</i> to use them.")
        self.pick.setRange(0, len(directions) - 1)
        self.changed.emit()
        self.invalidate()

    def save(self, path: str | Path) -> Path:
        if self.directions is None:
            raise ValueError("no directions to save yet")
        return save_directions(path, self.directions)

    def load(self, path: str | Path) -> None:
        """Read a directions file made for this model's latent size (errors go to the status bar)."""
        loaded = self.panel.loaded
        if loaded is None:
            return
        try:
            directions = load_directions(path, latent_dim=loaded.model.latent_dim)
        except DirectionsError as exc:  # its message names the file and what is wrong
            self.panel.report_error(str(exc))
            return
        except (ValueError, TypeError) as exc:
            self.panel.report_error(f"{Path(path).name}: not a usable directions file ({exc})")
            return
        except OSError as exc:
            self.panel.report_error(f"{Path(path).name}: cannot be read ({exc.strerror or exc})")
            return
        self.set_directions(directions, source=f"loaded from {Path(path).name}")
        if directions.model and directions.model != loaded.name:
            self.panel.report(f"Note: {Path(path).name} was made for {directions.model}, not {loaded.name}")

    def _save_dialog(self) -> None:
        self.panel.save_with_dialog("Save directions", "directions.json", "JSON (*.json)", self.save)

    def _load_dialog(self) -> None:
        path = open_file(self, "directions", "Load directions", "JSON (*.json)")
        if path:
            self.load(path)

    def render_strip(self) -> None:
        if self.directions is None or self.panel.loaded is None:
            return
        model, directions, z = self.panel.loaded.model, self.directions, self.panel.z.copy()
        j = min(self.pick.value(), len(directions) - 1)

        values = np.linspace(-3, 3, DIRECTION_FRAMES)
        labels = [f"{v:+.0f}".replace("-", "−") if v else "0" for v in values]

        def work(ctx: JobContext) -> np.ndarray:
            return decode(model, np.stack([directions.move(z, j, v) for v in values]))

        self.panel.submit(work, channel="direction-strip", on_result=lambda frames: self.strip.set_frames(frames, labels))
