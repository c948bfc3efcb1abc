"""The codebook browser's toolbar and its left column: the token grid to paint on, the brush,
replace-everywhere, and the image the grid was encoded from.

These widgets only show what the panel hands them; the panel connects their signals to its
actions (paint, undo, load…)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QVBoxLayout, QWidget

from ....core.codebook.token_editor import TokenGridEditor
from ...widgets.images import ImageCanvas
from ...widgets.codebook_style import HIGHLIGHT, tile_pixmap
from .token_canvas import TokenGridCanvas

EXPORT_SCALE = 8  # exported PNGs: the decoded grid, x8


class Toolbar(QWidget):
    """Files (open, load, save, export) and history (undo, redo, reset), and the last edit's latency."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.open_image_button = QPushButton("Open image…")
        self.open_image_button.setToolTip("Encode an image file (scaled and centre-cropped to the model's size)")
        self.load_png_button = QPushButton("Load PNG…")
        self.load_png_button.setToolTip("A PNG exported here (or by `playground encode vqvae --recon` or "
                                        "`sample vqvae`): its token grid comes back from its recipe")
        self.load_grid_button = QPushButton("Load grid…")
        self.load_grid_button.setToolTip("A token grid saved as JSON (here or by `playground encode vqvae`)")
        self.save_grid_button = QPushButton("Save grid…")
        self.save_grid_button.setToolTip("The edited token grid as JSON (decode it with "
                                         "`playground sample vqvae --tokens FILE`)")
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setToolTip(f"The decoded edited grid, ×{EXPORT_SCALE}, with its recipe (the token grid) "
                                      "in its metadata")
        self.undo_button = QPushButton("↶ Undo")
        self.redo_button = QPushButton("↷ Redo")
        self.reset_button = QPushButton("Reset to encoded")
        self.reset_button.setToolTip("Back to the grid the image was encoded to (undoable)")
        for button in (self.open_image_button, self.load_png_button, self.load_grid_button, self.save_grid_button,
                       self.export_button):
            row.addWidget(button)
        row.addSpacing(18)
        for button in (self.undo_button, self.redo_button, self.reset_button):
            row.addWidget(button)
        row.addStretch(1)
        self.latency_label = QLabel("")
        self.latency_label.setStyleSheet("color: #8a8a8a;")
        self.latency_label.setToolTip("Time from the last edit to its decoded pixels on screen")
        row.addWidget(self.latency_label)
        self.show_history(None)

    def show_history(self, editor: TokenGridEditor | None) -> None:
        can_undo, can_redo = editor is not None and editor.can_undo, editor is not None and editor.can_redo
        self.undo_button.setEnabled(can_undo)
        self.redo_button.setEnabled(can_redo)
        self.reset_button.setEnabled(editor is not None and bool(editor.edited_cells().any()))
        self.undo_button.setToolTip(f"Undo {editor.undo_label} (Ctrl+Z)" if can_undo else "Ctrl+Z")
        self.redo_button.setToolTip(f"Redo {editor.redo_label} (Ctrl+Shift+Z)" if can_redo else "Ctrl+Shift+Z")

    def show_latency(self, ms: float) -> None:
        self.latency_label.setText(f"edit → pixels {ms:.0f} ms")


class GridColumn(QWidget):
    """The decoded token grid (paintable), the readout of the hovered cell, the brush, replace A by B,
    and the original image beside the decode of the grid it was encoded to."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.grid_title = QLabel("decoded token grid")
        self.grid_title.setStyleSheet("color: #e6e6e6; font-size: 14pt; font-weight: bold;")
        layout.addWidget(self.grid_title)
        self.canvas = TokenGridCanvas(minimum=205)  # with the rest (and the tab bar), fits a 1280x720 screen
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
        layout.addLayout(self._brush_row())
        layout.addLayout(self._replace_row())
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
        self.opacity_slider.valueChanged.connect(lambda v: self.canvas.set_opacity(v / 100))
        self.numbers_box.toggled.connect(self.canvas.set_show_numbers)

    def _brush_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.brush_tile = QLabel()
        self.brush_tile.setFixedSize(44, 44)
        self.brush_tile.setStyleSheet(f"border: 2px solid {HIGHLIGHT};")
        self.brush_label = QLabel("Brush: no code selected")
        self.brush_label.setStyleSheet("font-size: 13pt; font-weight: bold;")
        row.addWidget(self.brush_tile)
        row.addWidget(self.brush_label, 1)
        return row

    def _replace_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.replace_a, self.replace_b = QSpinBox(), QSpinBox()
        for box, prefix in ((self.replace_a, "A = "), (self.replace_b, "B = ")):
            box.setPrefix(prefix)
            box.setRange(0, 0)
            box.setToolTip("A and B follow your last two selections (B is the brush); edit them freely")
        self.replace_button = QPushButton("Replace A by B everywhere")
        row.addWidget(self.replace_a)
        row.addWidget(self.replace_b)
        row.addWidget(self.replace_button, 1)
        return row

    # --- what it shows ---------------------------------------------------------------------------

    def set_codebook_size(self, k: int) -> None:
        for box in (self.replace_a, self.replace_b):
            box.setRange(0, k - 1)

    def clear(self) -> None:
        for canvas in (self.original_canvas, self.recon_canvas):
            canvas.set_image(None)
        self.canvas.set_grid(None)
        self.canvas.set_image(None)
        self.grid_title.setText("decoded token grid")
        self.grid_info.setText("")
        self.show_hover(None)

    def start_grid(self, original: np.ndarray | None, recon: np.ndarray) -> None:
        """A new grid: the image it came from (None for a grid from a file) and its decode."""
        self.original_canvas.set_image(original)
        self.recon_canvas.set_image(recon)
        self.canvas.set_image(recon)

    def show_grid(self, editor: TokenGridEditor, colours: np.ndarray, selected: int | None, source: str) -> None:
        grid = editor.grid
        self.canvas.set_grid(grid, colours, highlight=selected)
        edited = int(editor.edited_cells().sum())
        rows, cols = grid.shape
        self.grid_title.setText(f"decoded token grid · {edited} of {rows * cols} cells edited" if edited
                                else "decoded token grid")
        self.grid_info.setText(f"{source or 'no source image'}: {rows}×{cols} tokens, "
                               f"{len(np.unique(grid))} distinct codes.")
        self.show_hover(editor)  # the hovered cell may be the one just painted

    def show_hover(self, editor: TokenGridEditor | None) -> None:
        """Name the code under the mouse (and the encoded one, if the cell was repainted)."""
        cell = self.canvas.hovered
        if cell is None or editor is None or not (0 <= cell[0] < editor.shape[0] and 0 <= cell[1] < editor.shape[1]):
            self.hover_label.setText(" ")
            return
        code, encoded = int(editor.grid[cell]), int(editor.encoded[cell])
        was = f" (encoded: {encoded})" if encoded != code else ""
        self.hover_label.setText(f"row {cell[0]}, column {cell[1]}: code <b>{code}</b>{was}")

    def show_brush(self, code: int | None, tile: np.ndarray | None) -> None:
        if code is None or tile is None:
            self.brush_tile.clear()
            self.brush_label.setText("Brush: no code selected")
            return
        self.brush_label.setText(f"Brush: code {code}")
        self.brush_tile.setPixmap(tile_pixmap(tile, 40))

    def follow_selection(self, previous: int | None, code: int) -> None:
        """A and B of replace-everywhere follow the last two selections."""
        if code != previous:
            self.replace_a.setValue(self.replace_b.value() if previous is not None else code)
            self.replace_b.setValue(code)
