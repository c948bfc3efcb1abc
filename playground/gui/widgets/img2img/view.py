"""The "Image to image" view, shared by the Diffusion and the Text-to-image panels.

Pick an image (Open image…, or one of the data gallery's), drag the strength: the start
point it gives (t, noise level, signal-to-noise ratio; the steps redone shaded) is marked
on the schedule plots at once and x_t there is drawn in the worker; Run denoises from it.
Invert runs DDIM (or a flow's ODE) backwards to the image's noise x_T, shows that noise
and the round trip with its error, and Edit samples x_T again with another prompt or w.

The run's settings (sampler, steps, seed; the Text-to-image panel's prompt and w too)
are the host panel's, read by the `settings` callable it passes in. Every model call
goes through `Panel.submit` (progress, cancel, the stale-result guard).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
)

from ....core import checks
from ....core.data.shapes import PromptError
from ....core.diffusion.trajectory import SamplerSettings
from ....core.img2img.img2img import StartPoint, for_model, is_text_conditioned, start_point
from ....core.text2img.sampling import GuidedSettings
from ..gallery import DataGallery
from ..image_file import ask_image_path, open_image_file
from ..steps.plots import SchedulePlots
from ..titled import SMALL_TITLE, NumberTiles, TitledCanvas, canvas_row, fmt, note_label
from ..sliders import ScaleSlider
from ...panels.base import mark_primary
from .jobs import Img2ImgDone, InversionDone, StartPicture, edit_job, img2img_job, invert_job, start_job

if TYPE_CHECKING:
    from ...panels.base import Panel

NOTE = ("Strength s redoes the last s of the run's steps: the image is noised to the start point t (marked on "
        "the schedule, the redone steps shaded) and denoised from there. Invert runs the deterministic sampler "
        "backwards to the noise x_T that draws the image; Edit samples that x_T with another prompt or w.")
REGION_BRUSH = pg.mkBrush(255, 200, 80, 40)


def from_sampler(settings: SamplerSettings, seed: int) -> GuidedSettings:
    """A sampler row's settings (the Diffusion panel's) as an unguided run: the null prompt, w = 1."""
    return GuidedSettings(sampler=settings.kind, steps=settings.steps, eta=settings.eta, clip_x0=settings.clip_x0,
                          seed=seed, guidance_scale=1.0)


def describe_start(start: StartPoint) -> str:
    """What the strength means, in one line: the steps redone and the mix of image and noise at the start."""
    if start.pure_noise:
        return f"s = 1: all {start.num_steps} steps from pure noise; the image is forgotten (the seed's plain sample)"
    return (f"s = {start.strength:g}: the last {start.steps_run} of {start.num_steps} steps, from "
            f"x_t = {start.signal_level:.2f}·image + {start.noise_level:.2f}·noise (t = {start.t}, "
            f"SNR {fmt(start.snr, 3)})")


class Img2ImgView(QWidget):
    """Image to image and DDIM inversion for the panel's model (see the module docstring)."""

    ran = Signal()       # a run finished and its result is on screen
    inverted = Signal()
    edited = Signal()

    def __init__(self, panel: Panel, settings: Callable[[], GuidedSettings], plots: SchedulePlots | None = None):
        super().__init__()
        self.panel = panel
        self.settings_source = settings
        self.image: np.ndarray | None = None
        self.start = None
        self.inversion: InversionDone | None = None
        self._scheduler, self._scheduler_key = None, None
        self.own_plots = plots is None
        self.plots = plots if plots is not None else SchedulePlots(("alpha_bar", "log_snr"))
        if self.own_plots:
            self.plots.show_norms(False)
            self.plots.setMinimumWidth(300)
        self.regions = {key: pg.LinearRegionItem(movable=False, brush=REGION_BRUSH, pen=pg.mkPen(None))
                        for key in self.plots.plots}
        for key, region in self.regions.items():
            region.setVisible(False)
            self.plots.plots[key].addItem(region, ignoreBounds=True)

        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        self.setToolTip(NOTE)
        body = QHBoxLayout()
        source = QVBoxLayout()
        self.open_button = QPushButton("Open image…")
        self.open_button.setToolTip("Start from your own image (scaled and centre-cropped to the model's size)")
        self.gallery = DataGallery(40)
        self.gallery.setFixedWidth(200)
        source.addWidget(self.open_button)
        source.addWidget(self.gallery, 1)
        body.addLayout(source)

        middle = QVBoxLayout()
        row = QHBoxLayout()
        self.strength = ScaleSlider("strength s", 1.0, 0.01, 0.6,
                                    "The share of the run's steps redone: 1 starts from pure noise (the image forgotten)")
        self.run_button = QPushButton("Run")
        mark_primary(self.run_button)  # Ctrl+Enter on this tab
        self.run_button.setToolTip("Noise the image to the start point and denoise it with the panel's sampler and seed")
        self.invert_button = QPushButton("Invert")
        self.invert_button.setToolTip("DDIM inversion: run the deterministic sampler backwards from the image to its "
                                      "noise x_T (with the prompt at w = 1), then sample it forward again")
        row.addWidget(self.strength, 1)
        row.addWidget(self.run_button)
        row.addWidget(self.invert_button)
        middle.addLayout(row)
        self.numbers = NumberTiles([("t", "start t"), ("noise", "noise level"), ("snr", "SNR"), ("redone", "steps redone"),
                                    ("psnr", "round trip PSNR")])
        self.numbers.values["noise"].setToolTip("The noise's weight in x_t: √(1 − ᾱ_t), or s for a flow")
        self.numbers.values["snr"].setToolTip("Signal-to-noise ratio at the start: ᾱ_t / (1 − ᾱ_t), or (1 − s)² / s²")
        middle.addWidget(self.numbers)
        self.note = note_label(NOTE)  # then what the chosen strength means, in words
        middle.addWidget(self.note)
        self.canvases = {key: TitledCanvas(title, caption, minimum=80) for key, title, caption in (
            ("input", "Input", ""), ("noised", "x_t at the start", ""), ("output", "Result", ""),
            ("noise", "Inverted x_T", ""), ("round_trip", "Round trip", ""), ("edited", "Edited", ""))}
        for canvas in self.canvases.values():
            canvas.title.setStyleSheet(SMALL_TITLE)
        c = self.canvases
        middle.addWidget(canvas_row(c["input"], c["noised"], c["output"]), 1)
        middle.addWidget(canvas_row(c["noise"], c["round_trip"], c["edited"]), 1)
        edit_row = QHBoxLayout()
        self.edit_prompt = QLineEdit()
        self.edit_prompt.setPlaceholderText("edit from x_T with this prompt, e.g. a blue square")
        self.edit_w = QDoubleSpinBox()
        self.edit_w.setRange(checks.guidance_scale.low, checks.guidance_scale.high)
        self.edit_w.setSingleStep(0.5)
        self.edit_w.setValue(3.0)
        self.edit_button = QPushButton("Edit")
        self.edit_button.setToolTip("Sample the inverted noise with this prompt and w (the inversion's sampler and steps)")
        for w in (QLabel("Edit:"), self.edit_prompt, QLabel("w"), self.edit_w, self.edit_button):
            edit_row.addWidget(w, 1 if w is self.edit_prompt else 0)
        middle.addLayout(edit_row)
        body.addLayout(middle, 1)
        if self.own_plots:
            body.addWidget(self.plots)
        root.addLayout(body, 1)

        self.open_button.clicked.connect(self._open_dialog)
        self.gallery.picked.connect(lambda i: self.set_image(self.gallery.image(i), f"gallery image {i}"))
        self.strength.value_changed.connect(lambda _: self.update_start())
        self.run_button.clicked.connect(self.run)
        self.invert_button.clicked.connect(self.invert)
        self.edit_button.clicked.connect(self.edit)
        self.edit_prompt.returnPressed.connect(self.edit)
        self._sync_buttons()
        panel.tabs_shown.watch(self, activate=self.activate, shown=self._show_plots)

    # --- the model and the image -------------------------------------------------------------------

    def activate(self) -> None:
        """On screen with a new model: forget the old model's pictures, draw its schedule, pick an image."""
        self.inversion = None
        for key in ("noised", "output", "noise", "round_trip", "edited"):
            self.canvases[key].set_image(None)
            self.canvases[key].set_caption("")
        self.numbers.set_values({})
        model = self.panel.loaded.model
        if self.own_plots:
            self.plots.set_schedule(model.noise_schedule)
        conditioned = is_text_conditioned(model)
        self.edit_prompt.setEnabled(conditioned)
        self.edit_w.setEnabled(conditioned)
        self.edit_prompt.setToolTip("" if conditioned else "An unconditional DDPM has no prompt: Edit samples x_T back")
        if self.gallery.data is None:
            self.gallery.load(self.panel, self.panel.loaded.meta.data or "shapes", select_first=True)
        else:
            self.update_start()
        self._sync_buttons()

    def _show_plots(self) -> None:
        if not self.own_plots:  # the panel's plots: no run's norms here, the start point instead
            self.plots.show_norms(False)
            self.plots.set_norms(None)
        self.update_start()  # the panel's sampler or steps may have changed while hidden

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().hideEvent(event)
        if not self.own_plots:  # the shared plots go back to the other tabs without this view's marks
            for region in self.regions.values():
                region.setVisible(False)

    def _open_dialog(self) -> None:
        path = ask_image_path(self)
        if path and self.panel.loaded is not None:
            open_image_file(self.panel, path, int(self.panel.loaded.model.config.image_size), self.set_image)

    def set_image(self, image: np.ndarray | None, name: str = "") -> None:
        if image is None:
            return
        self.image = np.ascontiguousarray(image)
        self.inversion = None
        self.canvases["input"].set_image(self.image)
        self.canvases["input"].set_caption(name)
        for key in ("output", "noise", "round_trip", "edited"):
            self.canvases[key].set_image(None)
            self.canvases[key].set_caption("")
        self.update_start()
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        ready = self.image is not None and self.panel.loaded is not None
        self.run_button.setEnabled(ready and self.start is not None)
        self.invert_button.setEnabled(ready)
        self.edit_button.setEnabled(ready and self.inversion is not None)

    # --- settings --------------------------------------------------------------------------------

    def settings(self) -> GuidedSettings:
        """The host panel's settings as this view runs them (classifier-free guidance only)."""
        settings = self.settings_source()
        if is_text_conditioned(self.panel.loaded.model):
            settings = settings.replace(base="text2img", classifier_scale=0.0)
        return for_model(settings, self.panel.loaded.model)

    def _settings_or_report(self) -> GuidedSettings | None:
        try:
            return self.settings()
        except (PromptError, ValueError) as exc:
            self.panel.report_error(str(exc))
            return None

    # --- the start point ---------------------------------------------------------------------------

    def update_start(self) -> None:
        """Mark the strength's start point at once (no model call), then draw x_t there in the worker."""
        if self.panel.loaded is None or not self.isVisible():
            return
        model = self.panel.loaded.model
        try:
            settings = self.settings()
            self.start = start_point(self._timesteps_of(settings), self.strength.value())
        except (PromptError, ValueError) as exc:
            self.start = None
            self.canvases["noised"].set_caption(str(exc))
            self.note.setText(str(exc))
            self._mark_start()
            self._sync_buttons()
            return
        start = self.start
        self.numbers.set_values(self._round_trip_values() | {
            "t": str(start.t), "noise": f"{start.noise_level:.3f}", "snr": fmt(start.snr, 3),
            "redone": f"{start.steps_run} / {start.num_steps}"})
        self.canvases["noised"].set_caption(("pure noise, " if start.pure_noise else "") + f"t = {start.t}")
        self.note.setText(describe_start(start))
        self._mark_start()
        self._sync_buttons()
        if self.image is not None:
            self.panel.submit(start_job(model, self.image, settings, start.strength), channel="img2img-start",
                              on_result=self._on_start, cancel_running=True)

    def _timesteps_of(self, settings: GuidedSettings):
        """The run's scheduler, made again only when the model, sampler or steps change: making one computes
        every step's coefficients (60 ms for DDPM-1000), too slow for each move of the slider."""
        key = (self.panel.model_generation, settings.sampler, settings.steps)
        if self._scheduler_key != key:
            self._scheduler, self._scheduler_key = settings.make_scheduler(self.panel.loaded.model), key
        return self._scheduler

    def _mark_start(self) -> None:
        start = self.start if self.isVisible() else None
        self.plots.set_cursor(start.t if start is not None else None)
        for region in self.regions.values():
            region.setVisible(start is not None)
            if start is not None:
                region.setRegion((0, start.t))

    def _on_start(self, picture: StartPicture) -> None:
        self.canvases["noised"].set_image(picture.noised)

    # --- runs -------------------------------------------------------------------------------------

    def run(self) -> None:
        settings = self._settings_or_report()
        if settings is None or self.image is None:
            return
        self.canvases["output"].set_caption("running…")
        self.panel.submit(img2img_job(self.panel.loaded.model, self.image, settings, self.strength.value()),
                          channel="img2img", label="Image to image", on_result=self._on_run, cancel_running=True,
                          on_progress=self._on_run_progress)

    def _on_run_progress(self, done: int, total: int, preview: np.ndarray) -> None:
        self.canvases["output"].set_image(preview)
        self.canvases["output"].set_caption(f"x̂₀ at step {done} / {total}")

    def _on_run(self, done: Img2ImgDone) -> None:
        self.panel.clear_error()
        self.canvases["noised"].set_image(done.noised)
        self.canvases["output"].set_image(done.output)
        self.canvases["output"].set_caption(f"s = {done.start.strength:g}, {done.settings.sampler}, seed {done.settings.seed}")
        self.ran.emit()

    def invert(self) -> None:
        settings = self._settings_or_report()
        if settings is None or self.image is None:
            return
        settings = settings.replace(guidance_scale=1.0, negative_prompt="", eta=0.0)
        if not self.edit_prompt.text():
            self.edit_prompt.setText(self.settings_source().prompt)
        self.canvases["round_trip"].set_caption("inverting…")
        self.panel.submit(invert_job(self.panel.loaded.model, self.image, settings), channel="img2img-invert",
                          label="DDIM inversion", on_result=self._on_inverted, cancel_running=True,
                          on_progress=lambda done, total, _: self.canvases["round_trip"].set_caption(
                              f"step {done} / {total}"))

    def _on_inverted(self, done: InversionDone) -> None:
        self.panel.clear_error()
        self.inversion = done
        result = done.inversion
        self.canvases["noise"].set_image(done.noise_picture)
        self.canvases["noise"].set_caption(f"t {result.t}, std {result.noise_std:.2f}")
        self.canvases["noise"].setToolTip("The noise x_T the image inverts to: a sampler's x_T is N(0, 1), std 1"
                                          + ("; the latent's 4 channels, blue below 0, red above"
                                             if result.noise.shape[1] != 3 else ""))
        self.canvases["round_trip"].set_image(result.reconstruction[0])
        self.canvases["round_trip"].set_caption(f"MSE {result.mse:.2g}")
        self.canvases["round_trip"].setToolTip(result.describe())
        self.numbers.values["psnr"].setToolTip(result.describe())
        self.numbers.set_values(self._start_values() | self._round_trip_values())
        self._sync_buttons()
        self.inverted.emit()

    def _start_values(self) -> dict[str, str]:
        return {key: self.numbers.text(key) for key in ("t", "noise", "snr", "redone")}

    def _round_trip_values(self) -> dict[str, str]:
        if self.inversion is None:
            return {}
        result = self.inversion.inversion
        return {"psnr": f"{result.psnr:.1f} dB"}

    def edit(self) -> None:
        if self.inversion is None:
            return
        settings = self.inversion.settings
        if is_text_conditioned(self.panel.loaded.model):
            settings = settings.replace(prompt=self.edit_prompt.text().strip(), guidance_scale=self.edit_w.value())
        try:
            settings = for_model(settings, self.panel.loaded.model)
        except (PromptError, ValueError) as exc:
            self.panel.report_error(str(exc))
            return
        self.canvases["edited"].set_caption("sampling…")
        self.panel.submit(edit_job(self.panel.loaded.model, self.inversion.inversion.noise, settings),
                          channel="img2img-edit", label="Edit from x_T", cancel_running=True,
                          on_result=lambda image: self._on_edited(image, settings),
                          on_progress=lambda done, total, preview: self.canvases["edited"].set_image(preview))

    def _on_edited(self, image: np.ndarray, settings: GuidedSettings) -> None:
        self.panel.clear_error()
        self.canvases["edited"].set_image(image)
        what = f"“{settings.prompt}”" if settings.prompt else "no prompt"
        self.canvases["edited"].set_caption(f"w = {settings.guidance_scale:g}")
        self.canvases["edited"].setToolTip(f"x_T sampled with {what} at w = {settings.guidance_scale:g}")
        self.edited.emit()
