"""The sampler settings a host offers the steps view: sampler, steps, eta, clipping and seed.

Every number is a `NumberField` checked against its real range as it is typed (steps from
1 to the model's schedule length, eta from 0 to 1, seeds from 0 to 2^31 - 1); `settings()`
and `seed()` raise the message naming the setting and the range, and the row shows it.
"""

from __future__ import annotations

import random

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ....core import checks
from ....core.diffusion.trajectory import SamplerSettings
from .fields import NumberField, message_label

DEFAULT_DDIM_STEPS = 50


class SamplerControls(QWidget):
    """`changed` when a valid setting changes; `new_seed` after "New seed" drew one.

    `ddpm_every_step`: the Diffusion tab's DDPM runs all T steps (its steps field shows T and
    is off); the text-to-image runs may take DDPM over fewer steps.
    """

    changed = Signal()
    new_seed = Signal()

    def __init__(self, ddpm_every_step: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.ddpm_every_step = ddpm_every_step
        self.schedule_length = 1000
        self.sampler_box = QComboBox()
        self.sampler_box.addItem("DDPM (every step)" if ddpm_every_step else "DDPM", "ddpm")
        self.sampler_box.addItem("DDIM", "ddim")
        self.sampler_box.setCurrentIndex(1)
        self.sampler_box.setToolTip(
            "DDPM: ancestral sampling (Ho et al. 2020, Algorithm 2).\n"
            "DDIM: any number of steps; eta 0 is deterministic, eta 1 is DDPM-like (Song et al. 2021).")
        self.steps = NumberField("steps", checks.steps_for(self.schedule_length), DEFAULT_DDIM_STEPS, width=58,
                                 tooltip="Sampling steps, from 1 to the model's schedule length T (↑ ↓ step)")
        self.eta = NumberField("η (eta)", checks.eta, 0.0, step=0.1, width=48,
                               tooltip="DDIM's eta, from 0 to 1: 0 adds no noise after x_T (deterministic), "
                                       "1 adds as much as DDPM")
        self.clip_box = QCheckBox("clip x̂₀")
        self.clip_box.setChecked(True)
        self.clip_box.setToolTip(
            "Clip the predicted x̂₀ to [−1, 1] before each update (diffusers' and improved-diffusion's default).\n"
            "Without it, DDPM's first step at t = T−1 divides the network's error by √ᾱ_t, tiny for the cosine "
            "schedule, and the run blows up: untick it and watch.")
        self.seed_field = NumberField("seed", checks.seed, 0, width=96,
                                      tooltip=f"The run's seed: its x_T and every noise draw "
                                              f"(0 to {checks.SEED_MAX})")
        self.new_seed_button = QPushButton("New seed")
        self.new_seed_button.setToolTip("Draw a random seed and run it")
        self.message = message_label()
        self.row = QHBoxLayout()
        self.row.setContentsMargins(0, 0, 0, 0)
        for w in (QLabel("Sampler"), self.sampler_box, QLabel("steps"), self.steps, QLabel("η"), self.eta,
                  self.clip_box, QLabel("seed"), self.seed_field, self.new_seed_button):
            self.row.addWidget(w)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self.row)
        layout.addWidget(self.message)
        self.sampler_box.currentIndexChanged.connect(lambda _: self._on_sampler())
        self.clip_box.toggled.connect(lambda _: self.changed.emit())
        for field in (self.steps, self.eta, self.seed_field):
            field.edited.connect(self.changed)
            field.problem_changed.connect(lambda _: self._show_problem())
        self.new_seed_button.clicked.connect(self._draw_seed)
        self._on_sampler(emit=False)

    # --- reading -------------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        return self.sampler_box.currentData()

    def settings(self) -> SamplerSettings:
        """The sampler the fields describe; ValueError naming the setting and its range."""
        if self.kind == "ddpm" and self.ddpm_every_step:
            return SamplerSettings("ddpm", self.schedule_length, clip_x0=self.clip_box.isChecked())
        eta = self.eta.value() if self.kind == "ddim" else 0.0
        return SamplerSettings(self.kind, int(self.steps.value()), round(eta, 4), self.clip_box.isChecked())

    def seed(self) -> int:
        return int(self.seed_field.value())

    def problem(self) -> str:
        """The first typing error of the row ("" when every field holds a valid value)."""
        return next((f.problem for f in (self.steps, self.eta, self.seed_field) if f.isEnabled() and f.problem), "")

    # --- writing -------------------------------------------------------------------------------

    def set_schedule_length(self, T: int) -> None:
        """A model with a T-step schedule: steps range over 1..T."""
        self.schedule_length = T
        self.steps.set_allowed(checks.steps_for(T))
        self._on_sampler(emit=False)

    def apply(self, settings: SamplerSettings, seed: int) -> None:
        """Show a run's settings (from a run shown, or a loaded recipe) without emitting `changed`."""
        self.blockSignals(True)
        self.sampler_box.setCurrentIndex(self.sampler_box.findData(settings.kind))
        self.steps.set_value(settings.steps)
        self.eta.set_value(settings.eta)
        self.clip_box.setChecked(settings.clip_x0)
        self.seed_field.set_value(seed)
        self._on_sampler(emit=False)
        self.blockSignals(False)

    def _on_sampler(self, emit: bool = True) -> None:
        ddim = self.kind == "ddim"
        T = self.schedule_length
        self.steps.setEnabled(ddim or not self.ddpm_every_step)
        self.eta.setEnabled(ddim)
        if not ddim and self.ddpm_every_step:
            self.steps.set_value(T)
        elif ddim and self.ddpm_every_step and self.steps.text() == str(T) and T > DEFAULT_DDIM_STEPS:
            self.steps.set_value(DEFAULT_DDIM_STEPS)
        self._show_problem()
        if emit:
            self.changed.emit()

    def _draw_seed(self) -> None:
        self.seed_field.set_value(random.randrange(checks.SEED_MAX + 1))
        self.new_seed.emit()

    def _show_problem(self) -> None:
        problem = self.problem()
        self.message.setText(problem)
        self.message.setVisible(bool(problem))
