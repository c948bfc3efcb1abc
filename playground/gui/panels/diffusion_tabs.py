"""Two tabs of the diffusion panel: the forward process on a data image, and DDPM against DDIM.

Widgets only: they lay out and show what the panel hands them; the panel makes the
model calls (in its worker) and decides when.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QSlider, QSpinBox, QVBoxLayout, QWidget,
)

from ...core.data import ImageSet
from ...core.diffusion.forward import ForwardView
from ...core.diffusion.trajectory import Trajectory
from ..widgets.images import thumbnail_icon
from ..widgets.titled import NumberTiles, TitledCanvas, canvas_row, fmt

FORWARD_NOTE = (
    "Training's side: take a real image x₀ and noise it to step t in one jump, "
    "<b>x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε</b>. The network sees only x_t and t, and must guess ε. "
    "Drag t: near 0 the guess is easy; near T the image is gone and x̂₀ falls back to an average."
)


def _note(text: str) -> QLabel:
    note = QLabel(text)
    note.setObjectName("note")
    note.setWordWrap(True)
    return note


class ForwardTab(QWidget):
    """A data-set gallery, a t slider, and x_0 / x_t / the denoiser's one-shot x0 with its numbers."""

    changed = Signal()  # the image, t or the noise seed changed

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(_note(FORWARD_NOTE))
        body = QHBoxLayout()
        self.gallery = QListWidget()
        self.gallery.setViewMode(QListWidget.ViewMode.IconMode)
        self.gallery.setIconSize(pg.QtCore.QSize(48, 48))
        self.gallery.setGridSize(pg.QtCore.QSize(54, 54))
        self.gallery.setMovement(QListWidget.Movement.Static)
        self.gallery.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.gallery.setFixedWidth(190)
        self.gallery.setToolTip("Images from the shapes data set (not the training draw)")
        body.addWidget(self.gallery)
        right = QVBoxLayout()
        self.canvases = {
            "x0": TitledCanvas("x₀", "the data image"),
            "x_t": TitledCanvas("x_t ~ q(x_t | x₀)", "noised in one jump"),
            "pred_x0": TitledCanvas("one-shot x̂₀", "the denoiser's guess from x_t"),
            "noise": TitledCanvas("true noise ε", "±2σ", minimum=110),
            "pred_noise": TitledCanvas("predicted ε̂", "±2σ", minimum=110),
        }
        right.addWidget(canvas_row(self.canvases["x0"], self.canvases["x_t"], self.canvases["pred_x0"]), 3)
        noise_row = QHBoxLayout()
        noise_row.addWidget(self.canvases["noise"], 1)
        noise_row.addWidget(self.canvases["pred_noise"], 1)
        self.numbers = NumberTiles([
            ("t", "t"), ("signal", "√ᾱ_t  (x₀ weight)"), ("noise", "√(1−ᾱ_t)  (ε weight)"), ("log_snr", "log SNR"),
            ("noise_mse", "noise error (MSE)"), ("x0_mse", "x₀ error (MSE)"),
        ], columns=3)
        noise_row.addWidget(self.numbers, 2)
        right.addLayout(noise_row, 2)
        slider_row = QHBoxLayout()
        self.t_slider = QSlider(Qt.Orientation.Horizontal)
        self.t_slider.setRange(0, 999)
        self.t_slider.setValue(300)
        self.t_slider.setToolTip("Drag t: how far the forward process has noised x₀")
        self.t_label = QLabel("t = 300")
        self.t_label.setMinimumWidth(90)
        self.t_label.setStyleSheet("font-size: 13pt;")
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setPrefix("noise seed ")
        slider_row.addWidget(QLabel("t"))
        slider_row.addWidget(self.t_slider, 1)
        slider_row.addWidget(self.t_label)
        slider_row.addWidget(self.seed_box)
        right.addLayout(slider_row)
        body.addLayout(right, 1)
        layout.addLayout(body, 1)
        self.data: ImageSet | None = None
        self.view: ForwardView | None = None
        self.gallery.currentRowChanged.connect(lambda _: self.changed.emit())
        self.t_slider.valueChanged.connect(self._on_t)
        self.seed_box.valueChanged.connect(lambda _: self.changed.emit())

    def _on_t(self, t: int) -> None:
        self.t_label.setText(f"t = {t}")
        self.changed.emit()

    @property
    def t(self) -> int:
        return self.t_slider.value()

    @property
    def image(self) -> np.ndarray | None:
        row = self.gallery.currentRow()
        return self.data.images[row] if self.data is not None and row >= 0 else None

    def set_data(self, data: ImageSet) -> None:
        self.data = data
        self.gallery.blockSignals(True)
        self.gallery.clear()
        for i in range(len(data)):
            item = QListWidgetItem(thumbnail_icon(data.images[i]), "")
            item.setToolTip(data.describe(i))
            self.gallery.addItem(item)
        self.gallery.setCurrentRow(0)
        self.gallery.blockSignals(False)

    def set_num_train_timesteps(self, T: int) -> None:
        self.t_slider.setMaximum(T - 1)

    def show_noised(self, x0: np.ndarray, x_t: np.ndarray) -> None:
        """The part that needs no model, shown at once while the slider moves."""
        self.canvases["x0"].set_image(x0)
        self.canvases["x_t"].set_image(x_t)

    def show_view(self, view: ForwardView) -> None:
        self.view = view
        for key, canvas in self.canvases.items():
            canvas.set_image(getattr(view, key))
        self.numbers.set_values({
            "t": str(view.t), "signal": fmt(view.sqrt_alpha_bar), "noise": fmt(view.sqrt_one_minus_alpha_bar),
            "log_snr": f"{view.log_snr:+.2f}", "noise_mse": fmt(view.noise_mse, 3), "x0_mse": fmt(view.x0_mse, 3),
        })


