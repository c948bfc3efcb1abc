""""Export video…" for every animation: a dialog (format MP4/GIF, size, frame rate, overlays), the file
dialog, then the frames written in the background (the panel's worker, or a worker of its own for a
panel without one), with progress in the status bar and a message once the file is written.

The host gives what only it knows: a name, the frames' size and count, and `write(path, settings,
ctx) -> Path`, which renders its frames and hands them to `core.video.write_video` (calling
`ctx.check()`/`ctx.progress()` through `progressed`). The GUI thread never waits on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import numpy as np
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QPushButton,
                               QSpinBox, QWidget)

from ...core.video import (DEFAULT_FPS, VIDEO_FORMATS, VIDEO_SUFFIXES, fps_range, frame_size, presentable_width,
                           side_range, write_video)
from ..dialogs import save_file
from ..window_state import window_settings
from ..worker import Job, JobContext, ModelWorker

if TYPE_CHECKING:
    from ..panels.base import Panel

CHANNEL = "video-export"
FORMAT_KEY, OVERLAYS_KEY = "video/format", "video/overlays"  # the last export's choices, offered again
FORMAT_NAMES = {".mp4": "MP4 (H.264: plays everywhere, small)", ".gif": "GIF (loops in slides and web pages)"}


@dataclass(frozen=True)
class VideoSettings:
    """What the dialog asks: the file's kind (".mp4"/".gif"), its width (height keeps the aspect), fps, overlays."""

    suffix: str = ".mp4"
    width: int | None = None
    fps: int = DEFAULT_FPS
    overlays: bool = True

    def write_options(self) -> dict[str, Any]:
        """Keyword arguments of `core.video.write_video`."""
        return {"fps": self.fps, "size": self.width}


def progressed(frames: Iterable[np.ndarray], ctx: JobContext | None, total: int) -> Iterator[np.ndarray]:
    """`frames` as they are made, reporting each to the status bar and stopping if the export is cancelled."""
    for i, frame in enumerate(frames):
        if ctx is not None:
            ctx.check()
        yield frame
        if ctx is not None:
            ctx.progress(i + 1, total)


Frames = tuple[list[np.ndarray], list[list[str]] | None]  # the frames and each one's overlay lines (or None)


def frames_writer(make: Callable[[JobContext], Frames], recipe: dict | None = None, hold_last: float = 0.0,
                  corner: str = "top-left") -> Callable[[Path, VideoSettings, JobContext], Path]:
    """A `write` for `ask_video` from a function that makes the frames and their overlays (on the worker)."""
    def write(path: Path, settings: VideoSettings, ctx: JobContext) -> Path:
        frames, captions = make(ctx)
        return write_video(progressed(frames, ctx, len(frames)), path, captions=captions if settings.overlays else None,
                           hold_last=hold_last, recipe=None if recipe is None else recipe | {"fps": settings.fps},
                           corner=corner, **settings.write_options())
    return write


