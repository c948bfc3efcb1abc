"""The main window: one tab per model family, a model picker, a status bar with progress.

Every tab always holds a working model: at start each panel opens its family's shipped
checkpoint (`assets.shipped_for`), a checkpoint given on the command line goes to the panel
of its family, and a checkpoint that fails to open leaves the panel with the model it had
(or its default). The picker names the model actually loaded, never the one last asked for.
The menu bar and its keys are in `menus.py` (`menu(name)` for others to add to), presenter mode
in `presenter/` (`lesson` and `present=True` enter it once the window is shown).
"""

from __future__ import annotations

from dataclasses import dataclass
import time
from pathlib import Path

import torch
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication, QLabel, QMainWindow, QMenu, QMessageBox, QProgressBar, QSizePolicy, QTabWidget,
    QToolBar,
)

from ..core.assets import list_shipped, shipped_for
from ..core.checkpoints import WEIGHTS_NAME, LoadedModel, load_checkpoint, read_meta, resolve_paths
from ..core.diffusers_io.folder import diffusers_folder_of, picker_text
from ..core.diffusers_io.load import open_folder
from . import theme, window_state
from .collector import collect_on_gui_thread
from .dialogs import open_file
from .dropped import open_dropped
from .menus import WindowMenus
from .model_picker import ModelPicker
from .opening import not_a_checkpoint
from .panels.base import Panel
from .panels.registry import PANEL_CLASSES
from .presenter import Presenter
from .widgets.scrolling import scrolling_page
from .status_bar import PROGRESS_WIDTH, build_status_bar
from .worker import JobContext, ModelWorker
from .connect_dialog import RemoteWorker, install as install_server_menu  # File > Connect to server…

INFO_MS, ERROR_MS = 8_000, 30_000  # how long a message stays unless replaced or withdrawn


@dataclass(frozen=True)
class OpenFailed:
    """A checkpoint that could not be loaded, and why, in words (the load job's result)."""

    message: str


PROGRESS_INTERVAL_S = 0.1


