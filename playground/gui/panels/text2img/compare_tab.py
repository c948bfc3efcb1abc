"""The CFG vs CLIP tab: the same seeds without guidance, with classifier-free guidance, with CLIP
guidance and with both, side by side, as GLIDE (Nichol et al. 2021, figure 3 and section 2.4)
compared the two. One batch; w and s are the ones above."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from ....core.text2img.sampling import GuidedSettings
from ...widgets.images import ImageCanvas
from .guidance_tab import prompt_title

MAX_SEEDS = 4
INTRO = ("The same seeds four ways: the plain conditional model (w = 1), classifier-free guidance (w above), "
         "CLIP guidance (s above, at w = 1: the shipped CLIP reading the predicted x̂₀) and both. Set w and CLIP s "
         "above, then Compare.")


@dataclass(frozen=True)
class ComparisonResult:
    settings: GuidedSettings
    seeds: tuple[int, ...]
    picture: np.ndarray  # (H, W, 3) uint8, `clip_guidance.comparison_picture`
    final: bool


class CompareTab(QWidget):
    run_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.comparison: ComparisonResult | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.seeds_box = QSpinBox()
        self.seeds_box.setRange(1, MAX_SEEDS)
        self.seeds_box.setValue(2)
        self.seeds_box.setPrefix("seeds: ")
        self.seeds_box.setToolTip("Rows: the seed above and the next ones")
        self.run_button = QPushButton("Compare")
        self.run_button.setStyleSheet("QPushButton { font-weight: bold; padding: 4px 18px; }")
        self.info = QLabel(INTRO)
        self.info.setStyleSheet("color: #aaa;")
        self.info.setWordWrap(True)
        row.addWidget(self.info, 1)
        row.addWidget(self.seeds_box)
        row.addWidget(self.run_button)
        layout.addLayout(row)
        self.canvas = ImageCanvas(minimum=240)
        layout.addWidget(self.canvas, 1)
        self.run_button.clicked.connect(self.run_requested)

    def clear(self) -> None:
        self.comparison = None
        self.canvas.set_image(None)
        self.info.setText(INTRO)

    def show_rendering(self, n_seeds: int) -> None:
        self.info.setText(f"Rendering {n_seeds} × 4 images in one batch…")

    def show_comparison(self, comparison: ComparisonResult) -> None:
        self.comparison = comparison
        self.canvas.set_image(comparison.picture)
        if comparison.final:
            s = comparison.settings
            self.info.setText(f"{prompt_title(s)}, {s.sampler.upper()}-{s.steps}: plain conditional (w = 1) · CFG (w = "
                              f"{s.guidance_scale:g}) · CLIP (s = {s.clip_scale:g}, w = 1) · both across, seeds {comparison.seeds[0]}–{comparison.seeds[-1]} down")
