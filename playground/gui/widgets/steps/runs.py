"""Sampling runs for the steps view: the worker's job, its previews, and the cache of finished runs.

The job (`trace_job`) runs in the host panel's worker and never touches a widget. It sends
`StepPreview`s, copies of one step's uint8 views and the norms so far, at most
`PREVIEW_INTERVAL_S` apart (the worker coalesces them further: the newest wins). Stop
(`RunControl.stop`) ends the run after the step it is on and hands back what it has, so a
stopped run is kept, marked as stopped at step k, rather than thrown away.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidgetItem, QWidget

from ....core.diffusion.sampling import EpsModel
from ....core.diffusion.schedules import NoiseSchedule
from ....core.diffusion.trajectory import SamplerSettings, Trajectory, trace
from ...worker import JobContext
from ..gallery import icon_item, icon_list
from ..throttle import Throttle

CACHE_LIMIT_BYTES = 256 * 2**20  # finished runs kept for scrubbing; the oldest go first


@dataclass(frozen=True)
class StepPreview:
    """One step of a run in progress, as the worker hands it to the GUI (copies, uint8 images)."""

    index: int
    num_steps: int
    t: np.ndarray                  # every timestep of the run
    frames: dict[str, np.ndarray]  # view -> (H, W, 3) uint8 (a latent run's decoded views too: decoded in the worker)
    norms: dict[str, np.ndarray]   # view -> the norms of steps 0..index
    noise_std: float
    has_noise: bool

    @classmethod
    def of(cls, trajectory: Trajectory) -> "StepPreview":
        i = trajectory.count - 1
        return cls(i, trajectory.num_steps, trajectory.t.copy(),
                   {view: trajectory.frame(view, i).copy() for view in trajectory.views},
                   {view: values[:i + 1].copy() for view, values in trajectory.norms.items()},
                   float(trajectory.noise_std[i]), bool(trajectory.has_noise[i]))


class RunControl:
    """Stop for one run: the worker finishes the step it is on and returns the run so far."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self.latest: Trajectory | None = None  # the run so far (read it only once the job has ended)

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()


def model_for_run(model: EpsModel) -> tuple[EpsModel, str]:
    """A network (not a guided function) samples with the app's backend setting (`core.backends.setting`:
    never waits for an export; one backend for the whole run); (the model to call, the backend's name)."""
    if not isinstance(model, torch.nn.Module):
        return model, "torch"
    from ....core.backends.setting import backend_for_run

    choice = backend_for_run(model)
    return choice.model, choice.name


def trace_job(model: EpsModel, schedule: NoiseSchedule, settings: SamplerSettings, seed: int, control: RunControl,
              *, branch_from: Trajectory | None = None, branch_step: int = 0,
              shape: tuple[int, int, int] | None = None) -> Callable[[JobContext], Trajectory]:
    """The worker's job for one run (or a branch of `branch_from` at `branch_step`). Its `remote` runs
    the same loop over a model server's steps (gui/remote_worker.py picks it when connected)."""

    def work(ctx: JobContext) -> Trajectory:
        run_model, backend = model_for_run(model)
        trajectory = follow(ctx, trace(run_model, schedule, settings, seed, shape=shape, branch_from=branch_from,
                                       branch_step=branch_step))
        trajectory.backend = backend  # the recipe records it, so `reproduce` runs the same kernels
        return trajectory

    def remote(ctx: JobContext, connection) -> Trajectory:
        from ....core.serving.remote import remote_trace

        return follow(ctx, remote_trace(connection, model, schedule, settings, seed, shape=shape,
                                        branch_from=branch_from, branch_step=branch_step,
                                        stopping=lambda: control.stopping or ctx.cancelled))

    def follow(ctx: JobContext, runs) -> Trajectory:
        throttle = Throttle()
        trajectory = None
        for trajectory in runs:
            control.latest = trajectory
            if control.stopping:
                break  # Stop: keep the steps done so far
            ctx.check()  # a cancel (a newer run, the status bar's Cancel) drops the run
            if throttle.ready() or trajectory.complete:
                ctx.progress(trajectory.count, trajectory.num_steps, StepPreview.of(trajectory))
        if trajectory is None:
            raise ValueError("the sampler has no steps")
        return trajectory

    work.remote = remote
    return work


def stopped_note(trajectory: Trajectory) -> str:
    """" (stopped at step k of N)" for a run that was stopped, "" for a finished one."""
    if trajectory.complete:
        return ""
    return f" (stopped at step {trajectory.count} of {trajectory.num_steps})"


def describe_run(trajectory: Trajectory) -> str:
    return trajectory.describe() + stopped_note(trajectory)


def last_picture(trajectory: Trajectory) -> np.ndarray:
    """The sample of a finished run; a stopped run's latest predicted x0 (as images: a latent run's decoded)."""
    if trajectory.complete:
        return trajectory.final_image()
    return trajectory.x0_picture(max(trajectory.count - 1, 0))


class RunsStrip(QWidget):
    """The cached runs as a row of thumbnails with the cache's size; `picked(run)` on a click.

    Runs beyond `CACHE_LIMIT_BYTES` (together with `extra_bytes()`, e.g. a comparison the host
    keeps) are dropped oldest first.
    """

    picked = Signal(object)

    def __init__(self, extra_bytes: Callable[[], int] = lambda: 0, parent: QWidget | None = None):
        super().__init__(parent)
        self.extra_bytes = extra_bytes
        self.runs: list[Trajectory] = []
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = icon_list(48, one_row=True)
        self.list.setToolTip("Cached runs (the sample, or where a stopped run got to); click one to show it")
        self.label = QLabel("")
        self.label.setStyleSheet("color: #aaa;")
        self.label.setToolTip("Per step the cache keeps x_t (float32, to branch from) and the views as 8-bit "
                              "images (a latent run's decoded pictures too, decoded once as the step arrived); "
                              f"runs beyond {CACHE_LIMIT_BYTES // 2**20} MiB are dropped oldest first")
        layout.addWidget(self.list, 1)
        layout.addWidget(self.label)
        self.list.itemClicked.connect(self._on_clicked)

    def add(self, trajectory: Trajectory) -> None:
        self.runs.append(trajectory)
        while self.nbytes() > CACHE_LIMIT_BYTES and len(self.runs) > 1:
            self.runs.pop(0)
        self.refresh(trajectory)

    def clear(self) -> None:
        self.runs = []
        self.refresh(None)

    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.runs) + self.extra_bytes()

    def refresh(self, selected: Trajectory | None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for i, trajectory in enumerate(self.runs):
            item = icon_item(last_picture(trajectory), i, describe_run(trajectory), scale=2)
            self.list.addItem(item)
            item.setSelected(trajectory is selected)
        self.list.blockSignals(False)
        n = len(self.runs)
        self.label.setText(f"cache: {n} run{'s' * (n != 1)}, {self.nbytes() / 2**20:.1f} of "
                           f"{CACHE_LIMIT_BYTES // 2**20} MiB")

    def select(self, trajectory: Trajectory | None) -> None:
        for i in range(self.list.count()):
            self.list.item(i).setSelected(self.runs[i] is trajectory)

    def _on_clicked(self, item: QListWidgetItem) -> None:
        index = int(item.data(Qt.ItemDataRole.UserRole))
        if 0 <= index < len(self.runs):
            self.picked.emit(self.runs[index])
