"""The step-by-step denoising view: noise turning into a picture, one step at a time.

Three tabs share one set of plots (the model's schedule and the run's norms, with a
cursor at the current t): the reverse process (run, watch, scrub, animate, branch,
export), the forward process on a data image, and DDPM against DDIM from the same seed.
Every model call runs in the worker through the headless core (`core.diffusion.trajectory`
and `core.diffusion.forward`); finished runs are cached as `Trajectory` objects, so
scrubbing and playback never call the model.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem,
    QPushButton, QSizePolicy, QSlider, QSpinBox, QSplitter, QTabWidget, QVBoxLayout, QWidget,
)

from ...core.checkpoints import LoadedModel
from ...core.data import ImageSet, load_dataset
from ...core.diffusion.forward import ForwardView, forward_view, noised_image
from ...core.diffusion.sampling import EpsModel
from ...core.diffusion.trajectory import (
    VIEWS, SamplerSettings, Trajectory, evenly_spaced_steps, frame_row, save_animation, trace, trajectory_strip,
)
from ...core.images import save_png
from ..widgets.images import thumbnail_icon
from ..worker import JobContext, ModelWorker
from .base import Panel
from .diffusion_plots import SchedulePlots
from .diffusion_tabs import Comparison, CompareTab, ForwardTab
from ..widgets.titled import NumberTiles, TitledCanvas, canvas_row, fmt

PREVIEW_INTERVAL_S = 1 / 30      # at most ~30 previews a second reach the GUI during a run
CACHE_LIMIT_BYTES = 256 * 2**20  # finished runs kept for scrubbing; the oldest go first
GALLERY_SIZE = 48
EXPORT_SCALE = 8
STRIP_STEPS = 8
PLAY_SPEEDS = (5, 10, 25, 50, 100, 250)  # steps per second
VIEW_TITLES = {
    "x_t": ("x_t", "what the sampler holds"),
    "pred_noise": ("predicted noise ε̂", "the network's guess (±2σ)"),
    "pred_x0": ("predicted x̂₀", "the image ε̂ implies"),
    "noise": ("injected noise z", "added this step (±2σ)"),
}
REVERSE_NOTE = (
    "Each step the network looks at <b>x_t</b> and guesses the noise in it, <b>ε̂</b>. "
    "Removing that guess gives <b>x̂₀</b> = (x_t − √(1−ᾱ_t)·ε̂) / √ᾱ_t, its current idea of the image; "
    "the sampler moves x_t a little toward it (DDPM also adds fresh noise z) and repeats."
)


@dataclass(frozen=True)
class StepPreview:
    """What the worker sends the GUI during a run: one step's images and the norms so far (copies)."""

    model_id: int
    index: int
    num_steps: int
    t: np.ndarray
    frames: dict[str, np.ndarray]
    norms: dict[str, np.ndarray]
    noise_std: float
    has_noise: bool

    @classmethod
    def of(cls, trajectory: Trajectory, model_id: int) -> "StepPreview":
        i = trajectory.count - 1
        return cls(model_id, i, trajectory.num_steps, trajectory.t.copy(),
                   {view: trajectory.frame(view, i).copy() for view in VIEWS},
                   {view: values[:i + 1].copy() for view, values in trajectory.norms.items()},
                   float(trajectory.noise_std[i]), bool(trajectory.has_noise[i]))


class _Throttle:
    """True at most once per `interval` seconds (and always the first time)."""

    def __init__(self, interval: float):
        self.interval = interval
        self.last = -float("inf")

    def ready(self) -> bool:
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            return True
        return False


