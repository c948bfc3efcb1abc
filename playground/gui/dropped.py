"""Files dropped on the main window: a PNG restores its recipe in its family's tab, a checkpoint
opens in its family's tab, anything else gets one message saying why not."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..core.provenance import describe_recipe_source, read_png_recipe
from .opening import file_kind, not_openable

if TYPE_CHECKING:
    from .main_window import MainWindow


def open_dropped(window: MainWindow, path: Path) -> None:
    """What `path` is decides what it does in `window` (see above)."""
    kind = file_kind(path)
    if kind == "checkpoint":
        window.open_checkpoint(path)
        return
    if kind == "other":
        window.show_message(f"Error: {not_openable(path)}")
        return
    try:
        recipe = read_png_recipe(path)
    except ValueError as exc:
        window.show_message(f"Error: cannot load {path.name}: {exc}")
        return
    panel = next((p for p in window.panels if p.families and p.accepts(recipe)), None)
    if panel is None:
        window.show_message(f"Error: cannot load {path.name}: it is {describe_recipe_source(recipe)}, "
                            "and no tab shows that family")
        return
    window.show_panel(panel)
    panel.load_png(path)