class MainWindow(QMainWindow):
    def __init__(self, device: torch.device, checkpoint: str | None = None, lesson=None, present: bool = False):
        super().__init__()
        collect_on_gui_thread()  # a Qt object must never be garbage-collected on a worker thread
        self.device = device
        self.setWindowTitle("playground: generative models by hand")
        self.setAcceptDrops(True)  # PNGs and checkpoints dropped anywhere on the window
        self.panels: list[Panel] = []
        self.workers: list[ModelWorker] = []
        self.extra_checkpoints: list[Path] = []
        self._message_source: object = None  # who posted the status bar's message (it may withdraw it)
        self.last_dialog: QMessageBox | None = None
        self._progress_worker: ModelWorker | None = None  # whose job the progress bar shows
        self._progress_shown = -float("inf")

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        for panel_class in PANEL_CLASSES:
            worker = RemoteWorker(f"{panel_class.__name__}-worker", self) if panel_class.uses_worker else None
            panel = panel_class(worker, device)
            if worker is not None:
                self._connect_worker(worker)
                self.workers.append(worker)
            panel.status_message.connect(self.show_message)
            panel.checkpoint_saved.connect(self.add_checkpoint)  # e.g. a finished training run
            panel.open_requested.connect(self.open_checkpoint)
            self.panels.append(panel)
            self.tabs.addTab(scrolling_page(panel), panel.title)

        toolbar = QToolBar("Model")
        toolbar.setObjectName("model-toolbar")
        toolbar.setMovable(False)
        self.addToolBar(toolbar)
        self.menus = WindowMenus(self)  # after the panels: it puts the keys of their buttons in their tooltips
        toolbar.addWidget(self.menus.bar)
        install_server_menu(self)
        toolbar.addWidget(QLabel(" Model  "))
        self.model_picker = ModelPicker()
        toolbar.addWidget(self.model_picker)
        self.model_info = QLabel("")
        self.model_info.setStyleSheet("color: #aaa; padding-left: 12px;")
        self.model_info.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)  # the toolbar's rest
        self.model_info.setMinimumWidth(1)  # long text is cut at the window's edge, never widens the window
        toolbar.addWidget(self.model_info)

        self.presenter = Presenter(self)
        self._present = (lesson, present)  # presenter mode starts once the window is shown

        build_status_bar(self, device)  # progress, cancel_button, backend_setting, device_label
        self.cancel_button.clicked.connect(self._cancel_current)
        self.statusBar().messageChanged.connect(lambda text: None if text else self._forget_message_source())

        window_state.restore(self, self.tabs, self.panels, window_state.window_settings())
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.model_picker.activated.connect(self._on_picker_activated)
        self._start(checkpoint)

    def menu(self, name: str) -> QMenu:
        """The menu bar's menu `name` ("File", "View", "Help"), for others to add their actions to."""
        return self.menus.menu(name)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        lesson, present = self._present
        if present:
            self._present = (None, False)
            QTimer.singleShot(0, lambda: self.presenter.enter(lesson))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange and hasattr(self, "menus"):
            self.menus.window_state_changed()

    def _start(self, checkpoint: str | None) -> None:
        """Each panel opens its default, except the one a valid `checkpoint` is for."""
        target = self._checkpoint_target(checkpoint) if checkpoint else None
        for panel in self.panels:
            if target is not None and panel is target[0]:
                self.show_panel(panel)
                self.load_into(panel, target[1], interactive=True)
            else:
                self._load_default(panel)
        self._refresh_picker()

    # --- panels and models ----------------------------------------------------------------

    @property
    def current_panel(self) -> Panel:
        return self.panels[self.tabs.currentIndex()]

    def show_panel(self, panel: Panel) -> None:
        """Bring a panel's tab to the front (the tabs hold scroll areas, not the panels themselves)."""
        self.tabs.setCurrentIndex(self.panels.index(panel))

    def panel_for_family(self, family: str) -> Panel | None:
        """The tab a checkpoint of `family` opens in. A family may be offered by two tabs (ldm, dit and sit by
        Diffusion and Text to image): the tab shown, if it offers it, else the family's home tab."""
        if family in self.current_panel.families:
            return self.current_panel
        homes = [p for p in self.panels if family in (p.families if p.home_families is None else p.home_families)]
        return next(iter(homes), None) or next((p for p in self.panels if family in p.families), None)

    def _load_default(self, panel: Panel) -> None:
        """The shipped checkpoint of the panel's first family that has one."""
        if not panel.families:  # e.g. the Train panel: it opens no checkpoint
            return
        shipped = next((s for s in map(shipped_for, panel.families) if s is not None), None)
        if shipped is None:
            self.show_message(f"No shipped checkpoint for {panel.title}; train one (see README) or open a file.")
            return
        self.load_into(panel, shipped.path, fallback=False)

    def _picker_entries(self, panel: Panel) -> list[tuple[str, Path]]:
        entries = [(_entry_text(i.name, i.meta), i.path) for i in list_shipped() if i.meta.family in panel.families]
        for path in self.extra_checkpoints:
            try:
                meta = read_meta(path)
            except ValueError:
                continue
            if meta.family in panel.families:
                name = path.parent.name if path.name == WEIGHTS_NAME else f"{path.parent.name}/{path.name}"
                entries.append((_entry_text(name, meta), path))
        loaded = panel.loaded
        if loaded is not None and all(Path(p).resolve() != Path(loaded.path).resolve() for _, p in entries):
            entries.append((_entry_text(loaded.name, loaded.meta), Path(loaded.path).resolve()))
        return entries

    def _refresh_picker(self) -> None:
        """List the current tab's models and select the one it has loaded (nothing if none)."""
        panel = self.current_panel
        current = Path(panel.loaded.path) if panel.loaded is not None else None
        self.model_picker.set_entries(self._picker_entries(panel), current)
        loading = panel.worker is not None and panel.worker.is_busy("load")
        self.model_picker.setPlaceholderText("loading…" if loading else panel.picker_note)
        self.model_picker.fit_to(self.width())
        self._show_model_info(panel.loaded)

    def _on_tab_changed(self, _index: int) -> None:
        self._refresh_picker()
        app = QApplication.instance()
        if theme.current_zoom(app) != 1.0 or theme.current_theme(app) != "dark":
            theme.refresh(app)  # style sheets set since the last zoom or theme change

    def _on_picker_activated(self, index: int) -> None:
        path = self.model_picker.itemData(index)
        if path is None:
            self.open_checkpoint_dialog()
        else:
            self.load_into(self.current_panel, Path(path), interactive=True)

    def open_checkpoint_dialog(self) -> None:
        path = open_file(self, "checkpoint", "Open checkpoint", "Checkpoints (*.safetensors *.json)")
        if path:
            self.open_checkpoint(path)
        else:
            self._refresh_picker()

    def _checkpoint_target(self, path: str | Path) -> tuple[Panel, Path] | None:
        """The panel a checkpoint opens in and its weights file; an error dialog (and None) if none."""
        try:
            meta = read_meta(path)
            weights = resolve_paths(path)[0].resolve()  # absolute: as the picker lists it
        except (ValueError, OSError) as exc:
            self._error_dialog(f"Cannot open {Path(path).name}", not_a_checkpoint(path, exc))
            return None
        panel = self.panel_for_family(meta.family)
        if panel is None:
            self._error_dialog(f"Cannot open {Path(path).name}",
                               f"{path} holds a {meta.family} model, and no tab shows {meta.family} models yet.")
            return None
        return panel, weights

    def open_checkpoint(self, path: str | Path) -> None:
        """Open any checkpoint file: it goes to the panel of its family (which keeps its model if it fails)."""
        target = self._checkpoint_target(path)
        if target is None:
            self._refresh_picker()
            return
        self.show_panel(target[0])
        self.load_into(*target, interactive=True)

    def add_checkpoint(self, path: str | Path) -> None:
        """List a checkpoint (e.g. one just trained) in the picker of its family's panel."""
        resolved = resolve_paths(path)[0].resolve()
        if resolved not in self.extra_checkpoints and all(i.path.resolve() != resolved for i in list_shipped()):
            self.extra_checkpoints.append(resolved)
        self._refresh_picker()

    def load_into(self, panel: Panel, path: Path, interactive: bool = False, fallback: bool = True) -> None:
        """Load `path` into `panel` in its worker, ahead of its other work (a long run there is
        cancelled: `preempt`). On failure the panel keeps its model; one that has none gets its
        default (unless this was the default: `fallback=False`)."""
        device = self.device
        folder = diffusers_folder_of(path)  # a diffusers pipeline: large, loaded part by part with progress

        def work(ctx: JobContext) -> LoadedModel | OpenFailed:
            try:
                if folder is not None:
                    return open_folder(folder, device, progress=lambda _part, done: ctx.progress(round(done * 100), 100))
                return load_checkpoint(path, device)
            except (ValueError, OSError) as exc:  # CheckpointError names the file and the problem
                return OpenFailed(not_a_checkpoint(path, exc))

        def done(result: LoadedModel | OpenFailed) -> None:
            if isinstance(result, OpenFailed):
                failed(result.message)
                return
            panel.set_model(result)
            self.add_checkpoint(result.path)
            if interactive or panel is self.current_panel:  # not another tab's start-up model
                self.show_message(f"Loaded {result.name} ({result.family}) from {result.path}")

        def failed(message: str) -> None:
            if interactive:
                self._error_dialog(f"Cannot open {Path(path).name}", message)
            else:
                self.show_message(f"Error: {message}")
            if panel.loaded is None and fallback:
                self._load_default(panel)
            self._refresh_picker()

        panel.submit(work, channel="load", on_result=done, on_error=failed, preempt=True,
                     label=f"Loading {folder.name}" if folder is not None else "")
        if panel is self.current_panel and panel.loaded is None:
            self._refresh_picker()  # "loading…"

    def _show_model_info(self, loaded: LoadedModel | None) -> None:
        if loaded is None:
            self.model_info.setText("")
            return
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in loaded.meta.metrics.items())
        parts = [loaded.family, f"trained on {loaded.meta.data}, {loaded.meta.steps} steps", metrics]
        if loaded.meta.extra.get("format") == "diffusers":
            parts = [picker_text(loaded.meta), loaded.meta.extra.get("schedule", ""), loaded.meta.extra.get("dtype", "")]
        self.model_info.setText(" · ".join(p for p in parts if p))
        self.model_info.setToolTip(f"Re-create with:\n{loaded.meta.command}")

    # --- dropped files ----------------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
        for path in paths:
            self.open_dropped(path)

    def open_dropped(self, path: Path) -> None:
        """A PNG restores its recipe in its family's tab; a checkpoint opens; anything else is explained."""
        open_dropped(self, path)

    # --- status, progress, errors ------------------------------------------------------------

    def _connect_worker(self, worker: ModelWorker) -> None:
        worker.error.connect(lambda message: self.show_message(f"Error: {message}"))
        worker.job_progress.connect(self._on_progress)
        worker.job_ended.connect(self._on_job_ended)

    def _on_progress(self, label: str, done: int, total: int) -> None:
        # the bar repaints synchronously whenever its text changes (4.5 ms a report): at most 10 times
        # a second, plus the job's first and last report
        now, sender = time.monotonic(), self.sender()
        if (sender is self._progress_worker and label == self.progress.toolTip() and 0 < done < total
                and now - self._progress_shown < PROGRESS_INTERVAL_S):
            return
        self._progress_shown = now
        self._progress_worker = sender
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        if label != self.progress.toolTip():  # the job's name is on the bar: the status message stays the panels'
            self.progress.setFormat(_elided(self.progress, label) + "  %v / %m")
            self.progress.setToolTip(label)

    def _on_job_ended(self, _label: str) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.progress.setToolTip("")

    def _cancel_current(self) -> None:
        """The status bar's Cancel: the shown job's worker drops its work, except a checkpoint load."""
        if self._progress_worker is not None:
            self._progress_worker.cancel(keep=("load",))
        self.show_message("Cancelled")
        self._on_job_ended("")

    def show_message(self, text: str) -> None:
        """Show `text` in the status bar; an empty text withdraws the message its sender posted
        (a panel's error that no longer holds), never another's."""
        source = self.sender()
        if not text:
            if source is self._message_source:
                self.statusBar().clearMessage()
            return
        self.statusBar().showMessage(text, ERROR_MS if text.startswith("Error") else INFO_MS)
        self._message_source = source

    def _forget_message_source(self) -> None:
        self._message_source = None

    def _error_dialog(self, title: str, message: str) -> None:
        self.show_message(f"Error: {message}")
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()  # non-blocking: the window stays responsive
        self.last_dialog = box

    # --- size and shutdown ------------------------------------------------------------------------

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self.model_picker.fit_to(self.width())

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        window_state.save(self, self.tabs, self.panels, window_state.window_settings())
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        for panel in self.panels:
            panel.shutdown()
        for worker in self.workers:
            worker.shutdown()


def _elided(bar: QProgressBar, label: str) -> str:
    """`label` cut (…) to leave room on the bar for its count."""
    room = PROGRESS_WIDTH - bar.fontMetrics().horizontalAdvance("  0000 / 0000") - 16
    return bar.fontMetrics().elidedText(label, Qt.TextElideMode.ElideRight, room)


def _entry_text(name: str, meta) -> str:
    if meta.extra.get("format") == "diffusers":  # a diffusers pipeline folder: what it is, not how it was trained
        return picker_text(meta)
    return f"{name}  ({meta.family}, {meta.data}, {meta.steps} steps)"
