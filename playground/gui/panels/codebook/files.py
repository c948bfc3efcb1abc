"""The codebook browser's files: token grids as JSON, PNG export with its recipe, and the way back
("Load PNG…" restores the grid a PNG's recipe holds; "Load grid…" reads a JSON grid).

A part of `VQVAEPanel` (a mixin). The recipe an exported PNG carries is
`provenance.picture_recipe(loaded, "tokens", ...)`: the model header and "codebook_size",
"grid_size", "tokens" (the edited grid), "encoded_tokens", "edited_cells", "source", "scale"
(what `playground reproduce` re-renders).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from ....core.codebook.analysis import decode_tokens
from ....core.codebook.token_editor import TokenGridEditor
from ....core.codebook.token_grid import PNG_SIGNATURE, TokenGrid, load_token_grid, save_token_grid
from ....core.images import save_png, upscale
from ....core.provenance import checkpoint_differences, picture_recipe
from ....core.serving.remote_tokens import remote_decode_tokens
from ...dialogs import open_file
from ...twins import remotable
from ...widgets.image_file import ask_image_path
from .grid_column import EXPORT_SCALE
from .state import editor_from_recipe

if TYPE_CHECKING:
    from .panel import VQVAEPanel


class CodebookFiles:
    """Save, export, load and restore the edited token grid (the panel's file actions)."""

    def token_grid(self: VQVAEPanel) -> TokenGrid:
        if self.editor is None or self.loaded is None:
            raise ValueError("no token grid yet: pick or open an image first")
        return TokenGrid(indices=np.array(self.editor.grid), model=self.loaded.name,
                         codebook_size=self.loaded.model.codebook_size)

    def save_grid(self: VQVAEPanel, path: str | Path) -> Path:
        return save_token_grid(path, self.token_grid())

    def recipe(self: VQVAEPanel) -> dict[str, Any]:
        grid = self.token_grid()
        return picture_recipe(
            self.loaded, "tokens", codebook_size=self.loaded.model.codebook_size, grid_size=list(grid.grid_size),
            tokens=grid.indices.tolist(), encoded_tokens=self.editor.encoded.tolist(),
            edited_cells=int(self.editor.edited_cells().sum()), source=self.source_name, scale=EXPORT_SCALE)

    def export_png(self: VQVAEPanel, path: str | Path) -> Path:
        """The decoded edited grid x8, with the token grid (and the encoded one) in the PNG's recipe."""
        recipe = self.recipe()
        if self.current_image is None or not np.array_equal(self.decoded_grid, self.editor.grid):
            raise ValueError("the latest edit is still being decoded; export again in a moment")
        return save_png(path, upscale(self.current_image, EXPORT_SCALE), recipe)

    def restore(self: VQVAEPanel, recipe: dict[str, Any], source: str = "the recipe") -> str | None:
        """The grid of an exported PNG (with its encoded grid, so Reset and the edit count come back),
        decoded by the current model; ValueError in words for a grid it cannot decode. Returns what
        differs from the PNG's making (another model, other weights), for the status message."""
        if self.loaded is None:
            raise ValueError("no VQ-VAE is loaded yet")
        model, made_with = self.loaded.model, recipe.get("model")
        try:
            editor = editor_from_recipe(recipe, model)
        except ValueError as exc:
            if isinstance(made_with, str) and made_with != self.loaded.name:
                raise ValueError(f"{exc} (the PNG was made with {made_with}; {self.loaded.name} is loaded)") from None
            raise
        name = recipe.get("source") if isinstance(recipe.get("source"), str) else ""  # what the grid was encoded from
        if isinstance(made_with, str) and made_with != self.loaded.name:
            notes = [f"it was made with {made_with}, decoded here with {self.loaded.name}"]
        else:
            notes = checkpoint_differences(recipe, self.loaded)
        encoded, tokens = np.array(editor.encoded), np.array(editor.grid)

        def done(images: np.ndarray) -> None:
            self._start_grid(editor, None, images[0], images[1], name or "a restored PNG")

        grids = np.stack([encoded, tokens])
        self._submit_live(remotable(lambda ctx: decode_tokens(model, grids),
                                    lambda ctx, server: remote_decode_tokens(server, model, grids)),
                          channel="encode", on_result=done)
        return "note: " + "; ".join(notes) if notes else None

    def load_grid(self: VQVAEPanel, path: str | Path, interactive: bool = False) -> bool:
        """Read a token grid (JSON; a PNG goes through its recipe, as "Load PNG…") and decode it; a bad
        file is reported and changes nothing. Interactive loads also show the problem in a dialog."""
        if self.loaded is None:
            return False
        name = Path(path).name
        try:
            with open(path, "rb") as f:
                is_png = f.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE
        except OSError:
            is_png = False  # the loader words the problem
        if is_png:
            return self.load_png(path)
        model = self.loaded.model
        try:
            grid = load_token_grid(path, grid_size=model.grid_size, codebook_size=model.codebook_size)
        except (OSError, ValueError) as exc:
            self.report_error(str(exc))
            if interactive:
                self._error_dialog("Cannot load token grid", str(exc))
            return False
        if grid.model and grid.model != self.loaded.name:
            self.report(f"Note: {name} was made with {grid.model}; decoding with {self.loaded.name}")
        else:
            self.report(f"Loaded {name}")
        tokens = grid.indices

        def done(recon: np.ndarray) -> None:
            self._start_grid(TokenGridEditor(tokens, model.codebook_size), None, recon, recon, name)

        self._submit_live(remotable(lambda ctx: decode_tokens(model, tokens)[0],
                                    lambda ctx, server: remote_decode_tokens(server, model, tokens)[0]),
                          channel="encode", on_result=done)
        return True

    def _error_dialog(self: VQVAEPanel, title: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # non-blocking: the panel stays usable
        self.error_box = box

    def _open_image_dialog(self: VQVAEPanel) -> None:
        path = ask_image_path(self)
        if path:
            self.open_image(path)

    def _load_grid_dialog(self: VQVAEPanel) -> None:
        path = open_file(self, "grid", "Load token grid", "Token grids (*.json)")
        if path:
            self.load_grid(path, interactive=True)

    def _save_grid_dialog(self: VQVAEPanel) -> None:
        self.save_with_dialog("Save token grid", "tokens.json", "JSON (*.json)", self.save_grid)

    def _export_dialog(self: VQVAEPanel) -> None:
        self.save_with_dialog("Export PNG", "vqvae-edited.png", "PNG (*.png)", self.export_png,
                              "its recipe, with the token grid, is in its metadata")
