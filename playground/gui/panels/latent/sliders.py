"""The slider column: one slider per latent dimension (most used first) or per direction.

In "directions" mode slider j shows the coordinate u_j . z and moving it moves z along u_j
only (`LatentDirections.move`); the panel turns `moved(key, value)` into a new z.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from ....core.checkpoints import LoadedModel
from ....core.latent.directions import LatentDirections
from ....core.latent.sampling import latent_order
from ...widgets.images import LatentSliderRow

MODES = ("latent", "directions")
VAE_UNUSED_KL = 0.05  # a VAE dimension carrying less KL than this is drawn grey (unused)


class LatentSliders(QWidget):
    moved = Signal(int, float)  # dimension (or direction index), value
    mode_requested = Signal(str)  # the user picked "latent" or "directions"

    def __init__(self):
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        mode_row = QHBoxLayout()
        mode_row.addWidget(QLabel("Sliders"))
        self.mode_box = QComboBox()
        self.mode_box.addItems(["latent dimensions", "directions"])
        self.mode_box.setToolTip("One slider per dimension of z, or one per direction (Directions tab)")
        mode_row.addWidget(self.mode_box, 1)
        layout.addLayout(mode_row)
        area = QScrollArea()
        area.setWidgetResizable(True)
        host = QWidget()
        self.rows_layout = QVBoxLayout(host)
        self.rows_layout.setSpacing(0)
        self.rows_layout.addStretch(1)
        area.setWidget(host)
        layout.addWidget(area, 1)
        self.rows: dict[int, LatentSliderRow] = {}
        self.mode = "latent"
        self.mode_box.currentIndexChanged.connect(lambda i: self.mode_requested.emit(MODES[i]))

    def build(self, loaded: LoadedModel | None, directions: LatentDirections | None = None) -> None:
        """Rows for `loaded`'s latent dimensions, or for `directions` when given."""
        for row in self.rows.values():
            # out of the layout at once: deleteLater waits for the event loop, which a nested
            # processEvents (tests, offscreen screenshots) never returns to
            self.rows_layout.removeWidget(row)
            row.hide()
            row.deleteLater()
        self.rows = {}
        self.mode = "directions" if directions is not None else "latent"
        self.mode_box.blockSignals(True)
        self.mode_box.setCurrentIndex(MODES.index(self.mode))
        self.mode_box.blockSignals(False)
        if loaded is None:
            return
        if directions is not None:
            for j, share in enumerate(directions.explained_variance):
                row = LatentSliderRow(j, float(share), "var", active=True)
                row.name.setText(f"u{j}")
                row.usage.setText(f"{share:.1%}")
                row.usage.setToolTip("share of the early activations' variance along this principal axis")
                self._add(j, j, row)
            return
        usage = loaded.meta.extra.get("latent_usage")
        kind = "KL" if loaded.family == "vae" else "var"
        for position, dim in enumerate(latent_order(usage, loaded.model.latent_dim)):
            value = float(usage[dim]) if usage else 0.0
            row = LatentSliderRow(dim, value, kind, active=loaded.family != "vae" or value > VAE_UNUSED_KL)
            if usage is None:
                row.usage.setText("")  # a GAN's z has no per-dimension usage
            self._add(position, dim, row)

    def _add(self, position: int, key: int, row: LatentSliderRow) -> None:
        row.value_changed.connect(self.moved)
        self.rows_layout.insertWidget(position, row)
        self.rows[key] = row

    def show_values(self, values: np.ndarray) -> None:
        """Move every slider to `values` (z, or its coordinates along the directions) without emitting."""
        for key, row in self.rows.items():
            if key < len(values):
                row.set_value(float(values[key]))
