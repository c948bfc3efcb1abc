"""Text to image with a guidance-scale slider: classifier-free guidance by hand.

Type a prompt, fix a seed and drag w: the image re-renders as the slider moves (requests
coalesce on the worker's "render" channel: the newest w wins and a running render is
cancelled), its predicted x0 showing while it renders. Beside it, what guidance did at one
step (unconditional, conditional, their difference, the guided prediction); a grid of one
seed at several w, and w by seed; the diffusion panel's step-by-step scrubber on the
guided run; PNG export with the full recipe, and loading such a PNG restores the settings.
Every model call goes through the headless core (`core.text2img.sampling`) in the worker.
"""

from __future__ import annotations

import dataclasses

import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSlider,
    QSpinBox, QTabWidget, QVBoxLayout, QWidget,
)
from torch import nn

from ...core.assets import DEFAULT_CHECKPOINTS, list_shipped
from ...core.checkpoints import LoadedModel, load_checkpoint
from ...core.data import to_uint8
from ...core.data.shapes import PromptError
from ...core.diffusion.guidance import ClassifierFreeGuidance
from ...core.diffusion.trajectory import SamplerSettings, Trajectory, trace
from ...core.images import labelled_grid, read_recipe, save_png, upscale
from ...core.text2img.sampling import (
    Decomposition, GuidedSettings, decompose, grid_steps, image_shape, make_denoiser, model_device,
)
from ..widgets.images import ImageCanvas
from ..worker import JobContext, ModelWorker
from .base import Panel
from .diffusion_panel import DiffusionPanel
from ..widgets.titled import TitledCanvas
from .text2img_widgets import DecompositionView, PromptEdit, ScaleSlider

DEFAULT_PROMPT = "a large red circle at the top left"
DEFAULT_STEPS = 20
PREVIEW_INTERVAL_S = 1 / 30
GRID_PREVIEW_INTERVAL_S = 0.2
DECOMPOSITION_AT = 0.4  # default step of the decomposition, as a share of the run: where guidance still decides
EXPORT_SCALE = 8
EARLY_CHECKPOINT_STEPS = 4000
GUIDANCE_NOTE = (
    "<b>w = 0</b> is the unconditional model, <b>w = 1</b> the plain conditional one; larger w pushes further along "
    "the difference between them, <b>ε̃ = ε(x_t, ∅) + w·(ε(x_t, c) − ε(x_t, ∅))</b> (Ho &amp; Salimans 2022): "
    "closer to the prompt, less variety in what it leaves open."
)


@dataclass(frozen=True)
class RenderPreview:
    request: int
    index: int
    num_steps: int
    pred_x0: np.ndarray  # (H, W, 3) uint8


@dataclass(frozen=True)
class RenderResult:
    request: int
    settings: GuidedSettings
    trajectory: Trajectory
    seconds: float
    denoiser: nn.Module
    model_name: str


@dataclass(frozen=True)
class GridResult:
    request: int
    settings: GuidedSettings
    scales: tuple[float, ...]
    seeds: tuple[int, ...]
    axis: str             # "w" (classifier-free) or "s" (classifier scale, DDPM base)
    picture: np.ndarray   # the labelled grid, (H, W, 3) uint8
    final: bool


class AuxModels:
    """The models a guided run may need besides the panel's own (the noisy classifier, the unconditional
    DDPM), loaded on first use inside the worker and kept."""

    def __init__(self, device: torch.device):
        self.device = device
        self._loaded: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()

    def get(self, family: str) -> LoadedModel:
        with self._lock:
            if family not in self._loaded:
                shipped = [c for c in list_shipped() if c.meta.family == family]
                shipped.sort(key=lambda c: c.name != DEFAULT_CHECKPOINTS.get(family))
                if not shipped:
                    raise ValueError(f"no shipped {family} checkpoint in assets/: train one (see README)")
                self._loaded[family] = load_checkpoint(shipped[0].path, self.device)
            return self._loaded[family]

    def resolve(self, model: nn.Module, settings: GuidedSettings) -> tuple[nn.Module, nn.Module | None]:
        """(the denoiser to guide, the noisy classifier or None) for these settings."""
        base = self.get("ddpm").model if settings.base == "ddpm" else model
        classifier = self.get("noisy-classifier").model if settings.classifier_scale > 0 else None
        return base, classifier


