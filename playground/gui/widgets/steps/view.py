"""The step-by-step denoising view: noise turning into a picture, one step at a time.

One widget that both the Diffusion tab and the Text-to-image panel contain. Its host
gives it a `StepsSource` (the model function to run, its noise schedule, the sampler
settings and seed to use, and the recipe header its exports carry) and the `Panel`
whose worker runs the model (`Panel.submit`, the one stale-result guard). The view does
the rest: Run / Stop / Branch, previews while a run samples, the cache of runs, the
scrubber with playback and ← →, the schedule and norm plots, and the exports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from ....core import checks
from ....core.diffusion.sampling import EpsModel
from ....core.diffusion.schedules import NoiseSchedule
from ....core.diffusion.trajectory import SamplerSettings, Trajectory, schedule_curves
from ..throttle import Throttle
from .export import Exports
from .fields import NumberField
from .plots import SchedulePlots
from .runs import RunControl, RunsStrip, StepPreview, describe_run, stopped_note, trace_job
from .scrubber import Scrubber
from .views import StepCanvases

if TYPE_CHECKING:
    from ...panels.base import Panel

# While a run samples, the plots follow it in turns 8 times a second: the norms (with the numbers) on one
# turn, the cursor on the next, each 4 times a second. Re-drawing the plots is most of a preview's cost,
# and a repaint of half of them is half as long a stall.
PLOT_INTERVAL_S = 0.125


class StepsSource(Protocol):
    """What a host gives the steps view (it may raise ValueError naming a bad setting)."""

    def model_function(self) -> EpsModel: ...

    def noise_schedule(self) -> NoiseSchedule: ...

    def run_settings(self) -> tuple[SamplerSettings, int]: ...

    def recipe_header(self) -> dict: ...


class StepsView(QWidget):
    """`step_changed(index)` when the user or playback shows a step of the current run;
    `run_added(trajectory)` when a run (finished or stopped) joins the cache and is shown."""

    step_changed = Signal(int)
    run_added = Signal(object)

    def __init__(self, panel: Panel, source: StepsSource, *, channel: str = "sample",
                 plots: SchedulePlots | None = None, minimum: int = 140, plot_keys: tuple[str, ...] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.panel, self.source, self.channel = panel, source, channel
        self.current: Trajectory | None = None
        self.live: StepPreview | None = None
        self.sampling = False
        self.control: RunControl | None = None
        self.curves: dict = {}
        self._plot_throttle = Throttle(PLOT_INTERVAL_S)
        self._norms_turn = False
        self.steps = StepCanvases(minimum)
        self.scrubber = Scrubber()
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Sample one image with this seed, step by step")
        self.run_button.setStyleSheet("QPushButton { font-weight: bold; padding: 4px 18px; }")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current step; the run so far is kept")
        self.branch_button = QPushButton("Branch from this step")
        self.branch_seed = NumberField("branch seed", checks.seed, 1, width=96)
        self.runs = RunsStrip()
        self.exports = Exports(panel, source.recipe_header, lambda: self.scrubber.value())
        run_row = QHBoxLayout()
        for w in (self.run_button, self.stop_button, self.branch_button, QLabel("branch seed"), self.branch_seed):
            run_row.addWidget(w)
        run_row.addWidget(self.runs, 1)
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.steps, 1)
        layout.addWidget(self.scrubber)
        layout.addLayout(run_row)
        layout.addWidget(self.exports)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        if plots is None:  # plots of its own, beside the steps; a host that shares its plots lays them out itself
            plots = SchedulePlots(plot_keys) if plot_keys is not None else SchedulePlots()
            plots.setMinimumWidth(300)
            splitter = QSplitter(Qt.Orientation.Horizontal)
            splitter.addWidget(column)
            splitter.addWidget(plots)
            splitter.setStretchFactor(0, 3)
            splitter.setStretchFactor(1, 2)
            outer.addWidget(splitter)
        else:
            outer.addWidget(column)
        self.plots = plots
        panel.tabs_shown.watch(self, shown=self._show_plots)
        self.run_button.clicked.connect(self.run)
        self.stop_button.clicked.connect(self.stop)
        self.branch_button.clicked.connect(lambda: self.branch())
        self.scrubber.step_changed.connect(self._on_scrub)
        self.runs.picked.connect(lambda trajectory: self.show_run(trajectory, self.scrubber.value()))
        self.exports.show_noise.toggled.connect(self.steps.set_noise_shown)
        for key, delta in ((Qt.Key.Key_Left, -1), (Qt.Key.Key_Right, 1)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.setWhatsThis(f"One denoising step {'back' if delta < 0 else 'on'} (the steps scrubber)")
            shortcut.activated.connect(lambda d=delta: self.scrubber.step_by(d))
        panel.worker.job_ended.connect(lambda _label: self._sync_busy())
        self._set_sampling(False)

    # --- the host's model -------------------------------------------------------------------------

    def reset(self, schedule: NoiseSchedule | None, latent: bool = False) -> None:
        """A new model (or none): forget every run, show its schedule; `latent`: its x_t is a latent
        (the row shows its channels and the images decoded from it)."""
        self.control, self.live, self.current = None, None, None
        self.runs.clear()
        self.curves = schedule_curves(schedule) if schedule is not None else {}
        if schedule is not None:
            self.plots.set_schedule(schedule)
        self.steps.set_latent(latent, flow=getattr(schedule, "name", "") == "flow")
        self.steps.clear()
        self.scrubber.set_position(0, 1)
        self.scrubber.label.setText("press Run")
        self.exports.set_run(None)
        self._set_sampling(False)

    # --- runs (in the host's worker) --------------------------------------------------------------

    def run(self) -> None:
        """Sample one image with the host's sampler settings and seed, showing its steps as they come."""
        try:
            settings, seed = self.source.run_settings()
            model, schedule = self.source.model_function(), self.source.noise_schedule()
        except ValueError as exc:
            self.panel.report_error(str(exc))
            return
        self._start(settings, seed, model, schedule)

    def branch(self, step: int | None = None, seed: int | None = None) -> None:
        """Re-run the current run from its cached x_t at `step` (default: the shown one) with another seed."""
        parent = self.current
        if parent is None or self.sampling:
            return
        try:
            seed = int(self.branch_seed.value()) if seed is None else checks.seed.check(seed, "branch seed")
            model, schedule = self.source.model_function(), self.source.noise_schedule()
        except ValueError as exc:
            self.panel.report_error(str(exc))
            return
        step = self.scrubber.value() if step is None else step
        self._start(parent.settings, seed, model, schedule, branch_from=parent, branch_step=step)
        self.branch_seed.set_value(min(seed + 1, checks.SEED_MAX))  # the next click branches with another seed

    def _start(self, settings: SamplerSettings, seed: int, model: EpsModel, schedule: NoiseSchedule,
               branch_from: Trajectory | None = None, branch_step: int = 0) -> None:
        self.control = control = RunControl()
        work = trace_job(model, schedule, settings, seed, control, branch_from=branch_from, branch_step=branch_step,
                         shape=branch_from.shape if branch_from is not None else None)
        what = f"Branch at step {branch_step + 1}" if branch_from is not None else "Sampling"
        self.panel.submit(work, channel=self.channel, label=f"{what}, {settings.kind.upper()}-{settings.steps}",
                          on_result=lambda trajectory: self._on_done(control, trajectory),
                          on_error=self._on_error, on_progress=self._on_progress, cancel_running=True)
        self.live = None
        self._plot_throttle = Throttle(PLOT_INTERVAL_S)
        self._plot_throttle.ready()  # the first preview's plots wait a turn: `begin_live` re-draws them first
        self.plots.later(self.plots.begin_live, owner=self)
        self._set_sampling(True)

    def stop(self) -> None:
        """Stop after the current step; the run so far is kept, marked as stopped."""
        if self.control is not None and self.sampling:
            self.control.stop()
            self.stop_button.setEnabled(False)
            self.scrubber.label.setText("stopping…")

    def _on_progress(self, done: int, total: int, preview: StepPreview) -> None:
        self.live = preview
        i = preview.index
        self.scrubber.set_position(i, preview.num_steps)
        self.scrubber.label.setText(f"sampling: step {i + 1} / {preview.num_steps}")
        self.steps.show_frames(preview.frames, preview.has_noise)
        if self._plot_throttle.ready():  # the plots on the next turn of the event loop, in halves
            self._norms_turn = not self._norms_turn
            if self._norms_turn:
                self.steps.show_numbers(i, preview.t, self.curves, preview.noise_std, preview.norms["x_t"][-1],
                                        preview.norms["pred_noise"][-1])
                self.plots.later(lambda: self.plots.set_live_norms(preview.t[:i + 1], preview.norms), owner=self)
            else:
                self.plots.later(lambda: self.plots.set_cursor(int(preview.t[i]), dots=False), owner=self)

    def _on_done(self, control: RunControl, trajectory: Trajectory) -> None:
        if control is not self.control:
            return
        self.control, self.live = None, None
        self._set_sampling(False)
        self.add_run(trajectory)
        verb = "Stopped" if not trajectory.complete else "Sampled"
        self.panel.report(f"{verb}: {describe_run(trajectory)}")

    def _on_error(self, message: str) -> None:
        self.control, self.live = None, None
        self._set_sampling(False)
        self.panel.report_error(message)
        if self.current is not None:
            self.show_run(self.current, min(self.scrubber.value(), self.current.count - 1))

    def _sync_busy(self) -> None:
        """Follow the worker: a run cancelled elsewhere (the status bar's Cancel) ends here too."""
        if self.sampling and not self.panel.worker.is_busy(self.channel):
            partial = self.control.latest if self.control is not None else None
            self.control, self.live = None, None
            self._set_sampling(False)
            if partial is not None and partial.count > 0:  # keep the steps it had, as Stop does
                self.add_run(partial)
            elif self.current is not None:
                self.show_run(self.current, min(self.scrubber.value(), self.current.count - 1))
            else:
                self.steps.clear()
                self.scrubber.label.setText("cancelled: press Run")

    def _set_sampling(self, sampling: bool) -> None:
        self.sampling = sampling
        self.stop_button.setEnabled(sampling)
        self.scrubber.set_interactive(not sampling and self.current is not None)
        self.branch_button.setEnabled(not sampling and self.current is not None)
        self._update_branch_button()

    # --- the runs kept, and their steps -----------------------------------------------------------

    def add_run(self, trajectory: Trajectory) -> None:
        """Keep a run (finished, or stopped part-way) and show its last step."""
        self.runs.add(trajectory)
        self.show_run(trajectory, trajectory.count - 1)
        self.run_added.emit(trajectory)

    def show_run(self, trajectory: Trajectory, step: int) -> None:
        """Make a cached run current and show one of its steps."""
        if self.sampling:
            return
        self.current = trajectory
        self.scrubber.set_position(max(0, min(step, trajectory.count - 1)), trajectory.count)
        self.runs.select(trajectory)
        self.exports.set_run(trajectory)
        self._set_sampling(False)
        self.show_step(self.scrubber.value())
        self.plots.later(lambda: (self.plots.set_norms(trajectory), self._place_cursor()), owner=self)

    def show_step(self, index: int) -> None:
        """Show step `index` of the current run from the cache (what scrubbing does)."""
        trajectory = self.current
        if trajectory is None or self.sampling:
            return
        index = max(0, min(index, trajectory.count - 1))
        self.steps.show_frames({view: trajectory.frame(view, index) for view in trajectory.views},
                               bool(trajectory.has_noise[index]))
        self.steps.show_numbers(index, trajectory.t, self.curves, float(trajectory.noise_std[index]),
                                float(trajectory.norms["x_t"][index]), float(trajectory.norms["pred_noise"][index]))
        branch = f", branched at step {trajectory.branch.start_index + 1}" if trajectory.branch is not None else ""
        self.scrubber.label.setText(f"seed {trajectory.seed}{branch}{stopped_note(trajectory)}")
        self.scrubber.label.setToolTip(describe_run(trajectory))
        if self.isVisible() and not self.plots.update_waiting:
            self.plots.set_cursor(int(trajectory.t[index]))

    def _place_cursor(self) -> None:
        trajectory = self.current
        self.plots.set_cursor(int(trajectory.t[self.scrubber.value()]) if trajectory is not None else None)

    def _on_scrub(self, index: int) -> None:
        self.show_step(index)
        self.step_changed.emit(index)

    def _update_branch_button(self) -> None:
        trajectory = self.current
        if trajectory is not None and trajectory.settings.deterministic:
            self.branch_button.setEnabled(False)
            self.branch_button.setToolTip("This sampler (DDIM with η = 0, or a flow's ODE: Euler, Heun) adds no noise "
                                          "after x_T, so every seed continues the same way. Branch a DDPM or SDE run, "
                                          "or DDIM with η > 0.")
        else:
            self.branch_button.setToolTip("Keep the run up to this step and re-run the rest with the branch seed: "
                                          "what changes was still undecided at this step")

    def _show_plots(self) -> None:
        """The plots may have shown something else meanwhile (a host's other tab): show this run's."""
        self.plots.show_norms(True)
        if not self.sampling:
            self.plots.set_norms(self.current)
            self._place_cursor()

    # --- export ---------------------------------------------------------------------------------------

    def recipe(self) -> dict:
        """The shown step as a frame's recipe (the host's header alone when there is no run)."""
        return self.exports.recipe()

    def shutdown(self) -> None:
        self.scrubber.stop()
        if self.control is not None:
            self.control.stop()
