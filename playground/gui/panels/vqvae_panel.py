"""The codebook browser for VQ-VAE: the codebook as tiles, its usage, its map, and an image's token grid
to paint on.

A VQ-VAE stores an image as a small grid of integers, each naming one of K learned code
vectors; the decoder paints the image from the grid. Here the grid is drawn over the
image, any cell can be repainted with any code (or one code replaced by another
everywhere), and the decoder redraws at once.

Two workers: the window's worker (status-bar progress and Cancel) does the long work,
encoding a whole data set for usage statistics, which takes seconds and tens of seconds
on a busy two-core machine; the panel's own `live` worker does the short work (encode one
image, decode the grid after each brush step, coalesced on its "decode" channel), so a
brush stroke never waits behind the data set. The edit history is headless
(`core.codebook.token_editor.TokenGridEditor`); this file wires widgets to it and to the worker.
Nothing is computed for a model until the tab is shown.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton, QSlider, QSpinBox, QSplitter,
    QTabWidget, QVBoxLayout, QWidget,
)

from ...core.checkpoints import LoadedModel
from ...core.data import ImageSet, load_dataset, load_image_file
from ...core.images import save_png, upscale
from ...core.codebook.analysis import (
    codebook_atlas, codebook_usage, codebook_vectors, codes_used, decode_tokens, encode_tokens,
    encode_tokens_progressive, nearest_codes, perplexity, similarity_order, top_items_for_code,
)
from ...core.latent.sampling import Projection2D
from ...core.codebook.token_editor import TokenGridEditor
from ...core.codebook.token_grid import TokenGrid, load_token_grid, save_token_grid
from ..widgets.images import ImageCanvas
from ..worker import Cancelled, JobContext, ModelWorker
from .base import Panel
from ..widgets.titled import NumberTiles
from .vqvae_details import CodeDetails, heading, icon_item, icon_list, tile_pixmap
from .vqvae_views import (
    HIGHLIGHT, CodebookAtlas, CodebookMap, TokenGridCanvas, UsageHistogram, code_colours, context_crop,
)

DATA_SETS = {"shapes": 2000, "digits": None}  # items encoded for usage (None: all); shapes are held out (seed 1)
GALLERY_SIZE = 96
TOP_IMAGES = 16
NEAREST = 8
ENCODE_BATCH = 100
EXPORT_SCALE = 8
ORDERS = {"index": "index", "usage": "usage", "similarity": "similarity"}
TILE_MODES = {"fill": "filled", "context": "in context"}

NOTE = (
    "<b>VQ-VAE.</b> The encoder turns the image into a grid of <i>tokens</i>: each cell is the index of the "
    "nearest of K learned code vectors, and the decoder paints the image from the grid alone. "
    "<b>Left-drag</b> on the image paints the selected code into cells; <b>right-click</b> picks a cell's code."
)


@dataclass
class CodebookView:
    """What the panel shows about one model's codebook (computed once per model, in the worker)."""

    model_id: int
    fill_tiles: np.ndarray  # (K, H, W, 3): the code over the whole grid
    coords: np.ndarray  # (K, 2): PCA of the codebook vectors
    explained: tuple[float, float]
    colours: np.ndarray  # (K, 3) uint8 identity colour per code (grid overlay, histogram)
    drawn: np.ndarray  # (K, 3) uint8 the colour each code paints (the mean of its fill tile's centre)
    similarity: np.ndarray  # (K,) code order
    neighbours: np.ndarray  # (K, NEAREST) nearest codes, nearest first
    context_tiles: np.ndarray | None = None  # (K, h, w, 3) crops around one cell amid `background`
    background: int | None = None


@dataclass
class Usage:
    """A data set encoded to token grids by one model, and what follows from them."""

    model_id: int
    data: ImageSet
    tokens: np.ndarray  # (N, g, g)
    counts: np.ndarray  # (K,)