@dataclass(frozen=True)
class Comparison:
    """DDPM over every step and DDIM from the same seed, with how long each took."""

    ddpm: Trajectory
    ddim: Trajectory
    ddpm_seconds: float
    ddim_seconds: float

    @property
    def nbytes(self) -> int:
        return self.ddpm.nbytes + self.ddim.nbytes


class CompareTab(QWidget):
    """x_t and predicted x0 of both runs, side by side at the same t."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.compare_button = QPushButton("Compare")
        self.compare_button.setStyleSheet("QPushButton { font-weight: bold; padding: 4px 18px; }")
        self.compare_button.setToolTip("Run DDPM over every step and DDIM with the chosen steps and eta, from the same "
                                       "seed (so the same x_T)")
        self.info = QLabel("DDPM over every step against DDIM with the sampler settings above, from the same seed.")
        self.info.setWordWrap(True)
        self.info.setStyleSheet("font-size: 12pt;")
        row.addWidget(self.compare_button)
        row.addWidget(self.info, 1)
        layout.addLayout(row)
        self.canvases: dict[tuple[str, str], TitledCanvas] = {}
        columns = QHBoxLayout()
        for kind in ("ddpm", "ddim"):
            column = QVBoxLayout()
            for view, title in (("x_t", "x_t"), ("pred_x0", "predicted x̂₀")):
                canvas = TitledCanvas(f"{kind.upper()}: {title}", "", minimum=150)
                self.canvases[kind, view] = canvas
                column.addWidget(canvas, 1)
            columns.addLayout(column, 1)
        layout.addLayout(columns, 1)
        slider_row = QHBoxLayout()
        self.t_slider = QSlider(Qt.Orientation.Horizontal)
        self.t_slider.setRange(0, 999)
        self.t_slider.setInvertedAppearance(True)  # noise on the left, as in the plots
        self.t_slider.setInvertedControls(True)
        self.t_slider.setToolTip("The timestep both runs are shown at (each at its step nearest to t)")
        self.t_label = QLabel("")
        self.t_label.setStyleSheet("font-size: 13pt;")
        slider_row.addWidget(QLabel("t"))
        slider_row.addWidget(self.t_slider, 1)
        slider_row.addWidget(self.t_label)
        layout.addLayout(slider_row)
        self.comparison: Comparison | None = None
        self.t_slider.valueChanged.connect(lambda _: self.show_t())

    @property
    def t(self) -> int:
        return self.t_slider.value()

    def reset(self, T: int) -> None:
        self.comparison = None
        self.t_slider.setMaximum(T - 1)
        self.t_slider.setValue(T - 1)
        for kind in ("ddpm", "ddim"):
            self.canvases[kind, "x_t"].set_caption("")
        self.show_t()

    def set_comparison(self, comparison: Comparison) -> None:
        self.comparison = c = comparison
        speedup = c.ddpm_seconds / max(c.ddim_seconds, 1e-9)
        self.info.setText(
            f"Seed {c.ddpm.seed}, the same x_T. DDPM: {c.ddpm.num_steps} steps in {c.ddpm_seconds:.1f} s.  "
            f"{c.ddim.settings.describe()}: {c.ddim_seconds:.1f} s ({speedup:.0f}× faster).")
        self.canvases["ddpm", "x_t"].set_caption(f"{c.ddpm.num_steps} steps, {c.ddpm_seconds:.1f} s")
        self.canvases["ddim", "x_t"].set_caption(
            f"{c.ddim.num_steps} steps, η {c.ddim.settings.eta:g}, {c.ddim_seconds:.1f} s")
        self.t_slider.setValue(0)
        self.show_t()

    def show_t(self) -> None:
        t = self.t
        if self.comparison is None:
            for canvas in self.canvases.values():
                canvas.set_image(None)
            self.t_label.setText(f"t = {t}")
            return
        steps = []
        for kind, trajectory in (("ddpm", self.comparison.ddpm), ("ddim", self.comparison.ddim)):
            i = trajectory.nearest_step(t)
            steps.append(f"{kind.upper()} step {i + 1}")
            for view in ("x_t", "pred_x0"):
                self.canvases[kind, view].set_image(trajectory.frame(view, i))
        self.t_label.setText(f"t = {t}  ({', '.join(steps)})")
