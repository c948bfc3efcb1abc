"""Token by token: the grid fills cell by cell as the transformer writes it, the image decoded after
every token; beside it the distribution over codes for the next cell (or a clicked one) with its
entropy; Generate / Pause / Step one token / Stop, the playback speed, and a picker of the whole
codebook, likeliest first, to write a code into a cell by hand and let the model go on from there.

The run lives in the panel's worker (`session.TokenSession`, one job at a time on the "tokens"
channel); the GUI gets frames by signal and never waits on the model. Moving temperature, top-k,
top-p or w re-shapes the shown distribution from the frame's log-probabilities (no model call);
the next token is drawn with the new settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ....core.checkpoints import LoadedModel
from ....core.codebook.analysis import codebook_atlas
from ....core.data.shapes import PromptError
from ....core.provenance import picture_recipe
from ....core.serving.remote_tokens import remote_codebook_atlas
from ....core.tokens.animation import FRAME_SCALE, fill_frames
from ....core.tokens.sampling import TokenSettings
from ...twins import remotable
from ...widgets.titled import SMALL_TITLE, SUBTITLE_STYLE, TITLE_STYLE
from ...widgets.atlas import CodebookAtlas
from ...widgets.video_export import ask_video, export_button, frames_writer
from .distribution import DistributionBars
from .grid_canvas import TokenCanvas
from .session import LiveControls, TokenFrame, TokenSession, play_job, unwritten_mask

if TYPE_CHECKING:
    from .panel import TokensPanel

SPEEDS = ((2, "2 tokens/s"), (8, "8 tokens/s"), (32, "32 tokens/s"), (0, "as fast as it can"))
DEFAULT_SPEED = 1  # 8 tokens/s: a 64-cell image in 8 s, slow enough to watch


def cell_name(cell: int, g: int) -> str:
    return f"cell {cell} (row {cell // g}, col {cell % g})"


class TokenTab(QWidget):
    frame_shown = Signal()  # a frame reached the screen
    run_ended = Signal()    # a play or a step returned (done, paused or stopped)

    def __init__(self, panel: TokensPanel, parent: QWidget | None = None):
        super().__init__(parent)
        self.panel = panel
        self.session: TokenSession | None = None  # used only inside worker jobs
        self.live = LiveControls()
        self.frame: TokenFrame | None = None
        self.picked: int | None = None  # a cell clicked to pick its code; None: show the next cell
        self.playing = False
        self.stopped = False
        self.tiles: np.ndarray | None = None
        self._picker_key: tuple | None = None  # what the atlas's order was built for
        self._build()

    # --- layout --------------------------------------------------------------------------------------

    def _build(self) -> None:
        root = QHBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.setSpacing(12)
        left = QVBoxLayout()
        self.grid_title = QLabel("Press Generate")
        self.grid_title.setStyleSheet(TITLE_STYLE)
        self.canvas = TokenCanvas(minimum=380)
        self.grid_caption = QLabel("yellow: the next cell · shaded: not written yet · click a cell to pick its code")
        self.grid_caption.setStyleSheet(SUBTITLE_STYLE)
        left.addWidget(self.grid_title)
        left.addWidget(self.canvas, 1)
        left.addWidget(self.grid_caption)
        middle = QVBoxLayout()
        self.cell_title = QLabel("The next cell's distribution")
        self.cell_title.setStyleSheet(SMALL_TITLE)
        self.entropy_label = QLabel("entropy –")
        self.entropy_label.setStyleSheet("color: #f2f2f2; font-size: 17pt; font-family: monospace;")
        self.bars = DistributionBars(rows=12)
        middle.addWidget(self.cell_title)
        middle.addWidget(self.entropy_label)
        middle.addWidget(self.bars, 1)
        right = QVBoxLayout()
        buttons = QGridLayout()
        self.generate_button = QPushButton("Generate")
        self.generate_button.setStyleSheet("QPushButton { font-weight: bold; padding: 6px 14px; }")
        self.pause_button = QPushButton("Pause")
        self.step_button = QPushButton("Step one token")
        self.stop_button = QPushButton("Stop")
        for i, b in enumerate((self.generate_button, self.pause_button, self.step_button, self.stop_button)):
            b.setMinimumHeight(34)
            buttons.addWidget(b, i // 2, i % 2)
        self.video_button = export_button("The grid filling cell by cell as an MP4 or GIF, each frame's token count, "
                                          "prompt and w in a corner")
        self.video_button.clicked.connect(self.export_video)
        buttons.addWidget(self.video_button, 2, 0, 1, 2)
        self.speed_box = QComboBox()
        for rate, text in SPEEDS:
            self.speed_box.addItem(text, rate)
        self.speed_box.setCurrentIndex(DEFAULT_SPEED)
        speed_row = QHBoxLayout()
        speed_row.addWidget(QLabel("playback"))
        speed_row.addWidget(self.speed_box, 1)
        self.picker_title = QLabel("Whole codebook (click a cell first)")
        self.picker_title.setStyleSheet(SMALL_TITLE)
        self.picker_title.setWordWrap(True)
        self.atlas = CodebookAtlas(tile_px=30)
        self.atlas.setToolTip("Every code, likeliest first for the picked cell: click one to write it there")
        self.picker_hint = QLabel("")
        self.picker_hint.setStyleSheet(SUBTITLE_STYLE)
        self.picker_hint.setWordWrap(True)
        right.addLayout(buttons)
        right.addLayout(speed_row)
        right.addSpacing(6)
        right.addWidget(self.picker_title)
        right.addWidget(self.atlas, 1)
        right.addWidget(self.picker_hint)
        root.addLayout(left, 5)
        root.addLayout(middle, 4)
        root.addLayout(right, 3)

        self.generate_button.clicked.connect(self.generate)
        self.pause_button.clicked.connect(self.pause_or_continue)
        self.step_button.clicked.connect(self.step)
        self.stop_button.clicked.connect(self.stop)
        self.speed_box.currentIndexChanged.connect(lambda _: self._set_speed())
        self.canvas.cell_clicked.connect(self.pick_cell)
        self.bars.code_clicked.connect(self.choose_code)
        self.atlas.code_selected.connect(self.choose_code)
        self._set_speed()
        self._sync_buttons()

    # --- model -----------------------------------------------------------------------------------------

    def on_model(self, loaded: LoadedModel) -> None:
        self.session = TokenSession(loaded.model)
        self.frame, self.picked, self.playing, self.stopped, self.tiles = None, None, False, False, None
        self.canvas.set_image(None)
        self.bars.set_tiles(None)
        self.bars.clear()
        self.atlas.clear()
        self.grid_title.setText("Press Generate")
        self._sync_buttons()

    def activate(self) -> None:
        """Decode one atlas tile per code, then write a first image."""
        model = self.panel.loaded.model
        atlas = remotable(lambda ctx: codebook_atlas(model.vq), lambda ctx, server: remote_codebook_atlas(server, model))
        self.panel.submit(atlas, channel="atlas", on_result=self._on_tiles)
        if not self.panel.requested("tokens"):  # a restored recipe's grid may be on its way
            self.generate()

    def _on_tiles(self, tiles: np.ndarray) -> None:
        self.tiles = tiles
        self.bars.set_tiles(tiles)
        self._show_distribution()

    # --- running (worker) ------------------------------------------------------------------------------

    def _set_speed(self) -> None:
        rate = self.speed_box.currentData()
        self.live.delay_s = 1.0 / rate if rate else 0.0

    def settings_changed(self) -> None:
        """A slider moved: the next token uses it; the shown distribution re-shapes now (no model call)."""
        try:
            self.live.settings = self.panel.token_settings()
        except ValueError:
            return
        self._show_distribution()

    def _run(self, start, max_tokens: int | None, label: str) -> None:
        """Submit a job on the "tokens" channel: `start(session)` (or nothing), then play."""
        work = play_job(self.session, self.live, start, max_tokens)  # with its remote twin
        self.playing = max_tokens is None
        self.stopped = False
        self._sync_buttons()
        self.panel.submit(work, channel="tokens", on_result=self._on_ended, on_progress=lambda *a: self._on_progress(a[2]),
                          on_error=self._on_failed, cancel_running=label in ("generate", "branch"))

    def generate(self) -> None:
        """A new run from cell 0 with the prompt, settings and seed shown."""
        if self.session is None:
            return
        try:
            prompt, settings, seed = self.panel.prompt_text(), self.panel.token_settings(), self.panel.seed()
        except (PromptError, ValueError) as exc:
            self.panel.report_error(str(exc))
            return
        self.live.settings, self.live.paused, self.picked = settings, False, None
        self._run(lambda session: session.start(prompt, settings, seed), None, "generate")

    def start_from(self, prompt: str, settings: TokenSettings, seed: int, tokens: np.ndarray,
                   branches: tuple[tuple[int, int], ...]) -> None:
        """Show a finished grid (a restored recipe's tokens) as a run of its own."""
        self.live.settings, self.live.paused, self.picked = settings, True, None
        self._run(lambda session: session.start(prompt, settings, seed, prefix=tokens, branches=branches), 0,
                  "generate")

    def fill_cell_by_cell(self, tokens: np.ndarray | None = None) -> bool:
        """Replay a grid (default: the finished one shown) from an empty grid, one cell at a time at the
        playback speed, with the model's distribution for each cell beside it; False if there is none."""
        frame = self.frame
        if tokens is None and (frame is None or not frame.done):
            return False
        grid = np.asarray(frame.tokens if tokens is None else tokens, np.int64).reshape(-1)
        prompt, seed = (frame.prompt, frame.seed) if frame is not None else (self.panel.prompt_text(), self.panel.seed())
        settings = self.live.settings

        def start(session: TokenSession) -> None:
            session.start(prompt, settings, seed)
            session.forced = grid

        self.panel.tabs.setCurrentWidget(self)
        self.live.paused, self.picked = False, None
        self._run(start, None, "generate")
        return True

    def pause_or_continue(self) -> None:
        if self.playing:
            self.live.paused = True  # the job returns within one token, with the exact state as its result
            return
        if self.frame is None or self.frame.done:
            self.generate()
            return
        self.live.paused = False
        self._run(None, None, "continue")

    def step(self) -> None:
        """Write exactly one more cell (a running play pauses first; with no run yet, a new one's first cell)."""
        if self.session is None or (self.frame is not None and self.frame.done and not self.playing):
            return
        self.live.paused, self.picked = True, None
        if self.frame is None:
            try:
                prompt, settings, seed = self.panel.prompt_text(), self.panel.token_settings(), self.panel.seed()
            except (PromptError, ValueError) as exc:
                self.panel.report_error(str(exc))
                return
            self.live.settings = settings
            self._run(lambda session: session.start(prompt, settings, seed), 1, "generate")
            return
        self._run(None, 1, "step")

    def stop(self) -> None:
        """Halt within one token; the cells written stay, Continue picks up from there."""
        if self.playing:
            self.live.paused = True
        self.stopped = True
        self._sync_buttons()

    def _on_ended(self, frame: TokenFrame) -> None:
        self.playing = False
        self.show_frame(frame)
        self.panel.clear_error()
        self.run_ended.emit()

    def _on_failed(self, message: str) -> None:
        self.playing = False
        self._sync_buttons()
        self.panel.report_error(message)

    # --- picking a code by hand (a branch) -------------------------------------------------------------

    def pick_cell(self, cell: int) -> None:
        frame = self.frame
        if frame is None:
            return
        g = frame.grid_size
        if cell > frame.position or not frame.has_distribution(cell):
            self.panel.report(f"{cell_name(cell, g)} is not written yet: the model writes in raster order "
                              f"(the next is {cell_name(frame.position, g)}); step up to it first")
            return
        self.live.paused = True  # look at it while nothing moves
        self.picked = cell
        self._show_distribution()
        self._show_grid()

    def choose_code(self, code: int) -> None:
        """Write `code` into the picked cell (or the next one) and let the model continue from there."""
        frame = self.frame
        if frame is None or self.session is None:
            return
        cell = self.picked if self.picked is not None else frame.position
        if cell >= frame.cells:
            return
        self.picked = None
        self.live.paused = False
        self._run(lambda session: session.branch(cell, code, self.live.settings), None, "branch")
        self.panel.report(f"Wrote code {code} into {cell_name(cell, frame.grid_size)}; the model continues from there")

    # --- drawing ---------------------------------------------------------------------------------------

    def _on_progress(self, frame: TokenFrame) -> None:
        """Draw a frame now (not at the next paint) and tell the waiting play loop (see `session.py`)."""
        self.show_frame(frame)
        for widget in (self.canvas.viewport(), self.bars):
            widget.repaint()
        self.live.drawn.set()

    def show_frame(self, frame: TokenFrame) -> None:
        self.frame = frame
        self._show_grid()
        self._show_distribution()
        self._sync_buttons()
        self.frame_shown.emit()

    @property
    def shown_cell(self) -> int | None:
        """The cell whose distribution is shown: the picked one, else the next one, else the last written."""
        frame = self.frame
        if frame is None:
            return None
        if self.picked is not None:
            return self.picked
        return frame.position if not frame.done else frame.cells - 1

    def _show_grid(self) -> None:
        frame = self.frame
        if frame is None:
            return
        self.canvas.show_grid(frame.image, unwritten_mask(frame), None if frame.done else frame.position, self.picked)
        state = ("done" if frame.done else "stopped" if self.stopped else
                 "writing…" if self.playing else "paused")
        self.grid_title.setText(f"{frame.position} of {frame.cells} cells written · {state}")

    def shown_distribution(self) -> tuple[np.ndarray, float] | None:
        """The shown cell's distribution under the sliders' settings, and its entropy (bits); no model call."""
        frame, cell = self.frame, self.shown_cell
        if frame is None or cell is None or not frame.has_distribution(cell):
            return None
        return frame.distribution(cell, self.live.settings)

    def _show_distribution(self) -> None:
        frame, cell = self.frame, self.shown_cell
        shown = self.shown_distribution()
        if shown is None:
            self.bars.clear()
            self.entropy_label.setText("entropy –")
            return
        probabilities, entropy = shown
        model_p, _ = frame.distribution(cell, TokenSettings(guidance=self.live.settings.guidance))
        order = np.argsort(-model_p, kind="stable")
        written = int(frame.tokens[cell]) if frame.tokens[cell] >= 0 else None
        self.bars.show_distribution(order, probabilities, written)
        self._show_picker()
        g, k = frame.grid_size, len(probabilities)
        kind = "Picked" if self.picked is not None else "Next" if not frame.done else "Last"
        self.cell_title.setText(f"{kind}: {cell_name(cell, g)}" + (f", wrote code {written}" if written is not None else ""))
        self.entropy_label.setText(f"entropy {entropy:.2f} bits  (uniform: {np.log2(k):.0f})")

    def _show_picker(self) -> None:
        """The whole codebook, likeliest first for the shown cell; rebuilt only while nothing plays and only
        when its order can change (another cell or w: temperature, top-k and top-p keep the order)."""
        frame, cell = self.frame, self.shown_cell
        if self.playing or frame is None or cell is None or self.tiles is None or not frame.has_distribution(cell):
            self.picker_title.setText("Whole codebook: pause, or click a cell, to pick a code")
            self._picker_key = None
            return
        probabilities, _ = frame.distribution(cell, self.live.settings)
        model_p, _ = frame.distribution(cell, TokenSettings(guidance=self.live.settings.guidance))
        written = int(frame.tokens[cell]) if frame.tokens[cell] >= 0 else None
        key = (frame.run, frame.position, cell, written, self.live.settings.guidance, id(self.tiles))
        if key != self._picker_key:
            self._picker_key = key
            self.atlas.set_tiles(self.tiles, np.argsort(-model_p, kind="stable"), None, selected=written)
        for row, code in enumerate(self.atlas.codes):
            self.atlas.item(row).setToolTip(f"code {code}: p = {probabilities[code]:.2%} "
                                            f"(the model's own: {model_p[code]:.2%})")
        self.picker_title.setText(f"Pick a code for {cell_name(cell, frame.grid_size)}")
        self.picker_hint.setText("likeliest first; the cells before it stay, the model writes on from it")

    def export_video(self) -> None:
        """"Export video…": the shown run's cells written one by one, decoded on the panel's worker."""
        frame, loaded = self.frame, self.panel.loaded
        if frame is None or frame.position == 0 or loaded is None:
            self.panel.report_error("nothing to export yet: generate some tokens first")
            return
        h, w = frame.image.shape[:2]
        recipe = picture_recipe(loaded, "token_fill", prompt=frame.prompt, seed=frame.seed, **frame.settings.to_recipe(),
                                tokens=frame.grid().tolist(), branches=[list(b) for b in frame.branches])
        make = lambda ctx: fill_frames(loaded.model, frame.tokens, frame.prompt, frame.settings.guidance)  # noqa: E731
        ask_video(self.panel, "the token-by-token generation", f"tokens-seed{frame.seed}",
                  (w * FRAME_SCALE, h * FRAME_SCALE), frame.position + 1, frames_writer(make, recipe, hold_last=1.0))

    def _sync_buttons(self) -> None:
        has_model = self.session is not None
        self.generate_button.setEnabled(has_model)
        self.pause_button.setText("Pause" if self.playing else "Continue")
        self.pause_button.setEnabled(has_model and (self.playing or (self.frame is not None and not self.frame.done)))
        self.step_button.setEnabled(has_model and (self.frame is None or not self.frame.done or self.playing))
        self.stop_button.setEnabled(self.playing)
        self.picker_hint.setVisible(not self.playing and self.frame is not None)
