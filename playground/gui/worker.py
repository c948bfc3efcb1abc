"""The one mechanism every panel uses to call a model without blocking the window.

A `ModelWorker` owns a background thread. Panels `submit` plain functions tagged with a
channel ("decode", "sample", ...). Requests coalesce per channel: a request that is still
waiting when a newer one arrives on the same channel is dropped, so while a slider is
dragged only the newest value is computed. Results come back to the GUI thread by signal;
a cancelled job's result is dropped. The work function never touches a widget: it gets a
`JobContext` to report progress and to check for cancellation.
"""

from __future__ import annotations

import itertools
import threading
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot


class Cancelled(Exception):
    """Raised inside a job by `JobContext.check()` once the job was cancelled."""


@dataclass
class JobContext:
    """What a work function may use: progress reports and cancellation checks."""

    job: "Job"

    @property
    def cancelled(self) -> bool:
        return self.job.cancel_event.is_set()

    def check(self) -> None:
        """Stop the job here if it was cancelled (call it once per step of long work)."""
        if self.cancelled:
            raise Cancelled()

    def progress(self, done: int, total: int, payload: Any = None) -> None:
        """Report progress; `payload` (e.g. a preview image) reaches the job's on_progress."""
        self.check()
        self.job.worker._progress.emit(self.job.id, int(done), int(total), payload)


@dataclass
class Job:
    id: int
    channel: str
    label: str
    fn: Callable[[JobContext], Any]
    worker: "ModelWorker"
    on_result: Callable[[Any], None] | None = None
    on_error: Callable[[str], None] | None = None
    on_progress: Callable[[int, int, Any], None] | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    latest_progress: tuple[int, int, Any] | None = None  # newest report not yet shown


    def cancel(self) -> None:
        self.cancel_event.set()


