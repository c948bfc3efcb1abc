"""Interpolate: two end points taken from the current z, a strip between them, and a slider
that walks z from A to B (spherical keeps a prior sample's norm; linear cuts through the middle)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout

from ....core.checkpoints import LoadedModel
from ....core.latent.animation import interpolation_frames, interpolation_ts
from ....core.latent.sampling import decode, interpolate
from ....core.provenance import model_header
from ...widgets.frame_strip import FrameStrip
from ...widgets.images import ImageCanvas
from ...widgets.video_export import ask_video, export_button, frames_writer
from ...worker import JobContext
from .views import LatentView

STRIP_FRAMES = 9
ENDS = ("A", "B")


class InterpolateView(LatentView):
    def __init__(self, panel):
        super().__init__(panel)
        layout = QVBoxLayout(self)
        ends = QHBoxLayout()  # A and B small, side by side: the strip below shows them large (t = 0 and 1)
        self.endpoint_canvases: dict[str, ImageCanvas] = {}
        self.endpoints: dict[str, np.ndarray | None] = dict.fromkeys(ENDS)
        for col, name in enumerate(ENDS):
            canvas = ImageCanvas(name, minimum=96)
            canvas.setFixedSize(104, 124)
            button = QPushButton(f"{name} ← current")
            button.setToolTip(f"Use the current latent (e.g. an encoded image) as end point {name}")
            button.clicked.connect(lambda _=False, n=name: self.set_endpoint(n))
            for widget in (canvas, button) if col == 0 else (button, canvas):
                ends.addWidget(widget)
            self.endpoint_canvases[name] = canvas
        layout.addLayout(ends)
        row = QHBoxLayout()
        self.mode = QComboBox()
        self.mode.addItems(["spherical", "linear"])
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.t_label = QLabel("t = 0.00")
        row.addWidget(self.mode)
        row.addWidget(self.slider, 1)
        row.addWidget(self.t_label)
        layout.addLayout(row)
        self.strip_canvas = FrameStrip()  # frames wrap into rows: each as large as the tab allows
        layout.addWidget(self.strip_canvas, 1)
        self.hint = QLabel("Set A and B from the current z (Random, an encoded image…), then slide t.")
        self.hint.setWordWrap(True)
        self.export_button = export_button("z from A to B and back as an MP4 or GIF, each frame's t in a corner")
        self.export_button.clicked.connect(self.export_video)
        bottom = QHBoxLayout()
        bottom.addWidget(self.hint, 1)
        bottom.addWidget(self.export_button)
        layout.addLayout(bottom)
        self.slider.valueChanged.connect(self._on_slider)
        self.mode.currentTextChanged.connect(self._on_mode)

    def on_model(self, loaded: LoadedModel) -> None:
        self.endpoints = dict.fromkeys(ENDS)  # the old model's latents mean nothing to this one
        for canvas in self.endpoint_canvases.values():
            canvas.set_image(None)
        self.strip_canvas.set_frames(None)

    def set_endpoint(self, name: str) -> None:
        """Use the current latent as end point A or B (decoded afresh: the shown image may lag z)."""
        if self.panel.loaded is None:
            return
        z, model = self.panel.z.copy(), self.panel.loaded.model
        self.endpoints[name] = z

        def work(ctx: JobContext) -> np.ndarray:
            return decode(model, z)[0]

        self.panel.submit(work, channel=f"endpoint-{name}", on_result=self.endpoint_canvases[name].set_image)
        self.render_strip()

    def _on_mode(self, _mode: str) -> None:
        self.render_strip()
        self._on_slider(self.slider.value())

    def _on_slider(self, value: int) -> None:
        t = value / 100
        self.t_label.setText(f"t = {t:.2f}")
        a, b = self.endpoints["A"], self.endpoints["B"]
        if a is None or b is None:
            return
        mode = self.mode.currentText()
        self.panel.set_latent(interpolate(a, b, t, mode), source=f"the {mode} interpolation A → B at t = {t:.2f}")

    def export_video(self) -> None:
        """"Export video…": the decoded walk A → B → A, written on the panel's worker."""
        a, b, loaded = self.endpoints["A"], self.endpoints["B"], self.panel.loaded
        if a is None or b is None or loaded is None:
            self.panel.report_error("nothing to export yet: set A and B first")
            return
        mode, side = self.mode.currentText(), getattr(loaded.config, "image_size", 32)
        recipe = model_header(loaded) | {"picture": "interpolation", "mode": mode, "a": a.tolist(), "b": b.tolist(),
                                         "t": interpolation_ts().tolist()}
        ask_video(self.panel, "the interpolation", f"interpolation-{mode}", (side, side), len(recipe["t"]),
                  frames_writer(lambda ctx: interpolation_frames(loaded.model, a, b, mode), recipe), fps=20)

    def render_strip(self) -> None:
        a, b = self.endpoints["A"], self.endpoints["B"]
        if a is None or b is None or self.panel.loaded is None:
            return
        model, mode = self.panel.loaded.model, self.mode.currentText()

        ts = np.linspace(0, 1, STRIP_FRAMES)
        labels = [f"t = {t:.3g}" for t in ts]

        def work(ctx: JobContext) -> np.ndarray:
            return decode(model, interpolate(a, b, ts, mode))

        self.panel.submit(work, channel="strip", on_result=lambda frames: self.strip_canvas.set_frames(frames, labels))
