"""The codebook browser for VQ-VAE: the codebook as tiles, its usage, its map, and an image's token
grid to paint on.

A VQ-VAE stores an image as a small grid of integers, each naming one of K learned code
vectors; the decoder paints the image from the grid. Here the grid is drawn over the image,
any cell can be repainted with any code (or one code replaced by another everywhere), and the
decoder redraws at once.

Two workers: the window's worker (status-bar progress and Cancel) does the long work, encoding
a whole data set for usage statistics (seconds to tens of seconds on a busy two-core machine);
the panel's own `live` worker does the short work (encode one image, decode the grid after each
brush step, coalesced on its "decode" channel), so a brush stroke never waits behind the data
set. The edit history is headless (`core.codebook.token_editor.TokenGridEditor`); this file wires
the columns' widgets to it and to the workers. Nothing is computed until the tab is shown.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QMessageBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from ....core.checkpoints import LoadedModel
from ....core.codebook.token_editor import TokenGridEditor
from ....core.data import ImageSet, load_dataset
from ....core.serving.remote_tokens import remote_codebook_atlas, remote_encode_tokens
from ...remote_worker import RemoteWorker
from ...twins import remotable
from ...worker import Job, JobContext, ModelWorker
from ...widgets.nearest import nearest_button
from ...widgets.titled import note_label
from ..base import Panel, mark_primary
from . import state
from .code_column import CodeColumn
from .codebook_column import DATA_SETS, CodebookColumn
from .compare_view import CompareView
from .editing import GridEditing
from .files import CodebookFiles
from .grid_column import GridColumn, Toolbar
from .state import CodebookView, Usage, build_codebook_view, context_tiles

ENCODE_BATCH = 100  # images per batch when counting usage (progress and Cancel between batches)

NOTE = (
    "<b>VQ-VAE.</b> The encoder turns the image into a grid of <i>tokens</i>: each cell is the index of the "
    "nearest of K learned code vectors, and the decoder paints the image from the grid alone. "
    "<b>Left-drag</b> on the image paints the selected code into cells; <b>right-click</b> picks a cell's code."
)


class VQVAEPanel(GridEditing, CodebookFiles, Panel):
    """The panel: its layout, the model's codebook and usage, and the selected code. Editing the
    grid is in `editing.py`, its files in `files.py`."""

    title = "VQ-VAE codebook"
    families = ("vqvae", "vqgan")  # a VQGAN is a VQ-VAE trained to be sharp: the same codebook views

    def __init__(self, worker: ModelWorker, device: torch.device, parent: QWidget | None = None):
        super().__init__(worker, device, parent)
        # a connected app decodes and encodes on the model server too (the work's `remote` twins)
        self.live = RemoteWorker(f"{type(self).__name__}-live", self, link=getattr(worker, "link", None))
        self.codebook: CodebookView | None = None
        self.usage: Usage | None = None
        self.datasets: dict[tuple[str, int], ImageSet] = {}  # data sets loaded for counting
        self.galleries: dict[str, ImageSet] = {}
        self.editor: TokenGridEditor | None = None
        self.source_image: np.ndarray | None = None
        self.source_name = ""
        self.current_image: np.ndarray | None = None  # the decode of `decoded_grid`, on the canvas
        self.decoded_grid: np.ndarray | None = None
        self.selected: int | None = None
        self.last_latency_ms: float | None = None
        self.error_box: QMessageBox | None = None
        self._build()
        self.worker.job_ended.connect(lambda _label: self._on_job_ended())

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        note = note_label(NOTE)
        root.addWidget(note)
        self.tabs, page = QTabWidget(), QWidget()  # the codebook (toolbar and columns), and VQGAN vs VQ-VAE
        self.tabs.setDocumentMode(True)  # no frame around the pages: the codebook keeps its height at 1280x720
        codebook_layout = QVBoxLayout(page)
        codebook_layout.setContentsMargins(0, 0, 0, 0)
        self.toolbar = Toolbar()
        codebook_layout.addWidget(self.toolbar)
        self.grid_column, self.codebook_column, self.code_column = GridColumn(), CodebookColumn(), CodeColumn()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for i, column in enumerate((self.grid_column, self.codebook_column, self.code_column)):
            splitter.addWidget(column)
            splitter.setStretchFactor(i, (4, 4, 3)[i])
        splitter.setSizes([470, 480, 380])
        codebook_layout.addWidget(splitter, 1)
        self.compare_view = CompareView(self)
        self.primary_button = self.codebook_column.count_button  # Ctrl+Enter; on the comparison's tab its own
        mark_primary(self.compare_view.compare_button)
        self.tabs.addTab(page, "Codebook")
        self.tabs.addTab(self.compare_view, "VQGAN vs VQ-VAE")
        self.tabs_shown.watch(self.compare_view, self.compare_view.activate)
        root.addWidget(self.tabs, 1)
        self.shortcuts = {}
        for keys, slot in (("Ctrl+Z", self.undo), ("Ctrl+Shift+Z", self.redo), ("Ctrl+Y", self.redo)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.setWhatsThis("Undo the last edit of the token grid" if slot == self.undo else "Redo the edit undone")
            shortcut.activated.connect(slot)
            self.shortcuts[keys] = shortcut

        tools, grid, book, code = self.toolbar, self.grid_column, self.codebook_column, self.code_column
        tools.open_image_button.clicked.connect(self._open_image_dialog)
        tools.load_png_button.clicked.connect(self.load_png_dialog)
        tools.load_grid_button.clicked.connect(self._load_grid_dialog)
        tools.save_grid_button.clicked.connect(self._save_grid_dialog)
        tools.export_button.clicked.connect(self._export_dialog)
        tools.layout().addWidget(nearest_button(self, lambda: self.current_image))  # does a decode copy?
        tools.undo_button.clicked.connect(self.undo)
        tools.redo_button.clicked.connect(self.redo)
        tools.reset_button.clicked.connect(self.reset_grid)
        grid.canvas.stroke_started.connect(self._on_stroke_started)
        grid.canvas.cell_painted.connect(self.paint_cell)
        grid.canvas.stroke_finished.connect(self._on_stroke_finished)
        grid.canvas.cell_picked.connect(self.pick_cell)
        grid.canvas.cell_hovered.connect(lambda _row, _col: grid.show_hover(self.editor))
        grid.replace_button.clicked.connect(lambda: self.replace_code(grid.replace_a.value(), grid.replace_b.value()))
        book.code_selected.connect(self.select_code)
        book.order_box.currentIndexChanged.connect(lambda _: self._show_codebook())
        book.tile_box.currentIndexChanged.connect(lambda _: self._on_tile_mode())
        book.dataset_box.currentIndexChanged.connect(lambda _: self._on_data_set())
        book.count_button.clicked.connect(self.count_usage)
        code.gallery.picked.connect(self._encode_gallery_item)
        code.details.code_clicked.connect(self.select_code)
        code.details.image_clicked.connect(self._open_data_item)

    def _submit_live(self, work: Callable[[JobContext], Any], **options: Any) -> Job:
        """`Panel.submit` (the stale-result guard) on the live worker: brush decodes never wait
        behind the data set's usage count."""
        return self.submit(work, worker=self.live, **options)

    # --- model and activation ------------------------------------------------------------------

    def on_model(self, loaded: LoadedModel) -> None:
        self.live.cancel()
        self.codebook, self.usage, self.selected, self.editor = None, None, None, None
        self.grid_column.set_codebook_size(loaded.model.codebook_size)
        self.grid_column.canvas.set_grid(None)  # the picture stays; its grid comes from the new model
        if self.source_image is None:
            self.grid_column.clear()
        self.toolbar.show_history(None)
        self.codebook_column.set_data_set(loaded.meta.data if loaded.meta.data in DATA_SETS else "shapes")
        self.codebook_column.atlas.clear()
        self._show_usage()
        self._show_selected()

    def activate(self) -> None:
        """The codebook views, the usage counts, and a grid: the picture shown (through the new
        model's codebook) or the gallery's first image."""
        self._build_codebook_view()
        self.count_usage()
        if self.source_image is not None:
            self.encode_image(self.source_image, self.source_name)
        else:
            self._load_gallery(pick=True)

    @property
    def checkpoint_counts(self) -> np.ndarray | None:
        """The usage the checkpoint recorded on its validation set (shown until the data set is counted)."""
        counts = self.loaded.meta.extra.get("codebook_usage") if self.loaded is not None else None
        if counts is None or len(counts) != self.loaded.model.codebook_size:
            return None
        return np.asarray(counts, np.int64)

    @property
    def counts(self) -> np.ndarray | None:
        return self.usage.counts if self.usage is not None else self.checkpoint_counts

    def _build_codebook_view(self) -> None:
        model, generation = self.loaded.model, self.model_generation
        background = int(self.checkpoint_counts.argmax()) if self.checkpoint_counts is not None else None
        self.codebook_column.atlas_info.setText("Decoding one tile per code…")
        self.submit(remotable(lambda ctx: build_codebook_view(model, generation, background, ctx.check),
                              lambda ctx, server: build_codebook_view(model, generation, background, ctx.check,
                                                                      partial(remote_codebook_atlas, server))),
                    channel="codebook", on_result=self._codebook_ready)

    def _codebook_ready(self, view: CodebookView) -> None:
        self.codebook = view
        if self.selected is None:
            counts = self.counts
            self.select_code(int(counts.argmax()) if counts is not None else 0)
        self._show_codebook()
        if self.editor is not None:
            self._grid_changed(decode=False)  # the grid's colours are the codebook's now

    def _on_tile_mode(self) -> None:
        """Context tiles need the most used code as background; build them when first asked for."""
        view, counts = self.codebook, self.counts
        if self.codebook_column.in_context and view is not None and counts is not None:
            background = int(counts.argmax())
            if view.context_tiles is None or view.background != background:
                model = self.loaded.model

                def done(tiles: np.ndarray) -> None:
                    if self.codebook is view:
                        view.background, view.context_tiles = background, tiles
                        self._show_codebook()
                        self._show_selected()

                self.submit(remotable(lambda ctx: context_tiles(model, background),
                                      lambda ctx, server: context_tiles(model, background,
                                                                        partial(remote_codebook_atlas, server))),
                            channel="context-tiles", on_result=done)
                return
        self._show_codebook()

    # --- usage over a data set (the long job) ---------------------------------------------------

    def count_usage(self) -> None:
        """Encode the chosen data set with the current model in the window's worker, with progress."""
        if self.loaded is None:
            return
        model, generation = self.loaded.model, self.model_generation
        name, size = self.codebook_column.data_set, self.loaded.model.config.image_size
        cached = self.datasets.get((name, size))

        def work(ctx: JobContext) -> Usage:
            data = cached if cached is not None else load_dataset(name, n=DATA_SETS[name], seed=1, size=size)
            ctx.progress(0, len(data))  # a checkpoint load cancels this job (`preempt`): it never waits behind it
            return state.count_usage(model, generation, data, ENCODE_BATCH, ctx.progress)

        def remote(ctx: JobContext, server) -> Usage:  # gui/remote_worker.py: each batch encoded by the server
            data = cached if cached is not None else load_dataset(name, n=DATA_SETS[name], seed=1, size=size)
            ctx.progress(0, len(data))
            return state.count_usage(model, generation, data, ENCODE_BATCH, ctx.progress,
                                     lambda images: remote_encode_tokens(server, model, images))

        work.remote = remote
        def progress(done: int, total: int, _payload: Any) -> None:
            self.codebook_column.usage_title.setText(f"Encoding {name}: {done} of {total} images…")

        self.usage = None
        self.submit(work, channel="usage", label=f"Encoding {name} for codebook usage", on_result=self._usage_ready,
                    on_error=self._usage_failed, on_progress=progress, cancel_running=True)
        self._show_usage()

    def _usage_ready(self, usage: Usage) -> None:
        self.usage = usage
        self.datasets[(usage.data.name, usage.data.images.shape[1])] = usage.data
        self._show_usage()
        self._show_codebook()
        self._show_selected()
        if self.codebook_column.in_context:
            self._on_tile_mode()

    def _on_job_ended(self) -> None:
        """A usage count that ended without a result was cancelled (the status bar's Cancel): say so."""
        if self.usage is None and self.loaded is not None and not self.worker.is_busy("usage"):
            self._show_usage()

    def _usage_failed(self, message: str) -> None:
        self.codebook_column.usage_title.setText("Usage not counted: " + message)
        self.report_error(message)

    def _show_usage(self) -> None:
        k = self.loaded.model.codebook_size if self.loaded is not None else 0
        self.codebook_column.show_usage(self.counts, k, self.usage, self.worker.is_busy("usage"))

    def _on_data_set(self) -> None:
        self.count_usage()
        self._load_gallery(pick=False)

    # --- the codebook and the selected code ----------------------------------------------------------

    def _show_codebook(self) -> None:
        if self.codebook is not None:
            in_grid = np.unique(self.editor.grid) if self.editor is not None else np.zeros(0, np.int64)
            self.codebook_column.show_codebook(self.codebook, self.counts, self.selected, in_grid)

    def select_code(self, code: int) -> None:
        """Select a code everywhere: atlas, histogram, map, the grid's cells; it becomes the brush (B)."""
        if self.loaded is None or not 0 <= code < self.loaded.model.codebook_size:
            return
        self.grid_column.follow_selection(self.selected, code)
        self.selected = code
        self.codebook_column.select(code)
        self.grid_column.canvas.set_highlight(code)
        self._show_selected()

    def _show_selected(self) -> None:
        code, view = self.selected, self.codebook
        self.grid_column.show_brush(code, view.fill_tiles[code] if view is not None and code is not None else None)
        self.code_column.show_code(code, view)
        if code is not None and view is not None:
            grid = self.editor.grid if self.editor is not None else None
            self.code_column.show_stats(code, grid, self.counts, self.usage)
            self.code_column.show_top_images(code, self.usage)

    @property
    def top_image_indices(self) -> list[int]:
        return self.code_column.details.top_indices

    def _open_data_item(self, index: int) -> None:
        if self.usage is not None:
            self.encode_image(self.usage.data.images[index], self.usage.data.describe(index))

    def shutdown(self) -> None:
        super().shutdown()
        self.live.shutdown()