class ModelWorker(QObject):
    """A background thread that runs submitted jobs one at a time, newest-per-channel."""

    # Internal hand-over from the worker thread to the GUI thread (queued connections).
    _delivered = Signal(int, object)
    _failed = Signal(int, str, str)
    _progress = Signal(int, int, int, object)
    _ended = Signal(int)

    # Public, for the status bar.
    job_progress = Signal(str, int, int)
    job_ended = Signal(str)
    error = Signal(str)

    def __init__(self, name: str = "model-worker", parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self._ids = itertools.count(1)
        self._pending: OrderedDict[str, Job] = OrderedDict()
        self._jobs: dict[int, Job] = {}
        self._running: Job | None = None
        self._condition = threading.Condition()
        self._stopping = False
        self._delivered.connect(self._on_delivered)
        self._failed.connect(self._on_failed)
        self._progress.connect(self._on_progress)
        self._ended.connect(self._on_ended)
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    # --- GUI-thread API -------------------------------------------------------------------

    def submit(
        self,
        fn: Callable[[JobContext], Any],
        *,
        channel: str = "default",
        label: str = "",
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_progress: Callable[[int, int, Any], None] | None = None,
        cancel_running: bool = False,
        preempt: bool = False,
    ) -> Job:
        """Queue fn(context) on `channel`, replacing a request still waiting there.

        With `cancel_running`, a job of the same channel already running is cancelled too
        (for long work such as sampling, where the old run is no longer wanted). With `preempt`
        (a checkpoint load) the job runs next, ahead of the waiting ones, and a running long job
        of another channel (one with a label: the status bar's progress and Cancel) is cancelled;
        a short one finishes first, so a load that fails leaves the panel's views whole.
        """
        job = Job(next(self._ids), channel, label, fn, self, on_result, on_error, on_progress)
        with self._condition:
            if self._stopping:
                raise RuntimeError(f"{self.name} is shut down")
            replaced = self._pending.pop(channel, None)
            if replaced is not None:
                self._jobs.pop(replaced.id, None)
            if cancel_running and self._running is not None and self._running.channel == channel:
                self._running.cancel()
            running = self._running
            if running is not None and running.channel != channel and preempt and running.label:
                running.cancel()
            self._jobs[job.id] = job
            self._pending[channel] = job
            if preempt:
                self._pending.move_to_end(channel, last=False)
            self._condition.notify()
        return job

    def cancel(self, channel: str | None = None, *, keep: tuple[str, ...] = ()) -> None:
        """Cancel the waiting and running jobs of `channel` (all channels but `keep` if None)."""
        def hit(key: str) -> bool:
            return key == channel if channel is not None else key not in keep

        with self._condition:
            for key in [k for k in self._pending if hit(k)]:
                job = self._pending.pop(key)
                self._jobs.pop(job.id, None)
            if self._running is not None and hit(self._running.channel):
                self._running.cancel()

    def is_busy(self, channel: str | None = None) -> bool:
        with self._condition:
            jobs = list(self._pending.values()) + ([self._running] if self._running else [])
        return any(channel is None or j.channel == channel for j in jobs)

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Cancel everything and stop the thread; returns whether it ended in time."""
        with self._condition:
            self._stopping = True
            self._pending.clear()
            if self._running is not None:
                self._running.cancel()
            self._condition.notify_all()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # --- worker thread --------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._condition:
                while not self._pending and not self._stopping:
                    self._condition.wait()
                if self._stopping:
                    return
                _, job = self._pending.popitem(last=False)
                self._running = job
            try:
                result = job.fn(JobContext(job))
            except Cancelled:
                pass
            except Exception as exc:  # a model error must never kill the thread or the app
                if not job.cancel_event.is_set():
                    message = f"{job.label or job.channel}: {type(exc).__name__}: {exc}"
                    import torch

                    if isinstance(exc, torch.OutOfMemoryError):  # a large (diffusers) model on a small GPU
                        torch.cuda.empty_cache()
                        message = (f"{job.label or job.channel}: out of GPU memory. Ask for fewer images or steps "
                                   f"shown at once, or restart on the CPU (playground --device cpu).")
                    self._failed.emit(job.id, message, traceback.format_exc())
            else:
                if not job.cancel_event.is_set():
                    self._delivered.emit(job.id, result)
            finally:
                with self._condition:
                    self._running = None
                self._ended.emit(job.id)

    # --- back on the GUI thread -------------------------------------------------------------

    @Slot(int, object)
    def _on_delivered(self, job_id: int, result: Any) -> None:
        if self._stopping:  # delivered after shutdown (the window closed meanwhile): nobody to show it to
            return
        job = self._jobs.get(job_id)
        if job is not None and job.latest_progress is not None:
            self._show_progress(job)  # the last report first, so it never lands after the result
        if job is None or job.cancel_event.is_set() or job.on_result is None:
            return
        job.on_result(result)

    @Slot(int, str, str)
    def _on_failed(self, job_id: int, message: str, details: str) -> None:
        if self._stopping:
            return
        job = self._jobs.get(job_id)
        if job is not None and job.on_error is not None:
            job.on_error(message)
        else:
            self.error.emit(message)

    @Slot(int, int, int, object)
    def _on_progress(self, job_id: int, done: int, total: int, payload: Any) -> None:
        """Keep only the newest report; show it once the event loop is free.

        Reports can arrive faster than a panel draws them. Drawing each as it arrives
        would queue work without end and starve timers and input, so reports coalesce
        like requests do: the newest wins, drawn from a zero-timer.
        """
        job = self._jobs.get(job_id)
        if job is None or job.cancel_event.is_set():
            return
        scheduled = job.latest_progress is not None
        if payload is None and scheduled:
            payload = job.latest_progress[2]  # a bare count never discards a waiting payload
        job.latest_progress = (done, total, payload)
        if not scheduled:
            QTimer.singleShot(0, lambda: self._show_progress(job))

    def _show_progress(self, job: Job) -> None:
        report, job.latest_progress = job.latest_progress, None
        if report is None or self._stopping or job.id not in self._jobs or job.cancel_event.is_set():
            return
        done, total, payload = report
        if job.on_progress is not None:
            job.on_progress(done, total, payload)
        if job.label:
            self.job_progress.emit(job.label, done, total)

    @Slot(int)
    def _on_ended(self, job_id: int) -> None:
        job = self._jobs.pop(job_id, None)
        if job is not None and job.label:
            self.job_ended.emit(job.label)