class DiffusionPanel(Panel):
    title = "Diffusion"
    families = ("ddpm",)

    def __init__(self, worker: ModelWorker, device: torch.device, parent: QWidget | None = None):
        super().__init__(worker, device, parent)
        self.model_id = 0
        self.runs: list[Trajectory] = []
        self.current: Trajectory | None = None
        self.sampling = False
        self.live: StepPreview | None = None
        self.play_timer = QTimer(self)
        self.play_timer.timeout.connect(self._advance_playback)
        self._build()
        self.worker.job_ended.connect(lambda _label: self._sync_busy())
        self._sync_busy()

    # --- layout ----------------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        root.addLayout(self._build_controls())
        splitter = QSplitter(Qt.Orientation.Horizontal)
        root.addWidget(splitter, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_reverse_tab(), "Reverse process: sampling")
        self.forward_tab = ForwardTab()
        self.compare_tab = CompareTab()
        self.tabs.addTab(self.forward_tab, "Forward process q(x_t | x₀)")
        self.tabs.addTab(self.compare_tab, "DDPM vs DDIM")
        self.forward_tab.changed.connect(self._update_forward)
        self.compare_tab.compare_button.clicked.connect(self.compare)
        self.compare_tab.t_slider.valueChanged.connect(self._on_compare_t)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        splitter.addWidget(self.tabs)
        self.plots = SchedulePlots()
        self.plots.setMinimumWidth(320)
        splitter.addWidget(self.plots)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([900, 460])

    def _build_controls(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.sampler_box = QComboBox()
        self.sampler_box.addItem("DDPM (every step)", "ddpm")
        self.sampler_box.addItem("DDIM", "ddim")
        self.sampler_box.setCurrentIndex(1)
        self.sampler_box.setToolTip("DDPM: ancestral sampling over all T training steps (Ho et al. 2020, Algorithm 2).\n"
                                    "DDIM: any number of steps; eta 0 is deterministic, eta 1 is DDPM-like (Song et al. 2021).")
        self.steps_box = QSpinBox()
        self.steps_box.setRange(1, 1000)
        self.steps_box.setValue(50)
        self.steps_box.setPrefix("steps ")
        self.eta_box = QDoubleSpinBox()
        self.eta_box.setRange(0.0, 1.0)
        self.eta_box.setSingleStep(0.1)
        self.eta_box.setDecimals(2)
        self.eta_box.setPrefix("η ")
        self.eta_box.setToolTip("DDIM's eta: 0 adds no noise after x_T (deterministic), 1 adds as much as DDPM")
        self.clip_box = QCheckBox("clip x̂₀")
        self.clip_box.setChecked(True)
        self.clip_box.setToolTip(
            "Clip the predicted x̂₀ to [−1, 1] before each update (diffusers' and improved-diffusion's default).\n"
            "Without it, DDPM's first step at t = T−1 divides the network's error by √ᾱ_t, tiny for the cosine "
            "schedule, and the run blows up: untick it and watch.")
        self.seed_box = QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setPrefix("seed ")
        self.random_button = QPushButton("New seed")
        self.random_button.setToolTip("Pick a random seed and run")
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Sample one image with this seed, step by step")
        self.run_button.setStyleSheet("QPushButton { font-weight: bold; padding: 4px 18px; }")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current step")
        self.schedule_label = QLabel("no model")
        self.schedule_label.setStyleSheet("color: #8fc3ff; font-size: 12pt; padding-left: 12px;")
        self.schedule_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # may not widen the window
        self.schedule_label.setToolTip(
            "The noise schedule is part of the trained model: the network learned to remove noise at the levels "
            "this schedule produces, so it is shown here and not offered as a choice.")
        for w in (QLabel("Sampler"), self.sampler_box, self.steps_box, self.eta_box, self.clip_box, self.seed_box,
                  self.random_button,
                  self.run_button, self.stop_button):
            row.addWidget(w)
        row.addWidget(self.schedule_label, 1)
        self.sampler_box.currentIndexChanged.connect(lambda _: self._on_sampler_changed())
        self.random_button.clicked.connect(self._new_seed_and_run)
        self.run_button.clicked.connect(self.run)
        self.stop_button.clicked.connect(self.stop)
        return row

    def _build_reverse_tab(self) -> QWidget:
        tab = QWidget()
        self.reverse_tab = tab
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(4, 4, 4, 4)
        self.reverse_note = QLabel(REVERSE_NOTE)
        self.reverse_note.setObjectName("note")
        self.reverse_note.setWordWrap(True)
        layout.addWidget(self.reverse_note)
        # 140 px minimum: the panel must fit a 1280x720 projector (they grow with the window)
        self.canvases = {view: TitledCanvas(*VIEW_TITLES[view], minimum=140) for view in VIEWS}
        self.canvases["noise"].setVisible(False)
        layout.addWidget(canvas_row(*self.canvases.values()), 1)
        self.step_numbers = NumberTiles([
            ("step", "step"), ("t", "t → next"), ("beta", "β_t"), ("alpha_bar", "ᾱ_t"), ("log_snr", "log SNR"),
            ("sigma", "σ_t"), ("norm_x", "‖x_t‖/√d"), ("norm_eps", "‖ε̂‖/√d"),
        ])
        self.step_numbers.values["sigma"].setToolTip("standard deviation of the fresh noise z this step adds")
        self.step_numbers.values["norm_x"].setToolTip("root mean square of x_t's pixels (1 for pure noise)")
        layout.addWidget(self.step_numbers)

        timeline = QHBoxLayout()
        self.back_button = QPushButton("◀")
        self.back_button.setToolTip("One step back (←)")
        self.play_button = QPushButton("▶ Play")
        self.play_button.setCheckable(True)
        self.forward_button = QPushButton("▶")
        self.forward_button.setToolTip("One step on (→)")
        self.timeline = QSlider(Qt.Orientation.Horizontal)
        self.timeline.setRange(0, 0)
        self.timeline.setPageStep(10)
        self.timeline.setToolTip("Every step of the run; scrubbing reads the cached trajectory (← → step one)")
        self.speed_box = QComboBox()
        for speed in PLAY_SPEEDS:
            self.speed_box.addItem(f"{speed} steps/s", speed)
        self.speed_box.setCurrentIndex(2)
        self.step_label = QLabel("no run yet")
        self.step_label.setMinimumWidth(150)
        self.step_label.setStyleSheet("font-size: 12pt;")
        for w in (self.back_button, self.play_button, self.forward_button):
            timeline.addWidget(w)
        timeline.addWidget(self.timeline, 1)
        timeline.addWidget(self.step_label)
        timeline.addWidget(self.speed_box)
        layout.addLayout(timeline)

        branch = QHBoxLayout()
        self.branch_button = QPushButton("Branch from this step")
        self.branch_button.setToolTip("Keep the run up to this step and re-run the rest with the branch seed: "
                                      "what changes was still undecided at this step")
        self.branch_seed_box = QSpinBox()
        self.branch_seed_box.setRange(0, 2**31 - 1)
        self.branch_seed_box.setPrefix("branch seed ")
        self.branch_seed_box.setValue(1)
        self.runs_list = QListWidget()
        self.runs_list.setViewMode(QListWidget.ViewMode.IconMode)
        self.runs_list.setFlow(QListWidget.Flow.LeftToRight)
        self.runs_list.setWrapping(False)
        self.runs_list.setMovement(QListWidget.Movement.Static)
        self.runs_list.setIconSize(pg.QtCore.QSize(48, 48))
        self.runs_list.setFixedHeight(62)
        self.runs_list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.runs_list.setToolTip("Cached runs (final images); click one to show it")
        self.cache_label = QLabel("")
        self.cache_label.setStyleSheet("color: #aaa;")
        self.cache_label.setToolTip(
            "Per step the cache keeps x_t (float32, to branch from) and the four views as 8-bit images; "
            f"runs beyond {CACHE_LIMIT_BYTES // 2**20} MiB are dropped oldest first")
        for w in (self.branch_button, self.branch_seed_box):
            branch.addWidget(w)
        branch.addWidget(self.runs_list, 1)
        branch.addWidget(self.cache_label)
        layout.addLayout(branch)

        export = QHBoxLayout()
        self.export_frame_button = QPushButton("Save frame PNG…")
        self.export_frame_button.setToolTip("The views of this step side by side, with the recipe in the PNG metadata")
        self.export_gif_button = QPushButton("Save GIF…")
        self.export_gif_button.setToolTip("x_t and x̂₀ over the whole run as an animated GIF (recipe in its comment)")
        self.export_strip_button = QPushButton("Save strip PNG…")
        self.strip_steps_edit = QLineEdit()
        self.strip_steps_edit.setPlaceholderText(f"strip steps, e.g. 0,10,20 (empty: {STRIP_STEPS} evenly spaced)")
        self.show_noise_box = QCheckBox("show injected noise z")
        for w in (self.export_frame_button, self.export_gif_button, self.export_strip_button):
            export.addWidget(w)
        export.addWidget(self.strip_steps_edit, 1)
        export.addWidget(self.show_noise_box)
        layout.addLayout(export)

        self.timeline.valueChanged.connect(self.show_step)
        self.back_button.clicked.connect(lambda: self.step_by(-1))
        self.forward_button.clicked.connect(lambda: self.step_by(1))
        self.play_button.toggled.connect(self._on_play_toggled)
        self.speed_box.currentIndexChanged.connect(lambda _: self._on_play_toggled(self.play_button.isChecked()))
        self.branch_button.clicked.connect(lambda: self.branch())
        self.runs_list.itemClicked.connect(self._on_run_clicked)
        self.export_frame_button.clicked.connect(lambda: self._export_dialog("frame"))
        self.export_gif_button.clicked.connect(lambda: self._export_dialog("gif"))
        self.export_strip_button.clicked.connect(lambda: self._export_dialog("strip"))
        self.show_noise_box.toggled.connect(self._on_show_noise)
        for key, delta in ((Qt.Key.Key_Left, -1), (Qt.Key.Key_Right, 1)):
            shortcut = QShortcut(QKeySequence(key), tab)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda d=delta: self.step_by(d))
        return tab

    # --- model -------------------------------------------------------------------------------------

    def set_model(self, loaded: LoadedModel) -> None:
        super().set_model(loaded)
        self.model_id += 1
        self.worker.cancel("sample")
        self.worker.cancel("forward")
        self.play_button.setChecked(False)
        schedule = loaded.model.noise_schedule
        T = schedule.num_train_timesteps
        self.schedule_label.setText(f"{schedule.name} schedule, T = {T} (fixed by training)")
        self.steps_box.setMaximum(T)
        if self.sampler_box.currentData() == "ddim":
            self.steps_box.setValue(min(self.steps_box.value(), T))
        self._on_sampler_changed()
        self.runs, self.current, self.live = [], None, None
        self.plots.set_schedule(schedule)
        self._refresh_runs()
        self._show_nothing()
        self.forward_tab.set_num_train_timesteps(T)
        self.compare_tab.reset(T)
        if self.forward_tab.data is None:
            self._load_gallery()
        else:
            self._update_forward()
        self._on_tab_changed(self.tabs.currentIndex())
        self._sync_busy()

    def _on_sampler_changed(self) -> None:
        ddim = self.sampler_box.currentData() == "ddim"
        T = self.loaded.model.noise_schedule.num_train_timesteps if self.loaded is not None else 1000
        self.steps_box.setEnabled(ddim)
        self.eta_box.setEnabled(ddim)
        if not ddim:
            self.steps_box.setValue(T)
        elif self.steps_box.value() == T and T > 50:
            self.steps_box.setValue(50)

    def sampler_settings(self) -> SamplerSettings:
        if self.sampler_box.currentData() == "ddpm":
            return SamplerSettings("ddpm", self.loaded.model.noise_schedule.num_train_timesteps,
                                   clip_x0=self.clip_box.isChecked())
        return SamplerSettings("ddim", self.steps_box.value(), round(self.eta_box.value(), 4), self.clip_box.isChecked())

    # --- sampling (worker) -------------------------------------------------------------------------------

    def run(self) -> None:
        """Sample one image with the chosen sampler and seed, showing every step as it comes."""
        if self.loaded is None:
            return
        self._start_trace(self.sampler_settings(), self.seed_box.value())

    def _new_seed_and_run(self) -> None:
        self.seed_box.setValue(random.randrange(2**31 - 1))
        self.run()

    def branch(self, step: int | None = None, seed: int | None = None) -> None:
        """Re-run the current run from its cached x_t at `step` (default: the shown step) with a new seed."""
        parent = self.current
        if parent is None or self.loaded is None or self.sampling:
            return
        step = self.timeline.value() if step is None else step
        seed = self.branch_seed_box.value() if seed is None else seed
        self._start_trace(parent.settings, seed, branch_from=parent, branch_step=step)
        self.branch_seed_box.setValue(seed + 1)  # the next click branches with another seed

    def model_function(self) -> EpsModel:
        """What runs, branches and comparisons ask for the noise at (x_t, t): the network itself here.
        A panel that reuses this view on guided runs (the text-to-image panel) returns its guided function."""
        return self.loaded.model

    def _start_trace(self, settings: SamplerSettings, seed: int, branch_from: Trajectory | None = None,
                     branch_step: int = 0) -> None:
        model, schedule, model_id = self.model_function(), self.loaded.model.noise_schedule, self.model_id

        def work(ctx: JobContext) -> tuple[int, Trajectory]:
            throttle = _Throttle(PREVIEW_INTERVAL_S)
            trajectory = None
            for trajectory in trace(model, schedule, settings, seed, branch_from=branch_from, branch_step=branch_step):
                ctx.check()  # Stop takes effect after the current step
                if throttle.ready() or trajectory.complete:
                    ctx.progress(trajectory.count, trajectory.num_steps, StepPreview.of(trajectory, model_id))
            return model_id, trajectory

        what = f"Branch at step {branch_step + 1}" if branch_from is not None else "Sampling"
        self.play_button.setChecked(False)
        self.tabs.setCurrentIndex(0)
        self.worker.submit(work, channel="sample", label=f"{what}, {settings.kind.upper()}-{settings.steps}",
                           on_result=self._on_trace_done, on_error=self._on_sample_error,
                           on_progress=self._on_trace_progress, cancel_running=True)
        self._set_sampling(True)

    def stop(self) -> None:
        self.worker.cancel("sample")
        self._set_sampling(False)
        self.status_message.emit("Stopped")

    def _on_trace_progress(self, done: int, total: int, preview: StepPreview) -> None:
        if preview.model_id != self.model_id:
            return
        self.live = preview
        self.timeline.blockSignals(True)
        self.timeline.setRange(0, preview.num_steps - 1)
        self.timeline.setValue(preview.index)
        self.timeline.blockSignals(False)
        for view, canvas in self.canvases.items():
            canvas.set_image(preview.frames[view] if view != "noise" or preview.has_noise else None)
        self.plots.set_norms(None)
        for view, curve in self.plots.norm_curves.items():
            curve.setData(preview.t[:preview.index + 1], preview.norms[view])
        self._show_numbers(preview.index, preview.num_steps, preview.t, preview.noise_std,
                           preview.norms["x_t"][-1], preview.norms["pred_noise"][-1])

    def _on_trace_done(self, result: tuple[int, Trajectory]) -> None:
        model_id, trajectory = result
        self.live = None
        self._set_sampling(False)
        if model_id != self.model_id:
            return
        self._add_run(trajectory)
        self.show_run(trajectory, trajectory.num_steps - 1)
        self.status_message.emit(f"Sampled: {trajectory.describe()}")

    def _on_sample_error(self, message: str) -> None:
        self._set_sampling(False)
        self.report_error(message)

    def _set_sampling(self, sampling: bool) -> None:
        self.sampling = sampling
        self.stop_button.setEnabled(sampling)
        for w in (self.timeline, self.back_button, self.forward_button, self.play_button):
            w.setEnabled(not sampling and self.current is not None)
        self._update_branch_button()
        if not sampling and self.live is not None:
            self.live = None
            if self.current is not None:  # a stopped run: back to the cached one
                self.show_run(self.current, min(self.timeline.value(), self.current.num_steps - 1))
            else:
                self.timeline.setRange(0, 0)

    def _sync_busy(self) -> None:
        """Follow the worker: a run cancelled from elsewhere (the status bar's Cancel) ends here too."""
        if self.sampling and not self.worker.is_busy("sample"):
            self._set_sampling(False)
        elif not self.sampling:
            self.stop_button.setEnabled(False)

    # --- cached runs --------------------------------------------------------------------------------

    def _add_run(self, trajectory: Trajectory) -> None:
        self.runs.append(trajectory)
        while self.cache_bytes() > CACHE_LIMIT_BYTES and len(self.runs) > 1:
            self.runs.pop(0)
        self._refresh_runs()

    def cache_bytes(self) -> int:
        comparison = self.compare_tab.comparison
        return sum(t.nbytes for t in self.runs) + (comparison.nbytes if comparison is not None else 0)

    def _refresh_runs(self) -> None:
        self.runs_list.blockSignals(True)
        self.runs_list.clear()
        for i, trajectory in enumerate(self.runs):
            item = QListWidgetItem(thumbnail_icon(trajectory.final_image(), scale=2), "")
            item.setToolTip(trajectory.describe())
            item.setData(Qt.ItemDataRole.UserRole, i)
            self.runs_list.addItem(item)
            if trajectory is self.current:
                item.setSelected(True)
        self.runs_list.blockSignals(False)
        mib = self.cache_bytes() / 2**20
        self.cache_label.setText(f"trajectory cache: {len(self.runs)} run{'s' * (len(self.runs) != 1)}, "
                                 f"{mib:.1f} MiB (limit {CACHE_LIMIT_BYTES // 2**20} MiB)")

    def _on_run_clicked(self, item: QListWidgetItem) -> None:
        index = item.data(Qt.ItemDataRole.UserRole)
        if not self.sampling and 0 <= index < len(self.runs):
            self.show_run(self.runs[index], self.timeline.value())

    def show_run(self, trajectory: Trajectory, step: int) -> None:
        """Make a cached run current and show one of its steps."""
        self.current = trajectory
        self.plots.set_norms(trajectory)
        self.timeline.blockSignals(True)
        self.timeline.setRange(0, trajectory.num_steps - 1)
        self.timeline.setValue(step)
        self.timeline.blockSignals(False)
        for i in range(self.runs_list.count()):
            item = self.runs_list.item(i)
            item.setSelected(self.runs[item.data(Qt.ItemDataRole.UserRole)] is trajectory)
        self._set_sampling(self.sampling)
        self.show_step(self.timeline.value())

    def show_step(self, index: int) -> None:
        """Show step `index` of the current run from the cache (what scrubbing does)."""
        trajectory = self.current
        if trajectory is None or self.live is not None:
            return
        index = max(0, min(index, trajectory.count - 1))
        for view, canvas in self.canvases.items():
            canvas.set_image(trajectory.frame(view, index) if view != "noise" or trajectory.has_noise[index] else None)
        self._show_numbers(index, trajectory.num_steps, trajectory.t, float(trajectory.noise_std[index]),
                           trajectory.norms["x_t"][index], trajectory.norms["pred_noise"][index])
        branch = f", branched at step {trajectory.branch.start_index + 1}" if trajectory.branch is not None else ""
        self.step_label.setText(f"seed {trajectory.seed}{branch}")
        if self.tabs.currentIndex() == 0:
            self.plots.set_cursor(int(trajectory.t[index]))
        self._update_branch_button()

    def _show_numbers(self, index: int, num_steps: int, timesteps: np.ndarray, sigma: float, norm_x: float,
                      norm_eps: float) -> None:
        t = int(timesteps[index])
        t_next = int(timesteps[index + 1]) if index + 1 < len(timesteps) else None
        curves = self.plots.curves
        self.step_numbers.set_values({
            "step": f"{index + 1} / {num_steps}",
            "t": f"{t} → {t_next if t_next is not None else 'x₀'}",
            "beta": fmt(curves["beta"][t]), "alpha_bar": fmt(curves["alpha_bar"][t]),
            "log_snr": f"{curves['log_snr'][t]:+.2f}", "sigma": fmt(sigma),
            "norm_x": f"{norm_x:.3f}", "norm_eps": f"{norm_eps:.3f}",
        })
        if self.live is not None:
            self.step_label.setText("sampling…")
            self.plots.set_cursor(t)

    def _show_nothing(self) -> None:
        for canvas in self.canvases.values():
            canvas.set_image(None)
        self.step_numbers.set_values({})
        self.timeline.setRange(0, 0)
        self.step_label.setText("press Run")

    def step_by(self, delta: int) -> None:
        """Move the scrubber `delta` steps (← and → move one)."""
        if self.current is not None and not self.sampling:
            self.timeline.setValue(self.timeline.value() + delta)

    def _update_branch_button(self) -> None:
        trajectory = self.current
        can = trajectory is not None and not self.sampling
        if can and trajectory.settings.deterministic:
            self.branch_button.setEnabled(False)
            self.branch_button.setToolTip("DDIM with η = 0 adds no noise after x_T, so every seed continues the same "
                                          "way. Branch a DDPM run or one with η > 0.")
            return
        self.branch_button.setEnabled(can)
        self.branch_button.setToolTip("Keep the run up to this step and re-run the rest with the branch seed: "
                                      "what changes was still undecided at this step")

    def _on_show_noise(self, shown: bool) -> None:
        self.canvases["noise"].setVisible(shown)

    # --- playback ---------------------------------------------------------------------------------------

    def _on_play_toggled(self, playing: bool) -> None:
        self.play_button.setText("❚❚ Pause" if playing else "▶ Play")
        if not playing or self.current is None:
            self.play_timer.stop()
            if playing:
                self.play_button.setChecked(False)
            return
        if self.timeline.value() >= self.timeline.maximum():
            self.timeline.setValue(0)
        speed = self.speed_box.currentData()
        self.play_timer.start(max(16, int(1000 / speed)))

    def _advance_playback(self) -> None:
        speed = self.speed_box.currentData()
        steps = max(1, round(speed * self.play_timer.interval() / 1000))
        value = min(self.timeline.value() + steps, self.timeline.maximum())
        self.timeline.setValue(value)
        if value >= self.timeline.maximum():
            self.play_button.setChecked(False)

    # --- forward process -------------------------------------------------------------------------------

    def _load_gallery(self) -> None:
        def work(ctx: JobContext) -> ImageSet:
            return load_dataset("shapes", n=GALLERY_SIZE, seed=1)  # seed 1: not the training draw

        def show(data: ImageSet) -> None:
            self.forward_tab.set_data(data)
            self._update_forward()

        self.worker.submit(work, channel="gallery", on_result=show, on_error=self.report_error)

    def _update_forward(self) -> None:
        """q(x_t | x_0) at once (no model), then the denoiser's one-shot guess from the worker."""
        tab = self.forward_tab
        t, image, seed = tab.t, tab.image, tab.seed_box.value()
        if self.tabs.currentIndex() == 1:
            self.plots.set_cursor(t)
        if self.loaded is None or image is None:
            return
        model, schedule, model_id = self.loaded.model, self.loaded.model.noise_schedule, self.model_id
        tab.show_noised(image, noised_image(schedule, image, t, seed))

        def work(ctx: JobContext) -> tuple[int, ForwardView]:
            return model_id, forward_view(model, schedule, image, t, seed)

        def show(result: tuple[int, ForwardView]) -> None:
            if result[0] == self.model_id:
                tab.show_view(result[1])

        self.worker.submit(work, channel="forward", on_result=show, on_error=self.report_error)

    # --- DDPM vs DDIM ------------------------------------------------------------------------------------

    def compare(self) -> None:
        """DDPM over every step and DDIM with the chosen settings, from the same seed."""
        if self.loaded is None:
            return
        model, schedule, model_id = self.model_function(), self.loaded.model.noise_schedule, self.model_id
        T = schedule.num_train_timesteps
        clip = self.clip_box.isChecked()
        ddpm = SamplerSettings("ddpm", T, clip_x0=clip)
        ddim = SamplerSettings("ddim", self.steps_box.value(), round(self.eta_box.value(), 4), clip)
        seed = self.seed_box.value()

        def work(ctx: JobContext) -> tuple[int, Comparison]:
            runs, done = [], 0
            throttle = _Throttle(PREVIEW_INTERVAL_S)
            for settings in (ddpm, ddim):
                start = time.perf_counter()
                for trajectory in trace(model, schedule, settings, seed):
                    ctx.check()
                    if throttle.ready():
                        ctx.progress(done + trajectory.count, ddpm.steps + ddim.steps)
                done += trajectory.num_steps
                runs.append((trajectory, time.perf_counter() - start))
            (a, seconds_a), (b, seconds_b) = runs
            return model_id, Comparison(a, b, seconds_a, seconds_b)

        self.play_button.setChecked(False)
        self.worker.submit(work, channel="sample", label=f"DDPM-{T} vs DDIM-{ddim.steps}",
                           on_result=self._on_compare_done, on_error=self._on_sample_error, cancel_running=True)
        self.live = None
        self._set_sampling(True)
        self.compare_tab.info.setText(f"Running DDPM ({T} steps), then {ddim.describe()}, seed {seed}…")

    def _on_compare_done(self, result: tuple[int, Comparison]) -> None:
        model_id, comparison = result
        self._set_sampling(False)
        if model_id != self.model_id:
            return
        self.compare_tab.set_comparison(comparison)
        self._refresh_runs()
        if self.tabs.currentIndex() == 2:
            self._on_tab_changed(2)

    def _on_compare_t(self, t: int) -> None:
        if self.tabs.currentIndex() == 2:
            self.plots.set_cursor(t)

    def _on_tab_changed(self, index: int) -> None:
        self.plots.show_norms(index != 1)
        if index == 0:
            self.plots.set_norms(self.current)
            trajectory = self.current
            self.plots.set_cursor(int(trajectory.t[self.timeline.value()]) if trajectory is not None else None)
        elif index == 1:
            self.plots.set_norms(None)
            self.plots.set_cursor(self.forward_tab.t)
        else:
            comparison = self.compare_tab.comparison
            self.plots.set_norms(comparison.ddim if comparison is not None else None)
            self.plots.set_cursor(self.compare_tab.t)

    # --- export --------------------------------------------------------------------------------------------

    def recipe(self, trajectory: Trajectory) -> dict:
        loaded = self.loaded
        return {
            "model": loaded.name if loaded else None, "family": loaded.family if loaded else None,
            "checkpoint": str(loaded.path) if loaded else None, **trajectory.recipe(),
        }

    def visible_views(self) -> tuple[str, ...]:
        return tuple(v for v in VIEWS if v != "noise" or self.show_noise_box.isChecked())

    def export_frame(self, path: str | Path) -> Path:
        """The shown step's views side by side as a PNG, its recipe (and step) in the metadata."""
        trajectory = self._finished_run()
        index, views = self.timeline.value(), self.visible_views()
        recipe = dict(self.recipe(trajectory), step_index=index, t=int(trajectory.t[index]), views=list(views),
                      scale=EXPORT_SCALE)
        return save_png(path, frame_row(trajectory, index, views, EXPORT_SCALE), recipe)

    def export_gif(self, path: str | Path) -> Path:
        """x_t and predicted x0 over the whole run (at most 150 frames) as a looping GIF."""
        trajectory = self._finished_run()
        return save_animation(path, trajectory, recipe=self.recipe(trajectory))

    def export_strip(self, path: str | Path, steps: list[int] | None = None) -> Path:
        """x_t (top) and predicted x0 (bottom) at chosen steps, one PNG, steps in the recipe."""
        trajectory = self._finished_run()
        if steps is None:
            steps = self.strip_steps()
        views = ("x_t", "pred_x0")
        recipe = dict(self.recipe(trajectory), strip_step_indices=steps, strip_t=[int(trajectory.t[s]) for s in steps],
                      views=list(views))
        return save_png(path, trajectory_strip(trajectory, steps, views), recipe)

    def strip_steps(self) -> list[int]:
        """The steps typed in the box (1-based as the step label shows them), else evenly spaced ones."""
        trajectory = self._finished_run()
        text = self.strip_steps_edit.text().strip()
        if not text:
            return evenly_spaced_steps(trajectory.num_steps, STRIP_STEPS)
        try:
            steps = [int(part) - 1 for part in text.replace(";", ",").split(",") if part.strip()]
        except ValueError:
            raise ValueError(f"strip steps must be numbers separated by commas, not {text!r}") from None
        return steps

    def _finished_run(self) -> Trajectory:
        if self.current is None:
            raise ValueError("nothing to export yet: run the sampler first")
        return self.current

    def _export_dialog(self, kind: str) -> None:
        if self.current is None:
            self.report_error("nothing to export yet: run the sampler first")
            return
        seed = self.current.seed
        name, pattern = {"frame": (f"diffusion-seed{seed}-step{self.timeline.value() + 1}.png", "PNG (*.png)"),
                         "gif": (f"diffusion-seed{seed}.gif", "GIF (*.gif)"),
                         "strip": (f"diffusion-seed{seed}-strip.png", "PNG (*.png)")}[kind]
        save = {"frame": self.export_frame, "gif": self.export_gif, "strip": self.export_strip}[kind]
        self.save_with_dialog("Export", name, pattern, save, "recipe in its metadata")

    def shutdown(self) -> None:
        self.play_timer.stop()
        super().shutdown()