class VideoExportDialog(QDialog):
    """Format, width (the height follows), frames a second and overlays for one animation of `count` frames."""

    def __init__(self, what: str, natural: tuple[int, int], count: int, fps: int = DEFAULT_FPS,
                 overlays_available: bool = True, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Export video: {what}")
        self.natural, self.count = (int(natural[0]), int(natural[1])), int(count)
        remembered = window_settings()
        self.format = QComboBox()
        for suffix in VIDEO_SUFFIXES:
            self.format.addItem(FORMAT_NAMES[suffix], suffix)
        self.format.setCurrentIndex(max(0, self.format.findData(remembered.value(FORMAT_KEY, ".mp4"))))
        self.width = QSpinBox()
        self.width.setRange(side_range.low, side_range.high)
        self.width.setSingleStep(self.natural[0])
        self.width.setSuffix(" px")
        self.width.setValue(presentable_width(self.natural[0]))
        self.width.setToolTip(f"The frames are {self.natural[0]}x{self.natural[1]} px as drawn; whole multiples "
                              "of that width keep every pixel square and sharp")
        self.fps = QSpinBox()
        self.fps.setRange(fps_range.low, fps_range.high)
        self.fps.setValue(fps)
        self.fps.setSuffix(" frames/s")
        self.overlays = QCheckBox("step, t, noise level and w in a corner")
        self.overlays.setChecked(overlays_available and str(remembered.value(OVERLAYS_KEY, "true")).lower() == "true")
        self.overlays.setEnabled(overlays_available)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.save_button = QPushButton("Choose file…")
        self.save_button.setDefault(True)
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        heading = QLabel(f"Export {what} as a video")
        heading.setStyleSheet("font-weight: bold;")
        form.addRow(heading)
        form.addRow("Format", self.format)
        form.addRow("Width", self.width)
        form.addRow("Frame rate", self.fps)
        form.addRow("Overlays", self.overlays)
        form.addRow(self.summary)
        form.addRow(self.buttons)
        for signal in (self.format.currentIndexChanged, self.width.valueChanged, self.fps.valueChanged):
            signal.connect(lambda *_: self._update())
        self._update()

    def settings(self) -> VideoSettings:
        width = self.width.value()
        return VideoSettings(suffix=self.format.currentData(), width=None if width == self.natural[0] else width,
                             fps=self.fps.value(), overlays=self.overlays.isChecked() and self.overlays.isEnabled())

    def _update(self) -> None:
        s = self.settings()
        w, h = frame_size((self.natural[1], self.natural[0]), s.width, even=s.suffix == ".mp4")
        self.summary.setText(f"{self.count} frames at {w}x{h} px: {self.count / s.fps:.1f} s")


def ask_video(panel: Panel, what: str, name: str, natural: tuple[int, int], count: int,
              write: Callable[[Path, VideoSettings, JobContext], Path], fps: int = DEFAULT_FPS,
              overlays_available: bool = True) -> Job | None:
    """The export dialog, then the file dialog, then `write` in the background (None when cancelled)."""
    if count < 1:
        panel.report_error(f"nothing to export yet: {what} has no frames")
        return None
    dialog = VideoExportDialog(what, natural, count, fps, overlays_available, panel)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    settings = dialog.settings()
    remembered = window_settings()
    remembered.setValue(FORMAT_KEY, settings.suffix)
    if overlays_available:
        remembered.setValue(OVERLAYS_KEY, settings.overlays)
    path = save_file(panel, "video", "Export video", f"{name}{settings.suffix}", VIDEO_FORMATS[settings.suffix])
    if not path:
        return None
    if Path(path).suffix.lower() not in VIDEO_SUFFIXES:  # a name typed without its suffix
        path += settings.suffix
    return start_export(panel, Path(path), settings, write)


def start_export(panel: Panel, path: Path, settings: VideoSettings,
                 write: Callable[[Path, VideoSettings, JobContext], Path]) -> Job:
    """Write the video on the panel's worker (a panel without one, e.g. Train, gets a worker for this
    export alone, stopped once it is written); report when it is written, or why not."""
    own = ModelWorker("video-export", parent=panel) if panel.worker is None else None
    panel.report(f"Writing {path.name}…")

    def finish() -> None:
        if own is not None:
            own.shutdown(timeout=5.0)

    def done(saved: Path) -> None:
        finish()
        panel.report(f"Saved {saved} ({settings.fps} frames/s, recipe in its metadata)")

    def failed(message: str) -> None:
        finish()
        panel.report_error(message)

    return panel.submit(lambda ctx: write(path, settings, ctx), channel=CHANNEL, on_result=done, on_error=failed,
                        label=f"Export {path.name}", keep_stale=True, worker=own)


def export_button(tooltip: str = "") -> QPushButton:
    """The "Export video…" button every animation has."""
    button = QPushButton("Export video…")
    button.setToolTip(tooltip or "Write this animation as an MP4 or GIF: size, frame rate, overlays")
    return button
