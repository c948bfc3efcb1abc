"""Similarity: a batch of data-set images against their own captions (the CLIP paper's figure).

A trained CLIP lights the diagonal; the cyan box in each image's column is the caption it
is nearest, dashed white the caption it belongs to. "softmax" shows what the loss sees: each image's
scaled cosines as probabilities over the captions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QPushButton, QSpinBox, QVBoxLayout, QWidget

from ....core.clip.matrix import CaptionMatrix, caption_matrix
from ....core.data import GALLERY_SEED
from ....core.serving.remote_tokens import remote_caption_matrix
from ...twins import remotable
from ...widgets.titled import note_label
from .matrix_view import MatrixView

if TYPE_CHECKING:
    from .panel import ClipPanel

MAX_SHOWN = 16


class SimilarityTab(QWidget):
    title = "Similarity"

    def __init__(self, panel: ClipPanel):
        super().__init__()
        self.panel = panel
        self.matrix: CaptionMatrix | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.n_box = QSpinBox()
        self.n_box.setRange(2, MAX_SHOWN)
        self.n_box.setValue(8)
        self.n_box.setPrefix("images: ")
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 1_000_000)
        self.seed_box.setValue(GALLERY_SEED)
        self.seed_box.setPrefix("draw: ")
        self.seed_box.setToolTip("The shapes draw the images come from (0 is the training draw)")
        self.new_button = QPushButton("New images")
        self.softmax_box = QCheckBox("softmax per image")
        self.softmax_box.setToolTip("Each image's scaled cosines as probabilities over the captions "
                                    "(what the loss sees)")
        for w in (self.n_box, self.seed_box, self.new_button, self.softmax_box):
            row.addWidget(w)
        row.addStretch(1)
        layout.addLayout(row)
        self.info = note_label("Each column an image, each row a caption; dashed white: its own caption, cyan: the "
                               "one it is nearest.")
        layout.addWidget(self.info)
        self.view = MatrixView()
        layout.addWidget(self.view, 1)
        self.n_box.valueChanged.connect(lambda _: self.request())
        self.seed_box.valueChanged.connect(lambda _: self.request())
        self.new_button.clicked.connect(lambda: self.seed_box.setValue(self.seed_box.value() + 1))
        self.softmax_box.toggled.connect(self.view.set_probabilities)

    def on_model(self) -> None:
        self.matrix = None
        self.view.set_matrix(None)

    def activate(self) -> None:
        self.request()

    def request(self) -> None:
        if self.panel.loaded is None:
            return
        model, n, seed = self.panel.loaded.model, self.n_box.value(), self.seed_box.value()
        self.panel.submit(remotable(lambda ctx: caption_matrix(model, n, seed),
                                    lambda ctx, server: remote_caption_matrix(server, model, n, seed)),
                          channel="matrix", on_result=self.show_matrix, cancel_running=True)

    def show_matrix(self, matrix: CaptionMatrix) -> None:
        self.matrix = matrix
        self.view.set_matrix(matrix)
        n = len(matrix.captions)
        right = round(matrix.accuracy * n)
        self.info.setText(f"{right} of {n} images are nearest their own caption (dashed white: its own caption, "
                          f"cyan: the nearest). Temperature {1 / matrix.scale:.3f}: softmax sharpens the "
                          f"cosines {matrix.scale:.0f}-fold.")
