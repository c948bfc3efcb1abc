"""DDPM against DDIM from the same seed (so the same x_T): x_t and the predicted x0 side by side at one t.

What is compared is always a pair that means something, and the tab says which before it
runs: DDPM over every step of the schedule against DDIM with the sampler row's steps and
eta, or, when the row is set to DDPM, against DDIM at its default 50 steps and eta 0.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from ....core.diffusion.trajectory import SamplerSettings, Trajectory, trace
from ....core.serving.remote import remote_trace
from ...widgets.steps import SchedulePlots
from ...widgets.steps.controls import DEFAULT_DDIM_STEPS
from ...widgets.throttle import Throttle
from ...widgets.titled import TitledCanvas

if TYPE_CHECKING:
    from .panel import DiffusionPanel


@dataclass(frozen=True)
class Comparison:
    """DDPM over every step and DDIM from the same seed, with how long each took."""

    ddpm: Trajectory
    ddim: Trajectory
    ddpm_seconds: float
    ddim_seconds: float
    why: str = ""  # why this DDIM (the sampler row's, or the default)

    @property
    def nbytes(self) -> int:
        return self.ddpm.nbytes + self.ddim.nbytes


def compared_pair(settings: SamplerSettings, T: int) -> tuple[SamplerSettings, SamplerSettings, str]:
    """(DDPM over all T steps, the DDIM to set against it, why that DDIM) for the row's settings."""
    ddpm = SamplerSettings("ddpm", T, clip_x0=settings.clip_x0)
    if settings.kind == "ddim":
        return ddpm, settings, "the sampler row's DDIM"
    ddim = SamplerSettings("ddim", min(DEFAULT_DDIM_STEPS, T), 0.0, settings.clip_x0)
    return ddpm, ddim, "DDIM at its default, as the sampler row is set to DDPM"


