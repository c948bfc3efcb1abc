"""Train any model family inside the app and watch it learn: live losses, fixed-noise samples, ETA.

The recipe form (`form.py`) becomes the arguments of `playground train FAMILY ...`, parsed by
the core's `parse_train_args`, so a run started here writes the same files as the command
line and its model.json holds the command that repeats it. Families come from the core's
RECIPES, so a new family appears here as soon as it can be trained.

Training runs in a child process, `playground train ... --live` (`TrainingProcess`): the
GUI's painting never shares an interpreter with the training loop, and a crash in training
leaves the window untouched. The panel gathers every message the child reports in an inbox
(each logged step must reach the loss plot) and, at a fixed low rate, takes them in and has
the live view (`live_view.py`) draw what is on screen. Pause and Stop are lines the child
obeys between steps; Stop (and closing the window) still writes the final checkpoint.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import torch
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSplitter, QVBoxLayout, QWidget

from ....core.training.live import LiveUpdate, metric_groups
from ....core.training.live_protocol import Message, RunFailed, RunFinished, RunStarted
from ....core.training.registry import parse_train_args
from ...training_process import TrainingProcess, training_threads
from ...worker import ModelWorker
from ..base import Panel, mark_timeline
from .form import LOG_EVERY, RecipeForm
from .live_view import LiveCurves, LivePreview, format_duration
from .snapshots import PreviewSnapshots

DRAW_INTERVAL_MS = 250  # the live view is brought up to date 4 times a second at most


def _muted(label: QLabel, monospace: bool = False) -> QLabel:
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setStyleSheet("color: #9aa;" + (" font-family: monospace;" if monospace else ""))
    return label


class TrainPanel(Panel):
    title = "Train"
    families: tuple[str, ...] = ()  # opens no checkpoints itself: a finished run opens in its family's panel
    uses_worker = False  # training runs in a child process; the panel calls no model itself
    picker_note = "trains new models"

    def __init__(self, worker: ModelWorker | None, device: torch.device, parent: QWidget | None = None):
        super().__init__(worker, device, parent)
        self._inbox: deque[Message] = deque()  # what the child reported since the last tick
        self.process = TrainingProcess(self)
        self.process.message.connect(self._receive)
        self.process.exited.connect(self._on_exited)
        self._running = self._paused = self._concluded = False  # concluded: the child said how it ended
        self._form_refused = False  # Start was refused for what the form says (cleared once it is fixed)
        self.run_info: RunStarted | None = None
        self.last_update: LiveUpdate | None = None
        self.last_checkpoint: Path | None = None
        self._draw_timer = QTimer(self)
        self._draw_timer.setInterval(DRAW_INTERVAL_MS)
        self._draw_timer.timeout.connect(self._tick)
        self._build()
        self._check_form()

    # --- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        root = QHBoxLayout(self)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        root.addWidget(self.splitter)
        left_host = QWidget()
        left = QVBoxLayout(left_host)
        self.form = RecipeForm()
        left.addWidget(self.form)
        self.problem_label = QLabel("")
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #ff7b7b;")
        left.addWidget(self.problem_label)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.primary_button = self.start_button  # Ctrl+Enter; Space: Pause / Resume
        mark_timeline(self.pause_button)
        self.stop_button.setToolTip("End the run now; the model so far is saved as its checkpoint")
        for button in (self.start_button, self.pause_button, self.stop_button):
            buttons.addWidget(button)
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
        self.command_label = _muted(QLabel(""), monospace=True)
        self.command_label.setToolTip("The same run from the command line (it writes the same files)")
        left.addWidget(self.command_label)
        self.open_button = QPushButton("Open trained model")
        self.open_button.setEnabled(False)
        left.addWidget(self.open_button)
        self.snapshots = PreviewSnapshots(self)
        left.addWidget(self.snapshots.button)
        left.addStretch(1)
        self.splitter.addWidget(left_host)
        self.curves = LiveCurves()
        self.splitter.addWidget(self.curves)
        self.preview = LivePreview()
        self.splitter.addWidget(self.preview)
        self.splitter.setSizes([340, 560, 380])

        self.form.changed.connect(self._check_form)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self.open_button.clicked.connect(self._open_trained)
        self._set_running(False)

    def _check_form(self) -> bool:
        """Say what is wrong with the form as it is typed; Start only while nothing is."""
        problems = [] if self._running else self.form.problems()
        self.problem_label.setText("\n".join(problems))
        self.problem_label.setVisible(bool(problems))
        self.start_button.setEnabled(not self._running and not problems)
        if not problems and self._form_refused:  # the refusal no longer holds
            self._form_refused = False
            self.state_label.setStyleSheet("")
            self.state_label.setText("Choose a family and press Start.")
            self.clear_error()
        return not problems

    # --- the run -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        if self.running:
            return
        try:
            arguments = self.form.arguments(self.device)
        except ValueError as exc:
            self._show_error(str(exc))
            self._form_refused = True
            return
        self.begin(arguments)

    def start_demo(self, steps: int | None = None) -> bool:
        """The live-demo preset (core/training/presets.py) filled into the form, then Start; `steps`
        (e.g. a lesson's) replaces the preset's. False when a run is already going."""
        if self.running:
            return False
        self.form.use_preset("demo")
        if steps is not None:
            self.form.steps_box.setValue(int(steps))
        self.start()
        return self.running

    def begin(self, train_arguments: list[str]) -> None:
        """Train with these `playground train` arguments (everything after `train`) in a child process."""
        try:
            args = parse_train_args(train_arguments)
        except ValueError as exc:  # the core's parser names the option and its range
            self._show_error(f"cannot train with these settings: {exc}")
            return
        self.process.shutdown()  # the last run's child, if it is still exiting after its final report
        self._running, self._paused, self._concluded = True, False, False
        self.run_info, self.last_update, self.last_checkpoint = None, None, None
        self._inbox.clear()
        self.curves.set_groups({}, args.steps)
        self.preview.show_preview(None, "samples")
        self.snapshots.clear(args.steps)
        self.progress.setRange(0, args.steps)
        self.progress.setValue(0)
        self.speed_label.setText("")
        self.open_button.setEnabled(False)
        self.state_label.setStyleSheet("")
        self.state_label.setText(f"Preparing {args.family} on {args.data}…")
        self.command_label.setText("")
        self.clear_error()
        self._set_running(True)
        self._draw_timer.start()
        self.process.start(train_arguments, threads=training_threads(), live_every=LOG_EVERY,
                           preview_every=self.form.preview_every.value(), processes=self.form.processes_box.value())

    def toggle_pause(self) -> None:
        if not self.running:
            return
        self._paused = not self._paused
        self.process.send("pause" if self._paused else "resume")
        self.pause_button.setText("Resume" if self._paused else "Pause")
        self.state_label.setText("Paused (Resume continues; Stop saves the model so far)." if self._paused
                                 else "Training…")

    def stop(self) -> None:
        if self.running:
            self.process.send("stop")
            self.state_label.setText("Stopping: saving the model so far…")
            self.stop_button.setEnabled(False)
            self.pause_button.setEnabled(False)

    # --- reports from the training process ------------------------------------------------------

    def _receive(self, message: Message) -> None:
        self._inbox.append(message)  # cheap: taken in and drawn at the next tick

    def _tick(self) -> None:
        self._take_inbox()
        self.curves.draw()
        self.preview.draw()

    def _take_inbox(self) -> None:
        """Take in everything the child reported since the last tick (stored, drawn by `_tick`)."""
        points: list[tuple[int, dict[str, float]]] = []
        while self._inbox:
            message = self._inbox.popleft()
            if isinstance(message, LiveUpdate):
                self._take_update(message, points)
                continue
            self._add_points(points)
            if isinstance(message, RunStarted):
                self._show_run_started(message)
            elif isinstance(message, RunFinished):
                self._on_finished(message.path)
            elif isinstance(message, RunFailed):
                self._on_failed(message.message)
        self._add_points(points)

    def _take_update(self, update: LiveUpdate, points: list[tuple[int, dict[str, float]]]) -> None:
        self.last_update = update
        self.progress.setMaximum(update.total_steps)
        self.progress.setValue(update.step)
        if update.metrics:
            points.append((update.step, update.metrics))
            self.speed_label.setText(
                f"{update.steps_per_second:.2f} steps/s · ETA {format_duration(update.eta_seconds)}")
        if update.preview is not None:
            kind = self.run_info.preview_kind if self.run_info else "samples"
            self.preview.show_preview(update.preview, f"{kind}, step {update.preview_step}")
            self.snapshots.add(update.preview_step, update.preview, kind, update.total_steps)

    def _add_points(self, points: list[tuple[int, dict[str, float]]]) -> None:
        if not points:
            return
        if not self.curves.curves:  # the first metrics say which curves this family has
            declared = self.run_info.declared_groups if self.run_info else None
            self.curves.set_groups(metric_groups(declared, list(points[0][1])), self.curves.total_steps)
        self.curves.extend(points)
        points.clear()

    def _show_run_started(self, payload: RunStarted) -> None:
        self.run_info = payload
        self.command_label.setText(payload.command)
        where = f"resumed at step {payload.first_step}, " if payload.first_step else ""
        self.state_label.setText(f"Training {payload.parameters / 1e6:.2f}M parameters ({where}writing {payload.out_dir}).")
        self.preview.set_title(payload.preview_kind or "no cheap preview for this family")

    def _on_exited(self, code: int, stderr_tail: str) -> None:
        """The child ended; if it said nothing of how (killed, a native crash), say what is known."""
        self._tick()
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
        self.report(f"Training ended; model saved to {path}")

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
        self.curves.draw()
        self.preview.draw()

    def _set_running(self, running: bool) -> None:
        self.form.set_editable(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Pause")
        self._check_form()

    def _open_trained(self) -> None:
        if self.last_checkpoint is not None:
            self.open_requested.emit(str(self.last_checkpoint))

    def shutdown(self) -> None:
        """Closing the window: the child stops, saves the model so far and exits before we do."""
        self.process.shutdown()
        self._take_inbox()
        super().shutdown()
