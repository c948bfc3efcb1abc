"""Text to image with a guidance-scale slider: classifier-free guidance by hand.

Type a prompt, fix a seed and drag w: the image re-renders as the slider moves (requests
coalesce on the worker's "render" channel: the newest w wins and a running render is
cancelled), its predicted x0 showing while it renders. The Guidance tab shows what guidance
did at one step, the Grid tab one seed at several w (and w by seed), the Denoising-steps
tab the step scrubber on the guided run; PNG export carries the full recipe and "Load PNG…"
restores it. Every model call goes through the headless core (`core.text2img`) in the worker.

Every prompt-conditioned denoiser is guided here: the pixel text-to-image U-Net and the latent
ones (ldm, dit, sit), whose runs are decoded by their autoencoder in the worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from ....core.checkpoints import LoadedModel
from ....core.data.shapes import PromptError
from ....core.diffusion.guidance import reads_free_text
from ....core.images import save_png, upscale
from ....core.latent_diffusion import LATENT_FAMILIES
from ....core.text2img.clip_guidance import check_comparison
from ....core.text2img.denoiser import GuidanceModels
from ....core.text2img.sampling import Decomposition, GuidedSettings
from ...widgets.img2img import Img2ImgView
from ...widgets.nearest import nearest_button
from ...worker import ModelWorker
from ..base import Panel, mark_timeline
from .controls import SettingsControls
from .grid_tab import GridTab, parse_scales
from .guidance_tab import GuidanceTab
from ...widgets.prompt import PromptEdit
from .recipe import EXPORT_SCALE, PICTURES, export_recipe, guided_recipe, read_recipe
from .compare_tab import CompareTab, ComparisonResult
from .jobs import comparison_job, decomposition_job, grid_job, render_job
from .results import GridResult, RenderPreview, RenderResult
from .attention_tab import AttentionTab
from .steps_tab import StepsTab

DEFAULT_PROMPT = "a large red circle at the top left"
GUIDANCE_TAB, GRID_TAB, STEPS_TAB = range(3)


class Text2ImgPanel(Panel):
    title = "Text to image"
    families = ("text2img",) + LATENT_FAMILIES
    preview_shown = Signal(int)  # step index of a preview on the sample canvas
    rendered = Signal()          # a render finished and is on screen
    grid_rendered = Signal()
    decomposed = Signal()
    compared = Signal()      # the CFG vs CLIP comparison finished

    def __init__(self, worker: ModelWorker, device: torch.device, parent: QWidget | None = None):
        super().__init__(worker, device, parent)
        self.result: RenderResult | None = None
        self.decomposition: Decomposition | None = None
        self.models = GuidanceModels(device)
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 4, 6, 4)
        root.setSpacing(4)
        self.prompt = PromptEdit("Prompt", "e.g. a large red circle at the top left",
                                 "empty prompt: the unconditional model (w changes nothing)")
        self.prompt.set_text(DEFAULT_PROMPT)
        self.negative = PromptEdit("Negative", "optional: what to steer away from (it replaces the null prompt ∅)", "")
        self.controls = SettingsControls()
        self.tabs = QTabWidget()
        self.guidance_tab = GuidanceTab()
        self.grid_tab = GridTab()
        self.steps_tab = StepsTab(self)
        self.attention_tab = AttentionTab(self)
        self.tabs.addTab(self.guidance_tab, "Guidance")
        self.tabs.addTab(self.grid_tab, "Grid: w × seed")
        self.tabs.addTab(self.steps_tab, "Denoising steps")
        self.tabs.addTab(self.attention_tab, "Attention")
        self.tabs.addTab(Img2ImgView(self, self.settings), "Image to image")
        self.compare_tab = CompareTab()
        self.tabs.addTab(self.compare_tab, "CFG vs CLIP")
        self.tabs.setCornerWidget(nearest_button(  # does the sample copy a training image?
            self, lambda: self.result.trajectory.final_image() if self.result is not None else None))
        for w in (self.prompt, self.negative, self.controls):
            root.addWidget(w)
        root.addWidget(self.tabs, 1)
        self.primary_button = self.controls.generate_button  # Ctrl+Enter (the window's); Space plays the steps
        self.run_primary = self.generate  # Ctrl+Enter with a bad prompt says what is wrong (the button is disabled)
        mark_timeline(self.steps_tab.view.scrubber.play_button)
        for box in (self.prompt, self.negative):
            box.submitted.connect(self.generate)
            box.validity_changed.connect(lambda _: self._on_prompt_validity())
        self.controls.changed.connect(self.render)
        self.controls.base_changed.connect(self._on_base_changed)
        self.controls.generate_button.clicked.connect(self.generate)
        self.controls.export_button.clicked.connect(self._export_dialog)
        self.controls.load_button.clicked.connect(self.load_png_dialog)
        self.guidance_tab.step_chosen.connect(lambda _: self.request_decomposition())
        self.grid_tab.run_requested.connect(self.run_grid)
        self.compare_tab.run_requested.connect(self.run_comparison)
        self.steps_tab.step_changed.connect(self._follow_scrubber)
        self._frame_run, self._frame_step = None, None  # show_frame: the run it restored, the step awaiting it
        self.steps_tab.view.run_added.connect(self._show_frame_step)
        self._sync_enabled()

    # --- model and activation -------------------------------------------------------------------

    def on_model(self, loaded: LoadedModel) -> None:
        self.result, self.decomposition, self._frame_run, self._frame_step = None, None, None, None
        tokens = loaded.model.token_strings if reads_free_text(loaded.model) else None  # a diffusers model reads free text
        for box in (self.prompt, self.negative):
            box.set_free_text(tokens)
        self.controls.set_model(loaded)
        self.guidance_tab.clear()
        self.grid_tab.clear()
        self.compare_tab.clear()
        self.steps_tab.clear()
        self._sync_enabled()

    def activate(self) -> None:
        self.render()

    def settings(self) -> GuidedSettings:
        """The settings the widgets show (PromptError / ValueError for bad input)."""
        return self.controls.settings(self.prompt.text(), self.negative.text())

    def apply_settings(self, settings: GuidedSettings) -> None:
        """Show `settings` in the widgets without rendering on every change (the caller renders once)."""
        self.controls.applying = True
        try:
            self.prompt.set_text(settings.prompt)
            self.negative.set_text(settings.negative_prompt)
        finally:
            self.controls.applying = False
        self.controls.apply(settings)

    def _prompts_valid(self) -> bool:
        return self.prompt.valid and self.negative.valid

    def _sync_enabled(self) -> None:
        ok = self._prompts_valid() and self.loaded is not None
        self.controls.generate_button.setEnabled(ok)
        self.grid_tab.set_allowed(ok)

    def _on_prompt_validity(self) -> None:
        """An invalid prompt greys the pictures out (they are the last valid prompt's); a fixed one clears its error."""
        self._sync_enabled()
        valid = self._prompts_valid()
        self.guidance_tab.set_stale(not valid)
        self.grid_tab.set_stale(not valid)
        if valid:
            self.clear_error()

    def _on_base_changed(self, base: str) -> None:
        self.negative.setEnabled(base != "ddpm")
        self.grid_tab.set_base(base)

    # --- rendering (worker) ----------------------------------------------------------------------

    def generate(self) -> None:
        """Ctrl+Enter: render the current prompt and settings (closing any completion popup first)."""
        for box in (self.prompt, self.negative):
            box.close_popup()
        self.render(force=True)

    def render(self, force: bool = False) -> None:
        """Re-render with the widgets' settings; only the newest request runs (cancel_running).
        `force` (an explicit Generate) reports bad input; a slider move leaves that to the prompt box."""
        if self.loaded is None or self.controls.applying:
            return
        try:
            settings = self.settings()
        except (PromptError, ValueError) as exc:
            if force:
                self.report_error(str(exc))
            return
        # no label: a render follows the slider, its progress shows on the canvas, not in the status bar
        work = render_job(self.models, self.loaded.model, settings, self.loaded.name)
        self.submit(work, channel="render", on_result=self._on_rendered, cancel_running=True,
                    on_progress=lambda _done, _total, preview: self._on_preview(settings, preview))

    def _on_preview(self, settings: GuidedSettings, preview: RenderPreview) -> None:
        self.guidance_tab.show_preview(settings, preview)
        self.preview_shown.emit(preview.index)

    def _on_rendered(self, result: RenderResult) -> None:
        self.result = result
        self.clear_error()  # the input rendered: an error about earlier input no longer holds
        self.guidance_tab.show_result(result)
        self.guidance_tab.set_stale(not self._prompts_valid())  # typed into while it rendered
        self.steps_tab.show_guided_run(result)
        self.request_decomposition()
        self.rendered.emit()

    def request_decomposition(self) -> None:
        """The two branches at the chosen step of the current run, from its cached x_t (one forward)."""
        result = self.result
        if result is None:
            return
        index = self.guidance_tab.decomposition_step.value()
        self.guidance_tab.show_step(index)
        work = decomposition_job(self.models, self.loaded.model, result, index)
        # a newer render requests its own decomposition, which drops this one (one channel, newest wins)
        self.submit(work, channel="decompose", on_result=self._on_decomposed, cancel_running=True)

    def _on_decomposed(self, parts: Decomposition) -> None:
        self.decomposition = parts
        self.guidance_tab.show_parts(parts)
        self.decomposed.emit()

    def _follow_scrubber(self, index: int) -> None:
        """Scrubbing the current run in the steps tab moves the decomposition to the same step."""
        if self.result is not None and self.steps_tab.current is self.result.trajectory:
            self.guidance_tab.decomposition_step.setValue(index)

    # --- grid ----------------------------------------------------------------------------------------

    def run_grid(self) -> None:
        """One seed at several scales (columns), one row per seed, all in one batch."""
        if self.loaded is None:
            return
        try:
            settings = self.settings()
            scales = parse_scales(self.grid_tab.scales_edit.text(), settings.base)
        except (PromptError, ValueError) as exc:
            self.report_error(str(exc))
            return
        seeds = [settings.seed + r for r in range(self.grid_tab.seeds_box.value())]
        work = grid_job(self.models, self.loaded.model, settings, scales, seeds)
        self.submit(work, channel="grid", label=f"Grid {len(seeds)} × {len(scales)}", on_result=self._on_grid,
                    on_progress=lambda _done, _total, preview: self.grid_tab.show_grid(preview), cancel_running=True)
        self.tabs.setCurrentIndex(GRID_TAB)
        self.grid_tab.show_rendering(len(seeds), len(scales))

    def _on_grid(self, grid: GridResult) -> None:
        self.clear_error()
        self.grid_tab.show_grid(grid)
        self.grid_tab.set_stale(not self._prompts_valid())
        self.grid_rendered.emit()

    def run_comparison(self) -> None:
        """The same seeds with no guidance, CFG, CLIP and both (GLIDE's comparison), in one batch."""
        if self.loaded is None:
            return
        try:
            settings = check_comparison(self.settings())
        except (PromptError, ValueError) as exc:
            self.report_error(str(exc))
            return
        seeds = [settings.seed + r for r in range(self.compare_tab.seeds_box.value())]
        work = comparison_job(self.models, self.loaded.model, settings, seeds)
        self.submit(work, channel="compare", label=f"CFG vs CLIP, {len(seeds)} seeds", on_result=self._on_compared,
                    on_progress=lambda _done, _total, preview: self.compare_tab.show_comparison(preview),
                    cancel_running=True)
        self.compare_tab.show_rendering(len(seeds))

    def _on_compared(self, comparison: ComparisonResult) -> None:
        self.clear_error()
        self.compare_tab.show_comparison(comparison)
        self.compared.emit()

    # --- recipes: export and Load PNG --------------------------------------------------------------

    def recipe(self, picture: str | None = None) -> dict[str, Any]:
        """The recipe of the sample or the grid (default: the current tab's), model header included."""
        picture = picture or ("grid" if self.tabs.currentIndex() == GRID_TAB else "sample")
        grid = self.grid_tab.grid
        if picture == "grid":
            if grid is None or not grid.final:
                raise ValueError("no finished grid to export yet: press Run grid")
            return export_recipe(self.loaded, grid.settings, self.models, "grid", grid=grid.layout())
        if self.result is None:
            raise ValueError("nothing to export yet: generate an image first")
        return export_recipe(self.loaded, self.result.settings, self.models, "sample", scale=EXPORT_SCALE)

    def export_png(self, path: str | Path, picture: str | None = None) -> Path:
        """The sample (x8) or, on the Grid tab, the grid, with the full recipe in the PNG's metadata."""
        recipe = self.recipe(picture)
        if recipe["picture"] == "grid":
            return save_png(path, self.grid_tab.grid.picture, recipe)
        return save_png(path, upscale(self.result.trajectory.final_image(), EXPORT_SCALE), recipe)

    def accepts(self, recipe: dict[str, Any]) -> bool:
        """A text-guided run of one of this panel's families (the Diffusion tab restores the unguided ones)."""
        return super().accepts(recipe) and guided_recipe(recipe) and recipe.get("picture") in PICTURES

    def restore(self, recipe: dict[str, Any], source: str = "the recipe") -> str | None:
        """Show a recipe's settings and render its picture (the sample, or the grid); the note says what
        differs from the image's making (another model, changed weights, a value shown rounded)."""
        if self.loaded is None:
            raise ValueError("no model is loaded yet")
        restored = read_recipe(recipe, self.loaded)
        self.apply_settings(restored.settings)
        shown = self.settings()
        notes = restored.notes + [
            f"{name} {getattr(restored.settings, name):g} is shown as {getattr(shown, name):g}"
            for name in ("guidance_scale", "classifier_scale", "clip_scale", "guidance_start", "guidance_stop", "eta")
            if getattr(shown, name) != getattr(restored.settings, name)]
        if restored.grid_scales is not None:
            self.grid_tab.set_request(restored.grid_scales, restored.grid_seeds)
            self.run_grid()
        else:
            self.tabs.setCurrentIndex(GUIDANCE_TAB)
            self.render(force=True)
        return "note: " + "; ".join(notes) if notes else None

    def show_frame(self, recipe: dict) -> str | None:
        """A lesson's frame: a run's frame shows in the Denoising steps tab at its step; another step of the
        run shown there only moves its scrubber (no new run)."""
        index = recipe.get("step_index")
        if recipe.get("picture") != "frame" or not isinstance(index, int):
            return self.restore(recipe, "the lesson")
        run, note = {k: v for k, v in recipe.items() if k not in ("step_index", "t")}, None
        if run != self._frame_run:
            note = self.restore(recipe, "the lesson")
            self._frame_run, self._frame_step = run, index
        elif self._frame_step is not None:
            self._frame_step = index  # its run is still coming
        else:
            self.steps_tab.view.scrubber.set_value(index)
        self.tabs.setCurrentWidget(self.steps_tab)
        return note

    def _show_frame_step(self, _trajectory) -> None:
        if self._frame_step is not None:
            self.steps_tab.view.scrubber.set_value(self._frame_step)
            self._frame_step = None

    def _export_dialog(self) -> None:
        grid = self.tabs.currentIndex() == GRID_TAB
        kind = "grid" if grid else f"w{self.controls.guidance_slider.value():g}"
        seed = self.result.settings.seed if self.result is not None else 0  # the picture's, not a box being typed in
        self.save_with_dialog("Export PNG", f"text2img-{kind}-seed{seed}.png", "PNG (*.png)",
                              self.export_png, "recipe in its metadata")
