"""Train any model family inside the app and watch it learn: live losses, fixed-noise samples, ETA.

The form turns into the argument list of `playground train FAMILY ...` and goes through
the same parser and `build_trainer`, so a run started here writes the same files as the
command line and its model.json holds the command that repeats it. Families come from
the command line's RECIPES, so a new family appears here as soon as it can be trained.

Training runs in a child process, `playground train ... --live` (`TrainingProcess`): on a
thread of the app's own process the live view cost 5-11% of the training steps (the GUI's
painting and the training loop shared one interpreter); as a child it costs nothing
measurable (benchmarks/bench_training_view.py), and its crash leaves the window untouched.
The panel only draws the messages the child reports, every one of them (each logged step
must reach the loss plot), gathered in an inbox that is drawn on a timer at most 10 times
a second. Pause and Stop are lines the child obeys between steps; Stop (and closing the
window) still writes the final checkpoint.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections import deque
from pathlib import Path

import torch
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QSpinBox,
    QSplitter, QVBoxLayout, QWidget,
)

from ...core.training.registry import RECIPES, parse_train_args
from ...core.training.live import LiveUpdate, metric_groups
from ...core.training.live_protocol import Message, RunFailed, RunFinished, RunStarted
from ..training_process import TrainingProcess
from ..widgets.images import ImageCanvas
from ..worker import ModelWorker
from .base import Panel
from .train_plots import LiveCurves

FOLDER_ITEM = "Folder…"
DEFAULT_STEPS = 2000
DEFAULT_PREVIEW_EVERY = 100
LOG_EVERY = 10
DRAW_INTERVAL_MS = 100  # how often the inbox of reports is drawn (10 redraws per second at most)


def training_threads() -> int:
    """Torch threads for the training child: every core but one, which the GUI keeps."""
    return max(1, (os.cpu_count() or 2) - 1)


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrainPanel(Panel):
    title = "Train"
    families: tuple[str, ...] = ()  # opens no checkpoints itself: a finished run opens in its family's panel
    checkpoint_saved = Signal(str)  # a run ended and left this checkpoint (the picker lists it)
    open_requested = Signal(str)  # the user wants the checkpoint opened in its family's panel

    def __init__(self, worker: ModelWorker, device: torch.device, parent: QWidget | None = None):
        super().__init__(worker, device, parent)
        self.process = TrainingProcess(self)
        self.process.message.connect(self._inbox_append)
        self.process.exited.connect(self._on_exited)
        self._running = False
        self._paused = False
        self._concluded = False  # the child reported how the run ended (saved or failed)
        self.run_info: RunStarted | None = None
        self.last_update: LiveUpdate | None = None
        self.last_checkpoint: Path | None = None
        self.updates = 0
        self._inbox: deque[Message] = deque()  # what the child reported since the last draw
        self._draw_timer = QTimer(self)
        self._draw_timer.setInterval(DRAW_INTERVAL_MS)
        self._draw_timer.timeout.connect(self._drain_inbox)
        self._build()
        self._on_family_changed(self.family_box.currentText())

    # --- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        root = QHBoxLayout(self)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        root.addWidget(splitter)

        form_host = QWidget()
        left = QVBoxLayout(form_host)
        form = QFormLayout()
        self.family_box = QComboBox()
        self.family_box.addItems(list(RECIPES))
        self.data_box = QComboBox()
        self.data_box.addItems(["shapes", "digits", FOLDER_ITEM])
        self.data_size = QSpinBox()
        self.data_size.setRange(0, 1_000_000)
        self.data_size.setSingleStep(1000)
        self.data_size.setSpecialValueText("default")
        self.data_size.setToolTip("shapes: how many images to render (default 20,000); digits, folder: use the first N")
        self.size_box = QComboBox()
        self.steps_box = QSpinBox()
        self.steps_box.setRange(1, 10_000_000)
        self.steps_box.setSingleStep(500)
        self.steps_box.setValue(DEFAULT_STEPS)
        self.batch_box = QSpinBox()
        self.batch_box.setRange(1, 4096)
        self.preview_every = QSpinBox()
        self.preview_every.setRange(LOG_EVERY, 100_000)
        self.preview_every.setSingleStep(LOG_EVERY)
        self.preview_every.setValue(DEFAULT_PREVIEW_EVERY)
        out_row = QHBoxLayout()
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("runs/FAMILY-DATA-TIME (automatic)")
        self.out_button = QPushButton("…")
        self.out_button.setFixedWidth(28)
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(self.out_button)
        form.addRow("Model family", self.family_box)
        form.addRow("Data set", self.data_box)
        form.addRow("Images", self.data_size)
        form.addRow("Model size", self.size_box)
        form.addRow("Steps", self.steps_box)
        form.addRow("Batch size", self.batch_box)
        form.addRow("Preview every", self.preview_every)
        form.addRow("Output folder", out_row)
        left.addLayout(form)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("End the run now; the model so far is saved as its checkpoint")
        for b in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(b)
        left.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m steps")
        left.addWidget(self.progress)
        self.speed_label = QLabel("")
        left.addWidget(self.speed_label)
        self.state_label = QLabel("Choose a family and press Start.")
        self.state_label.setWordWrap(True)
        self.state_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        left.addWidget(self.state_label)
        self.command_label = QLabel("")
        self.command_label.setWordWrap(True)
        self.command_label.setStyleSheet("color: #9aa; font-family: monospace;")
        self.command_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.command_label.setToolTip("The same run from the command line (it writes the same files)")
        left.addWidget(self.command_label)
        self.open_button = QPushButton("Open trained model")
        self.open_button.setEnabled(False)
        left.addWidget(self.open_button)
        left.addStretch(1)
        splitter.addWidget(form_host)

        self.curves = LiveCurves()
        splitter.addWidget(self.curves)
        self.preview = ImageCanvas("samples", minimum=260)
        splitter.addWidget(self.preview)
        splitter.setSizes([340, 560, 380])

        self.family_box.currentTextChanged.connect(self._on_family_changed)
        self.data_box.activated.connect(self._on_data_activated)
        self.out_button.clicked.connect(self._choose_out_dir)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.open_button.clicked.connect(self._open_trained)
        self._set_running(False)

    def _on_family_changed(self, family: str) -> None:
        recipe = RECIPES.get(family)
        if recipe is None:
            return
        self.size_box.clear()
        sizes = list(recipe.sizes) or ["default"]
        self.size_box.addItems(sizes)
        if "medium" in sizes:
            self.size_box.setCurrentText("medium")
        self.batch_box.setValue(int(recipe.defaults.get("batch_size", 128)))

    def _on_data_activated(self, index: int) -> None:
        if self.data_box.itemText(index) != FOLDER_ITEM:
            return
        folder = QFileDialog.getExistingDirectory(self, "Folder of training images")
        if folder:
            self.data_box.insertItem(index, folder)
            self.data_box.setCurrentIndex(index)
        else:
            self.data_box.setCurrentIndex(0)

    def _choose_out_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder for the run")
        if folder:
            self.out_edit.setText(folder)

    # --- the run -------------------------------------------------------------------------------

    def output_folder(self) -> str:
        text = self.out_edit.text().strip()
        if text:
            return text
        data = Path(self.data_box.currentText()).name or "data"
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        return str(Path("runs") / f"{self.family_box.currentText()}-{data}-{stamp}")

    def training_arguments(self) -> list[str]:
        """The `playground train` arguments for the form (everything after `train`)."""
        family = self.family_box.currentText()
        argv = [family, "--data", self.data_box.currentText(), "--steps", str(self.steps_box.value()),
                "--batch-size", str(self.batch_box.value()), "--out", self.output_folder(),
                "--device", str(self.device)]
        if self.data_size.value():
            argv += ["--data-size", str(self.data_size.value())]
        argv += list(RECIPES[family].sizes.get(self.size_box.currentText(), ()))
        return argv

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        if self.running:
            return
        if self.data_box.currentText() == FOLDER_ITEM:
            self._show_error("choose a folder of images first")
            return
        self.begin(self.training_arguments())

    def begin(self, train_arguments: list[str]) -> None:
        """Train with these `playground train` arguments (everything after `train`) in a child process."""
        try:
            args = parse_train_args(train_arguments)
        except SystemExit:  # argparse reports bad arguments by exiting (its message went to stderr)
            self._show_error("the form gives arguments that `playground train` refuses")
            return
        self.process.shutdown()  # the last run's child, if it is still exiting after its final report
        self._running, self._paused, self._concluded = True, False, False
        self.run_info, self.last_update, self.updates = None, None, 0
        self.last_checkpoint = None
        self._inbox.clear()
        self.curves.set_groups({})
        self.preview.set_image(None)
        self.progress.setRange(0, args.steps)
        self.progress.setValue(0)
        self.speed_label.setText("")
        self.open_button.setEnabled(False)
        self.state_label.setStyleSheet("")
        self.state_label.setText(f"Preparing {args.family} on {args.data}…")
        self.command_label.setText("")
        self._set_running(True)
        self._draw_timer.start()
        self.process.start(train_arguments, threads=training_threads(), live_every=LOG_EVERY,
                           preview_every=self.preview_every.value())

    def toggle_pause(self) -> None:
        if not self.running:
            return
        self._paused = not self._paused
        self.process.send("pause" if self._paused else "resume")
        if not self._paused:
            self.pause_button.setText("Pause")
            self.state_label.setText("Training…")
        else:
            self.pause_button.setText("Resume")
            self.state_label.setText("Paused (Resume continues; Stop saves the model so far).")

    def stop(self) -> None:
        if self.running:
            self.process.send("stop")
            self.state_label.setText("Stopping: saving the model so far…")
            self.stop_button.setEnabled(False)
            self.pause_button.setEnabled(False)

    # --- reports from the training process ------------------------------------------------------

    def _inbox_append(self, message: Message) -> None:
        self._inbox.append(message)

    def _drain_inbox(self) -> None:
        """Draw everything the child reported since the last tick: all curve points, the newest preview."""
        points: list[tuple[int, dict[str, float]]] = []
        newest: LiveUpdate | None = None
        preview: LiveUpdate | None = None
        while self._inbox:
            payload = self._inbox.popleft()
            if not isinstance(payload, LiveUpdate):
                self._flush(points, newest, preview)
                points, newest, preview = [], None, None
                if isinstance(payload, RunStarted):
                    self._show_run_started(payload)
                elif isinstance(payload, RunFinished):
                    self._on_finished(payload.path)
                elif isinstance(payload, RunFailed):
                    self._on_failed(payload.message)
                continue
            newest = payload
            if payload.metrics:
                points.append((payload.step, payload.metrics))
            if payload.preview is not None:
                preview = payload
        self._flush(points, newest, preview)

    def _flush(self, points: list[tuple[int, dict[str, float]]], newest: LiveUpdate | None,
               preview: LiveUpdate | None) -> None:
        if newest is None:
            return
        self.last_update = newest
        self.updates += 1
        self.progress.setMaximum(newest.total_steps)
        self.progress.setValue(newest.step)
        if points:
            if not self.curves.curves:  # the first metrics say which curves this family has
                declared = self.run_info.declared_groups if self.run_info else None
                self.curves.set_groups(metric_groups(declared, list(points[0][1])))
            self.curves.extend(points)
            self.speed_label.setText(
                f"{newest.steps_per_second:.2f} steps/s · ETA {format_duration(newest.eta_seconds)}")
        if preview is not None:
            self.preview.set_image(preview.preview)
            self._set_preview_title(f"{self.run_info.preview_kind if self.run_info else 'samples'}, "
                                    f"step {preview.preview_step}")

    def _show_run_started(self, payload: RunStarted) -> None:
        self.run_info = payload
        self.command_label.setText(payload.command)
        where = f"resumed at step {payload.first_step}, " if payload.first_step else ""
        self.state_label.setText(f"Training {payload.parameters / 1e6:.2f}M parameters ({where}writing {payload.out_dir}).")
        self._set_preview_title(payload.preview_kind or "no cheap preview for this family")

    def _set_preview_title(self, text: str) -> None:
        label = self.preview.ci.getItem(0, 0)
        if label is not None and hasattr(label, "setText"):
            label.setText(text, color="#c8c8c8", size="10pt")

    def _on_exited(self, code: int, stderr_tail: str) -> None:
        """The child ended; if it said nothing of how (killed, a native crash), say what is known."""
        self._drain_inbox()
        if self._running and not self._concluded:
            last = stderr_tail.strip().splitlines()[-1:] or ["no message"]
            self._on_failed(f"the training process ended unexpectedly (exit code {code}): {last[0]}")

    def _on_finished(self, path: str) -> None:
        self._concluded = True
        self.last_checkpoint = Path(path)
        steps = self.last_update.step if self.last_update else 0
        self.state_label.setText(f"Saved {path} (step {steps}).")
        if self.last_update is not None:
            self.speed_label.setText(f"ended at step {steps} · {self.last_update.steps_per_second:.2f} steps/s")
        self._end_run()
        self.open_button.setEnabled(True)
        self.checkpoint_saved.emit(path)
        self.status_message.emit(f"Training ended; model saved to {path}")

    def _on_failed(self, message: str) -> None:
        self._concluded = True
        self._show_error(f"training failed: {message}")
        self._end_run()

    def _show_error(self, message: str) -> None:
        self.state_label.setStyleSheet("color: #ff7b7b;")
        self.state_label.setText(message)
        self.report_error(message)

    def _end_run(self) -> None:
        self._draw_timer.stop()
        self._running = False
        self._set_running(False)

    def _set_running(self, running: bool) -> None:
        for w in (self.family_box, self.data_box, self.data_size, self.size_box, self.steps_box, self.batch_box,
                  self.preview_every, self.out_edit, self.out_button, self.start_button):
            w.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Pause")

    def _open_trained(self) -> None:
        if self.last_checkpoint is not None:
            self.open_requested.emit(str(self.last_checkpoint))

    def shutdown(self) -> None:
        """Closing the window: the child stops, saves the model so far and exits before we do."""
        self.process.shutdown()
        self._drain_inbox()
        super().shutdown()
