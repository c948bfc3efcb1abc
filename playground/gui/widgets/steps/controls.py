"""The sampler settings a host offers the steps view: sampler, steps, eta, clipping and seed.

Every number is a `NumberField` checked against its real range as it is typed (steps from
1 to the model's schedule length, eta from 0 to 1, seeds from 0 to 2^31 - 1); `settings()`
and `seed()` raise the message naming the setting and the range, and the row shows it.

The samplers offered are the model's (`set_model`): DDPM and DDIM for a noise predictor
(the pixel U-Net, ldm, dit), Euler, Heun and SDE for a flow (sit); a latent model's x0 is
never clipped (a latent has no [-1, 1] range), so the clip box is off there.
"""

from __future__ import annotations

import random

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from torch import nn

from ....core import checks
from ....core.diffusion.schedulers import FLOW_KINDS, SCHEDULER_KINDS
from ....core.diffusion.trajectory import SamplerSettings
from ....core.latent_diffusion import default_sampler, is_flow, is_latent
from ....core.text2img.sampling import step_limit
from .fields import NumberField, message_label

DEFAULT_DDIM_STEPS = 50
SAMPLER_NAMES = {"ddpm": "DDPM", "ddim": "DDIM", "euler": "Euler (ODE)", "heun": "Heun (ODE)", "sde": "SDE"}
NOISE_TIP = ("DDPM: ancestral sampling (Ho et al. 2020, Algorithm 2).\n"
             "DDIM: any number of steps; eta 0 is deterministic, eta 1 is DDPM-like (Song et al. 2021).")
FLOW_TIP = ("The model predicts the velocity of the straight path from data to noise; sampling integrates it back.\n"
            "Euler: one model call a step. Heun: two (a second-order step), accurate in few steps.\n"
            "SDE: Euler–Maruyama with fresh noise each step (same marginals; a seed can branch it).")
CLIP_TIP = ("Clip the predicted x̂₀ to [−1, 1] before each update (diffusers' and improved-diffusion's default).\n"
            "Without it, DDPM's first step at t = T−1 divides the network's error by √ᾱ_t, tiny for the cosine "
            "schedule, and the run blows up: untick it and watch.")
LATENT_CLIP_TIP = "A latent is not an image in [−1, 1]: its predicted x̂₀ is never clipped."


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
        self.sampler_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # "Heun (ODE)" whole
        self._set_kinds(SCHEDULER_KINDS)
        self.sampler_box.setCurrentIndex(1)
        self.steps = NumberField("steps", checks.steps_for(self.schedule_length), DEFAULT_DDIM_STEPS, width=58,
                                 tooltip="Sampling steps, from 1 to the model's schedule length T (↑ ↓ step)")
        self.eta = NumberField("η (eta)", checks.eta, 0.0, step=0.1, width=48,
                               tooltip="DDIM's eta, from 0 to 1: 0 adds no noise after x_T (deterministic), "
                                       "1 adds as much as DDPM")
        self.clip_box = QCheckBox("clip x̂₀")
        self.clip_box.setChecked(True)
        self.clip_box.setToolTip(CLIP_TIP)
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

    @property
    def kinds(self) -> tuple[str, ...]:
        """The samplers offered (the model's)."""
        return tuple(self.sampler_box.itemData(i) for i in range(self.sampler_box.count()))

    def set_model(self, model: nn.Module, family: str) -> None:
        """Offer the samplers that fit `model` (a flow's solvers, or DDPM/DDIM), steps up to its schedule,
        clipping only for pixels; a latent family starts at its default sampler (DDIM-50, Heun-10)."""
        flow, latent = is_flow(model), is_latent(model)
        was_latent = not self.clip_box.isEnabled()
        self.blockSignals(True)
        self._set_kinds(FLOW_KINDS if flow else SCHEDULER_KINDS)
        self.set_schedule_length(step_limit(model))
        self.clip_box.setEnabled(not latent)
        self.clip_box.setToolTip(LATENT_CLIP_TIP if latent else CLIP_TIP)
        if latent:
            self.clip_box.setChecked(False)
            kind, steps = default_sampler(family)
            self.sampler_box.setCurrentIndex(max(0, self.sampler_box.findData(kind)))
            self.steps.set_value(min(steps, self.schedule_length))
        elif was_latent:  # back to pixels: DDIM-50, clipped, as a pixel model samples by default
            self.clip_box.setChecked(True)
            self.sampler_box.setCurrentIndex(self.sampler_box.findData("ddim"))
            self.steps.set_value(min(DEFAULT_DDIM_STEPS, self.schedule_length))
        own_clip = getattr(model.noise_schedule, "clip_sample", None)  # a diffusers scheduler config decides it
        if own_clip is not None and not latent:
            self.clip_box.setChecked(bool(own_clip))
            self.clip_box.setEnabled(False)
            self.clip_box.setToolTip("Set by the checkpoint's scheduler config (diffusers' clip_sample), "
                                     "as diffusers' own pipeline samples it")
        self._on_sampler(emit=False)
        self.blockSignals(False)

    def _set_kinds(self, kinds: tuple[str, ...]) -> None:
        if self.kinds == tuple(kinds):
            return
        current = self.sampler_box.currentData()
        self.sampler_box.blockSignals(True)
        self.sampler_box.clear()
        for kind in kinds:
            every = kind == "ddpm" and self.ddpm_every_step
            self.sampler_box.addItem(SAMPLER_NAMES[kind] + (" (every step)" if every else ""), kind)
        found = self.sampler_box.findData(current)  # else DDIM (or the flow's first solver)
        self.sampler_box.setCurrentIndex(found if found >= 0 else max(0, self.sampler_box.findData("ddim")))
        self.sampler_box.setToolTip(FLOW_TIP if kinds[0] in FLOW_KINDS else NOISE_TIP)
        self.sampler_box.blockSignals(False)

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
        every = self.kind == "ddpm" and self.ddpm_every_step
        T = self.schedule_length
        self.steps.setEnabled(not every)
        self.eta.setEnabled(self.kind == "ddim")
        if every:
            self.steps.set_value(T)
        elif self.ddpm_every_step and self.steps.text() == str(T) and T > DEFAULT_DDIM_STEPS:
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
