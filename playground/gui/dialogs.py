"""File dialogs that open in the folder last used: every QFileDialog of the GUI goes through here.

Each kind of file ("checkpoint", "png", "image", "grid", "directions", "data", "runs",
"export"...) remembers its own folder in the window's settings file; a kind never used yet
starts where any dialog was last used, then in the caller's default, then in the working
folder. A folder that no longer exists is skipped.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from .window_state import window_settings

ANY = "any"  # the folder of the last dialog of any kind


def last_folder(kind: str, default: str | Path | None = None) -> str:
    """The folder the last `kind` dialog was left in (else the last dialog's, `default`, the working folder)."""
    settings = window_settings()
    for candidate in (settings.value(f"folders/{kind}"), settings.value(f"folders/{ANY}"), default):
        if candidate and Path(str(candidate)).is_dir():
            return str(candidate)
    return str(Path.cwd())


def remember_folder(kind: str, path: str | Path) -> None:
    """Remember the folder of `path` (a file's parent, or `path` itself if it is a folder) for `kind`."""
    chosen = Path(path)
    folder = chosen if chosen.is_dir() else chosen.parent
    settings = window_settings()
    for key in (kind, ANY):
        settings.setValue(f"folders/{key}", str(folder.resolve()))
    settings.sync()


def open_file(parent: QWidget | None, kind: str, title: str, file_filter: str,
              default: str | Path | None = None) -> str:
    """The "open" dialog, in the last `kind` folder; the chosen path ("" when cancelled)."""
    path, _ = QFileDialog.getOpenFileName(parent, title, last_folder(kind, default), file_filter)
    if path:
        remember_folder(kind, path)
    return path


def save_file(parent: QWidget | None, kind: str, title: str, suggested_name: str, file_filter: str) -> str:
    """The "save" dialog: `suggested_name` in the last `kind` folder (a name with a folder keeps it)."""
    suggested = Path(suggested_name)
    start = suggested_name if suggested.is_absolute() or suggested.parent != Path(".") else (
        str(Path(last_folder(kind)) / suggested_name) if suggested_name else last_folder(kind))
    path, _ = QFileDialog.getSaveFileName(parent, title, start, file_filter)
    if path:
        remember_folder(kind, path)
    return path


def open_folder(parent: QWidget | None, kind: str, title: str, default: str | Path | None = None) -> str:
    """The "choose a folder" dialog, in the last `kind` folder; the chosen folder ("" when cancelled)."""
    folder = QFileDialog.getExistingDirectory(parent, title, last_folder(kind, default))
    if folder:
        remember_folder(kind, folder)
    return folder
