"""VQGAN-CLIP: a VQ model's latent grid pulled toward a prompt by the panel's CLIP, shown live.

Run starts the optimisation (core/vqgan_clip) in the panel's worker; after every Adam step the
worker reports the decoded image, the step and the score history, so the picture and the CLIP
score curve move as it optimises (reports coalesce: a slow window skips frames, never falls
behind). Stop cancels the job: the worker's progress report raises at the next step, so at
most the step under way finishes. The VQ model is a shipped vqgan or vqvae, loaded in the
worker and kept (`widgets.partner_models.PartnerModels`); the CLIP is the panel's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QSplitter, QVBoxLayout, QWidget,
)

from ....core import checks
from ....core.codebook.compare import compared_checkpoints
from ....core.data import to_uint8
from ....core.data.shapes import PromptError, parse_prompt
from ....core.images import upscale
from ....core.vqgan_clip.optimize import INITS, VQGANCLIPSettings, optimize
from ...widgets.titled import TitledCanvas, note_label
from ...widgets.partner_models import PartnerModels
from ...widgets.prompt import PromptEdit

if TYPE_CHECKING:
    from .panel import ClipPanel

DEFAULT_PROMPT = "a large blue square at the top left"
CHANNEL = "vqgan-clip"
SHOWN_SCALE = 8  # the 32 px image is sent upscaled, so the canvas shows crisp codes


@dataclass
class Frame:
    step: int
    steps: int
    image: np.ndarray          # (H, W, 3) uint8, upscaled
    scores: list[float]        # the CLIP score of every step so far
    tokens: np.ndarray         # (h, w) codes


def _spin(box, low, high, value, prefix: str = "", step: float | None = None):
    box.setRange(low, high)
    if step is not None:
        box.setSingleStep(step)
    box.setValue(value)
    box.setPrefix(prefix)
    return box


class VQGANCLIPTab(QWidget):
    title = "VQGAN-CLIP"
    frame_shown = Signal(int)   # a step's image is on screen
    finished = Signal(str)      # "done" or "stopped"

    def __init__(self, panel: ClipPanel):
        super().__init__()
        self.panel = panel
        self.models = PartnerModels(panel.device)
        self.frame: Frame | None = None
        self.running = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.prompt = PromptEdit("Prompt", "e.g. a large blue square at the top left", "")
        self.prompt.set_text(DEFAULT_PROMPT)
        layout.addWidget(self.prompt)
        row = QHBoxLayout()
        self.vq_box = QComboBox()
        self.vq_box.setToolTip("the VQ model whose latent grid is optimised (a vqgan or a vqvae)")
        self.steps_box = _spin(QSpinBox(), 1, 2000, 50, "steps ")
        self.seed_box = _spin(QSpinBox(), 0, checks.SEED_MAX, 0, "seed ")
        self.lr_box = _spin(QDoubleSpinBox(), 0.01, 2.0, 0.1, "lr ", 0.05)
        self.augment_box = _spin(QSpinBox(), 0, 16, 4, "shifts ")
        self.augment_box.setToolTip("shifted copies CLIP also scores each step (no flips: they swap left and right)")
        self.init_box = QComboBox()
        self.init_box.addItems([f"start: {name}" for name in INITS])
        self.run_button, self.stop_button = QPushButton("Run"), QPushButton("Stop")
        self.run_button.setStyleSheet("QPushButton { font-weight: bold; padding: 4px 18px; }")
        self.stop_button.setEnabled(False)
        for widget in (QLabel("VQ model"), self.vq_box, self.steps_box, self.seed_box, self.lr_box, self.augment_box,
                       self.init_box, self.run_button, self.stop_button):
            row.addWidget(widget)
        row.addStretch(1)
        layout.addLayout(row)
        self.info = note_label("Adam moves a continuous 8x8 latent grid; each step quantises it to the nearest codes "
                               "(straight-through gradient), decodes, and CLIP scores the picture and a few shifted "
                               "copies against the prompt.")
        layout.addWidget(self.info)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.canvas = TitledCanvas("Image", "press Run", minimum=260)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "CLIP score (cosine)")
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # cosines, not thousandths
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#5fb3ff", width=2), symbol=None)
        splitter.addWidget(self.canvas)
        splitter.addWidget(self.plot)
        splitter.setSizes([520, 680])
        layout.addWidget(splitter, 1)
        self.run_button.clicked.connect(self.run)
        self.stop_button.clicked.connect(self.stop)
        self.prompt.submitted.connect(self.run)
        self.prompt.validity_changed.connect(lambda ok: self.run_button.setEnabled(ok and not self.running))
        self._fill_vq_models()

    def _fill_vq_models(self) -> None:
        current = self.vq_box.currentData()
        self.vq_box.clear()
        found = compared_checkpoints()
        for c in sorted(found, key=lambda c: c.meta.family != "vqgan"):  # a vqgan first: what the method is for
            self.vq_box.addItem(f"{c.name} ({c.meta.family})", str(c.path))
        index = self.vq_box.findData(current)
        self.vq_box.setCurrentIndex(max(index, 0))

    def on_model(self) -> None:
        self.stop()

    def activate(self) -> None:
        self._fill_vq_models()

    def settings(self) -> VQGANCLIPSettings:
        return VQGANCLIPSettings(self.prompt.text(), self.steps_box.value(), self.seed_box.value(),
                                 round(self.lr_box.value(), 4), self.augment_box.value(),
                                 INITS[self.init_box.currentIndex()]).checked()

    def run(self) -> None:
        """Start an optimisation in the panel's worker (a running one is replaced)."""
        if self.panel.loaded is None:
            return
        try:
            if not self.prompt.text().strip():
                raise PromptError("type a prompt: VQGAN-CLIP needs something to steer toward")
            parse_prompt(self.prompt.text())
            settings = self.settings()
        except ValueError as exc:
            self.panel.report_error(str(exc))
            return
        path = self.vq_box.currentData()
        if path is None:
            self.panel.report_error("no vqgan or vqvae checkpoint is shipped to optimise")
            return
        self.prompt.close_popup()
        clip, models = self.panel.loaded.model, self.models

        def work(ctx) -> Frame | None:
            vq = models.load(path)
            scores, frame = [], None
            for record in optimize(vq.model, clip, settings, vq.meta.data or "shapes",
                                   should_stop=lambda: ctx.cancelled):
                scores.append(record.score)
                frame = Frame(record.step, settings.steps, upscale(to_uint8(record.image)[0], SHOWN_SCALE),
                              list(scores), record.tokens.cpu().numpy())
                ctx.progress(record.step, settings.steps, frame)  # raises once Stop was pressed
            return frame

        self.frame = None
        self.curve.setData([], [])
        self._set_running(True)
        self.canvas.set_caption(f"starting: “{settings.prompt}”")
        self.panel.submit(work, channel=CHANNEL, on_result=self._done, on_progress=self._progress,
                          on_error=self._failed, label=f"VQGAN-CLIP: {settings.prompt}", cancel_running=True)

    def stop(self) -> None:
        if self.panel.worker is not None:
            self.panel.worker.cancel(CHANNEL)
        if self.running:
            self._set_running(False)
            step = self.frame.step if self.frame is not None else 0
            self.canvas.set_caption(self._caption("stopped at", step))
            self.finished.emit("stopped")

    def _set_running(self, running: bool) -> None:
        self.running = running
        self.run_button.setEnabled(not running and self.prompt.valid)
        self.stop_button.setEnabled(running)

    def _caption(self, what: str, step: int) -> str:
        score = self.frame.scores[-1] if self.frame is not None else float("nan")
        best = max(self.frame.scores) if self.frame is not None else float("nan")
        return f"{what} step {step}: score {score:.3f} (best {best:.3f})"

    def _progress(self, _done: int, _total: int, frame: Frame) -> None:
        if not self.running:
            return  # a report that was on its way when Stop was pressed
        self.frame = frame
        self.canvas.set_image(frame.image)
        self.canvas.set_caption(self._caption("", frame.step).strip() + f" of {frame.steps}")
        self.curve.setData(np.arange(len(frame.scores)), np.asarray(frame.scores))
        self.frame_shown.emit(frame.step)

    def _done(self, frame: Frame | None) -> None:
        if frame is not None:
            self._progress(frame.step, frame.steps, frame)
        self._set_running(False)
        if frame is not None:
            self.canvas.set_caption(self._caption("done:", frame.step))
            self.panel.report(f"VQGAN-CLIP: score {frame.scores[0]:.3f} -> {frame.scores[-1]:.3f} in {frame.step} steps")
        self.finished.emit("done")

    def _failed(self, message: str) -> None:
        self._set_running(False)
        self.canvas.set_caption("failed")
        self.panel.report_error(message)
        self.finished.emit("failed")
