"""The pictures and numbers of one denoising step: x_t, the predicted noise, the predicted x0
(and the noise the step injected), with the step's schedule values and norms beneath.

A latent run (ldm, dit, sit) shows another row: x_t's latent channels, the predicted clean
latent's, the image the autoencoder decodes from that prediction, and x_t decoded. The
pictures come ready-made from the run's cache (decoded in the worker as each step arrived).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ....core.diffusion.trajectory import VIEWS
from ..titled import NumberTiles, TitledCanvas, canvas_row, fmt

VIEW_TITLES = {
    "x_t": ("x_t", "what the sampler holds"),
    "pred_noise": ("predicted noise ε̂", "the network's guess (±2σ)"),
    "pred_x0": ("predicted x̂₀", "the image ε̂ implies"),
    "noise": ("injected noise z", "added this step (±2σ)"),
}
LATENT_TITLES = {  # short: five across a 1280x720 window
    "x_t": ("x_t (latent)", "its channels, ±2σ"),
    "pred_noise": ("ε̂ (latent)", "predicted noise, ±2σ"),
    "pred_x0": ("x̂₀ (latent)", "predicted clean latent"),
    "decoded_x0": ("decoded x̂₀", "the autoencoder's picture"),
    "decoded_x_t": ("decoded x_t", "the noisy latent, painted"),
    "noise": ("injected z", "latent channels, ±2σ"),
}
FLOW_X0_CAPTION = "x_t − s·v̂, the clean latent"
# left to right; the injected noise only when asked for
ORDER = ("x_t", "pred_noise", "pred_x0", "decoded_x0", "decoded_x_t", "noise")
PIXEL_SHOWN = ("x_t", "pred_noise", "pred_x0")
LATENT_SHOWN = ("x_t", "pred_x0", "decoded_x0", "decoded_x_t")
NUMBERS = [
    ("step", "step"), ("t", "t → next"), ("beta", "β_t"), ("alpha_bar", "ᾱ_t"), ("log_snr", "log SNR"),
    ("sigma", "σ_t"), ("norm_x", "‖x_t‖/√d"), ("norm_eps", "‖ε̂‖/√d"),
]


class StepCanvases(QWidget):
    """The views of one step side by side (the injected noise only when asked), numbers beneath."""

    def __init__(self, minimum: int = 140, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # `minimum` 140 px: the Diffusion tab must fit a 1280x720 projector (the canvases grow with the window)
        self.canvases = {view: TitledCanvas(*VIEW_TITLES.get(view, LATENT_TITLES[view]), minimum=minimum)
                         for view in ORDER}
        self.latent, self.flow, self.noise_shown = False, False, False
        layout.addWidget(canvas_row(*self.canvases.values()), 1)
        self.numbers = NumberTiles(NUMBERS)
        self.numbers.values["sigma"].setToolTip("standard deviation of the fresh noise z this step adds")
        self.numbers.values["norm_x"].setToolTip("root mean square of x_t's pixels (1 for pure noise)")
        layout.addWidget(self.numbers)
        self.set_latent(False)

    @property
    def shown_views(self) -> tuple[str, ...]:
        views = LATENT_SHOWN if self.latent else PIXEL_SHOWN
        return views + (("noise",) if self.noise_shown else ())

    def set_latent(self, latent: bool, flow: bool = False) -> None:
        """Show a latent run's row (channels, and decoded) or a pixel run's; `flow`: x̂₀ comes from a velocity."""
        self.latent, self.flow = latent, flow
        for view, canvas in self.canvases.items():
            title, caption = (LATENT_TITLES if latent else VIEW_TITLES).get(view, LATENT_TITLES[view])
            if view == "pred_x0" and flow:
                caption = FLOW_X0_CAPTION
            canvas.title.setText(title)
            canvas.set_caption(caption)
            if not latent and view not in VIEWS:  # a pixel run has no decoded pictures
                canvas.set_image(None)
        self._show_canvases()

    def _show_canvases(self) -> None:
        shown = self.shown_views
        for view, canvas in self.canvases.items():
            canvas.setVisible(view in shown)

    def show_frames(self, frames: dict[str, np.ndarray], has_noise: bool) -> None:
        """A step's pictures (view -> image): a run's decoded views switch the row to the latent one."""
        latent = "decoded_x0" in frames
        if latent != self.latent:
            self.set_latent(latent, self.flow)
        for view, canvas in self.canvases.items():
            image = frames.get(view)
            canvas.set_image(image if view != "noise" or has_noise else None)

    def show_numbers(self, index: int, timesteps: np.ndarray, curves: dict[str, np.ndarray], sigma: float,
                     norm_x: float, norm_eps: float) -> None:
        """Step `index` of a run over `timesteps`, the schedule's values at its t from `curves`."""
        t = int(timesteps[index])
        t_next = int(timesteps[index + 1]) if index + 1 < len(timesteps) else None
        values = {"step": f"{index + 1} / {len(timesteps)}", "t": f"{t} → {t_next if t_next is not None else 'x₀'}",
                  "sigma": fmt(sigma), "norm_x": f"{norm_x:.3f}", "norm_eps": f"{norm_eps:.3f}"}
        if curves:
            values |= {"beta": fmt(curves["beta"][t]), "alpha_bar": fmt(curves["alpha_bar"][t]),
                       "log_snr": f"{curves['log_snr'][t]:+.2f}"}
        self.numbers.set_values(values)

    def clear(self) -> None:
        for canvas in self.canvases.values():
            canvas.set_image(None)
        self.numbers.set_values({})

    def set_noise_shown(self, shown: bool) -> None:
        self.noise_shown = shown
        self._show_canvases()

    def image(self, view: str) -> np.ndarray | None:
        return self.canvases[view].image
