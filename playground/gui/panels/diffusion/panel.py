"""The Diffusion tab: noise turning into a picture, one step at a time, on the bare denoiser.

Three tabs share one sampler row and one set of plots (the model's schedule and a run's
norms, with a cursor at the current t): the reverse process (the shared steps view:
run, watch, scrub, animate, branch, export), the forward process on a data image, and
DDPM against DDIM from the same seed. Every model call runs in the panel's worker through
`Panel.submit`, the one stale-result guard.

Every denoiser runs here: the pixel U-Net (ddpm) and the latent ones (ldm, dit, sit),
which sample unconditionally here (the null prompt; the Text-to-image panel guides them):
their steps show the latent's channels and the images the autoencoder decodes. The
sampler row offers what fits the model (a flow's Euler, Heun and SDE for sit). The forward
process runs on pixel models only, and DDPM vs DDIM on noise predictors.
"""

from __future__ import annotations

import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QSizePolicy, QSplitter, QTabWidget, QVBoxLayout, QWidget

from ....core.checkpoints import LoadedModel
from ....core.diffusion.sampling import EpsModel
from ....core.latent_diffusion import LATENT_FAMILIES, is_flow, is_latent
from ....core.text2img.sampling import step_limit
from ....core.diffusion.schedules import NoiseSchedule
from ....core.diffusion.trajectory import SamplerSettings, Trajectory
from ....core.provenance import checkpoint_differences, model_header
from ...widgets.img2img import Img2ImgView, from_sampler
from ...widgets.nearest import nearest_button
from ...widgets.steps import SamplerControls, SchedulePlots
from ...widgets.steps.runs import RunControl
from ...worker import ModelWorker
from ..base import Panel, mark_primary, mark_timeline
from .compare_tab import CompareTab
from .forward_tab import ForwardTab
from .recipe import PICTURES, restore_plan
from ..text2img.recipe import guided_recipe
from .reverse_tab import LATENT_NOTE, REVERSE_NOTE, ReverseTab

FORWARD_TAB, COMPARE_TAB = 1, 2