class GuidedStepsView(DiffusionPanel):
    """The diffusion panel's step-by-step view (scrub, play, branch, export) on guided runs.

    The text-to-image panel hands it each finished run and the guided model function that
    made it, which its own Run and Branch then use too. The forward-process and DDPM-vs-DDIM
    tabs are left out: they show the bare network, not guidance.
    """

    title = "Denoising steps"
    families = ()

    def __init__(self, worker: ModelWorker, device: torch.device, parent: QWidget | None = None):
        super().__init__(worker, device, parent)
        self.denoiser: nn.Module | None = None
        self.guided_recipe: dict = {}
        for index in reversed(range(1, self.tabs.count())):
            self.tabs.removeTab(index)
        self.tabs.tabBar().setVisible(False)  # one tab left, and the text-to-image panel's tab names it
        self.reverse_note.setVisible(False)  # the text-to-image panel explains guidance itself
        self.layout().setContentsMargins(0, 0, 0, 0)  # it sits in a tab of its own; fit a 1280x720 screen
        for canvas in self.canvases.values():
            canvas.canvas.setMinimumSize(100, 100)

    def model_function(self):
        if self.denoiser is None:  # before the first guided run: the model with the null prompt (unconditional)
            return ClassifierFreeGuidance.for_prompt(self.loaded.model, "", 0.0)
        return self.denoiser

    def sampler_settings(self) -> SamplerSettings:
        """As the diffusion panel's, but a clipped x0 also sets DDIM's eps, as every guided run does."""
        settings = super().sampler_settings()
        return dataclasses.replace(settings, use_clipped_model_output=settings.clip_x0)

    def _load_gallery(self) -> None:  # no forward-process tab here: no data-set gallery to load
        pass

    def _update_forward(self) -> None:
        pass

    def show_guided_run(self, result: RenderResult) -> None:
        """Show a finished guided run at its last step; later runs and branches use its model function."""
        self.denoiser, self.guided_recipe = result.denoiser, result.settings.to_recipe(result.model_name)
        settings = result.trajectory.settings
        self.sampler_box.setCurrentIndex(self.sampler_box.findData(settings.kind))
        self.steps_box.setValue(settings.steps)
        self.eta_box.setValue(settings.eta)
        self.clip_box.setChecked(settings.clip_x0)
        self.seed_box.setValue(result.trajectory.seed)
        self._add_run(result.trajectory)
        self.show_run(result.trajectory, result.trajectory.num_steps - 1)

    def recipe(self, trajectory: Trajectory) -> dict:
        return {**self.guided_recipe, **super().recipe(trajectory)}


