"""The settings rows above the tabs: sampler, steps, seed, and the guidance sliders; they drive
the sample, the grid and the steps tab alike. `settings()` reads them, `apply()` shows a run's.

A latent denoiser (ldm, dit, sit) starts at its family's sampler (DDIM-50, Heun-10; a flow is
offered Euler, Heun and SDE) and at the guidance scale its checkpoint records as its best;
classifier and CLIP guidance are off for it (the noisy classifier and the CLIP read pixels, not latents).

The CLIP scale sits beside w (GLIDE compared the two): CLIP guidance steers by the shipped CLIP's
similarity of the predicted x0 to the prompt, on top of w, or alone on the unconditional DDPM."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from torch import nn

from ....core.checkpoints import LoadedModel
from ....core.diffusion.trajectory import SamplerSettings
from ....core.latent_diffusion import default_guidance, is_latent
from ....core.text2img.sampling import GuidedSettings
from ...widgets.sliders import ScaleSlider
from ...widgets.steps.controls import SamplerControls

DEFAULT_STEPS = 20
EARLY_CHECKPOINT_STEPS = 4000
DDPM_CLASSIFIER_SCALE = 2.0  # where ddpm-shapes + the noisy classifier did best (s = 2..5 tried)
LATENT_NO_CLASSIFIER = ("Classifier guidance needs a pixel model: the noisy classifier reads images, not an "
                        "autoencoder's latents. A latent model takes classifier-free guidance (w) only.")
CLIP_SLIDER_MAX = 300.0
CLIP_TIP = ("CLIP guidance (GLIDE §2.4): ε' = ε − s·√(1−ᾱ_t)·∇_x_t cos(CLIP_image(x̂₀), CLIP_text(prompt)), the shipped "
            "CLIP (trained on clean images) reading the predicted x̂₀; on top of w, or alone on the DDPM base (0: off)")
LATENT_NO_CLIP = "CLIP guidance needs a pixel model: the CLIP reads images, not an autoencoder's latents."


class SettingsControls(QWidget):
    changed = Signal()        # a setting changed: re-render
    base_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.applying = False  # inside apply(): no re-render per widget
        self.model: nn.Module | None = None  # the guided model: its samplers and schedule check the settings
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(2)
        rows.addWidget(self._sampler_row())
        rows.addLayout(self._guidance_row())
        rows.addLayout(self._classifier_row())

    def _sampler_row(self) -> SamplerControls:
        """The sampler, steps, eta, clip and seed are the steps view's `SamplerControls`: each number
        is checked as it is typed (a message naming the setting and its range, not a silent clamp)."""
        self.sampler = SamplerControls(ddpm_every_step=False)
        self.sampler.sampler_box.setCurrentIndex(self.sampler.sampler_box.findData("ddim"))
        self.sampler.steps.set_value(DEFAULT_STEPS)
        self.generate_button = QPushButton("Generate  (Ctrl+Enter)")
        self.generate_button.setStyleSheet("QPushButton { font-weight: bold; padding: 4px 18px; }")
        self.model_label = QLabel("no model")
        self.model_label.setStyleSheet("color: #8fc3ff; padding-left: 10px;")
        self.sampler.row.addWidget(self.generate_button)
        self.sampler.row.addWidget(self.model_label, 1)
        self.sampler.changed.connect(self._changed)
        self.sampler.new_seed.connect(self._changed)
        return self.sampler

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
        self.clip_slider = ScaleSlider("CLIP s", CLIP_SLIDER_MAX, 1.0, 0.0, CLIP_TIP)
        self.clip_slider.setProperty("pixel_tip", CLIP_TIP)
        row.addWidget(self.guidance_slider, 1)
        row.addWidget(self.clip_slider, 1)
        row.addSpacing(8)
        for w in (QLabel("guidance on from"), self.guidance_start, QLabel("to"), self.guidance_stop,
                  QLabel("(0 = noise, 1 = image)")):
            row.addWidget(w)
        self.guidance_slider.value_changed.connect(lambda _: self._changed())
        self.clip_slider.value_changed.connect(lambda _: self._changed())
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
        for w in (self.classifier_slider, self.base_box):  # restored when a pixel model follows a latent one
            w.setProperty("pixel_tip", w.toolTip())
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
        sampler = self.sampler.settings()
        settings = GuidedSettings(
            prompt=prompt, negative_prompt=negative_prompt,
            guidance_scale=self.guidance_slider.value(), guidance_start=round(self.guidance_start.value(), 4),
            guidance_stop=round(self.guidance_stop.value(), 4), classifier_scale=self.classifier_slider.value(),
            sampler=sampler.kind, steps=sampler.steps, eta=sampler.eta, clip_x0=sampler.clip_x0,
            seed=self.sampler.seed(), base=self.base_box.currentData(), clip_scale=self.clip_slider.value(),
        )
        return settings.for_model(self.model) if self.model is not None else settings.validate(self.sampler.schedule_length)

    def apply(self, settings: GuidedSettings) -> None:
        """Show `settings` (already validated) without a re-render per widget: the caller renders once."""
        self.applying = True
        try:
            self.base_box.setCurrentIndex(self.base_box.findData(settings.base))
            self.sampler.apply(SamplerSettings(settings.sampler, settings.steps, settings.eta, settings.clip_x0),
                               settings.seed)
            self.guidance_start.setValue(settings.guidance_start)
            self.guidance_stop.setValue(settings.guidance_stop)
            self.guidance_slider.set_value(settings.guidance_scale)
            self.classifier_slider.set_value(settings.classifier_scale)
            self.clip_slider.set_value(settings.clip_scale)
        finally:
            self.applying = False

    def set_model(self, loaded: LoadedModel) -> None:
        """The model's samplers and steps (a shorter schedule marks steps past it as a typing error, no clamp);
        a latent model's default sampler and guidance. The panel renders once, when shown."""
        self.model = loaded.model
        latent, was_latent = is_latent(loaded.model), not self.classifier_slider.isEnabled()
        self.applying = True
        try:
            self.sampler.set_model(loaded.model, loaded.family)
            if latent:
                self.base_box.setCurrentIndex(self.base_box.findData("text2img"))
                self.classifier_slider.set_value(0.0)
                self.clip_slider.set_value(0.0)
                self.guidance_slider.set_value(default_guidance(loaded.meta.extra))
            elif was_latent:  # back to the pixel model: its own defaults
                self.sampler.sampler_box.setCurrentIndex(self.sampler.sampler_box.findData("ddim"))
                self.sampler.steps.set_value(DEFAULT_STEPS)
        finally:
            self.applying = False
        for w in (self.classifier_slider, self.base_box, self.clip_slider):
            w.setEnabled(not latent)
            refused = LATENT_NO_CLIP if w is self.clip_slider else LATENT_NO_CLASSIFIER
            w.setToolTip(refused if latent else w.property("pixel_tip"))
        early = loaded.meta.steps < EARLY_CHECKPOINT_STEPS and loaded.meta.extra.get("format") != "diffusers"
        trained = f"{loaded.meta.steps} training steps" if loaded.meta.extra.get("format") != "diffusers" else "diffusers"
        self.model_label.setText(f"{loaded.name}, {trained}" + ("  ⚠ early" if early else ""))
        self.model_label.setToolTip("An early checkpoint: samples may not follow prompts well yet" if early else "")

    def _changed(self) -> None:
        if not self.applying:
            self.changed.emit()

    def _on_base_changed(self) -> None:
        base = self.base_box.currentData()
        self.guidance_slider.setEnabled(base != "ddpm")
        if base == "ddpm" and self.classifier_slider.value() == 0 and not self.applying:
            self.classifier_slider.set_value(DDPM_CLASSIFIER_SCALE)
        self.base_changed.emit(base)
        self._changed()
