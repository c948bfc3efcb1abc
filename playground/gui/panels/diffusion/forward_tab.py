"""The forward process on a data image: x_t ~ q(x_t | x_0) at any t, and the network's one-shot guess.

It computes only while shown (the panel's `tabs_shown`): the gallery loads when the tab is
first shown with a model, and every model call (`core.diffusion.forward.forward_view`) runs in the panel's worker. The x_t
picture needs no model and follows the slider at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from ....core import checks
from ....core.diffusion.forward import ForwardView, forward_view, noised_image
from ....core.serving.remote_views import remote_forward_view
from ...widgets.gallery import DataGallery
from ...widgets.steps import SchedulePlots
from ...widgets.steps.fields import NumberField
from ...widgets.titled import SMALL_TITLE, NumberTiles, TitledCanvas, canvas_row, fmt, note_label

if TYPE_CHECKING:
    from .panel import DiffusionPanel

FORWARD_NOTE = (
    "Training's side: noise a real image x₀ to step t in one jump, <b>x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε</b>; the network "
    "guesses ε from x_t and t. Its one-shot <b>x̂₀ = (x_t − √(1−ᾱ_t)·ε̂) / √ᾱ_t</b> is shown clipped to [−1, 1], "
    "as the samplers clip it. Near t = 0 the guess is easy; near T, √ᾱ_t is tiny and x̂₀ is the network's small "
    "error magnified, a saturated patchwork: a sampler only takes a small step toward it."
)


class ForwardTab(QWidget):
    """A data-set gallery, a t slider, and x_0 / x_t / the one-shot x0 with the noise and its numbers."""

    def __init__(self, panel: DiffusionPanel, plots: SchedulePlots, parent: QWidget | None = None):
        super().__init__(parent)
        self.panel, self.plots = panel, plots
        self.view: ForwardView | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.note = note_label(FORWARD_NOTE)
        layout.addWidget(self.note)
        body = QHBoxLayout()
        self.gallery = DataGallery(icon_px=40)
        self.gallery.setFixedWidth(160)
        body.addWidget(self.gallery)
        right = QVBoxLayout()
        self.canvases = {
            "x0": TitledCanvas("x₀", "the data image", minimum=130),
            "x_t": TitledCanvas("x_t ~ q(x_t | x₀)", "noised in one jump", minimum=130),
            "pred_x0": TitledCanvas("one-shot x̂₀", "from x_t, clipped", minimum=130),
            "noise": TitledCanvas("true noise ε", "±2σ", minimum=100),
            "pred_noise": TitledCanvas("predicted ε̂", "±2σ", minimum=100),
        }
        for canvas in self.canvases.values():
            canvas.title.setStyleSheet(SMALL_TITLE)  # five across a 1280x720 window: 15 pt titles were clipped
        right.addWidget(canvas_row(self.canvases["x0"], self.canvases["x_t"], self.canvases["pred_x0"]), 3)
        noise_row = QHBoxLayout()
        noise_row.addWidget(self.canvases["noise"], 1)
        noise_row.addWidget(self.canvases["pred_noise"], 1)
        self.numbers = NumberTiles([
            ("t", "t"), ("signal", "√ᾱ_t (x₀ weight)"), ("noise", "√(1−ᾱ_t) (ε weight)"), ("log_snr", "log SNR"),
            ("noise_mse", "ε̂ error (MSE)"), ("x0_mse", "x̂₀ error (MSE, as shown)"),
        ], columns=3)
        self.numbers.values["x0_mse"].setToolTip("Mean squared error of the clipped x̂₀ shown against x₀, "
                                                 "in [−1, 1] units (at most 4)")
        noise_row.addWidget(self.numbers, 2)
        right.addLayout(noise_row, 2)
        slider_row = QHBoxLayout()
        self.t_slider = QSlider(Qt.Orientation.Horizontal)
        self.t_slider.setRange(0, 999)
        self.t_slider.setValue(300)
        self.t_slider.setToolTip("Drag t: how far the forward process has noised x₀")
        self.t_label = QLabel("t = 300")
        self.t_label.setFixedWidth(90)
        self.t_label.setStyleSheet("font-size: 13pt;")
        self.seed_field = NumberField("noise seed", checks.seed, 0, width=96,
                                      tooltip=f"The seed of the noise ε (0 to {checks.SEED_MAX})")
        for w in (QLabel("t"), self.t_slider, self.t_label, QLabel("noise seed"), self.seed_field):
            slider_row.addWidget(w, 1 if w is self.t_slider else 0)
        right.addLayout(slider_row)
        body.addLayout(right, 1)
        layout.addLayout(body, 1)
        self.gallery.picked.connect(lambda _: self.update_view())
        self.t_slider.valueChanged.connect(self._on_t)
        self.seed_field.edited.connect(self.update_view)
        self.seed_field.problem_changed.connect(self._on_seed_problem)
        panel.tabs_shown.watch(self, activate=self.activate, shown=self._show_plots)

    def _on_seed_problem(self, problem: str) -> None:
        if problem:
            self.panel.report_error(problem)
        else:
            self.panel.clear_error()

    @property
    def t(self) -> int:
        return self.t_slider.value()

    def reset(self, T: int) -> None:
        """A new model: its schedule's length bounds t; the old model's pictures go."""
        self.t_slider.setMaximum(T - 1)
        self.view = None
        for canvas in self.canvases.values():
            canvas.set_image(None)
        self.numbers.set_values({})

    def _show_plots(self) -> None:
        self.plots.show_norms(False)  # no run here: the norms plot makes room
        self.plots.set_norms(None)
        self.plots.set_cursor(self.t)

    def activate(self) -> None:
        """On screen with a new model: load the gallery the first time, else show the chosen image at t."""
        if self.gallery.data is None:
            # 48: a narrow column
            self.gallery.load(self.panel, self.panel.loaded.meta.data, 48, select_first=True)
        else:
            self.update_view()

    def _on_t(self, t: int) -> None:
        self.t_label.setText(f"t = {t}")
        self.plots.set_cursor(t)
        self.update_view()

    def update_view(self) -> None:
        """q(x_t | x_0) at once (no model), then the network's one-shot guess from the worker."""
        loaded, image = self.panel.loaded, self.gallery.image()
        if loaded is None or image is None or not self.isVisible():
            return
        try:
            seed = int(self.seed_field.value())
        except ValueError as exc:
            self.panel.report_error(str(exc))
            return
        t, model = self.t, loaded.model
        schedule = model.noise_schedule
        self.canvases["x0"].set_image(image)
        self.canvases["x_t"].set_image(noised_image(schedule, image, t, seed))

        def work(ctx) -> ForwardView:
            return forward_view(model, schedule, image, t, seed)

        # on the connected model server, the same view (gui/remote_worker.py)
        work.remote = lambda ctx, connection: remote_forward_view(connection, model, image, t, seed)
        self.panel.submit(work, channel="forward", on_result=self.show_view, cancel_running=True)

    def show_view(self, view: ForwardView) -> None:
        """The network's one-shot guess at t (its x0 clipped, and the error of that clipped x0)."""
        self.view = view
        for key, canvas in self.canvases.items():
            canvas.set_image(getattr(view, key))
        self.numbers.set_values({
            "t": str(view.t), "signal": fmt(view.sqrt_alpha_bar), "noise": fmt(view.sqrt_one_minus_alpha_bar),
            "log_snr": f"{view.log_snr:+.2f}", "noise_mse": fmt(view.noise_mse, 3), "x0_mse": fmt(view.x0_mse, 3),
        })