class Text2ImgPanel(Panel):
    title = "Text to image"
    families = ("text2img",)
    preview_shown = Signal(int)  # step index of a preview on the sample canvas
    rendered = Signal()          # a render finished and is on screen
    grid_rendered = Signal()
    decomposed = Signal()

    def __init__(self, worker: ModelWorker, device: torch.device, parent: QWidget | None = None):
        super().__init__(worker, device, parent)
        self.model_id = 0
        self.request = 0       # the newest render; older renders' previews and results are dropped
        self.grid_request = 0  # the same for grids
        self.result: RenderResult | None = None
        self.grid: GridResult | None = None
        self.decomposition: Decomposition | None = None
        self.aux = AuxModels(device)
        self._build()

    # --- layout ----------------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 4, 6, 4)
        root.setSpacing(4)
        self.prompt = PromptEdit("Prompt", "e.g. a large red circle at the top left",
                                 "empty prompt: the unconditional model (w changes nothing)")
        self.prompt.set_text(DEFAULT_PROMPT)
        self.negative = PromptEdit("Negative", "optional: what to steer away from (it replaces the null prompt ∅)", "")
        root.addWidget(self.prompt)
        root.addWidget(self.negative)
        root.addLayout(self._build_controls())
        root.addLayout(self._build_guidance_controls())
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_guidance_tab(), "Guidance")
        self.tabs.addTab(self._build_grid_tab(), "Grid: w × seed")
        self.steps_view = GuidedStepsView(self.worker, self.device)
        self.steps_view.status_message.connect(self.status_message)
        self.steps_view.timeline.valueChanged.connect(self._follow_scrubber)
        self.tabs.addTab(self.steps_view, "Denoising steps")
        root.addWidget(self.tabs, 1)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.generate)
        self.prompt.submitted.connect(self.generate)
        self.negative.submitted.connect(self.generate)
        self.prompt.validity_changed.connect(lambda _: self._sync_enabled())
        self.negative.validity_changed.connect(lambda _: self._sync_enabled())

    def _build_controls(self) -> QHBoxLayout:
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
        self.seed_box.setRange(0, 2**31 - 1)
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
        self.random_button.clicked.connect(self.random_seed)
        self.generate_button.clicked.connect(self.generate)
        self.sampler_box.currentIndexChanged.connect(lambda _: self._on_sampler_changed())
        for box in (self.steps_box, self.seed_box):
            box.valueChanged.connect(lambda _: self.render())
        self.eta_box.valueChanged.connect(lambda _: self.render())
        self.clip_box.toggled.connect(lambda _: self.render())
        self._on_sampler_changed(render=False)
        return row

    def _build_guidance_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(4, 4, 4, 4)
        note = QLabel(GUIDANCE_NOTE)
        note.setObjectName("note")
        note.setWordWrap(True)
        layout.addWidget(note)
        body = QHBoxLayout()
        self.sample_canvas = TitledCanvas("guided sample", "press Ctrl+Enter", minimum=220)
        body.addWidget(self.sample_canvas, 5)
        right = QVBoxLayout()
        self.decomposition_title = QLabel("What guidance did at one step")
        self.decomposition_title.setStyleSheet("font-size: 13pt; font-weight: bold;")
        right.addWidget(self.decomposition_title)
        self.decomposition_view = DecompositionView()
        right.addWidget(self.decomposition_view, 1)
        step_row = QHBoxLayout()
        self.decomposition_step = QSlider(Qt.Orientation.Horizontal)
        self.decomposition_step.setRange(0, 0)
        self.decomposition_step.setToolTip("The step of the run whose x_t the two branches are shown at")
        self.decomposition_label = QLabel("step –")
        self.decomposition_label.setMinimumWidth(150)
        step_row.addWidget(QLabel("at step"))
        step_row.addWidget(self.decomposition_step, 1)
        step_row.addWidget(self.decomposition_label)
        right.addLayout(step_row)
        body.addLayout(right, 6)
        layout.addLayout(body, 1)
        self.decomposition_step.valueChanged.connect(lambda _: self.request_decomposition())
        return tab

    def _build_grid_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.grid_scales_edit = QLineEdit("0, 1, 2, 3, 5, 8")
        self.grid_scales_edit.setToolTip("The guidance scales across (w; the classifier scale s when the DDPM is "
                                         "the denoiser)")
        self.grid_seeds_box = QSpinBox()
        self.grid_seeds_box.setRange(1, 8)
        self.grid_seeds_box.setValue(3)
        self.grid_seeds_box.setPrefix("seeds: ")
        self.grid_seeds_box.setToolTip("Rows: the seed above and the next ones (1 row: one seed at every w)")
        self.grid_button = QPushButton("Run grid")
        self.grid_button.setStyleSheet("QPushButton { font-weight: bold; padding: 4px 18px; }")
        self.grid_info = QLabel("The same seed at several w (columns), one row per seed.")
        self.grid_info.setStyleSheet("color: #aaa;")
        row.addWidget(QLabel("scales"))
        row.addWidget(self.grid_scales_edit, 1)
        row.addWidget(self.grid_seeds_box)
        row.addWidget(self.grid_button)
        layout.addLayout(row)
        layout.addWidget(self.grid_info)
        self.grid_canvas = ImageCanvas(minimum=240)
        layout.addWidget(self.grid_canvas, 1)
        self.grid_button.clicked.connect(self.run_grid)
        return tab

    def _build_guidance_controls(self) -> QVBoxLayout:
        """The guidance sliders, above the tabs: they drive the sample, the grid and the steps alike."""
        rows = QVBoxLayout()
        rows.setSpacing(2)
        first, second = QHBoxLayout(), QHBoxLayout()
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
            box.valueChanged.connect(lambda _: self.render())
        first.addWidget(self.guidance_slider, 1)
        first.addSpacing(16)
        for w in (QLabel("guidance on from"), self.guidance_start, QLabel("to"), self.guidance_stop,
                  QLabel("of the run  (0 = noise, 1 = image)")):
            first.addWidget(w)
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
        self.load_button.setToolTip("Restore prompt, guidance, sampler and seed from an exported PNG's recipe")
        second.addWidget(self.classifier_slider, 1)
        second.addSpacing(16)
        for w in (self.base_box, self.export_button, self.load_button):
            second.addWidget(w)
        rows.addLayout(first)
        rows.addLayout(second)
        self.guidance_slider.value_changed.connect(lambda _: self.render())
        self.classifier_slider.value_changed.connect(lambda _: self.render())
        self.base_box.currentIndexChanged.connect(lambda _: self._on_base_changed())
        self.export_button.clicked.connect(self._export_dialog)
        self.load_button.clicked.connect(self._load_dialog)
        return rows

    # --- settings ---------------------------------------------------------------------------------

    def settings(self) -> GuidedSettings:
        """The settings the widgets show (PromptError / ValueError for bad input)."""
        return GuidedSettings(
            prompt=self.prompt.text(), negative_prompt=self.negative.text(),
            guidance_scale=self.guidance_slider.value(), guidance_start=round(self.guidance_start.value(), 4),
            guidance_stop=round(self.guidance_stop.value(), 4), classifier_scale=self.classifier_slider.value(),
            sampler=self.sampler_box.currentData(), steps=self.steps_box.value(),
            eta=round(self.eta_box.value(), 4) if self.sampler_box.currentData() == "ddim" else 0.0,
            clip=self.clip_box.isChecked(), seed=self.seed_box.value(), base=self.base_box.currentData(),
        ).validate()

    def apply_settings(self, settings: GuidedSettings) -> None:
        """Show `settings` in the widgets without rendering on every change (the caller renders once)."""
        self._applying = True
        try:
            self.prompt.set_text(settings.prompt)
            self.negative.set_text(settings.negative_prompt)
            self.base_box.setCurrentIndex(self.base_box.findData(settings.base))
            self.sampler_box.setCurrentIndex(self.sampler_box.findData(settings.sampler))
            self.steps_box.setValue(settings.steps)
            self.eta_box.setValue(settings.eta)
            self.clip_box.setChecked(settings.clip)
            self.seed_box.setValue(settings.seed)
            self.guidance_start.setValue(settings.guidance_start)
            self.guidance_stop.setValue(settings.guidance_stop)
            self.guidance_slider.set_value(settings.guidance_scale)
            self.classifier_slider.set_value(settings.classifier_scale)
        finally:
            self._applying = False

    _applying = False

    def _on_sampler_changed(self, render: bool = True) -> None:
        self.eta_box.setEnabled(self.sampler_box.currentData() == "ddim")
        if render:
            self.render()

    def _on_base_changed(self) -> None:
        ddpm = self.base_box.currentData() == "ddpm"
        self.guidance_slider.setEnabled(not ddpm)
        self.negative.setEnabled(not ddpm)
        if ddpm and self.classifier_slider.value() == 0:
            self.classifier_slider.set_value(2.0)  # where ddpm-shapes + the noisy classifier did best (s = 2..5 tried)
        self.render()

    def _sync_enabled(self) -> None:
        ok = self.prompt.valid and self.negative.valid and self.loaded is not None
        for w in (self.generate_button, self.grid_button):
            w.setEnabled(ok)

    # --- model --------------------------------------------------------------------------------------

    def set_model(self, loaded: LoadedModel) -> None:
        super().set_model(loaded)
        self.model_id += 1
        for channel in ("render", "grid", "decompose"):
            self.worker.cancel(channel)
        self.result, self.grid, self.decomposition = None, None, None
        self.steps_view.set_model(loaded)
        T = loaded.model.noise_schedule.num_train_timesteps
        self.steps_box.setMaximum(T)
        early = loaded.meta.steps < EARLY_CHECKPOINT_STEPS
        self.model_label.setText(f"{loaded.name}, {loaded.meta.steps} training steps" + ("  ⚠ early" if early else ""))
        self.model_label.setToolTip("An early checkpoint: samples may not follow prompts well yet" if early else "")
        self.sample_canvas.set_image(None)
        self.decomposition_view.set_parts(None)
        self.grid_canvas.set_image(None)
        self._sync_enabled()
        if self.isVisible():
            self.render()
        else:  # a hidden tab computes nothing: the first render waits until the panel is shown
            self._render_when_shown = True

    _render_when_shown = False

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._render_when_shown:
            self._render_when_shown = False
            self.render()

    # --- rendering (worker) -----------------------------------------------------------------------------

    def generate(self) -> None:
        """Ctrl+Enter: render the current prompt and settings."""
        self.render(force=True)

    def random_seed(self) -> None:
        self.seed_box.setValue(random.randrange(2**31 - 1))  # renders through valueChanged

    def render(self, force: bool = False) -> None:
        """Re-render with the widgets' settings; only the newest request runs (cancel_running)."""
        if self.loaded is None or self._applying:
            return
        try:
            settings = self.settings()
        except (PromptError, ValueError) as exc:
            if force:
                self.report_error(str(exc))
            return
        self.request += 1
        request, model, aux, model_name = self.request, self.loaded.model, self.aux, self.loaded.name

        def work(ctx: JobContext) -> RenderResult:
            started = time.perf_counter()
            base, classifier = aux.resolve(model, settings)
            denoiser = make_denoiser(base, settings, classifier)
            sampler = settings.sampler_settings()
            last_preview = -1.0
            trajectory = None
            for trajectory in trace(denoiser, base.noise_schedule, sampler, settings.seed, shape=image_shape(base),
                                    device=model_device(base)):
                ctx.check()
                now = time.perf_counter()
                index = trajectory.count - 1
                if index == 0 or now - last_preview >= PREVIEW_INTERVAL_S:  # the first step at once: the slider's preview
                    last_preview = now
                    ctx.progress(trajectory.count, trajectory.num_steps, RenderPreview(
                        request, index, trajectory.num_steps, trajectory.frame("pred_x0", index).copy()))
            return RenderResult(request, settings, trajectory, time.perf_counter() - started, denoiser, model_name)

        # no label: a render follows the slider, its progress shows on the canvas, not in the status bar
        self.worker.submit(work, channel="render", on_result=self._on_rendered, on_error=self.report_error, on_progress=self._on_preview,
                           cancel_running=True)

    def _on_preview(self, done: int, total: int, preview: RenderPreview) -> None:
        if preview.request != self.request:
            return
        self.sample_canvas.set_image(preview.pred_x0)
        self.sample_canvas.caption.setText(f"rendering: step {preview.index + 1} / {preview.num_steps}, predicted x̂₀")
        self.preview_shown.emit(preview.index)

    def _on_rendered(self, result: RenderResult) -> None:
        if result.request != self.request:
            return
        self.result = result
        s = result.settings
        self.sample_canvas.set_image(result.trajectory.final_image())
        what = f"s = {s.classifier_scale:g}, DDPM + classifier" if s.base == "ddpm" else f"w = {s.guidance_scale:g}"
        self.sample_canvas.caption.setText(f"{what}, seed {s.seed}: {s.sampler.upper()}-{s.steps} in "
                                           f"{result.seconds * 1000:.0f} ms")
        n = result.trajectory.num_steps
        fraction = self.decomposition_step.value() / max(self.decomposition_step.maximum(), 1) \
            if self.decomposition_step.maximum() > 0 else DECOMPOSITION_AT
        self.decomposition_step.blockSignals(True)
        self.decomposition_step.setRange(0, n - 1)
        self.decomposition_step.setValue(int(round(fraction * (n - 1))))
        self.decomposition_step.blockSignals(False)
        self.steps_view.show_guided_run(result)
        self.request_decomposition()
        self.rendered.emit()

    def request_decomposition(self) -> None:
        """The two branches at the chosen step of the current run, from its cached x_t (one forward)."""
        result = self.result
        if result is None:
            return
        index = self.decomposition_step.value()
        trajectory = result.trajectory
        t = int(trajectory.t[index])
        self.decomposition_label.setText(f"{index + 1} / {trajectory.num_steps}, t = {t}")
        x_t = torch.from_numpy(trajectory.states[index].copy())
        model, aux, settings = self.loaded.model, self.aux, result.settings

        def work(ctx: JobContext) -> tuple[int, Decomposition]:
            base, classifier = aux.resolve(model, settings)
            return result.request, decompose(base, settings, x_t, t, index, classifier)

        self.worker.submit(work, channel="decompose", on_result=self._on_decomposed, on_error=self.report_error,
                           cancel_running=True)

    def _follow_scrubber(self, index: int) -> None:
        """Scrubbing the current run moves the decomposition to the same step."""
        if self.result is not None and self.steps_view.current is self.result.trajectory and not self.steps_view.sampling:
            self.decomposition_step.setValue(index)

    def _on_decomposed(self, answer: tuple[int, Decomposition]) -> None:
        request, parts = answer
        if self.result is None or request != self.result.request:
            return
        self.decomposition = parts
        self.decomposition_view.set_parts(parts, self.result.settings.base)
        self.decomposition_title.setText(f"What guidance did at step {parts.index + 1} (t = {parts.t})")
        self.decomposed.emit()

    # --- grid ------------------------------------------------------------------------------------------------

    def grid_scales(self) -> list[float]:
        text = self.grid_scales_edit.text()
        try:
            scales = [float(part) for part in text.replace(";", ",").split(",") if part.strip()]
        except ValueError:
            raise ValueError(f"grid scales must be numbers separated by commas, not {text!r}") from None
        if not 1 <= len(scales) <= 10 or any(w < 0 for w in scales):
            raise ValueError("give 1 to 10 scales, none negative")
        return scales

    def run_grid(self) -> None:
        """One seed at several scales (columns), one row per seed, all in one batch."""
        if self.loaded is None:
            return
        try:
            settings, scales = self.settings(), self.grid_scales()
        except (PromptError, ValueError) as exc:
            self.report_error(str(exc))
            return
        seeds = [settings.seed + r for r in range(self.grid_seeds_box.value())]
        axis = "s" if settings.base == "ddpm" else "w"
        self.grid_request += 1
        request, model, aux = self.grid_request, self.loaded.model, self.aux
        columns = [f"{axis} = {w:g}" for w in scales]
        rows = [f"seed {s}" for s in seeds]

        def picture(x: torch.Tensor) -> np.ndarray:
            images = to_uint8(x).reshape(len(seeds), len(scales), *x.shape[2:], 3)
            return labelled_grid(images, columns, rows, scale=3)

        def work(ctx: JobContext) -> GridResult:
            base, classifier = aux.resolve(model, settings)
            last_preview, record = 0.0, None
            for record in grid_steps(base, settings, scales, seeds, classifier):
                ctx.check()
                if time.perf_counter() - last_preview >= GRID_PREVIEW_INTERVAL_S and not record.is_last:
                    last_preview = time.perf_counter()
                    ctx.progress(record.index + 1, record.num_steps,
                                 GridResult(request, settings, tuple(scales), tuple(seeds), axis, picture(record.pred_x0), False))
            return GridResult(request, settings, tuple(scales), tuple(seeds), axis, picture(record.x_prev), True)

        self.worker.submit(work, channel="grid", label=f"Grid {len(seeds)} × {len(scales)}",
                           on_result=self._on_grid, on_error=self.report_error,
                           on_progress=lambda done, total, grid: self._on_grid(grid), cancel_running=True)
        self.tabs.setCurrentIndex(1)
        self.grid_info.setText(f"Rendering {len(seeds)} × {len(scales)} images in one batch…")

    def _on_grid(self, grid: GridResult) -> None:
        if grid.request != self.grid_request:
            return
        self.grid = grid
        self.grid_canvas.set_image(grid.picture)
        s = grid.settings
        if grid.final:
            self.grid_info.setText(f"“{s.prompt or '(unconditional)'}”, {s.sampler.upper()}-{s.steps}: "
                                   f"{grid.axis} across, seeds {grid.seeds[0]}–{grid.seeds[-1]} down")
            self.grid_rendered.emit()

    # --- export and load -----------------------------------------------------------------------------------

    def recipe(self, settings: GuidedSettings) -> dict:
        loaded = self.loaded
        return settings.to_recipe(loaded.name if loaded else None) | {
            "checkpoint": str(loaded.path) if loaded else None, "steps_trained": loaded.meta.steps if loaded else None}

    def export_png(self, path: str | Path, what: str | None = None) -> Path:
        """The sample (×8) or, on the Grid tab, the grid, with the full recipe in the PNG's metadata."""
        what = what or ("grid" if self.tabs.currentIndex() == 1 else "sample")
        if what == "grid":
            if self.grid is None or not self.grid.final:
                raise ValueError("no finished grid to export yet: press Run grid")
            grid = self.grid
            recipe = self.recipe(grid.settings) | {"grid": {"axis": grid.axis, "scales": list(grid.scales),
                                                            "seeds": list(grid.seeds)}}
            return save_png(path, grid.picture, recipe)
        if self.result is None:
            raise ValueError("nothing to export yet: generate an image first")
        image = upscale(self.result.trajectory.final_image(), EXPORT_SCALE)
        return save_png(path, image, self.recipe(self.result.settings) | {"scale": EXPORT_SCALE})

    def load_recipe(self, path: str | Path) -> GuidedSettings:
        """Restore the settings an exported PNG was made with, and render them (or its grid)."""
        recipe = read_recipe(path)
        if recipe is None:
            raise ValueError(f"{path}: this PNG carries no recipe")
        settings = GuidedSettings.from_recipe(recipe)
        self.apply_settings(settings)
        if self.loaded is not None and recipe.get("model") not in (None, self.loaded.name):
            self.status_message.emit(f"Note: {Path(path).name} was made with {recipe['model']}, "
                                     f"rendering with {self.loaded.name}")
        grid = recipe.get("grid")
        if grid:
            self.grid_scales_edit.setText(", ".join(f"{w:g}" for w in grid["scales"]))
            self.grid_seeds_box.setValue(len(grid["seeds"]))
            self.run_grid()
        else:
            self.tabs.setCurrentIndex(0)
            self.render(force=True)
        return settings

    def _export_dialog(self) -> None:
        seed = self.seed_box.value()
        kind = "grid" if self.tabs.currentIndex() == 1 else f"w{self.guidance_slider.value():g}"
        self.save_with_dialog("Export PNG", f"text2img-{kind}-seed{seed}.png", "PNG (*.png)", self.export_png,
                              "recipe in its metadata")

    def _load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load recipe from PNG", "", "PNG (*.png)")
        if not path:
            return
        try:
            settings = self.load_recipe(path)
            self.status_message.emit(f"Restored “{settings.prompt}”, w = {settings.guidance_scale:g}, seed {settings.seed}")
        except (OSError, ValueError) as exc:
            self.report_error(str(exc))

    def shutdown(self) -> None:
        self.steps_view.shutdown()
        super().shutdown()
