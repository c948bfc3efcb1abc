"""The Text-to-image panel's "Denoising steps" tab: the shared step-by-step view on guided runs.

How the host (the Text-to-image panel) uses it:

    self.steps_tab = StepsTab(self)            # self: the Text2ImgPanel (a Panel); add it as a tab
    self.steps_tab.step_changed.connect(...)   # int: the step index the user scrubbed to
    self.steps_tab.clear()                     # in on_model(loaded): forget runs, show the new schedule
    self.steps_tab.show_guided_run(result)     # each finished render (a RenderResult)
    self.steps_tab.current                     # the Trajectory shown (None before the first run)
    self.steps_tab.recipe()                    # the shown step's frame recipe, guided settings merged

What it reads from the host: `panel.submit` (its Run and Branch run on the panel's worker,
channel "steps", through the one stale-result guard), `panel.loaded`, `panel.models` (the
`GuidanceModels`, for the helper networks' headers), `panel.report` / `panel.report_error`,
and `panel.worker.job_ended`. `result` has `trajectory`, `denoiser` (the guided model
function that made it: Run and Branch reuse it, so they redraw the same guided run),
`settings` (GuidedSettings) and `model_name`.

Its own sampler row starts at each shown run's settings; its Run steps DDIM with the eps the
clipped x0 implies, as every guided run does (`core.text2img.denoiser.guided_sampler`). It offers
the model's samplers (a flow's for sit) and shows a latent model's steps as latent channels and
the images decoded from them (decoded in the worker, as each step arrives).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ....core.diffusion.sampling import EpsModel
from ....core.diffusion.schedules import NoiseSchedule
from ....core.diffusion.trajectory import SamplerSettings, Trajectory
from ....core.latent_diffusion import is_latent
from ....core.text2img.denoiser import guided_sampler, make_denoiser
from ....core.text2img.sampling import GuidedSettings, step_limit
from ...widgets.steps import SamplerControls, StepsView
from .jobs import decode_job
from .recipe import export_recipe

if TYPE_CHECKING:
    from .panel import Text2ImgPanel
    from .results import RenderResult

UNGUIDED = GuidedSettings(prompt="", guidance_scale=0.0)  # the empty prompt at w = 0: the unconditional model


def network_of(model_fn: EpsModel) -> EpsModel:
    """The function that owns the noise schedule in a (possibly wrapped) model function: classifier
    guidance wraps its base (classifier-free guidance answers for its model)."""
    while not hasattr(model_fn, "noise_schedule"):
        model_fn = model_fn.base
    return model_fn


def schedule_of(model_fn: EpsModel) -> NoiseSchedule:
    """The noise schedule of a (possibly wrapped) model function."""
    return network_of(model_fn).noise_schedule


class StepsTab(QWidget):
    """A sampler row (set from each shown run) over the steps view; `step_changed(index)` on scrubbing."""

    step_changed = Signal(int)

    def __init__(self, panel: Text2ImgPanel, parent: QWidget | None = None):
        super().__init__(parent)
        self.panel = panel
        self.denoiser: EpsModel | None = None
        self.guided: GuidedSettings | None = None
        self.controls = SamplerControls(ddpm_every_step=False)
        self.controls.new_seed_button.setToolTip("Draw a random seed and run the guided run with it")
        self.controls.row.addStretch(1)
        # a shorter tab than the Diffusion one: log SNR alone stands for the schedule, so each plot keeps its labels
        self.view = StepsView(panel, self, channel="steps", minimum=100, plot_keys=("log_snr",))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.controls)
        layout.addWidget(self.view, 1)
        self.controls.new_seed.connect(self.view.run)
        self.view.step_changed.connect(self.step_changed)
        self._undecoded: Trajectory | None = None  # a latent render's run, to decode when this tab shows it
        panel.tabs_shown.watch(self, shown=self._decode_shown_run)

    @property
    def current(self) -> Trajectory | None:
        return self.view.current

    @property
    def sampling(self) -> bool:
        return self.view.sampling

    def clear(self) -> None:
        """A new model: forget its runs and the guided function."""
        self.denoiser, self.guided, self._undecoded = None, None, None
        loaded = self.panel.loaded
        if loaded is not None:
            self.controls.set_model(loaded.model, loaded.family)
        self.view.reset(loaded.model.noise_schedule if loaded is not None else None,
                        loaded is not None and is_latent(loaded.model))

    def show_guided_run(self, result: RenderResult) -> None:
        """Show a finished guided run at its last step; Run and Branch reuse its model function."""
        self.denoiser, self.guided = result.denoiser, result.settings
        trajectory = result.trajectory
        # the DDPM base of classifier guidance has a schedule of its own
        self.controls.set_schedule_length(step_limit(network_of(result.denoiser)))
        self.controls.apply(trajectory.settings, trajectory.seed)
        if trajectory.missing_pictures:  # a latent render decoded only its sample: the steps when shown
            self._undecoded = trajectory
            self._decode_shown_run()
        else:
            self.view.add_run(trajectory)

    def _decode_shown_run(self) -> None:
        """On screen with a latent render's run: decode its steps in the worker, then show it (once)."""
        trajectory = self._undecoded
        if trajectory is None or not self.isVisible():
            return
        self._undecoded = None

        def decoded(run: Trajectory) -> None:
            if self.denoiser is not None and run is self.panel.result.trajectory:  # still the panel's render
                self.view.add_run(run)

        self.panel.submit(decode_job(trajectory), channel="steps-decode", label="Decoding the steps",
                          on_result=decoded, cancel_running=True)

    # --- what the steps view runs (StepsSource) ----------------------------------------------------

    def model_function(self) -> EpsModel:
        if self.panel.loaded is None:
            raise ValueError("no model loaded yet")
        if self.denoiser is None:  # before the first guided run: the unconditional model
            return make_denoiser(self.panel.loaded.model, UNGUIDED)
        return self.denoiser

    def noise_schedule(self) -> NoiseSchedule:
        return schedule_of(self.model_function())

    def run_settings(self) -> tuple[SamplerSettings, int]:
        return guided_sampler(self.controls.settings()), self.controls.seed()

    def recipe_header(self) -> dict:
        """The guided settings of the run shown (its own sampler and seed), and the model header."""
        loaded = self.panel.loaded
        if loaded is None:
            return {}
        guided = self.guided or UNGUIDED
        run = self.view.current
        if run is not None:
            s = run.settings
            guided = guided.replace(sampler=s.kind, steps=s.steps, eta=s.eta, clip_x0=s.clip_x0, seed=run.seed)
        return export_recipe(loaded, guided, self.panel.models, "frame")

    def recipe(self) -> dict:
        return self.view.recipe()
