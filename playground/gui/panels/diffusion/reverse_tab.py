"""The Diffusion tab's reverse process: the shared step-by-step view on the bare network."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QVBoxLayout, QWidget

from ...widgets.steps import SchedulePlots, StepsSource, StepsView
from ...widgets.titled import note_label

if TYPE_CHECKING:
    from ..base import Panel

REVERSE_NOTE = (
    "Each step the network looks at <b>x_t</b> and guesses the noise in it, <b>ε̂</b>. "
    "Removing that guess gives <b>x̂₀</b> = (x_t − √(1−ᾱ_t)·ε̂) / √ᾱ_t, its current idea of the image; "
    "the sampler moves x_t a little toward it (DDPM also adds fresh noise z) and repeats."
)
LATENT_NOTE = (
    "Here x_t is not a picture but the autoencoder's <b>latent</b>: 4 channels of 8×8, 48× fewer numbers than the "
    "image. Each step the network predicts the clean latent <b>x̂₀</b> (from its noise ε̂, or for a flow its velocity "
    "v̂); the sampler moves x_t toward it. The autoencoder's decoder paints both as images: the run is a picture "
    "only through it."
)


class ReverseTab(QWidget):
    """A note on what a step does, above the steps view (which runs in the panel's worker)."""

    def __init__(self, panel: Panel, source: StepsSource, plots: SchedulePlots, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.note = note_label(REVERSE_NOTE)
        layout.addWidget(self.note)
        self.view = StepsView(panel, source, channel="sample", plots=plots)
        layout.addWidget(self.view, 1)
