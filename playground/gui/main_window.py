"""The main window: one tab per model family, a model picker, a status bar with progress."""

from __future__ import annotations

from pathlib import Path

import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QFrame, QLabel, QMainWindow, QMessageBox, QProgressBar, QPushButton, QScrollArea,
    QSizePolicy, QTabWidget, QVBoxLayout,
    QToolBar, QWidget,
)

from ..core.assets import DEFAULT_CHECKPOINTS, list_shipped
from ..core.checkpoints import LoadedModel, load_checkpoint, read_meta, resolve_paths
from ..core.device import describe_device
from .panels.base import Panel
from .panels.registry import PANEL_CLASSES
from .worker import JobContext, ModelWorker

OPEN_ITEM = "Open checkpoint…"


class MainWindow(QMainWindow):
    def __init__(self, device: torch.device, checkpoint: str | None = None):
        super().__init__()
        self.device = device
        self.setWindowTitle("playground: generative models by hand")
        self.resize(1360, 820)
        self.panels: list[Panel] = []
        self.workers: list[ModelWorker] = []
        self.extra_checkpoints: list[Path] = []

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        for panel_class in PANEL_CLASSES:
            worker = ModelWorker(f"{panel_class.__name__}-worker", self)
            panel = panel_class(worker, device)
            self._connect_worker(worker)
            panel.status_message.connect(self.show_message)
            panel.checkpoint_saved.connect(self.add_checkpoint)  # e.g. a finished training run
            panel.open_requested.connect(self.open_checkpoint)
            self.workers.append(worker)
            self.panels.append(panel)
            self.tabs.addTab(_scrolling(panel), panel.title)

        toolbar = QToolBar("Model")
        toolbar.setMovable(False)
        self.addToolBar(toolbar)
        toolbar.addWidget(QLabel(" Model  "))
        self.model_picker = QComboBox()
        self.model_picker.setMinimumWidth(320)
        toolbar.addWidget(self.model_picker)
        self.model_info = QLabel("")
        self.model_info.setStyleSheet("color: #aaa; padding-left: 12px;")
        self.model_info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # long text must not widen the window
        toolbar.addWidget(self.model_info)

        open_action = QAction("Open checkpoint…", self)
        open_action.setShortcut(QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self.open_checkpoint_dialog)
        self.addAction(open_action)

        status = self.statusBar()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self._cancel_current)
        self.device_label = QLabel(f"device: {describe_device(device)}")
        self.device_label.setObjectName("device")
        status.addPermanentWidget(self.progress)
        status.addPermanentWidget(self.cancel_button)
        status.addPermanentWidget(self.device_label)

        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.model_picker.activated.connect(self._on_picker_activated)
        self._refresh_picker()
        if checkpoint:
            self.open_checkpoint(checkpoint)
        else:
            for panel in self.panels:
                self._load_default(panel)

    # --- panels and models ----------------------------------------------------------------

    @property
    def current_panel(self) -> Panel:
        return self.panels[self.tabs.currentIndex()]

    def show_panel(self, panel: Panel) -> None:
        """Bring a panel's tab to the front (the tabs hold scroll areas, not the panels themselves)."""
        self.tabs.setCurrentIndex(self.panels.index(panel))

    def panel_for_family(self, family: str) -> Panel | None:
        return next((p for p in self.panels if family in p.families), None)

    def _load_default(self, panel: Panel) -> None:
        """The family's default shipped checkpoint, else the first shipped one of its first family."""
        if not panel.families:  # e.g. the Train panel: it opens no checkpoint
            return
        shipped = list_shipped()
        for family in panel.families:
            preferred = DEFAULT_CHECKPOINTS.get(family)
            candidates = [i for i in shipped if i.meta.family == family]
            candidates.sort(key=lambda i: i.name != preferred)
            if candidates:
                self.load_into(panel, candidates[0].path)
                return
        self.show_message(f"No shipped checkpoint for {panel.title}; train one (see README) or open a file.")

    def _refresh_picker(self) -> None:
        panel = self.current_panel
        self.model_picker.blockSignals(True)
        self.model_picker.clear()
        entries = [(i.name, i.path, i.meta) for i in list_shipped() if i.meta.family in panel.families]
        for path in self.extra_checkpoints:
            try:
                meta = read_meta(path)
            except ValueError:
                continue
            if meta.family in panel.families:
                entries.append((f"{path.parent.name}/{path.name}", path, meta))
        for name, path, meta in entries:
            self.model_picker.addItem(f"{name}  ({meta.family}, {meta.data}, {meta.steps} steps)", str(path))
        self.model_picker.addItem(OPEN_ITEM, None)
        if panel.loaded is not None:
            loaded = Path(panel.loaded.path).resolve()  # the same file however its path was spelled
            index = next((i for i in range(self.model_picker.count() - 1)
                          if Path(self.model_picker.itemData(i)).resolve() == loaded), -1)
            if index >= 0:
                self.model_picker.setCurrentIndex(index)
        self.model_picker.blockSignals(False)
        self._show_model_info(panel.loaded)

    def _on_tab_changed(self, _index: int) -> None:
        self._refresh_picker()

    def _on_picker_activated(self, index: int) -> None:
        path = self.model_picker.itemData(index)
        if path is None:
            self.open_checkpoint_dialog()
        else:
            self.load_into(self.current_panel, Path(path))

    def open_checkpoint_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open checkpoint", str(Path.cwd()), "Checkpoints (*.safetensors *.json)")
        if path:
            self.open_checkpoint(path)
        else:
            self._refresh_picker()

    def open_checkpoint(self, path: str | Path) -> None:
        """Open any checkpoint file: it goes to the panel of its family."""
        try:
            meta = read_meta(path)
        except ValueError as exc:
            self._error_dialog("Cannot open checkpoint", str(exc))
            self._refresh_picker()
            return
        panel = self.panel_for_family(meta.family)
        if panel is None:
            self._error_dialog("Cannot open checkpoint", f"{path}: no panel shows {meta.family} models yet")
            return
        resolved = resolve_paths(path)[0].resolve()  # the weights file, absolute: as the picker lists it
        if resolved not in self.extra_checkpoints and all(i.path != resolved for i in list_shipped()):
            self.extra_checkpoints.append(resolved)
        self.show_panel(panel)
        self.load_into(panel, resolved, interactive=True)

    def add_checkpoint(self, path: str | Path) -> None:
        """List a checkpoint (e.g. one just trained) in the picker of its family's panel."""
        resolved = resolve_paths(path)[0].resolve()
        if resolved not in self.extra_checkpoints and all(i.path != resolved for i in list_shipped()):
            self.extra_checkpoints.append(resolved)
        self._refresh_picker()

    def load_into(self, panel: Panel, path: Path, interactive: bool = False) -> None:
        device = self.device

        def work(ctx: JobContext) -> LoadedModel:
            return load_checkpoint(path, device)

        def done(loaded: LoadedModel) -> None:
            panel.set_model(loaded)
            if panel is self.current_panel:
                self._refresh_picker()
            self.show_message(f"Loaded {loaded.name} ({loaded.family}) from {loaded.path}")

        def failed(message: str) -> None:
            if interactive:
                self._error_dialog("Cannot open checkpoint", message)
            self.show_message(f"Error: {message}")
            self._refresh_picker()

        panel.worker.submit(work, channel="load", on_result=done, on_error=failed)

    def _show_model_info(self, loaded: LoadedModel | None) -> None:
        if loaded is None:
            self.model_info.setText("")
            return
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in loaded.meta.metrics.items())
        parts = [loaded.family, f"trained on {loaded.meta.data}, {loaded.meta.steps} steps", metrics]
        self.model_info.setText(" · ".join(p for p in parts if p))
        self.model_info.setToolTip(f"Re-create with:\n{loaded.meta.command}")

    # --- status, progress, errors ------------------------------------------------------------

    def _connect_worker(self, worker: ModelWorker) -> None:
        worker.error.connect(lambda message: self.show_message(f"Error: {message}"))
        worker.job_progress.connect(self._on_progress)
        worker.job_ended.connect(self._on_job_ended)
        self._progress_worker: ModelWorker | None = None

    def _on_progress(self, label: str, done: int, total: int) -> None:
        self._progress_worker = self.sender()
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{label}: %v/%m")
        self.statusBar().showMessage(label)

    def _on_job_ended(self, label: str) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        if label and self.statusBar().currentMessage() == label:
            self.statusBar().clearMessage()  # the job's name must not outlive the job

    def _cancel_current(self) -> None:
        if self._progress_worker is not None:
            self._progress_worker.cancel()
        self.show_message("Cancelled")
        self._on_job_ended("")

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _error_dialog(self, title: str, message: str) -> None:
        self.show_message(f"Error: {message}")
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()  # non-blocking: the window stays responsive

    # --- shutdown -------------------------------------------------------------------------------

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        for panel in self.panels:
            panel.shutdown()
        for worker in self.workers:
            worker.shutdown()


def _scrolling(panel: QWidget) -> QScrollArea:
    """The panel in a frameless scroll area: on a small screen (a 1280x720 projector) the
    window can still shrink, and what does not fit scrolls instead of being cut off."""
    page = QWidget()
    _FixedLayout(page).addWidget(panel)
    area = QScrollArea()
    area.setWidget(page)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area


class _FixedLayout(QVBoxLayout):
    """A margin-free layout that tells the scroll area it has no height-for-width.

    With one (word-wrapped labels give every panel one), QScrollArea stretches the page to
    its preferred height at the current width and scrolls although the panel fits.
    """

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setContentsMargins(0, 0, 0, 0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return False
