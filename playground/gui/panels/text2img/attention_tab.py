"""The Text-to-image panel's "Attention" tab: where a latent denoiser's cells look, at one step of a run.

Words (cross-attention; ldm, dit, sit): click a word of the prompt and see which latent cells
attend to it, as a heat map over the image. Cell (self-attention): click a cell on either image
and see where it looks. A step slider (0 = the noisiest step), the layer and the head (or their
means), and what the heat map lies over (the final sample, or the x0 predicted at that step).

The tab samples its own run of the panel's settings (one image, seeded as the panel's sample,
so it is the same picture) and keeps its x_t at every step; a step or mode change is one
forward of the conditional branch with the weights kept (`core.latent_diffusion.attention`),
on the panel's worker. Layer, head, word and cell choices only redraw. A pixel text-to-image
model has no attention over words (it reads one pooled prompt embedding): the tab says so.

Host wiring (the panel): `AttentionTab(panel)` and one `addTab`; the tab follows the panel's
finished renders (`panel.rendered`) and computes only when shown (`panel.tabs_shown`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QHBoxLayout, QLabel, QPushButton, QRadioButton, QSlider,
                               QVBoxLayout, QWidget)

from ....core.data.shapes import PromptError
from ....core.latent_diffusion import is_latent
from ....core.latent_diffusion.attention import AttentionMaps, AttentionRun, run_maps, sample_run
from ....core.latent_diffusion.attention_picture import overlay, word_overlays
from ....core.serving.remote_views import remote_attention_maps, remote_attention_run
from ....core.text2img.sampling import to_images
from ...widgets.cell_pick import watch_clicks
from ...widgets.images import thumbnail_icon
from ...widgets.titled import TitledCanvas
from ...worker import JobContext

if TYPE_CHECKING:
    from .panel import Text2ImgPanel

PIXEL_MODEL_NOTE = ("This model is a pixel-space U-Net: it reads the prompt as one pooled embedding added to its "
                    "time embedding, so it has no attention over prompt words. Open an ldm, dit or sit checkpoint "
                    "to see which latent cells attend to each word.")
CROSS_HINT = "the share of each cell's attention that goes to the word (bright = more)"
SELF_HINT = "where the outlined cell looks: its attention over all cells (click another)"
CANVAS_SIDE = 240
WORD_ICON = 32  # each word's button shows its map, small


class AttentionTab(QWidget):
    """Cross- and self-attention maps of the panel's latent model at a chosen step."""

    computed = Signal()  # the maps of the chosen step and mode are on screen

    def __init__(self, panel: Text2ImgPanel, parent: QWidget | None = None):
        super().__init__(parent)
        self.panel = panel
        self.run: AttentionRun | None = None
        self.maps: AttentionMaps | None = None
        self.step_image: np.ndarray | None = None  # the decoded x0 predicted at the maps' step
        self._cache: dict[tuple[int, str], tuple[AttentionMaps, np.ndarray]] = {}
        self.word = 0
        self.cell: tuple[int, int] | None = None
        self._generation = -1  # the panel's model generation the shown run belongs to
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.note = QLabel("")  # why there is nothing to show (a pixel model, an error), or that it is sampling
        self.note.setWordWrap(True)
        self.note.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.note.setStyleSheet("font-size: 12pt;")
        self.note.setVisible(False)
        layout.addWidget(self.note)
        self.body = QWidget()  # hidden for a model without attention maps
        layout.addWidget(self.body, 1)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._controls_row())
        self.words_row = QHBoxLayout()
        self.words_row.setSpacing(4)
        self.word_group = QButtonGroup(self)
        self.word_group.setExclusive(True)
        self.word_group.idClicked.connect(self.choose_word)
        words_box = QHBoxLayout()
        self.words_label = QLabel("click a word:")
        words_box.addWidget(self.words_label)
        words_box.addLayout(self.words_row)
        words_box.addStretch(1)
        layout.addLayout(words_box)
        pictures = QHBoxLayout()
        self.image_view = TitledCanvas("Sample", "click a cell: where does it look?", minimum=CANVAS_SIDE)
        self.map_view = TitledCanvas("Attention", "", minimum=CANVAS_SIDE)
        for view in (self.image_view, self.map_view):
            pictures.addWidget(view, 1)
            watch_clicks(view.canvas, self.click_pixel)
        layout.addLayout(pictures, 1)
        panel.tabs_shown.watch(self, activate=self.activate)
        panel.rendered.connect(self._follow_panel)

    def _controls_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.cross_button = QRadioButton("Words (cross-attention)")
        self.self_button = QRadioButton("Cell (self-attention)")
        self.cross_button.setChecked(True)
        self.mode_group = QButtonGroup(self)
        for button in (self.cross_button, self.self_button):
            self.mode_group.addButton(button)
            row.addWidget(button)
        self.cross_button.toggled.connect(lambda _: self._on_mode())
        self.step_slider = QSlider(Qt.Orientation.Horizontal)
        self.step_slider.setRange(0, 0)
        self.step_slider.setMinimumWidth(160)
        self.step_slider.setToolTip("The step of the run, 0 = the first (noisiest)")
        self.step_label = QLabel("step –")
        self.step_label.setMinimumWidth(130)
        self.step_slider.valueChanged.connect(lambda _: self.request_maps())
        self.layer_box, self.head_box, self.over_box = QComboBox(), QComboBox(), QComboBox()
        self.over_box.addItem("over the sample", "final")
        self.over_box.addItem("over x0 at this step", "x0")
        self.over_box.setToolTip("What the heat map lies over: the run's final sample, or the clean image "
                                 "the model predicts at the chosen step")
        for box in (self.layer_box, self.head_box, self.over_box):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            box.currentIndexChanged.connect(lambda _: self.draw())
        self.run_button = QPushButton("Run again")
        self.run_button.setToolTip("Sample the panel's current settings again and look at that run")
        self.run_button.clicked.connect(self.run_attention)
        for label, widget in (("step", self.step_slider), (None, self.step_label), ("layer", self.layer_box),
                              ("head", self.head_box), (None, self.over_box), (None, self.run_button)):
            if label:
                row.addWidget(QLabel(label))
            row.addWidget(widget, 1 if widget is self.step_slider else 0)
        return row

    # --- model and runs -----------------------------------------------------------------------

    @property
    def kind(self) -> str:
        return "cross" if self.cross_button.isChecked() else "self"

    def _latent_model(self) -> bool:
        loaded = self.panel.loaded
        return loaded is not None and is_latent(loaded.model)

    def activate(self) -> None:
        """Shown with a new model (or after the panel's run changed): run, or say why there is nothing to show."""
        if self._generation != self.panel.model_generation:  # a new model: nothing of the old one's runs holds
            self._generation = self.panel.model_generation
            self.run, self.maps, self.step_image = None, None, None
            self._cache.clear()
        latent = self._latent_model()
        self.body.setVisible(latent)
        self.run_button.setEnabled(latent)
        if not latent:
            self._set_words(())
            self.image_view.set_image(None)
            self.map_view.set_image(None)
            self._say(PIXEL_MODEL_NOTE)
            return
        self._say("")
        self.run_attention()

    def _follow_panel(self) -> None:
        """The panel finished a render (its settings may have changed): look at that run now if shown, else later."""
        if self._latent_model():
            self.panel.tabs_shown.invalidate(self)

    def run_attention(self) -> None:
        loaded = self.panel.loaded
        if loaded is None or not self._latent_model():
            return
        try:
            settings = self.panel.settings()
        except (PromptError, ValueError) as exc:
            self._say(f"Cannot run: {exc}")
            return
        model, step, kind = loaded.model, self.step_slider.value(), self.kind
        shown_steps = self.run.num_steps if self.run is not None else None

        def work(ctx: JobContext) -> tuple[AttentionRun, int, AttentionMaps | None, np.ndarray]:
            run = sample_run(model, settings, on_step=lambda done, total: ctx.progress(done, total))
            at = step if run.num_steps == shown_steps else run.num_steps // 2  # keep the step while the run's length holds
            maps, image = self._maps_of(model, run, at, kind) if run.words or kind == "self" else (None, None)
            return run, at, maps, image

        def remote(ctx: JobContext, connection) -> tuple[AttentionRun, int, AttentionMaps | None, np.ndarray]:
            """`work` on the connected model server (gui/remote_worker.py)."""
            run = remote_attention_run(connection, model, settings, on_step=ctx.progress, stopping=lambda: ctx.cancelled)
            ctx.check()
            if run is None:
                raise InterruptedError("stopped")
            at = step if run.num_steps == shown_steps else run.num_steps // 2
            maps, image = (remote_attention_maps(connection, model, run, at, kind) if run.words or kind == "self"
                           else (None, None))
            return run, at, maps, image

        work.remote = remote
        self.panel.submit(work, channel="attention-run", label="Attention: sampling", cancel_running=True,
                          on_result=self._on_run, on_error=self._on_error)

    @staticmethod
    def _maps_of(model: Any, run: AttentionRun, step: int, kind: str) -> tuple[AttentionMaps, np.ndarray]:
        """Worker side: the maps at `step` and the image of the x0 predicted there."""
        return run_maps(model, run, step, kind), to_images(model, run.pred_x0[step])[0]

    def _on_run(self, result: tuple[AttentionRun, int, AttentionMaps | None, np.ndarray | None]) -> None:
        run, step, maps, image = result
        self.run = run
        self._cache.clear()
        self._set_words(run.words)
        self.step_slider.blockSignals(True)
        self.step_slider.setRange(0, run.num_steps - 1)
        self.step_slider.setValue(step)
        self.step_slider.blockSignals(False)
        if maps is not None:
            self._cache[(step, maps.kind)] = (maps, image)
            if maps.kind == self.kind:
                self._show_maps(maps, image)
                return
        if self.kind == "cross" and not run.words:  # an empty prompt: no words; its cells still look somewhere
            self.maps, self.step_image = None, None
            self._say("The empty prompt has no words to attend to: look at self-attention (Cell).")
            self.image_view.set_image(run.final)
            self.map_view.set_image(None)
            return
        self.request_maps()  # the mode changed while it sampled

    def _on_error(self, message: str) -> None:
        self._say(f"Cannot show attention: {message}")

    def request_maps(self) -> None:
        """The maps of the slider's step and the chosen mode: cached, or one forward on the worker."""
        run = self.run
        step = self.step_slider.value()
        self._show_step_label(step)
        if run is None or self.panel.loaded is None:
            return
        kind = self.kind
        if kind == "cross" and not run.words:
            return
        if (step, kind) in self._cache:
            self._show_maps(*self._cache[(step, kind)])
            return
        model = self.panel.loaded.model

        def work(ctx: JobContext) -> tuple[AttentionRun, int, str, AttentionMaps, np.ndarray]:
            return (run, step, kind, *self._maps_of(model, run, step, kind))

        work.remote = lambda ctx, connection: (run, step, kind, *remote_attention_maps(connection, model, run, step, kind))
        self.panel.submit(work, channel="attention-maps", cancel_running=True, on_result=self._on_maps,
                          on_error=self._on_error)

    def _on_maps(self, result: tuple[AttentionRun, int, str, AttentionMaps, np.ndarray]) -> None:
        run, step, kind, maps, image = result
        if run is not self.run:  # maps of a run since replaced
            return
        self._cache[(step, kind)] = (maps, image)
        if step == self.step_slider.value() and kind == self.kind:
            self._show_maps(maps, image)

    def _show_maps(self, maps: AttentionMaps, image: np.ndarray) -> None:
        previous = self.maps
        self.maps, self.step_image = maps, image
        if previous is None or [l.name for l in previous.layers] != [l.name for l in maps.layers]:
            self._fill_choices(maps)
        settings = self.run.settings
        self.image_view.set_caption(f"click a cell: where does it look?\n{settings.sampler.upper()}-{settings.steps}"
                                    f" · w = {settings.guidance_scale:g} · seed {settings.seed}")
        if self.cell is None or max(self.cell) >= maps.side:
            self.cell = (maps.side // 2, maps.side // 2)
        self._say("")
        self.draw()
        self.computed.emit()

    def _say(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def _on_mode(self) -> None:
        self.request_maps()

    # --- choices ------------------------------------------------------------------------------

    def _fill_choices(self, maps: AttentionMaps) -> None:
        for box, items in ((self.layer_box, [(f"{l.name} ({l.grid}×{l.grid})", i) for i, l in enumerate(maps.layers)]),
                           (self.head_box, [(f"head {h + 1}", h) for h in range(maps.heads)])):
            box.blockSignals(True)
            box.clear()
            box.addItem("mean of layers" if box is self.layer_box else "mean of heads", None)
            for text, data in items:
                box.addItem(text, data)
            box.blockSignals(False)

    def _set_words(self, words: tuple[str, ...]) -> None:
        for button in self.word_group.buttons():
            self.word_group.removeButton(button)
            button.deleteLater()
        self.word = min(self.word, max(len(words) - 1, 0))
        for i, word in enumerate(words):
            button = QPushButton(word)
            button.setCheckable(True)
            button.setIconSize(QSize(WORD_ICON, WORD_ICON))
            button.setChecked(i == self.word)
            button.setStyleSheet("QPushButton { font-size: 13pt; padding: 3px 10px; } "
                                 "QPushButton:checked { background: #3d6fb6; color: white; }")
            self.word_group.addButton(button, i)
            self.words_row.addWidget(button)
        self.words_label.setVisible(bool(words))

    def choose_word(self, index: int) -> None:
        """Show word `index`'s map (switching to cross-attention)."""
        self.word = index
        button = self.word_group.button(index)
        if button is not None and not button.isChecked():
            button.setChecked(True)
        if not self.cross_button.isChecked():
            self.cross_button.setChecked(True)  # requests the cross maps
        else:
            self.draw()

    def click_pixel(self, row: int, col: int) -> None:
        """A click on an image: its cell becomes the one whose self-attention is shown."""
        maps = self.maps
        side = maps.side if maps is not None else 8
        pixels = self.run.final.shape[0] if self.run is not None else 32
        self.choose_cell(row * side // pixels, col * side // pixels)

    def choose_cell(self, row: int, col: int) -> None:
        self.cell = (row, col)
        if not self.self_button.isChecked():
            self.self_button.setChecked(True)
        else:
            self.draw()

    # --- drawing (GUI thread: numpy on 8x8 maps, no model) -------------------------------------

    def _show_step_label(self, step: int) -> None:
        run = self.run
        self.step_label.setText(f"step {step} / {run.num_steps - 1}   t = {run.timesteps[step]}" if run else "step –")

    def draw(self) -> None:
        maps, run = self.maps, self.run
        if maps is None or run is None or self.step_image is None:
            return
        self._show_step_label(self.step_slider.value())
        layer, head = self.layer_box.currentData(), self.head_box.currentData()
        base = run.final if self.over_box.currentData() == "final" else self.step_image
        where = (f"{maps.layers[layer].name}" if layer is not None else f"mean of {len(maps.layers)} layers") + " · " + (
            f"head {head + 1}" if head is not None else f"mean of {maps.heads} heads")
        if maps.kind == "cross":
            tiles = word_overlays(maps, base, layer, head)
            for i, tile in enumerate(tiles):
                button = self.word_group.button(i)
                if button is not None:
                    button.setIcon(thumbnail_icon(tile, 1))
            word_map = maps.word_map(self.word, layer, head)
            self.map_view.title.setText(f"“{maps.words[self.word]}”")
            self.map_view.set_caption(f"{CROSS_HINT}\n{where} · t = {maps.t} · peak {word_map.max():.2f}")
            self.map_view.set_image(tiles[self.word])
            self.image_view.set_image(base)
        else:
            cell_map = maps.cell_map(*self.cell, layer, head)
            self.map_view.title.setText(f"cell {self.cell[0]},{self.cell[1]} looks at")
            self.map_view.set_caption(f"{SELF_HINT}\n{where} · t = {maps.t} · peak {cell_map.max():.2f}")
            self.map_view.set_image(overlay(base, cell_map, cell=self.cell))
            self.image_view.set_image(overlay(base, np.zeros_like(cell_map), cell=self.cell, alpha=0.0))
