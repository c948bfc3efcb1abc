"""Open an image file for a panel: the one "Open image…" dialog, and the read in the panel's worker
(scaled and centre-cropped to the model's size) with a message in words when the file is no image."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
from PySide6.QtWidgets import QWidget

from ...core.data import load_image_file
from ..dialogs import open_file
from ..worker import JobContext, ModelWorker

if TYPE_CHECKING:
    from ..panels.base import Panel

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp);;All files (*)"


def ask_image_path(parent: QWidget) -> str:
    """The "Open image" dialog; "" when cancelled."""
    return open_file(parent, "image", "Open image", IMAGE_FILTER)


def open_image_file(panel: Panel, path: str | Path, size: int, on_image: Callable[[np.ndarray, str], None],
                    worker: ModelWorker | None = None) -> None:
    """Read `path` as a (size, size, 3) uint8 image in the panel's worker (channel "open") and hand it,
    with the file's name, to `on_image`; a file that is no image gets one message naming it and why."""

    def work(ctx: JobContext) -> np.ndarray | str:
        try:
            return load_image_file(path, size)
        except ValueError as exc:
            return str(exc)  # a message in words, not the worker's "open: ImageFileError: …"

    def done(result: np.ndarray | str) -> None:
        if isinstance(result, str):
            panel.report_error(result)
        else:
            on_image(result, Path(path).name)

    panel.submit(work, channel="open", on_result=done, worker=worker)