class VQVAEPanel(Panel):
    title = "VQ-VAE codebook"
    families = ("vqvae",)

    def __init__(self, worker: ModelWorker, device: torch.device, parent: QWidget | None = None):
        super().__init__(worker, device, parent)
        self.live = ModelWorker(f"{type(self).__name__}-live", self)
        self.model_id = 0
        self.codebook: CodebookView | None = None
        self.usage: Usage | None = None
        self.datasets: dict[str, ImageSet] = {}
        self.gallery_data: ImageSet | None = None
        self.editor: TokenGridEditor | None = None
        self.source_image: np.ndarray | None = None
        self.source_name = ""
        self.recon_image: np.ndarray | None = None
        self.current_image: np.ndarray | None = None
        self.decoded_grid: np.ndarray | None = None
        self.selected: int | None = None
        self.last_latency_ms: float | None = None
        self._requested: set[tuple[int, str]] = set()
        self._code_lines: list[str] = []
        self._generation = 0  # one per grid started (encoded image or loaded file)
        self._build()
        self.worker.job_ended.connect(lambda _label: self._on_job_ended())

    # --- layout ----------------------------------------------------------------------------------

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        note = QLabel(NOTE)
        note.setObjectName("note")
        note.setWordWrap(True)
        root.addWidget(note)
        root.addLayout(self._build_toolbar())
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._build_grid_column())
        splitter.addWidget(self._build_codebook_column())
        splitter.addWidget(self._build_code_column())
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 4)
        splitter.setStretchFactor(2, 3)
        splitter.setSizes([470, 480, 380])
        root.addWidget(splitter, 1)
        shortcuts = (("Ctrl+Z", self.undo), ("Ctrl+Shift+Z", self.redo), ("Ctrl+Y", self.redo))
        self.shortcuts = {}
        for keys, slot in shortcuts:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
            self.shortcuts[keys] = shortcut

    def _build_toolbar(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.open_image_button = QPushButton("Open image…")
        self.open_image_button.setToolTip("Encode an image file (scaled and centre-cropped to the model's size)")
        self.load_grid_button = QPushButton("Load grid…")
        self.load_grid_button.setToolTip("A token grid (JSON), or a PNG exported here: its grid is in its metadata")
        self.save_grid_button = QPushButton("Save grid…")
        self.save_grid_button.setToolTip("The edited token grid as JSON (decode it with "
                                         "`playground sample vqvae --tokens FILE`)")
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setToolTip(f"The decoded edited grid, ×{EXPORT_SCALE}, with the token grid in its metadata")
        self.undo_button = QPushButton("↶ Undo")
        self.redo_button = QPushButton("↷ Redo")
        self.reset_button = QPushButton("Reset to encoded")
        self.reset_button.setToolTip("Back to the grid the image was encoded to (undoable)")
        for w in (self.open_image_button, self.load_grid_button, self.save_grid_button, self.export_button):
            row.addWidget(w)
        row.addSpacing(18)
        for w in (self.undo_button, self.redo_button, self.reset_button):
            row.addWidget(w)
        row.addStretch(1)
        self.latency_label = QLabel("")
        self.latency_label.setStyleSheet("color: #8a8a8a;")
        self.latency_label.setToolTip("Time from the last edit to its decoded pixels on screen")
        row.addWidget(self.latency_label)
        self.open_image_button.clicked.connect(self._open_image_dialog)
        self.load_grid_button.clicked.connect(self._load_grid_dialog)
        self.save_grid_button.clicked.connect(self._save_grid_dialog)
        self.export_button.clicked.connect(self._export_dialog)
        self.undo_button.clicked.connect(self.undo)
        self.redo_button.clicked.connect(self.redo)
        self.reset_button.clicked.connect(self.reset_grid)
        return row

    def _build_grid_column(self) -> QWidget:
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.grid_title = QLabel("decoded token grid")
        self.grid_title.setStyleSheet("color: #e6e6e6; font-size: 14pt; font-weight: bold;")
        layout.addWidget(self.grid_title)
        self.canvas = TokenGridCanvas(minimum=240)  # with the rest, fits a 1280x720 screen
        layout.addWidget(self.canvas, 1)
        view_row = QHBoxLayout()
        view_row.addWidget(QLabel("grid colours"))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(25)
        self.opacity_slider.setToolTip("How strongly each cell is tinted by its code's colour")
        view_row.addWidget(self.opacity_slider, 1)
        self.numbers_box = QCheckBox("code numbers")
        view_row.addWidget(self.numbers_box)
        layout.addLayout(view_row)
        self.hover_label = QLabel(" ")
        self.hover_label.setStyleSheet("font-size: 12pt;")
        layout.addWidget(self.hover_label)

        brush = QHBoxLayout()
        self.brush_tile = QLabel()
        self.brush_tile.setFixedSize(44, 44)
        self.brush_tile.setStyleSheet(f"border: 2px solid {HIGHLIGHT};")
        self.brush_label = QLabel("Brush: no code selected")
        self.brush_label.setStyleSheet("font-size: 13pt; font-weight: bold;")
        brush.addWidget(self.brush_tile)
        brush.addWidget(self.brush_label, 1)
        layout.addLayout(brush)
        replace = QHBoxLayout()
        self.replace_a = QSpinBox()
        self.replace_b = QSpinBox()
        for box, prefix in ((self.replace_a, "A = "), (self.replace_b, "B = ")):
            box.setPrefix(prefix)
            box.setRange(0, 0)
            box.setToolTip("A and B follow your last two selections (B is the brush); edit them freely")
        self.replace_button = QPushButton("Replace A by B everywhere")
        replace.addWidget(self.replace_a)
        replace.addWidget(self.replace_b)
        replace.addWidget(self.replace_button, 1)
        layout.addLayout(replace)

        pair = QHBoxLayout()
        self.original_canvas = ImageCanvas("original", minimum=90)
        self.recon_canvas = ImageCanvas("encoded grid, decoded", minimum=90)
        for canvas in (self.original_canvas, self.recon_canvas):
            canvas.setMaximumHeight(150)  # the painted grid above gets the room
            pair.addWidget(canvas)
        layout.addLayout(pair)
        self.grid_info = QLabel("")
        self.grid_info.setWordWrap(True)
        self.grid_info.setStyleSheet("color: #b0b0b0;")
        layout.addWidget(self.grid_info)

        self.canvas.stroke_started.connect(self._on_stroke_started)
        self.canvas.cell_painted.connect(self.paint_cell)
        self.canvas.stroke_finished.connect(self._on_stroke_finished)
        self.canvas.cell_picked.connect(self.pick_cell)
        self.canvas.cell_hovered.connect(self._on_hover)
        self.opacity_slider.valueChanged.connect(lambda v: self.canvas.set_opacity(v / 100))
        self.numbers_box.toggled.connect(self.canvas.set_show_numbers)
        self.replace_button.clicked.connect(lambda: self.replace_code(self.replace_a.value(), self.replace_b.value()))
        return column

    def _build_codebook_column(self) -> QWidget:
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.views = QTabWidget()
        atlas_tab = QWidget()
        atlas_layout = QVBoxLayout(atlas_tab)
        atlas_layout.setContentsMargins(2, 4, 2, 2)
        controls = QHBoxLayout()
        self.order_box = QComboBox()
        for key, text in ORDERS.items():
            self.order_box.addItem(text, key)
        self.order_box.setToolTip("Order of the tiles and of the histogram's bars: code index, most used first, "
                                  "or similarity (a nearest-neighbour chain through the codebook)")
        self.tile_box = QComboBox()
        for key, text in TILE_MODES.items():
            self.tile_box.addItem(text, key)
        self.tile_box.setToolTip("Filled: the grid is this code in every cell.\n"
                                 "In context: the most used code everywhere and this one in the centre cell, "
                                 "zoomed to the 3×3 cells around it")
        controls.addWidget(QLabel("sort by"))
        controls.addWidget(self.order_box, 1)
        controls.addWidget(QLabel("tiles"))
        controls.addWidget(self.tile_box, 1)
        atlas_layout.addLayout(controls)
        self.atlas = CodebookAtlas(tile_px=40)
        atlas_layout.addWidget(self.atlas, 1)
        self.atlas_info = QLabel("")
        self.atlas_info.setStyleSheet("color: #aaa;")
        atlas_layout.addWidget(self.atlas_info)
        self.views.addTab(atlas_tab, "Codebook atlas")
        map_tab = QWidget()
        map_layout = QVBoxLayout(map_tab)
        map_layout.setContentsMargins(2, 4, 2, 2)
        self.map = CodebookMap()
        map_layout.addWidget(self.map, 1)
        map_legend = QLabel("One point per code vector: filled with the colour it draws, sized by usage; "
                            "white ring: used by this grid; yellow: selected; red ring: dead. Click a point to select it.")
        map_legend.setWordWrap(True)
        map_legend.setStyleSheet("color: #aaa;")
        map_layout.addWidget(map_legend)
        self.views.addTab(map_tab, "Codebook map (PCA)")
        layout.addWidget(self.views, 3)

        data_row = QHBoxLayout()
        self.dataset_box = QComboBox()
        for name, n in DATA_SETS.items():
            self.dataset_box.addItem(f"{name} ({n} held out)" if n else name, name)
        self.dataset_box.setToolTip("The data set whose token grids are counted (and shown in the gallery)")
        self.count_button = QPushButton("Count usage")
        self.count_button.setToolTip("Encode the whole data set to token grids (in the background; Cancel stops it)")
        data_row.addWidget(heading("Usage on"))
        data_row.addWidget(self.dataset_box, 1)
        data_row.addWidget(self.count_button)
        layout.addLayout(data_row)
        self.usage_numbers = NumberTiles([("used", "codes used"), ("perplexity", "perplexity"),
                                          ("dead", "dead codes"), ("cells", "cells counted")])
        self.usage_numbers.values["perplexity"].setToolTip(
            "exp(entropy) of the usage: how many codes are in effective use (K if all are used equally)")
        layout.addWidget(self.usage_numbers)
        self.usage_title = QLabel("")
        self.usage_title.setStyleSheet("color: #aaa;")
        self.usage_title.setWordWrap(True)
        layout.addWidget(self.usage_title)
        self.histogram = UsageHistogram()
        self.histogram.setMinimumHeight(170)
        layout.addWidget(self.histogram, 2)

        self.order_box.currentIndexChanged.connect(lambda _: self._show_codebook())
        self.tile_box.currentIndexChanged.connect(lambda _: self._on_tile_mode())
        self.atlas.code_selected.connect(self.select_code)
        self.map.code_clicked.connect(self.select_code)
        self.histogram.code_clicked.connect(self.select_code)
        self.dataset_box.currentIndexChanged.connect(lambda _: self.count_usage())
        self.count_button.clicked.connect(self.count_usage)
        return column

    def _build_code_column(self) -> QWidget:
        column = QWidget()
        layout = QVBoxLayout(column)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(heading("Data set · click an image to encode it"))
        self.gallery = icon_list(40)
        layout.addWidget(self.gallery, 3)
        self.details = CodeDetails()
        layout.addWidget(self.details, 4)
        self.gallery.currentRowChanged.connect(self._encode_gallery_item)
        self.details.code_clicked.connect(self.select_code)
        self.details.image_clicked.connect(self._open_data_item)
        return column

    # --- model -----------------------------------------------------------------------------------

    def set_model(self, loaded: LoadedModel) -> None:
        super().set_model(loaded)
        self.model_id += 1
        self.worker.cancel("codebook")
        self.worker.cancel("usage")
        self.live.cancel()
        model = loaded.model
        k = model.codebook_size
        self.codebook, self.usage, self.selected = None, None, None
        for box in (self.replace_a, self.replace_b):
            box.setRange(0, k - 1)
        name = loaded.meta.data if loaded.meta.data in DATA_SETS else "shapes"
        self.dataset_box.blockSignals(True)
        self.dataset_box.setCurrentIndex(self.dataset_box.findData(name))
        self.dataset_box.blockSignals(False)
        self.atlas.clear()
        self._show_usage()
        self._show_selected()
        if self.source_image is not None:  # the same picture, through the new model's codebook
            self.encode_image(self.source_image, self.source_name)
        else:
            self.editor = None
            self.canvas.set_grid(None)
            self.canvas.set_image(None)
        if self.isVisible():
            self._activate()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self._activate()

    def _activate(self) -> None:
        """Start what the shown tab needs and does not have yet: the codebook views, then the usage counts."""
        if self.loaded is None:
            return
        if (self.model_id, "codebook") not in self._requested:
            self._requested.add((self.model_id, "codebook"))
            self._build_codebook_view()
        if (self.model_id, "usage") not in self._requested:
            self.count_usage()

    @property
    def checkpoint_counts(self) -> np.ndarray | None:
        """The usage the checkpoint recorded on its validation set (shown until the data set is counted)."""
        if self.loaded is None:
            return None
        counts = self.loaded.meta.extra.get("codebook_usage")
        if counts is None or len(counts) != self.loaded.model.codebook_size:
            return None
        return np.asarray(counts, np.int64)

    @property
    def counts(self) -> np.ndarray | None:
        return self.usage.counts if self.usage is not None else self.checkpoint_counts

    def _build_codebook_view(self) -> None:
        model, model_id = self.loaded.model, self.model_id
        background = int(self.checkpoint_counts.argmax()) if self.checkpoint_counts is not None else None

        def work(ctx: JobContext) -> CodebookView:
            vectors = codebook_vectors(model)
            projection = Projection2D(vectors)
            ctx.check()
            neighbours = np.stack([nearest_codes(model, c, NEAREST)[0] for c in range(len(vectors))])
            tiles = codebook_atlas(model)
            h, w = tiles.shape[1:3]
            drawn = tiles[:, h // 4:3 * h // 4, w // 4:3 * w // 4].reshape(len(tiles), -1, 3).mean(1).astype(np.uint8)
            view = CodebookView(model_id, tiles, projection.coords,
                                (float(projection.explained[0]), float(projection.explained[1])),
                                code_colours(len(vectors)), drawn, similarity_order(vectors), neighbours)
            ctx.check()
            if background is not None:
                view.context_tiles, view.background = self._context_tiles(model, background), background
            return view

        self.atlas_info.setText("Decoding one tile per code…")
        self.worker.submit(work, channel="codebook", on_result=self._codebook_ready, on_error=self.report_error)

    @staticmethod
    def _context_tiles(model, background: int) -> np.ndarray:
        tiles = codebook_atlas(model, background=background)
        return np.stack([context_crop(t, model.grid_size) for t in tiles])

    def _codebook_ready(self, view: CodebookView) -> None:
        if view.model_id != self.model_id:
            return
        self.codebook = view
        if self.selected is None:
            counts = self.counts
            self.select_code(int(counts.argmax()) if counts is not None else 0)
        self._show_codebook()
        self._show_grid()

    def _on_tile_mode(self) -> None:
        """Context tiles need the most used code as background; build them when first asked for."""
        view, counts = self.codebook, self.counts
        if self.tile_box.currentData() == "context" and view is not None and counts is not None:
            background = int(counts.argmax())
            if view.context_tiles is None or view.background != background:
                model, model_id = self.loaded.model, self.model_id

                def work(ctx: JobContext) -> tuple[int, int, np.ndarray]:
                    return model_id, background, self._context_tiles(model, background)

                def done(result: tuple[int, int, np.ndarray]) -> None:
                    if result[0] == self.model_id and self.codebook is not None:
                        self.codebook.background, self.codebook.context_tiles = result[1], result[2]
                        self._show_codebook()
                        self._show_selected()

                self.worker.submit(work, channel="context-tiles", on_result=done, on_error=self.report_error)
                return
        self._show_codebook()

    # --- usage over a data set (the long job) ---------------------------------------------------------

    def count_usage(self) -> None:
        """Encode the chosen data set with the current model in the window's worker, with progress."""
        if self.loaded is None:
            return
        self._requested.add((self.model_id, "usage"))
        model, model_id = self.loaded.model, self.model_id
        name = self.dataset_box.currentData()
        cached = self.datasets.get(name)
        size = model.config.image_size

        worker = self.worker

        def work(ctx: JobContext) -> Usage:
            data = cached if cached is not None else load_dataset(name, n=DATA_SETS[name], seed=1, size=size)
            ctx.progress(0, len(data), data)
            grids = []
            for done, batch in encode_tokens_progressive(model, data.images, ENCODE_BATCH):
                if worker.is_busy("load"):  # another checkpoint waits behind this job: these counts are moot
                    raise Cancelled()
                grids.append(batch)
                ctx.progress(done, len(data))
            tokens = np.concatenate(grids)
            return Usage(model_id, data, tokens, codebook_usage(tokens, model.codebook_size))

        def progress(done: int, total: int, data: ImageSet | None) -> None:
            if data is not None:
                self.datasets[name] = data
                if data is not self.gallery_data:
                    self._show_gallery(data)
            self.usage_title.setText(f"Encoding {name}: {done} of {total} images…")

        self.usage = None
        self._show_usage()
        self.usage_title.setText(f"Loading {name}…")
        self.worker.submit(work, channel="usage", label=f"Encoding {name} for codebook usage",
                           on_result=self._usage_ready, on_error=self._usage_failed, on_progress=progress,
                           cancel_running=True)

    def _usage_ready(self, usage: Usage) -> None:
        if usage.model_id != self.model_id:
            return
        self.usage = usage
        self._show_usage()
        self._show_codebook()
        self._show_selected()
        if self.tile_box.currentData() == "context":
            self._on_tile_mode()

    def _on_job_ended(self) -> None:
        """A usage count that ended without a result was cancelled (the status bar's Cancel): say so."""
        if self.usage is None and self.loaded is not None and not self.worker.is_busy("usage"):
            self._show_usage()

    def _usage_failed(self, message: str) -> None:
        self.usage_title.setText("Usage not counted: " + message)
        self.report_error(message)

    def _show_usage(self) -> None:
        counts, k = self.counts, (self.loaded.model.codebook_size if self.loaded else 0)
        if counts is None:
            self.usage_numbers.set_values({})
        else:
            self.usage_numbers.set_values({
                "used": f"{codes_used(counts)} / {k}", "perplexity": f"{perplexity(counts):.1f}",
                "dead": str(int((counts == 0).sum())), "cells": f"{int(counts.sum()):,}",
            })
        if self.usage is not None:
            self.usage_title.setText(f"Cells per code over {len(self.usage.data)} {self.usage.data.name} images "
                                     f"({self.usage.tokens.shape[1]}×{self.usage.tokens.shape[2]} tokens each). "
                                     "Click a bar to select its code.")
        elif self.worker.is_busy("usage"):
            self.usage_title.setText("Counting… (Cancel in the status bar stops it)")
        else:
            shown = " Shown: the checkpoint's validation-set counts." if counts is not None else ""
            self.usage_title.setText("Usage on the data set not counted: press Count usage." + shown)

    # --- codebook views -----------------------------------------------------------------------------

    def order(self) -> np.ndarray:
        k = self.loaded.model.codebook_size
        key, counts = self.order_box.currentData(), self.counts
        if key == "usage" and counts is not None:
            return np.argsort(-counts, kind="stable")
        if key == "similarity" and self.codebook is not None:
            return self.codebook.similarity
        return np.arange(k)

    def _show_codebook(self) -> None:
        view = self.codebook
        if view is None or view.model_id != self.model_id:
            return
        counts, order = self.counts, self.order()
        context = self.tile_box.currentData() == "context" and view.context_tiles is not None
        tiles = view.context_tiles if context else view.fill_tiles
        total = int(counts.sum()) if counts is not None else 0
        self.atlas.set_tiles(tiles, order, counts, total, self.selected)
        self.histogram.set_counts(counts, order, view.colours, self.order_box.currentData())
        self.histogram.select(self.selected)
        self._show_map()
        dead = int((counts == 0).sum()) if counts is not None else 0
        what = "the code over the whole grid" if not context else f"one cell amid code {view.background}, zoomed"
        self.atlas_info.setText(f"{len(order)} codes, each decoded as {what}"
                                + (f"; {dead} dead (red cross)" if dead else "; no dead codes"))

    def _show_map(self) -> None:
        view = self.codebook
        self.map.set_codebook(view.coords, view.drawn, self.counts, view.explained)
        self.map.set_in_grid(np.unique(self.editor.grid) if self.editor is not None else [])
        self.map.select(self.selected)

    def select_code(self, code: int) -> None:
        """Select a code everywhere: atlas, histogram, map, the grid's cells; it becomes the brush (B)."""
        if self.loaded is None or not 0 <= code < self.loaded.model.codebook_size:
            return
        if code != self.selected:
            self.replace_a.setValue(self.replace_b.value() if self.selected is not None else code)
            self.replace_b.setValue(code)
        self.selected = code
        self.atlas.select(code)
        self.histogram.select(code)
        self.map.select(code)
        self.canvas.set_highlight(code)
        self._show_selected()

    def _show_selected(self) -> None:
        code, view = self.selected, self.codebook
        if code is None or view is None:
            self.details.clear()
            self.brush_tile.clear()
            self.brush_label.setText("Brush: no code selected")
            return
        self.brush_label.setText(f"Brush: code {code}")
        self.brush_tile.setPixmap(tile_pixmap(view.fill_tiles[code], 40))
        context = view.context_tiles[code] if view.context_tiles is not None else None
        self.details.show_code(code, view.fill_tiles[code], context,
                               [(int(c), view.fill_tiles[c]) for c in view.neighbours[code]])
        self._show_code_stats()
        self._show_top_images()

    def _show_code_stats(self, data_set: bool = True) -> None:
        """The selected code's numbers; `data_set=False` (a brush step) keeps the data-set lines."""
        code = self.selected
        if code is None:
            return
        if data_set:
            lines = []
            counts = self.counts
            if counts is not None:
                total = max(1, int(counts.sum()))
                lines.append(f"{int(counts[code]):,} cells · {counts[code] / total:.2%}" if counts[code]
                             else "<span style='color:#eb4034'>dead: no cell uses it</span>")
            if self.usage is not None:
                images = int((self.usage.tokens == code).any(axis=(1, 2)).sum())
                lines.append(f"in {images} of {len(self.usage.data)} {self.usage.data.name} images")
            elif counts is not None:
                lines.append("(on the checkpoint's validation set)")
            self._code_lines = lines
        in_grid = int((self.editor.grid == code).sum()) if self.editor is not None else None
        grid_line = [] if in_grid is None else [f"<b>{in_grid}</b> cell{'' if in_grid == 1 else 's'} of this grid"]
        self.details.set_stats("<br>".join(self._code_lines + grid_line))

    def _show_top_images(self) -> None:
        usage, code = self.usage, self.selected
        if usage is None or code is None:
            self.details.show_top_images("data-set images that use it most (once usage is counted)", [])
            return
        items, cells = top_items_for_code(usage.tokens, code, TOP_IMAGES)
        per_grid = usage.tokens.shape[1] * usage.tokens.shape[2]
        title = (f"the {len(items)} {usage.data.name} images that use it most" if len(items)
                 else f"no {usage.data.name} image uses it")
        self.details.show_top_images(title, [
            (int(i), usage.data.images[i], f"{usage.data.describe(int(i))}: {int(n)} of {per_grid} cells")
            for i, n in zip(items, cells)])

    @property
    def top_image_indices(self) -> list[int]:
        return self.details.top_indices

    def _open_data_item(self, index: int) -> None:
        if self.usage is not None:
            self.encode_image(self.usage.data.images[index], self.usage.data.describe(index))

    # --- images and their grids ------------------------------------------------------------------------

    def _show_gallery(self, data: ImageSet) -> None:
        self.gallery_data = data
        self.gallery.blockSignals(True)
        self.gallery.clear()
        for i in range(min(GALLERY_SIZE, len(data))):
            self.gallery.addItem(icon_item(data.images[i], i, data.describe(i), scale=2))
        self.gallery.blockSignals(False)
        if self.editor is None and self.source_image is None and len(data):
            self.gallery.setCurrentRow(0)

    def _encode_gallery_item(self, row: int) -> None:
        if self.gallery_data is not None and row >= 0:
            self.encode_image(self.gallery_data.images[row], self.gallery_data.describe(row))

    def encode_image(self, image: np.ndarray, description: str = "") -> None:
        """Encode one (H, W, 3) uint8 image on the live worker; the editor starts from its grid."""
        if self.loaded is None:
            return
        model, model_id = self.loaded.model, self.model_id

        def work(ctx: JobContext) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
            tokens = encode_tokens(model, image[None])[0]
            return model_id, image, tokens, decode_tokens(model, tokens)[0]

        def done(result: tuple[int, np.ndarray, np.ndarray, np.ndarray]) -> None:
            if result[0] != self.model_id:
                return
            _, original, tokens, recon = result
            self._start_grid(tokens, recon, original, description)

        self.live.submit(work, channel="encode", on_result=done, on_error=self.report_error)

    def _start_grid(self, tokens: np.ndarray, recon: np.ndarray, original: np.ndarray | None, name: str) -> None:
        k = self.loaded.model.codebook_size
        if self.editor is None or self.editor.codebook_size != k:
            self.editor = TokenGridEditor(tokens, k)
        else:
            self.editor.start(tokens)
        self.source_image, self.source_name = original, name
        self.recon_image = recon
        self.current_image, self.decoded_grid = recon, tokens.copy()
        self.original_canvas.set_image(original)
        self.recon_canvas.set_image(recon)
        self.canvas.set_image(recon)
        self._generation += 1  # decodes of the previous grid's edits may still arrive: drop them
        self._grid_changed(decode=False)

    def _open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", "Images (*.png *.jpg *.jpeg *.webp *.bmp)")
        if path:
            self.open_image(path)

    def open_image(self, path: str | Path) -> None:
        size = self.loaded.model.config.image_size if self.loaded is not None else 32

        def work(ctx: JobContext) -> np.ndarray:
            return load_image_file(path, size)

        self.live.submit(work, channel="open", on_result=lambda image: self.encode_image(image, Path(path).name),
                         on_error=self.report_error)

    # --- editing ------------------------------------------------------------------------------------

    def _on_stroke_started(self) -> None:
        if self.editor is not None and self.selected is not None:
            self.editor.begin_stroke(f"paint code {self.selected}")

    def _on_stroke_finished(self) -> None:
        if self.editor is not None:
            self.editor.end_stroke()
            self._update_history()

    def paint_cell(self, row: int, col: int, code: int | None = None) -> bool:
        """Paint one cell with `code` (default: the brush); the decode follows on the live worker."""
        code = self.selected if code is None else code
        if self.editor is None or code is None:
            return False
        changed = self.editor.paint(row, col, code)
        if changed:
            self._grid_changed()
        return changed

    def paint_cells(self, cells: list[tuple[int, int]], code: int | None = None) -> None:
        """One brush stroke over `cells` (one undo step), as a drag does."""
        if self.editor is None:
            return
        self.editor.begin_stroke(f"paint code {self.selected if code is None else code}")
        for row, col in cells:
            self.paint_cell(row, col, code)
        self.editor.end_stroke()
        self._update_history()

    def pick_cell(self, row: int, col: int) -> None:
        """Right-click: select the code of a cell (the eyedropper)."""
        if self.editor is not None:
            self.select_code(int(self.editor.grid[row, col]))

    def replace_code(self, old: int, new: int) -> int:
        if self.editor is None:
            return 0
        count = self.editor.replace(old, new)
        if count:
            self._grid_changed()
            self.status_message.emit(f"Replaced code {old} by {new} in {count} cells")
        else:
            self.status_message.emit(f"Code {old} is in no cell of the grid" if old != new else "A and B are the same code")
        return count

    def undo(self) -> None:
        if self.editor is not None and self.editor.undo():
            self._grid_changed()

    def redo(self) -> None:
        if self.editor is not None and self.editor.redo():
            self._grid_changed()

    def reset_grid(self) -> None:
        if self.editor is not None and self.editor.reset():
            self._grid_changed()

    def _grid_changed(self, decode: bool = True) -> None:
        """The grid changed (or was started): ask for its decode first, then redraw while it runs."""
        if decode:
            self._request_decode()
        grid = self.editor.grid
        self.canvas.set_grid(grid, self.codebook.colours if self.codebook is not None else _colours(self.loaded),
                             highlight=self.selected)
        self._update_history()
        edited = int(self.editor.edited_cells().sum())
        rows, cols = grid.shape
        codes = np.unique(grid)
        self.grid_title.setText(f"decoded token grid · {edited} of {rows * cols} cells edited" if edited
                                else "decoded token grid")
        self.grid_info.setText(f"{self.source_name or 'no source image'}: {rows}×{cols} tokens, "
                               f"{len(codes)} distinct codes.")
        self._show_code_stats(data_set=False)
        self.map.set_in_grid(codes)

    def _request_decode(self) -> None:
        """Decode the grid on the live worker's "decode" channel: while one decode runs, newer requests
        replace each other, so a fast drag shows the newest grid as soon as the decoder is free."""
        model, grid = self.loaded.model, self.editor.grid.copy()
        stamp, requested = (self.model_id, self._generation), time.perf_counter()

        def work(ctx: JobContext) -> tuple[tuple[int, int], np.ndarray, np.ndarray, float]:
            return stamp, grid, decode_tokens(model, grid)[0], requested

        self.live.submit(work, channel="decode", on_result=self._decoded, on_error=self.report_error)

    def _decoded(self, result: tuple[tuple[int, int], np.ndarray, np.ndarray, float]) -> None:
        stamp, grid, image, requested = result
        if stamp != (self.model_id, self._generation):
            return  # an edit of a grid that is no longer shown
        self.current_image, self.decoded_grid = image, grid
        self.canvas.set_image(image)
        self.last_latency_ms = (time.perf_counter() - requested) * 1000
        self.latency_label.setText(f"edit → pixels {self.last_latency_ms:.0f} ms")

    def _update_history(self) -> None:
        editor = self.editor
        self.undo_button.setEnabled(editor is not None and editor.can_undo)
        self.redo_button.setEnabled(editor is not None and editor.can_redo)
        self.reset_button.setEnabled(editor is not None and bool(editor.edited_cells().any()))
        self.undo_button.setToolTip(f"Undo {editor.undo_label} (Ctrl+Z)" if editor and editor.can_undo else "Ctrl+Z")
        self.redo_button.setToolTip(f"Redo {editor.redo_label} (Ctrl+Shift+Z)" if editor and editor.can_redo
                                    else "Ctrl+Shift+Z")

    def _on_hover(self, row: int, col: int) -> None:
        if row < 0 or self.editor is None:
            self.hover_label.setText(" ")
            return
        code = int(self.editor.grid[row, col])
        encoded = int(self.editor.encoded[row, col])
        was = f" (encoded: {encoded})" if encoded != code else ""
        self.hover_label.setText(f"row {row}, column {col}: code <b>{code}</b>{was}")

    def _show_grid(self) -> None:
        if self.editor is not None:
            self._grid_changed(decode=False)

    # --- files ------------------------------------------------------------------------------------------

    def token_grid(self) -> TokenGrid:
        if self.editor is None or self.loaded is None:
            raise ValueError("no token grid yet: pick or open an image first")
        return TokenGrid(indices=np.array(self.editor.grid), model=self.loaded.name,
                         codebook_size=self.loaded.model.codebook_size)

    def save_grid(self, path: str | Path) -> Path:
        return save_token_grid(path, self.token_grid())

    def recipe(self) -> dict:
        grid, loaded = self.token_grid(), self.loaded
        return {"model": loaded.name, "family": loaded.family, "checkpoint": str(loaded.path),
                "codebook_size": loaded.model.codebook_size, "grid_size": list(grid.grid_size),
                "tokens": grid.indices.tolist(), "encoded_tokens": self.editor.encoded.tolist(),
                "edited_cells": int(self.editor.edited_cells().sum()), "source": self.source_name,
                "scale": EXPORT_SCALE}

    def export_png(self, path: str | Path) -> Path:
        """The decoded edited grid ×8, with the token grid (and the encoded one) in the PNG's recipe."""
        recipe = self.recipe()
        if self.current_image is None or not np.array_equal(self.decoded_grid, self.editor.grid):
            raise ValueError("the latest edit is still being decoded; export again in a moment")
        return save_png(path, upscale(self.current_image, EXPORT_SCALE), recipe)

    def load_grid(self, path: str | Path, interactive: bool = False) -> bool:
        """Read a token grid (JSON, or a PNG exported here) and decode it; a bad file is reported and
        changes nothing. Interactive loads also show the problem in a non-blocking dialog."""
        if self.loaded is None:
            return False
        model = self.loaded.model
        try:
            grid = load_token_grid(path, grid_size=model.grid_size, codebook_size=model.codebook_size)
        except (OSError, ValueError) as exc:
            self.report_error(str(exc))
            if interactive:
                self._error_dialog("Cannot load token grid", str(exc))
            return False
        name = Path(path).name
        if grid.model and grid.model != self.loaded.name:
            self.status_message.emit(f"Note: {name} was made with {grid.model}; decoding with {self.loaded.name}")
        else:
            self.status_message.emit(f"Loaded {name}")
        model_id, tokens = self.model_id, grid.indices

        def work(ctx: JobContext) -> tuple[int, np.ndarray]:
            return model_id, decode_tokens(model, tokens)[0]

        def done(result: tuple[int, np.ndarray]) -> None:
            if result[0] == self.model_id:
                self._start_grid(tokens, result[1], None, name)

        self.live.submit(work, channel="encode", on_result=done, on_error=self.report_error)
        return True

    def _error_dialog(self, title: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # non-blocking: the panel stays usable
        self.error_box = box

    def _load_grid_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load token grid", "", "Token grids (*.json *.png)")
        if path:
            self.load_grid(path, interactive=True)

    def _save_grid_dialog(self) -> None:
        self.save_with_dialog("Save token grid", "tokens.json", "JSON (*.json)", self.save_grid)

    def _export_dialog(self) -> None:
        self.save_with_dialog("Export PNG", "vqvae-edited.png", "PNG (*.png)", self.export_png,
                              "token grid in its metadata")

    def shutdown(self) -> None:
        super().shutdown()
        self.live.shutdown()


def _colours(loaded: LoadedModel | None) -> np.ndarray:
    k = loaded.model.codebook_size if loaded is not None else 1
    return code_colours(k)