class CompareTab(QWidget):
    """A Compare button, what it compares, and both runs' x_t and x0 at the same t."""

    def __init__(self, panel: DiffusionPanel, plots: SchedulePlots, parent: QWidget | None = None):
        super().__init__(parent)
        self.panel, self.plots = panel, plots
        self.comparison: Comparison | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.compare_button = QPushButton("Compare")
        self.compare_button.setStyleSheet("QPushButton { font-weight: bold; padding: 4px 18px; }")
        self.compare_button.setToolTip("Run DDPM over every step, then DDIM, from the same seed (so the same x_T)")
        self.info = QLabel("")
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
        self.t_label.setFixedWidth(380)
        slider_row.addWidget(QLabel("t"))
        slider_row.addWidget(self.t_slider, 1)
        slider_row.addWidget(self.t_label)
        layout.addLayout(slider_row)
        self.compare_button.clicked.connect(self.compare)
        self.t_slider.valueChanged.connect(lambda _: self.show_t())
        panel.tabs_shown.watch(self, shown=self._show_plots)

    @property
    def t(self) -> int:
        return self.t_slider.value()

    def nbytes(self) -> int:
        return self.comparison.nbytes if self.comparison is not None else 0

    def reset(self, T: int) -> None:
        self.comparison = None
        self.t_slider.setMaximum(T - 1)
        self.t_slider.setValue(T - 1)
        for kind in ("ddpm", "ddim"):
            self.canvases[kind, "x_t"].set_caption("")
        self.describe_pair()
        self.show_t()

    def describe_pair(self) -> None:
        """Say what Compare will run (the sampler row's settings decide it)."""
        try:
            settings, seed = self.panel.run_settings()
        except ValueError as exc:
            self.info.setText(f"Fix the sampler row first: {exc}")
            return
        ddpm, ddim, why = compared_pair(settings, self.panel.schedule_length())
        self.info.setText(f"Compares {ddpm.describe()} with {ddim.describe()} ({why}), both from seed {seed}: "
                          f"the same x_T.")

    def _show_plots(self) -> None:
        """On screen: say what Compare runs, and put this tab's run on the shared plots."""
        if self.comparison is None:
            self.describe_pair()
        self.plots.show_norms(True)
        self.plots.set_norms(self.comparison.ddim if self.comparison is not None else None)
        self.plots.set_cursor(self.t)

    def compare(self) -> None:
        """DDPM over every step, then DDIM, from the same seed, in the panel's worker."""
        try:
            settings, seed = self.panel.run_settings()
            model, schedule = self.panel.model_function(), self.panel.noise_schedule()
        except ValueError as exc:
            self.panel.report_error(str(exc))
            return
        ddpm, ddim, why = compared_pair(settings, schedule.num_train_timesteps)

        def work(ctx, connection=None) -> Comparison:
            runs, done, throttle = [], 0, Throttle()
            for sampler in (ddpm, ddim):
                start = time.perf_counter()
                if connection is None:
                    steps = trace(model, schedule, sampler, seed)
                else:  # `work.remote`: on the connected model server (gui/remote_worker.py), the same runs
                    steps = remote_trace(connection, model, schedule, sampler, seed, stopping=lambda: ctx.cancelled)
                for trajectory in steps:
                    ctx.check()
                    if throttle.ready():
                        ctx.progress(done + trajectory.count, ddpm.steps + ddim.steps)
                done += trajectory.num_steps
                runs.append((trajectory, time.perf_counter() - start))
            (a, seconds_a), (b, seconds_b) = runs
            return Comparison(a, b, seconds_a, seconds_b, why)

        work.remote = work

        self.panel.view.stop()  # a run in the steps view stops (and is kept) rather than waits
        self.panel.submit(work, channel="compare", label=f"DDPM-{ddpm.steps} vs DDIM-{ddim.steps}",
                          on_result=self.set_comparison, on_error=self._on_error, cancel_running=True)
        self.compare_button.setEnabled(False)
        self.info.setText(f"Running {ddpm.describe()}, then {ddim.describe()} ({why}), seed {seed}…")

    def _on_error(self, message: str) -> None:
        self.compare_button.setEnabled(True)
        self.panel.report_error(message)

    def job_ended(self) -> None:
        """The worker finished a job: a comparison cancelled from the status bar frees the button."""
        if not self.panel.worker.is_busy("compare"):
            self.compare_button.setEnabled(True)

    def set_comparison(self, comparison: Comparison) -> None:
        self.comparison = c = comparison
        self.compare_button.setEnabled(True)
        speedup = c.ddpm_seconds / max(c.ddim_seconds, 1e-9)
        self.info.setText(
            f"Seed {c.ddpm.seed}, the same x_T. {c.ddpm.settings.describe()}: {c.ddpm_seconds:.1f} s.  "
            f"{c.ddim.settings.describe()} ({c.why}): {c.ddim_seconds:.1f} s ({speedup:.0f}× faster).")
        self.canvases["ddpm", "x_t"].set_caption(f"{c.ddpm.num_steps} steps, {c.ddpm_seconds:.1f} s")
        self.canvases["ddim", "x_t"].set_caption(
            f"{c.ddim.num_steps} steps, η {c.ddim.settings.eta:g}, {c.ddim_seconds:.1f} s")
        self.t_slider.setValue(0)
        self.show_t()
        if self.isVisible():
            self.plots.set_norms(c.ddim)
        self.panel.runs_changed()

    def show_t(self) -> None:
        t = self.t
        if self.isVisible():
            self.plots.set_cursor(t)
        if self.comparison is None:
            for canvas in self.canvases.values():
                canvas.set_image(None)
            self.t_label.setText(f"t = {t}")
            return
        steps = []
        for kind, trajectory in (("ddpm", self.comparison.ddpm), ("ddim", self.comparison.ddim)):
            i = trajectory.nearest_step(t)
            steps.append(f"{kind.upper()} step {i + 1}")
            for view in ("x_t", "pred_x0"):  # a latent run: its x_t's channels, and x̂₀ decoded
                shown = "decoded_x0" if view == "pred_x0" and trajectory.latent else view
                self.canvases[kind, view].set_image(trajectory.frame(shown, i))
        self.t_label.setText(f"t = {t}  ({', '.join(steps)})")
