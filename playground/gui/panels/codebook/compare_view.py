"""VQGAN vs VQ-VAE: the same images through every shipped VQ model (and the one picked), row by row,
with each model's MSE, sharpness against the originals' and the share of images whose four
attributes the attribute classifier still reads right (core/codebook/compare.py).

The images are the training runs' held-out shapes (none of these models saw them), or a file the
user opens (then "kept" compares with the classifier's reading of the original). The numbers are
over all the compared images; the strips show the first few. Models and the classifier are loaded
in the panel's worker and kept (`widgets.partner_models.PartnerModels`); the work runs there via `Panel.submit`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from ....core.assets import shipped_for
from ....core.codebook.compare import ComparisonTable, compare_reconstructions, compared_checkpoints
from ....core.codebook.report import held_out_shapes
from ....core.data import ImageFileError, load_image_file
from ....core.images import make_grid, upscale
from ...dialogs import open_file
from ...widgets.images import ImageCanvas
from ...widgets.titled import note_label
from ...widgets.partner_models import PartnerModels

if TYPE_CHECKING:
    from .panel import VQVAEPanel

SHOWN = 10          # images per strip
STRIP_SCALE = 3
NUMBER_STYLE = "font-size: 11pt;"  # the theme's text colour


def classifier_checkpoint() -> Path | None:
    """The attribute classifier that judges the reconstructions (the shipped one)."""
    shipped = shipped_for("classifier")
    return shipped.path if shipped is not None else None


def strip(images: np.ndarray) -> np.ndarray:
    return upscale(make_grid(images[:SHOWN], columns=min(SHOWN, len(images)), padding=1), STRIP_SCALE)


class CompareView(QWidget):
    compared = Signal()  # a comparison is on screen

    def __init__(self, panel: VQVAEPanel):
        super().__init__()
        self.panel = panel
        self.models = PartnerModels(panel.device)
        self.table: ComparisonTable | None = None
        self.file: str | None = None  # a user's image compared instead of the data
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.n_box = QSpinBox()
        self.n_box.setRange(10, 1000)
        self.n_box.setValue(100)
        self.n_box.setPrefix("held-out images: ")
        self.compare_button = QPushButton("Compare on the data")
        self.file_button = QPushButton("Compare on an image file…")
        for widget in (self.n_box, self.compare_button, self.file_button):
            row.addWidget(widget)
        row.addStretch(1)
        layout.addLayout(row)
        self.info = note_label("The same images through each VQ model. Fair: the same 8x8 grid and codebook size "
                               "(vqgan-shapes against vqvae-k32-shapes, 32 codes); vqvae-shapes has 128 codes. "
                               "Sharpness is relative to the originals' (1 = as sharp).")
        layout.addWidget(self.info)
        self.grid = QGridLayout()
        self.grid.setColumnStretch(1, 1)
        layout.addLayout(self.grid, 1)
        self.rows: list[tuple[QLabel, ImageCanvas]] = []
        self.compare_button.clicked.connect(lambda: self.compare(None))
        self.file_button.clicked.connect(self._open_file_dialog)
        self.n_box.editingFinished.connect(lambda: self.compare(self.file))

    def activate(self) -> None:
        self.compare(self.file)

    def _open_file_dialog(self) -> None:
        path = open_file(self, "image", "Image to compare on", "Images (*.png *.jpg *.jpeg *.bmp)")
        if path:
            self.compare(path)

    def compare(self, file: str | None) -> None:
        """Reconstruct the held-out images (or `file`) with every VQ model in the worker and show the rows."""
        loaded = self.panel.loaded
        if loaded is None:
            return
        if (loaded.meta.data or "shapes") != "shapes":
            self.info.setText(f"{loaded.name} was trained on {loaded.meta.data}; the comparison is of the shapes "
                              "models (the attribute classifier reads shapes)")
            return
        classifier_path = classifier_checkpoint()
        if classifier_path is None:
            self.panel.report_error("no attribute classifier is shipped (assets/classifier-shapes): "
                                    "nothing can say whether the attributes survive")
            return
        size = loaded.model.config.image_size
        try:
            images, labels = (load_image_file(file, size)[None], None) if file else held_out_shapes(self.n_box.value())
        except (ImageFileError, ValueError) as exc:
            self.panel.report_error(str(exc))
            return
        self.file = file
        shipped = compared_checkpoints()
        same = [c.path.resolve() == loaded.path.resolve() for c in shipped]
        picked, models = loaded, self.models

        def work(ctx) -> ComparisonTable:
            compared = {} if any(same) else {picked.name: picked.model}  # the picked model in its shipped place
            for c, is_picked in zip(shipped, same):
                compared[c.name] = picked.model if is_picked else models.load(c.path).model
            classifier = models.load(classifier_path).model
            return compare_reconstructions(compared, images, classifier, labels, check=ctx.check)

        what = Path(file).name if file else f"{len(images)} held-out images"
        self.info.setText(f"Reconstructing {what} with {len(shipped) + (not any(same))} models…")
        self.panel.submit(work, channel="compare", on_result=self.show_table, label=f"Comparing VQ models on {what}",
                          cancel_running=True)

    def show_table(self, table: ComparisonTable) -> None:
        self.table = table
        self.panel.clear_error()
        rows = [("<b>Originals</b><br>" + ("your image" if self.file else f"held-out shapes<br>"
                                           f"first {min(SHOWN, len(table.originals))} of {len(table.originals)} shown"),
                 table.originals)]
        for r in table.rows:
            rows.append((f"<b>{r.name}</b><br>{r.family} · {r.grid}×{r.grid} grid · {r.codebook_size} codes<br>"
                         f"MSE {r.mse:.5f} · sharpness {r.sharpness_ratio:.2f}<br>attributes kept {r.kept:.1%}",
                         table.reconstructions[r.name]))
        while len(self.rows) < len(rows):
            label, canvas = QLabel(), ImageCanvas(minimum=60)
            label.setStyleSheet(NUMBER_STYLE)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setMinimumWidth(260)
            self.grid.addWidget(label, len(self.rows), 0)
            self.grid.addWidget(canvas, len(self.rows), 1)
            self.rows.append((label, canvas))
        for i, (label, canvas) in enumerate(self.rows):
            shown = i < len(rows)
            label.setVisible(shown)
            canvas.setVisible(shown)
            if shown:
                label.setText(rows[i][0])
                canvas.set_image(strip(rows[i][1]))
        self.info.setText(f"{len(table.originals)} images; attributes compared with {table.reference}. "
                          "Fair pair: the same grid and codebook size. Sharpness: of the reconstructions over the "
                          "originals' (1 = as sharp, lower is blurrier).")
        self.compared.emit()
