"""The settings rows above the tabs: sampler, steps, seed, and the guidance sliders; they drive
the sample, the grid and the steps tab alike. `settings()` reads them, `apply()` shows a run's."""

from __future__ import annotations

import random

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from ....core.checkpoints import LoadedModel
from ....core.text2img.sampling import SEED_MAX, GuidedSettings
from ...widgets.sliders import ScaleSlider

DEFAULT_STEPS = 20
EARLY_CHECKPOINT_STEPS = 4000
DDPM_CLASSIFIER_SCALE = 2.0  # where ddpm-shapes + the noisy classifier did best (s = 2..5 tried)


class SettingsControls(QWidget):
    changed = Signal()        # a setting changed: re-render
    base_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.applying = False  # inside apply(): no re-render per widget
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(2)
        rows.addLayout(self._sampler_row())
        rows.addLayout(self._guidance_row())
        rows.addLayout(self._classifier_row())
        self._on_sampler_changed()

    def _sampler_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.sampler_box = QComboBox()
        self.sampler_box.addItem("DDIM", "ddim")
        self.sampler_box.addItem("DDPM", "ddpm")
        self.sampler_box.setToolTip("DDIM (Song et al. 2021): few steps, deterministic at η = 0, so a slider move "
                                    "re-renders the same picture.\nDDPM: ancestral sampling, here on a subset of steps.")
        self.steps_box = QSpinBox()
        self.steps_box.setRange(1, 1000)
        self.steps_box.setValue(DEFAULT_STEPS)
        self.steps_box.setPrefix("steps ")
        self.eta_box = QDoubleSpinBox()
        self.eta_box.setRange(0.0, 1.0)
        self.eta_box.setSingleStep(0.1)
        self.eta_box.setPrefix("η ")
        self.clip_box = QCheckBox("clip x̂₀")
        self.clip_box.setChecked(True)
        self.clip_box.setToolTip("Clip the predicted x̂₀ to [−1, 1] at every step; large w overshoots without it")
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, SEED_MAX)
        self.seed_box.setPrefix("seed ")
        self.random_button = QPushButton("Random seed")
        self.generate_button = QPushButton("Generate  (Ctrl+Enter)")
        self.generate_button.setStyleSheet("QPushButton { font-weight: bold; padding: 4px 18px; }")
        self.model_label = QLabel("no model")
        self.model_label.setStyleSheet("color: #8fc3ff; padding-left: 10px;")
        for w in (QLabel("Sampler"), self.sampler_box, self.steps_box, self.eta_box, self.clip_box, self.seed_box,
                  self.random_button, self.generate_button):
            row.addWidget(w)
        row.addWidget(self.model_label, 1)
        self.random_button.clicked.connect(lambda: self.seed_box.setValue(random.randrange(SEED_MAX)))
        self.sampler_box.currentIndexChanged.connect(lambda _: self._on_sampler_changed(render=True))
        for box in (self.steps_box, self.seed_box):
            box.valueChanged.connect(lambda _: self._changed())
        self.eta_box.valueChanged.connect(lambda _: self._changed())
        self.clip_box.toggled.connect(lambda _: self._changed())
        return row

    def _guidance_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.guidance_slider = ScaleSlider(
            "guidance w", 15.0, 0.01, 3.0,
            "Classifier-free guidance scale: 0 unconditional, 1 conditional, more pushes harder toward the prompt")
        self.guidance_start = QDoubleSpinBox()
        self.guidance_stop = QDoubleSpinBox()
        for box, value in ((self.guidance_start, 0.0), (self.guidance_stop, 1.0)):
            box.setRange(0.0, 1.0)
            box.setSingleStep(0.05)
            box.setValue(value)
            box.setToolTip("Guidance is on only in this part of the run, 0 = pure noise, 1 = the image "
                           "(elsewhere: the plain conditional prediction, w = 1)")
            box.valueChanged.connect(lambda _: self._changed())
        row.addWidget(self.guidance_slider, 1)
        row.addSpacing(16)
        for w in (QLabel("guidance on from"), self.guidance_start, QLabel("to"), self.guidance_stop,
                  QLabel("of the run  (0 = noise, 1 = image)")):
            row.addWidget(w)
        self.guidance_slider.value_changed.connect(lambda _: self._changed())
        return row

    def _classifier_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.classifier_slider = ScaleSlider(
            "classifier s", 30.0, 0.1, 0.0,
            "Classifier guidance (Dhariwal & Nichol 2021): ε̂ = ε − s·√(1−ᾱ_t)·∇ log p(prompt's attributes | x_t), "
            "the noisy classifier's pull (0: off)")
        self.base_box = QComboBox()
        self.base_box.addItem("on top of this model", "text2img")
        self.base_box.addItem("steering the unconditional DDPM", "ddpm")
        self.base_box.setToolTip("What the noisy classifier's gradient steers: this model's guided prediction, or the "
                                 "shipped unconditional DDPM (ddpm-shapes; then w and the negative prompt do not apply)")
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setToolTip("The sample (or, on the Grid tab, the grid) with the full recipe in its metadata")
        self.load_button = QPushButton("Load PNG…")
        self.load_button.setToolTip("Restore prompt, guidance, sampler and seed from a PNG this panel exported")
        row.addWidget(self.classifier_slider, 1)
        row.addSpacing(16)
        for w in (self.base_box, self.export_button, self.load_button):
            row.addWidget(w)
        self.classifier_slider.value_changed.connect(lambda _: self._changed())
        self.base_box.currentIndexChanged.connect(lambda _: self._on_base_changed())
        return row

    # --- reading and showing settings ---------------------------------------------------------

    def settings(self, prompt: str, negative_prompt: str) -> GuidedSettings:
        """The settings shown, with these prompts (PromptError / ValueError for bad input)."""
        ddim = self.sampler_box.currentData() == "ddim"
        return GuidedSettings(
            prompt=prompt, negative_prompt=negative_prompt,
            guidance_scale=self.guidance_slider.value(), guidance_start=round(self.guidance_start.value(), 4),
            guidance_stop=round(self.guidance_stop.value(), 4), classifier_scale=self.classifier_slider.value(),
            sampler=self.sampler_box.currentData(), steps=self.steps_box.value(),
            eta=round(self.eta_box.value(), 4) if ddim else 0.0,
            clip_x0=self.clip_box.isChecked(), seed=self.seed_box.value(), base=self.base_box.currentData(),
        ).validate(self.steps_box.maximum())

    def apply(self, settings: GuidedSettings) -> None:
        """Show `settings` (already validated) without a re-render per widget: the caller renders once."""
        self.applying = True
        try:
            self.base_box.setCurrentIndex(self.base_box.findData(settings.base))
            self.sampler_box.setCurrentIndex(self.sampler_box.findData(settings.sampler))
            self.steps_box.setValue(settings.steps)
            self.eta_box.setValue(settings.eta)
            self.clip_box.setChecked(settings.clip_x0)
            self.seed_box.setValue(settings.seed)
            self.guidance_start.setValue(settings.guidance_start)
            self.guidance_stop.setValue(settings.guidance_stop)
            self.guidance_slider.set_value(settings.guidance_scale)
            self.classifier_slider.set_value(settings.classifier_scale)
        finally:
            self.applying = False

    def set_model(self, loaded: LoadedModel) -> None:
        self.applying = True  # a shorter schedule may clamp the steps: the panel renders once, when shown
        try:
            self.steps_box.setMaximum(loaded.model.noise_schedule.num_train_timesteps)
        finally:
            self.applying = False
        early = loaded.meta.steps < EARLY_CHECKPOINT_STEPS
        self.model_label.setText(f"{loaded.name}, {loaded.meta.steps} training steps" + ("  ⚠ early" if early else ""))
        self.model_label.setToolTip("An early checkpoint: samples may not follow prompts well yet" if early else "")

    def _changed(self) -> None:
        if not self.applying:
            self.changed.emit()

    def _on_sampler_changed(self, render: bool = False) -> None:
        self.eta_box.setEnabled(self.sampler_box.currentData() == "ddim")
        if render:
            self._changed()

    def _on_base_changed(self) -> None:
        base = self.base_box.currentData()
        self.guidance_slider.setEnabled(base != "ddpm")
        if base == "ddpm" and self.classifier_slider.value() == 0 and not self.applying:
            self.classifier_slider.set_value(DDPM_CLASSIFIER_SCALE)
        self.base_changed.emit(base)
        self._changed()
