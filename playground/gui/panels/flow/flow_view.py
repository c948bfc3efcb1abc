"""Flow vs diffusion: one seed's latent noise through DDPM, DDIM (dit) and Euler, Heun (sit), side by
side; the path of a chosen latent value against the noise level; a steps slider (1 to 100).

Click a cell of x_T (any of its 4 channels) or a pixel of a sample (the latent cell it decodes from,
in the chosen channel) to follow that value. Runs are cached per (seed, steps, prompt, w), so
sliding back over a step count shows it at once.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSlider, QVBoxLayout, QWidget

from ....core import checks
from ....core.data.shapes import parse_prompt
from ....core.latent_diffusion.comparison import (MAX_STEPS, SAMPLER_FAMILIES, SAMPLER_NAMES, SPACINGS, SamplerPath,
                                                  compare, shared_noise)
from ....core.images import labelled_grid
from ....core.serving.client import remember
from ....core.serving.remote import served_id
from ....core.serving.remote_views import remote_sampler_path
from ....core.latent_diffusion.first_stage import channel_image
from ...widgets.cell_pick import CellMarker, watch_clicks
from ...widgets.images import BACKGROUND, ImageCanvas
from ...widgets.steps.fields import NumberField
from ...widgets.titled import TitledCanvas, note_label
from ...widgets.video_export import ask_video, export_button, frames_writer
from ...worker import JobContext

NOTE = ("The same initial latent noise x_T (one seed) through the dit's DDPM and DDIM and the sit's flow ODE. "
        "Straightness = |x_0 - x_T| / path length over the whole latent (1 = a straight line, what one Euler step "
        "walks). Lower the steps: the flow keeps its sample. With leading spacing (the samplers' default) DDPM/DDIM "
        "start a short run below t = T: their first point sits below noise level 1.")
COLORS = {"ddpm": "#e07a5f", "ddim": "#f2cc8f", "euler": "#81b29a", "heun": "#6fa8dc"}
CACHE_RUNS = 48
DEFAULT_STEPS = 10


class FlowView(QWidget):
    def __init__(self, panel):
        super().__init__()
        self.panel = panel
        self.cell = (0, 3, 3)  # (channel, row, col) of the followed latent value
        self.paths: list[SamplerPath] = []
        self.noise: np.ndarray | None = None
        self.names: dict[str, str] = {}
        self.shown_key: tuple | None = None
        self.models: dict = {}  # family -> LoadedModel of the shown run (for its export's recipe)
        self._cache: OrderedDict[tuple, tuple] = OrderedDict()
        layout = QVBoxLayout(self)
        layout.addWidget(note_label(NOTE))
        layout.addLayout(self._controls())
        samples = QHBoxLayout()
        self.samples: dict[str, TitledCanvas] = {}
        self.pixel_markers: dict[str, CellMarker] = {}
        for sampler in SAMPLER_FAMILIES:
            titled = TitledCanvas(SAMPLER_NAMES[sampler], "", minimum=150)
            titled.title.setStyleSheet(f"color: {COLORS[sampler]}; font-size: 13pt; font-weight: bold;")
            watch_clicks(titled.canvas, self._on_pixel)
            self.samples[sampler] = titled
            self.pixel_markers[sampler] = CellMarker(titled.canvas, size=4)
            samples.addWidget(titled, 1)
        layout.addLayout(samples, 3)
        layout.addLayout(self._paths_row(), 4)
        bottom = QHBoxLayout()
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setToolTip("Save the samplers' final samples side by side with the recipe "
                                      "(as playground flow-compare writes)")
        self.load_button = QPushButton("Load PNG…")
        self.load_button.setToolTip("Restore seed, steps, prompt and w from a flow-compare PNG")
        bottom.addWidget(self.info, 1)
        bottom.addWidget(self.export_button)
        self.video_button = export_button("Every sampler's x_t, decoded, step by step side by side as an MP4 or GIF "
                                          "(step, noise levels and w in a corner)")
        self.video_button.clicked.connect(self.export_video)
        bottom.addWidget(self.video_button)
        bottom.addWidget(self.load_button)
        layout.addLayout(bottom)

    def _controls(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.seed_field = NumberField("seed", checks.seed, 0, width=100,
                                      tooltip=f"The seed of the shared x_T ~ N(0, I): {checks.seed.describe()}")
        self.steps_slider = QSlider(Qt.Orientation.Horizontal)
        self.steps_slider.setRange(1, MAX_STEPS)
        self.steps_slider.setValue(DEFAULT_STEPS)
        self.steps_slider.setToolTip("Steps of every sampler (Heun evaluates the network twice per step)")
        self.steps_label = QLabel()
        self.steps_label.setMinimumWidth(64)
        self.prompt_edit = QLineEdit()
        self.prompt_edit.setPlaceholderText("no prompt (unconditional)")
        self.prompt_edit.setToolTip('Guide every run toward a prompt, e.g. "a red circle at the top left"')
        self.spacing_box = QComboBox()
        self.spacing_box.addItems(SPACINGS)
        self.spacing_box.setToolTip("Where DDPM/DDIM put their steps. leading (the samplers' default) starts a "
                                    "short run below t = T: one leading step is a step at t = 0 that returns x_T. "
                                    "trailing starts at t = T - 1, pure noise as for the flow, where an epsilon "
                                    "model's predicted x0 divides by sqrt(alpha-bar) ~ 5e-5 and blows up")
        self.w_field = NumberField("w", checks.guidance_scale, 3.0, step=0.5, width=56,
                                   tooltip="classifier-free guidance scale w (with a prompt)")
        for widget in (QLabel("seed"), self.seed_field, QLabel("steps"), self.steps_slider, self.steps_label,
                       self.spacing_box, QLabel("prompt"), self.prompt_edit, QLabel("w"), self.w_field):
            row.addWidget(widget)
        row.setStretch(3, 2)
        row.setStretch(7, 2)
        self._show_steps(DEFAULT_STEPS)
        self.steps_slider.valueChanged.connect(self._on_steps)
        self.seed_field.editingFinished.connect(self.request)
        self.prompt_edit.editingFinished.connect(self.request)
        self.w_field.editingFinished.connect(self.request)
        self.spacing_box.currentTextChanged.connect(lambda _: self.request())
        return row

    def _paths_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        grid_box = QWidget()
        grid = QGridLayout(grid_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        self.noise_canvases: list[ImageCanvas] = []
        self.noise_markers: list[CellMarker] = []
        for c in range(4):
            canvas = ImageCanvas(f"x_T channel {c}", minimum=96)
            watch_clicks(canvas, lambda r, k, c=c: self.set_cell(c, r, k))
            self.noise_canvases.append(canvas)
            self.noise_markers.append(CellMarker(canvas))
            grid.addWidget(canvas, c // 2, c % 2)
        grid_box.setToolTip("The shared initial noise, channel by channel: click a cell to follow its value")
        row.addWidget(grid_box, 2)
        self.plot = pg.PlotWidget(background=BACKGROUND)
        self.plot.setMinimumHeight(200)
        self.plot.invertX(True)  # time runs left to right: from noise (1) to the sample (0)
        self.plot.setLabel("bottom", "noise level (1 = pure noise, 0 = the sample)", color="#c8c8c8")
        self.plot.setLabel("left", "latent value", color="#c8c8c8")
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # latent values, not "x0.001" units
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.addLegend(offset=(-4, 4), labelTextColor="#e6e6e6", brush=pg.mkBrush(22, 23, 26, 200))
        self.curves = {s: self.plot.plot(pen=pg.mkPen(COLORS[s], width=2), symbol="o", symbolSize=4,
                                         symbolBrush=COLORS[s], symbolPen=None, name=SAMPLER_NAMES[s])
                       for s in SAMPLER_FAMILIES}
        row.addWidget(self.plot, 5)
        return row

    # --- settings and requests ---------------------------------------------------------------

    def _show_steps(self, steps: int) -> None:
        self.steps_label.setText(f"{steps} step{'s' if steps > 1 else ''}")

    def _on_steps(self, steps: int) -> None:
        self._show_steps(steps)
        self.request()

    def settings(self) -> tuple[int, int, str, float, str]:
        """(seed, steps, prompt, w, spacing) as typed; ValueError with a message when one is not valid."""
        seed = int(self.seed_field.value())
        prompt = self.prompt_edit.text().strip()
        if prompt:
            parse_prompt(prompt)
        w = float(self.w_field.value()) if prompt else 1.0
        return seed, self.steps_slider.value(), prompt, w, self.spacing_box.currentText()

    def on_model(self) -> None:
        self._cache.clear()
        self.paths, self.noise, self.shown_key = [], None, None
        for titled in self.samples.values():
            titled.set_image(None)
            titled.set_caption("")
        for canvas in self.noise_canvases:
            canvas.set_image(None)
        for curve in self.curves.values():
            curve.setData([], [])
        self.info.setText("Computed when this tab is shown.")

    def request(self) -> None:
        """Show the comparison for the current settings: from the cache, else run it in the worker."""
        if self.panel.loaded is None:
            return
        try:
            key = self.settings()
        except ValueError as exc:
            self.panel.report_error(str(exc))
            return
        self.panel.clear_error()
        if key in self._cache:
            self._cache.move_to_end(key)
            self._show(key, *self._cache[key])
            return
        seed, steps, prompt, w, spacing = key
        partners, picked = self.panel.partners, self.panel.loaded

        def work(ctx: JobContext):
            models = partners.compared(picked)
            if not models:
                return key, None
            total = steps * sum(SAMPLER_FAMILIES[s] in models for s in SAMPLER_FAMILIES)
            done = [0]

            def on_step() -> None:
                done[0] += 1
                ctx.progress(done[0], total)

            paths = compare({f: m.model for f, m in models.items()}, steps, seed, prompt=prompt, guidance_scale=w,
                            spacing=spacing, on_step=on_step)
            return key, (paths, shared_noise(next(iter(models.values())).model, seed), models)

        def remote(ctx: JobContext, connection):
            """`work` on the connected model server, one sampler's path a job (gui/remote_worker.py)."""
            models = partners.compared(picked)
            if not models:
                return key, None
            for m in models.values():  # the shipped partners are the server's too, when it has their weights
                remember(m.model, m.path)
                served_id(connection, m.model)  # NotServed before anything runs: then all of it runs here
            total = steps * sum(SAMPLER_FAMILIES[s] in models for s in SAMPLER_FAMILIES)
            done = [0]

            def on_step() -> None:
                done[0] += 1
                ctx.progress(done[0], total)

            paths = []
            for sampler, family in SAMPLER_FAMILIES.items():
                if family in models:
                    paths.append(remote_sampler_path(connection, models[family].model, sampler, steps, seed,
                                                     prompt=prompt, guidance_scale=w, spacing=spacing,
                                                     on_step=on_step, stopping=lambda: ctx.cancelled))
                    ctx.check()
            return key, (paths, shared_noise(next(iter(models.values())).model, seed), models)

        work.remote = remote
        self.panel.submit(work, channel="flow", on_result=self._on_result, label="Flow vs diffusion",
                          cancel_running=True)

    def _on_result(self, result) -> None:
        key, value = result
        if value is None:
            for sampler, titled in self.samples.items():
                titled.set_image(None)
                titled.set_caption(f"no {SAMPLER_FAMILIES[sampler]} checkpoint")
            self.info.setText("No dit or sit checkpoint to compare: train one (playground train dit / sit) "
                              "or open one in the model picker.")
            return
        self._cache[key] = value
        while len(self._cache) > CACHE_RUNS:
            self._cache.popitem(last=False)
        self._show(key, *value)

    # --- drawing -------------------------------------------------------------------------------

    def _show(self, key: tuple, paths: list[SamplerPath], noise: np.ndarray, models: dict) -> None:
        self.shown_key, self.paths, self.noise, self.models = key, paths, noise, models
        by_sampler = {p.sampler: p for p in paths}
        for sampler, titled in self.samples.items():
            path = by_sampler.get(sampler)
            if path is None:
                titled.set_image(None)
                titled.set_caption(f"no {SAMPLER_FAMILIES[sampler]} checkpoint")
                continue
            titled.set_image(path.image)
            titled.set_caption(f"straightness {path.straightness:.3f} · {path.evaluations} evals")
        for c, canvas in enumerate(self.noise_canvases):
            canvas.set_image(channel_image(noise[c]))
        self.draw_paths()

    def export_video(self) -> None:
        """"Export video…": the shown walks decoded step by step (on the panel's worker)."""
        from ....core.latent_diffusion.path_animation import FRAME_SCALE, path_frames

        if not self.paths or self.shown_key is None:
            self.panel.report_error("nothing to export yet: the comparison is still being computed")
            return
        paths, models, (seed, _, prompt, w, _) = list(self.paths), dict(self.models), self.shown_key
        w = float(w) if prompt else None  # w steers toward a prompt: without one it does nothing
        recipe = self.panel.recipe() | {"picture": "flow-compare-animation"}
        h, width = paths[0].image.shape[:2]
        blank = labelled_grid(np.zeros((1, len(paths), h, width, 3), np.uint8), [p.name for p in paths], [""],
                              FRAME_SCALE)
        natural = (blank.shape[1], blank.shape[0])
        make = lambda ctx: path_frames(paths, {f: m.model for f, m in models.items()}, w)  # noqa: E731
        ask_video(self.panel, "the samplers' walks", f"flow-compare-seed{seed}", natural,
                  len(paths[0].latents), frames_writer(make, recipe, hold_last=1.5, corner="bottom-left"), fps=4)

    def set_cell(self, channel: int, row: int, col: int) -> None:
        self.cell = (channel, row, col)
        self.draw_paths()

    def _on_pixel(self, y: int, x: int) -> None:
        """A pixel of a sample: follow the latent cell it decodes from (each cell paints a 4x4 block)."""
        if self.noise is None or not self.paths:
            return
        factor = max(1, self.paths[0].image.shape[0] // self.noise.shape[1])
        self.set_cell(self.cell[0], y // factor, x // factor)

    def draw_paths(self) -> None:
        channel, row, col = self.cell
        for c, marker in enumerate(self.noise_markers):
            marker.show_cell(row if c == channel else None, col)
        for marker in self.pixel_markers.values():
            marker.show_cell(row, col)
        by_sampler = {p.sampler: p for p in self.paths}
        parts = []
        for sampler, curve in self.curves.items():
            path = by_sampler.get(sampler)
            if path is None:
                curve.setData([], [])
                continue
            curve.setData(path.levels, path.value_path(channel, row, col))
            parts.append(f"{path.name} {path.deviation(channel, row, col):.3f}")
        if self.paths:
            models = " and ".join(f"{m.name} ({f})" for f, m in sorted(self.models.items()))
            self.info.setText(f"{models}. The value at channel {channel}, row {row}, column {col}: largest distance "
                              f"of its path from the chord between its ends: " + " · ".join(parts))