class DiffusionPanel(Panel):
    title = "Diffusion"
    families = ("ddpm",) + LATENT_FAMILIES
    home_families = ("ddpm",)  # the latent families open in Text to image unless this tab is the one shown

    def __init__(self, worker: ModelWorker, device: torch.device, parent: QWidget | None = None):
        super().__init__(worker, device, parent)
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        self.controls = SamplerControls(ddpm_every_step=True)
        self.schedule_label = QLabel("no model")
        self.schedule_label.setStyleSheet("color: #8fc3ff; font-size: 12pt; padding-left: 12px;")
        self.schedule_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.schedule_label.setToolTip(
            "The noise schedule is part of the trained model: the network learned to remove noise at the levels "
            "this schedule produces, so it is shown here and not offered as a choice.")
        self.load_button = QPushButton("Load PNG…")
        self.load_button.setToolTip("Restore the sampler settings and seed of an exported PNG, and run it again")
        self.controls.row.addWidget(self.schedule_label, 1)
        self.controls.row.addWidget(self.load_button)
        root.addWidget(self.controls)
        self.plots = SchedulePlots()
        self.plots.setMinimumWidth(330)
        self.tabs = QTabWidget()
        self.reverse = ReverseTab(self, self, self.plots)
        self.forward_tab = ForwardTab(self, self.plots)
        self.compare_tab = CompareTab(self, self.plots)
        self.tabs.addTab(self.reverse, "Reverse process: sampling")
        self.tabs.addTab(self.forward_tab, "Forward process q(x_t | x₀)")
        self.tabs.addTab(self.compare_tab, "DDPM vs DDIM")
        self.tabs.addTab(Img2ImgView(self, lambda: from_sampler(*self.run_settings()), self.plots), "Image to image")
        self.tabs.setCornerWidget(nearest_button(  # does the run's sample copy a training image?
            self, lambda: self.view.current.final_picture if self.view.current is not None else None))
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.tabs)
        splitter.addWidget(self.plots)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([900, 400])
        root.addWidget(splitter, 1)
        self.view = self.reverse.view
        self.primary_button = self.view.run_button  # Ctrl+Enter; Space plays the steps; the comparison's own run
        mark_timeline(self.view.scrubber.play_button), mark_primary(self.compare_tab.compare_button)
        self.view.runs.extra_bytes = self.compare_tab.nbytes  # the comparison counts toward the cache
        self.view.run_added.connect(self._on_run_added)
        self.controls.changed.connect(self._on_settings_changed)
        self.controls.new_seed.connect(self.run)
        self.load_button.clicked.connect(self.load_png_dialog)
        self.worker.job_ended.connect(lambda _label: self.compare_tab.job_ended())
        self._pending: list = []  # what a restored recipe does once its run is back (branch, show a step)
        self._awaited: RunControl | None = None  # the run of the restore the next pending action waits for
        self._frame_run: dict | None = None  # the recipe (less its step) show_frame last restored

    # --- the model -------------------------------------------------------------------------------

    def on_model(self, loaded: LoadedModel) -> None:
        model = loaded.model
        schedule = model.noise_schedule
        T = schedule.num_train_timesteps
        latent, flow = is_latent(model), is_flow(model)
        where = f", {'×'.join(map(str, model.config.latent_shape))} latent" if latent else " (fixed by training)"
        if flow:
            self.schedule_label.setText(f"{loaded.family}: flow x_t = (1−s)·x₀ + s·ε, s = t/{T - 1}{where}")
        else:
            family = f"{loaded.family}: " if latent else ""
            self.schedule_label.setText(f"{family}{schedule.name} schedule, T = {T}{where}")
            self.schedule_label.setToolTip("")
            if hasattr(schedule, "describe"):  # a diffusers scheduler config: all it sets, in the tooltip
                self.schedule_label.setText(f"{schedule.name}, T = {T}, {schedule.prediction_type} (diffusers config)")
                self.schedule_label.setToolTip(f"The checkpoint's scheduler config: {schedule.describe()}")
        self.controls.set_model(model, loaded.family)
        self.reverse.note.setText(LATENT_NOTE if latent else REVERSE_NOTE)
        self._pending, self._awaited, self._frame_run = [], None, None
        self.view.reset(schedule, latent)
        self.forward_tab.reset(T)
        self.compare_tab.reset(T)
        self._offer_tabs(latent, flow)

    def _offer_tabs(self, latent: bool, flow: bool) -> None:
        """The forward process is drawn on pixels (a pixel model's); DDPM vs DDIM needs a noise predictor."""
        why = {FORWARD_TAB: "The forward process is shown on a pixel model (ddpm): a latent model noises its "
                            "autoencoder's latent" if latent else "",
               COMPARE_TAB: "A flow model samples with Euler, Heun or SDE, not DDPM or DDIM" if flow else ""}
        for index, reason in why.items():
            self.tabs.setTabEnabled(index, not reason)
            self.tabs.setTabToolTip(index, reason)
        if not self.tabs.isTabEnabled(self.tabs.currentIndex()):
            self.tabs.setCurrentWidget(self.reverse)

    # --- what the steps view and the comparison run (StepsSource) ---------------------------------

    def model_function(self) -> EpsModel:
        if self.loaded is None:
            raise ValueError("no model loaded yet")
        return self.loaded.model

    def noise_schedule(self) -> NoiseSchedule:
        return self.model_function().noise_schedule

    def schedule_length(self) -> int:
        """The most steps a run of this model takes (T; a flow's K intervals)."""
        return self.controls.schedule_length

    def run_settings(self) -> tuple[SamplerSettings, int]:
        return self.controls.settings(), self.controls.seed()

    def recipe_header(self) -> dict:
        return model_header(self.loaded) if self.loaded is not None else {}

    # --- actions ---------------------------------------------------------------------------------

    def run(self) -> None:
        """Sample one image with the row's settings, on the reverse-process tab."""
        self.tabs.setCurrentWidget(self.reverse)
        self.view.run()

    def _on_settings_changed(self) -> None:
        if not self.controls.problem():
            self.clear_error()
        self.compare_tab.describe_pair()

    def runs_changed(self) -> None:
        self.view.runs.refresh(self.view.current)

    # --- recipes: PNG export and "Load PNG…" ---------------------------------------------------------

    def recipe(self) -> dict:
        """The shown step of the shown run, as its frame export records it."""
        return self.view.recipe()

    def accepts(self, recipe: dict) -> bool:
        """A run of this tab's families, not a text-guided one (the Text-to-image panel restores a prompt)."""
        return (super().accepts(recipe) and not guided_recipe(recipe)
                and recipe.get("picture", "frame") in PICTURES)

    def restore(self, recipe: dict, source: str = "the recipe") -> str | None:
        """Take a recipe's sampler settings and seed, and run it again (its branches and shown step too)."""
        if self.loaded is None:
            raise ValueError("no model is loaded yet")
        model = self.loaded.model
        plan = restore_plan(recipe, step_limit(model), self.controls.kinds, is_latent(model))
        self.controls.apply(plan.settings, plan.seed)
        self._pending = list(plan.after)
        self._awaited = self._started(self.run)
        notes = checkpoint_differences(recipe, self.loaded)
        return "note: " + "; ".join(notes) if notes else None

    def show_frame(self, recipe: dict) -> str | None:
        """A lesson's frame: another step of the shown run (or of the run a restore is making) only moves
        the scrubber; any other recipe is restored (a new run)."""
        run, index = {k: v for k, v in recipe.items() if k not in ("step_index", "t")}, recipe.get("step_index")
        shown = self.view.current
        if isinstance(index, int) and self._pending and run == self._frame_run:  # its run is still coming
            self._pending[-1] = lambda view: view.scrubber.set_value(index)
            return None
        if (isinstance(index, int) and not self._pending and shown is not None and shown.complete
                and not self.view.sampling and all(recipe.get(k) == v for k, v in shown.recipe().items())):
            self.view.scrubber.set_value(index)
            return None
        self._frame_run = run
        return self.restore(recipe, "the lesson")

    def _started(self, start) -> RunControl | None:
        """Call `start` (a run or a branch); the control of the run it started, None if it started none."""
        before = self.view.control
        start()
        return self.view.control if self.view.control is not before else None

    def _on_run_added(self, trajectory: Trajectory) -> None:
        """The restore's next action (a branch, the shown step) follows its run only if that run came
        back whole: a run that failed, was stopped or cancelled, or was replaced by another ends the restore."""
        awaited, self._awaited = self._awaited, None
        if not self._pending:
            return
        if awaited is None or awaited.latest is not trajectory or not trajectory.complete:
            self._pending = []
            return
        action = self._pending.pop(0)
        self._awaited = self._started(lambda: action(self.view))

    def shutdown(self) -> None:
        self.view.shutdown()
        super().shutdown()
