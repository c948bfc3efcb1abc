"""The Guidance tab: the guided sample, and beside it what guidance did at one step of its run.

The sample's title always names the prompt the picture belongs to. While the prompt boxes
hold an invalid prompt the pictures stay, greyed out and labelled as the last valid
prompt's, so an old image never passes for the new prompt's.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from ....core.data.shapes import PromptError, parse_prompt
from ....core.text2img.sampling import Decomposition, GuidedSettings
from ...widgets.titled import TitledCanvas, note_label
from .results import RenderPreview, RenderResult

DECOMPOSITION_AT = 0.4  # the default step, as a share of the run: where guidance still decides
GUIDANCE_NOTE = (
    "<b>w = 0</b> is the unconditional model, <b>w = 1</b> the plain conditional one; larger w pushes further along "
    "the difference between them, <b>ε̃ = ε(x_t, ∅) + w·(ε(x_t, c) − ε(x_t, ∅))</b> (Ho &amp; Salimans 2022): "
    "closer to the prompt, less variety in what it leaves open."
)
DECOMPOSITION_TITLES = {
    "uncond": ("unconditional", "x̂₀ from ε(x_t, ∅)"),
    "cond": ("conditional", "x̂₀ from ε(x_t, c)"),
    "difference": ("difference c − u", "where guidance pushes"),
    "guided": ("guided", "u + w (c − u)"),
}
STALE_NOTE = "the prompt above is not valid: this is the last valid prompt's picture"


def dimmed(image: np.ndarray | None) -> np.ndarray | None:
    """A picture greyed out: still recognisable, plainly not current."""
    if image is None:
        return None
    return (image.astype(np.float32) * 0.25 + 100).astype(np.uint8)


def prompt_title(settings: GuidedSettings) -> str:
    """The prompt a picture belongs to, as the parser reads it."""
    try:
        canonical = parse_prompt(settings.prompt).text()
    except PromptError:  # free text (a diffusers model's own tokenizer reads it): as typed
        canonical = settings.prompt.strip()
    what = f"“{canonical}”" if canonical else "no prompt (unconditional)"
    if settings.base != "ddpm":
        return what
    guides = [name for name, scale in (("classifier", settings.classifier_scale), ("CLIP", settings.clip_scale)) if scale]
    return what + ", DDPM" + "".join(f" + {name}" for name in guides)


class DecompositionView(QWidget):
    """Unconditional, conditional, their difference and the guided prediction at one step."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.canvases = {key: TitledCanvas(*titles, minimum=90) for key, titles in DECOMPOSITION_TITLES.items()}
        for i, canvas in enumerate(self.canvases.values()):
            layout.addWidget(canvas, i // 2, i % 2)
        self.parts: Decomposition | None = None

    def set_parts(self, parts: Decomposition | None, base: str = "text2img", stale: bool = False,
                  clip_scale: float = 0.0, classifier_scale: float = 0.0) -> None:
        self.parts = parts
        if parts is None:
            for canvas in self.canvases.values():
                canvas.set_image(None)
            return
        ddpm = base == "ddpm"
        self.canvases["cond"].setVisible(not ddpm)
        self.canvases["uncond"].set_caption("x̂₀ of the DDPM alone" if ddpm else "x̂₀ from ε(x_t, ∅ or negative)")
        pushes = ("classifier + CLIP" if clip_scale and classifier_scale else "CLIP" if clip_scale else "classifier")
        self.canvases["difference"].title.setText(f"{pushes} push" if ddpm else "difference c − u")
        self.canvases["difference"].set_caption(f"×{parts.difference_gain:.1f}, grey = no change")
        if ddpm:
            guided = "ε − s √(1−ᾱ) ∇ log p(y|x_t)" if classifier_scale else "ε"
        else:
            guided = f"u + w (c − u),  w = {parts.guidance_scale:g} here"
        self.canvases["guided"].set_caption(guided + (f", + CLIP s = {clip_scale:g}" if clip_scale else ""))
        for key, canvas in self.canvases.items():
            image = getattr(parts, key)
            image = image if isinstance(image, np.ndarray) else None
            canvas.set_image(dimmed(image) if stale else image)


class GuidanceTab(QWidget):
    step_chosen = Signal(int)  # the user moved the decomposition's step slider

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.result: RenderResult | None = None
        self.stale = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        note = note_label(GUIDANCE_NOTE)
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
        self.decomposition_step.valueChanged.connect(self.step_chosen)

    def clear(self) -> None:
        self.result = None
        self.sample_canvas.title.setText("guided sample")
        self.sample_canvas.set_caption("press Ctrl+Enter")
        self.sample_canvas.set_image(None)
        self.decomposition_view.set_parts(None)

    def show_preview(self, settings: GuidedSettings, preview: RenderPreview) -> None:
        self.stale = False
        self.sample_canvas.title.setText(prompt_title(settings))
        self.sample_canvas.set_image(preview.pred_x0)
        self.sample_canvas.set_caption(f"rendering: step {preview.index + 1} / {preview.num_steps}, predicted x̂₀")

    def show_result(self, result: RenderResult) -> None:
        """Show a finished run; the decomposition's slider keeps its share of the run."""
        self.result, self.stale = result, False
        self._show_sample()
        n = result.trajectory.num_steps
        slider = self.decomposition_step
        fraction = slider.value() / slider.maximum() if slider.maximum() > 0 else DECOMPOSITION_AT
        slider.blockSignals(True)
        slider.setRange(0, n - 1)
        slider.setValue(int(round(fraction * (n - 1))))
        slider.blockSignals(False)
        self.show_step(slider.value())

    def show_step(self, index: int) -> None:
        trajectory = self.result.trajectory
        self.decomposition_label.setText(f"{index + 1} / {trajectory.num_steps}, t = {int(trajectory.t[index])}")

    def show_parts(self, parts: Decomposition) -> None:
        s = self.result.settings
        self.decomposition_view.set_parts(parts, s.base, self.stale, s.clip_scale, s.classifier_scale)
        self.decomposition_title.setText(f"What guidance did at step {parts.index + 1} (t = {parts.t})")

    def set_stale(self, stale: bool) -> None:
        """Grey the pictures out (the prompt boxes hold an invalid prompt) or show them as they are."""
        if self.result is None or stale == self.stale:
            return
        self.stale = stale
        self._show_sample()
        if self.decomposition_view.parts is not None:
            self.show_parts(self.decomposition_view.parts)

    def _show_sample(self) -> None:
        result, s = self.result, self.result.settings
        image = result.trajectory.final_image()
        self.sample_canvas.set_image(dimmed(image) if self.stale else image)
        title = prompt_title(s)
        self.sample_canvas.title.setText(f"last valid prompt: {title}" if self.stale else title)
        if s.base == "ddpm":
            scales = [f"s = {s.classifier_scale:g}"] if s.classifier_scale else []
        else:
            scales = [f"w = {s.guidance_scale:g}"]
        scales += [f"CLIP s = {s.clip_scale:g}"] if s.clip_scale else []
        what = ", ".join(scales) or "the DDPM alone"
        timing = f"{s.sampler.upper()}-{s.steps} in {result.seconds * 1000:.0f} ms"
        self.sample_canvas.set_caption(STALE_NOTE if self.stale else f"{what}, seed {s.seed}: {timing}")
