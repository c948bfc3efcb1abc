"""The codebook browser's grid editing: the picture a grid comes from (gallery, image file, data-set
item), the brush, replace-everywhere, undo/redo, and the decode that follows every edit.

A part of `VQVAEPanel` (a mixin; the panel builds the widgets and owns the workers): every
model call runs on the panel's live worker through `Panel.submit`, so a brush step never
waits behind the data-set count.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ....core.codebook.analysis import decode_tokens, encode_tokens
from ....core.codebook.token_editor import TokenGridEditor
from ....core.data import ImageSet
from ....core.serving.remote_tokens import remote_decode_tokens, remote_encode_tokens
from ...widgets.image_file import open_image_file
from ...twins import remotable
from ...worker import JobContext
from ...widgets.codebook_style import code_colours

if TYPE_CHECKING:
    from .panel import VQVAEPanel


MAX_PAINTED_FRAME = 4  # a lesson frame this close to the shown grid is painted, not restored


class GridEditing:
    """Encode a picture to a grid, edit it, decode it (the panel's methods for its left column)."""

    # --- images and their grids ----------------------------------------------------------------------

    def _load_gallery(self: VQVAEPanel, pick: bool) -> None:
        """Show the chosen data set's gallery; with `pick` and no grid yet, encode its first image."""
        name = self.codebook_column.data_set
        if name in self.galleries:
            self._show_gallery(self.galleries[name], pick)
            return

        def done(data: ImageSet) -> None:
            self.galleries[name] = data
            self._show_gallery(data, pick)

        self.code_column.gallery.load(self, name, on_loaded=done, worker=self.live)

    def _show_gallery(self: VQVAEPanel, data: ImageSet, pick: bool) -> None:
        """Show a gallery; with `pick`, encode its first image unless a grid is shown or on its way
        (a restored PNG, an opened image: asked for before the gallery came, it must not be replaced)."""
        gallery = self.code_column.gallery
        if gallery.data is not data:
            gallery.set_data(data)
        grid_coming = self.requested("encode") or self.requested("open")
        if pick and self.editor is None and self.source_image is None and not grid_coming and len(data):
            row = max(0, gallery.currentRow())
            gallery.blockSignals(True)
            gallery.setCurrentRow(row)
            gallery.blockSignals(False)
            self._encode_gallery_item(row)

    def _encode_gallery_item(self: VQVAEPanel, row: int) -> None:
        gallery = self.code_column.gallery
        image = gallery.image(row)
        if image is not None:
            self.encode_image(image, gallery.describe(row))

    def encode_image(self: VQVAEPanel, image: np.ndarray, description: str = "") -> None:
        """Encode one (H, W, 3) uint8 image on the live worker; the editor starts from its grid."""
        if self.loaded is None:
            return
        model = self.loaded.model

        def work(ctx: JobContext) -> tuple[np.ndarray, np.ndarray]:
            tokens = encode_tokens(model, image[None])[0]
            return tokens, decode_tokens(model, tokens)[0]

        def remote(ctx: JobContext, server) -> tuple[np.ndarray, np.ndarray]:  # gui/remote_worker.py
            tokens, images = remote_encode_tokens(server, model, image[None], decode=True)
            return tokens[0], images[0]

        work.remote = remote
        def done(result: tuple[np.ndarray, np.ndarray]) -> None:
            tokens, recon = result
            self._start_grid(TokenGridEditor(tokens, model.codebook_size), image, recon, recon, description)

        self._submit_live(work, channel="encode", on_result=done)

    def _start_grid(self: VQVAEPanel, editor: TokenGridEditor, original: np.ndarray | None, recon: np.ndarray,
                    current: np.ndarray, name: str) -> None:
        """A new grid to edit: `recon` decodes its encoded grid, `current` its (restored) edits."""
        self.editor = editor  # decodes of the previous grid's edits may still arrive: they are dropped
        self.source_image, self.source_name = original, name
        self.current_image, self.decoded_grid = current, np.array(editor.grid)
        self.grid_column.start_grid(original, recon)
        self.grid_column.canvas.set_image(current)
        self._grid_changed(decode=False)
        self._show_selected()

    def open_image(self: VQVAEPanel, path: str | Path) -> None:
        """Read an image file on the live worker and encode it; a file that is not an image gets a
        one-line message naming it and why."""
        size = self.loaded.model.config.image_size if self.loaded is not None else 32
        open_image_file(self, path, size, self.encode_image, worker=self.live)

    # --- editing ------------------------------------------------------------------------------------

    def _on_stroke_started(self: VQVAEPanel) -> None:
        if self.editor is not None and self.selected is not None:
            self.editor.begin_stroke(f"paint code {self.selected}")

    def _on_stroke_finished(self: VQVAEPanel) -> None:
        if self.editor is not None:
            self.editor.end_stroke()
            self.toolbar.show_history(self.editor)

    def paint_cell(self: VQVAEPanel, row: int, col: int, code: int | None = None) -> bool:
        """Paint one cell with `code` (default: the brush); the decode follows on the live worker."""
        code = self.selected if code is None else code
        if self.editor is None or code is None:
            return False
        changed = self.editor.paint(row, col, code)
        if changed:
            self._grid_changed()
        return changed

    def paint_cells(self: VQVAEPanel, cells: list[tuple[int, int]], code: int | None = None) -> None:
        """One brush stroke over `cells` (one undo step), as a drag does."""
        if self.editor is None:
            return
        self.editor.begin_stroke(f"paint code {self.selected if code is None else code}")
        for row, col in cells:
            self.paint_cell(row, col, code)
        self.editor.end_stroke()
        self.toolbar.show_history(self.editor)

    def paint_token(self: VQVAEPanel, row: int, col: int, code: int) -> bool:
        """Paint `code` into cell (row, col) so a room sees it: the code becomes the brush, the cell is
        pointed at (framed, its new number on it, the readout under the grid) and the decode follows;
        one undo step. False for a cell or code outside the grid or the codebook."""
        if self.editor is None or self.loaded is None:
            return False
        g, k = self.editor.grid.shape[0], self.loaded.model.codebook_size
        if not (0 <= row < g and 0 <= col < g and 0 <= code < k):
            return False
        self.select_code(int(code))
        self.paint_cells([(int(row), int(col))], int(code))
        self.grid_column.canvas.point_at((int(row), int(col)))
        return True

    def show_frame(self: VQVAEPanel, recipe: dict) -> str | None:
        """A lesson's frame: a grid a few cells away from the shown one is painted cell by cell with
        `paint_token` (the room sees where); any other recipe is restored."""
        if self.editor is not None and self.loaded is not None and recipe.get("model") in (None, self.loaded.name):
            g = self.editor.grid.shape[0]
            try:
                grid = np.asarray(recipe.get("tokens"), np.int64).reshape(g, g)
            except (TypeError, ValueError):
                grid = None
            changed = np.argwhere(grid != self.editor.grid) if grid is not None else []
            if 0 < len(changed) <= MAX_PAINTED_FRAME and all(0 <= grid[r, c] < self.loaded.model.codebook_size
                                                             for r, c in changed):
                for r, c in changed:
                    self.paint_token(int(r), int(c), int(grid[r, c]))
                return None
        return self.restore(recipe, "the lesson")

    def pick_cell(self: VQVAEPanel, row: int, col: int) -> None:
        """Right-click: select the code of a cell (the eyedropper)."""
        if self.editor is not None:
            self.select_code(int(self.editor.grid[row, col]))

    def replace_code(self: VQVAEPanel, old: int, new: int) -> int:
        if self.editor is None:
            return 0
        count = self.editor.replace(old, new)
        if count:
            self._grid_changed()
            self.report(f"Replaced code {old} by {new} in {count} cells")
        else:
            self.report(f"Code {old} is in no cell of the grid" if old != new else "A and B are the same code")
        return count

    def undo(self: VQVAEPanel) -> None:
        if self.editor is not None and self.editor.undo():
            self._grid_changed()

    def redo(self: VQVAEPanel) -> None:
        if self.editor is not None and self.editor.redo():
            self._grid_changed()

    def reset_grid(self: VQVAEPanel) -> None:
        if self.editor is not None and self.editor.reset():
            self._grid_changed()

    def _grid_changed(self: VQVAEPanel, decode: bool = True) -> None:
        """The grid changed (or was started): ask for its decode first, then redraw while it runs."""
        if decode:
            self._request_decode()
        editor = self.editor
        colours = self.codebook.colours if self.codebook is not None else code_colours(editor.codebook_size)
        self.grid_column.show_grid(editor, colours, self.selected, self.source_name)
        self.toolbar.show_history(editor)
        self.code_column.show_stats(self.selected, editor.grid, data_set=False)
        self.codebook_column.map.set_in_grid(np.unique(editor.grid))

    def _request_decode(self: VQVAEPanel) -> None:
        """Decode the grid on the live worker's "decode" channel: while one decode runs, newer requests
        replace each other, so a fast drag shows the newest grid as soon as the decoder is free (and
        the decode that was running still shows: `keep_stale`)."""
        model, editor, grid, requested = self.loaded.model, self.editor, np.array(self.editor.grid), time.perf_counter()

        def done(image: np.ndarray) -> None:
            if editor is not self.editor:
                return  # an edit of a grid that is no longer shown
            self.current_image, self.decoded_grid = image, grid
            self.grid_column.canvas.set_image(image)
            self.last_latency_ms = (time.perf_counter() - requested) * 1000
            self.toolbar.show_latency(self.last_latency_ms)

        self._submit_live(remotable(lambda ctx: decode_tokens(model, grid)[0],
                                    lambda ctx, server: remote_decode_tokens(server, model, grid)[0]),
                          channel="decode", on_result=done, keep_stale=True)
