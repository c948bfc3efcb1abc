"""A training run someone watches: pause/stop between steps, progress that ignores pauses, previews.

Headless, so the GUI's Train panel and its tests drive the same code: the panel runs
`playground train ... --live` (`core/training/live_child.py`), which calls `watch_training` and
sends each `LiveUpdate` to the panel over its stdout.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..device import model_device
from ..images import make_grid
from ..latent.sampling import decode, prior_latents
from .loop import Trainer, TrainLog

PREVIEW_COUNT = 16
PREVIEW_SEED = 0


class RunControl:
    """Pause, resume and stop, set from any thread and obeyed by the training thread between steps.

    Time spent paused is left out of `active_seconds`, so steps/s and the ETA stay honest.
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._lock = threading.Lock()
        self._started = time.perf_counter()
        self._paused_total = 0.0
        self._paused_since: float | None = None

    def pause(self) -> None:
        with self._lock:
            if self._paused_since is None:
                self._paused_since = time.perf_counter()
            self._running.clear()

    def resume(self) -> None:
        with self._lock:
            if self._paused_since is not None:
                self._paused_total += time.perf_counter() - self._paused_since
                self._paused_since = None
            self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self.resume()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def active_seconds(self) -> float:
        with self._lock:
            paused = self._paused_total
            if self._paused_since is not None:
                paused += time.perf_counter() - self._paused_since
        return time.perf_counter() - self._started - paused

    def should_stop(self, cancelled: Callable[[], bool] | None = None) -> bool:
        """For `Trainer.run`: blocks while paused; True once stopped (or `cancelled()` says so)."""
        while not self._running.wait(0.05):
            if cancelled is not None and cancelled():
                return True
        return self.stopped or (cancelled is not None and cancelled())


class TrainingPreview:
    """What the live view shows of the model: the same inputs rendered every few hundred steps.

    Families with a latent prior (VAE, AE, GAN) decode fixed noise, so the same z can be
    watched turning into a shape; autoencoders without one (VQ-VAE) reconstruct fixed
    held-out images; dalle draws fixed prompts (`preview_images`); others (diffusion: sampling
    costs a thousand forwards) get none.
    """

    def __init__(self, model: nn.Module, validation_images: torch.Tensor, n: int = PREVIEW_COUNT,
                 seed: int = PREVIEW_SEED):
        self.kind: str | None = None
        self.latents: torch.Tensor | None = None
        self.images: torch.Tensor | None = None
        if hasattr(model, "preview_images"):  # a family that draws its own preview (dalle: fixed prompts)
            self.kind = model.preview_kind
            self.count, self.seed = n, seed
        elif hasattr(model, "latent_dim") and hasattr(model, "decode"):
            self.kind = "samples from fixed noise"
            self.latents = prior_latents(int(model.latent_dim), n, seed)
        elif hasattr(model, "encode") and hasattr(model, "decode"):
            self.kind = "reconstructions of fixed held-out images"
            self.images = validation_images[:n].detach().clone()

    @property
    def available(self) -> bool:
        return self.kind is not None

    @torch.inference_mode()
    def render(self, model: nn.Module) -> np.ndarray | None:
        """A uint8 (H, W, 3) grid, or None for families without a cheap preview."""
        if self.kind is not None and hasattr(model, "preview_images"):
            from ..data import to_uint8

            return make_grid(to_uint8(model.preview_images(self.count, self.seed)),
                             columns=int(np.ceil(np.sqrt(self.count))))
        if self.latents is not None:
            return make_grid(decode(model, self.latents), columns=int(np.ceil(np.sqrt(len(self.latents)))))
        if self.images is not None:
            output = model(self.images.to(model_device(model)))
            recon = output[0] if isinstance(output, tuple) else output
            from ..data import to_uint8

            pairs = np.concatenate([to_uint8(self.images), to_uint8(recon)], axis=0)
            return make_grid(pairs, columns=len(self.images) // 2 or 1)
        return None


@dataclass
class LiveUpdate:
    """One report to the view: the step, its metrics, speed (pauses excluded) and maybe a preview."""

    step: int
    total_steps: int
    metrics: dict[str, float]
    steps_per_second: float
    eta_seconds: float
    preview: np.ndarray | None = None
    preview_step: int | None = None
    extra: dict[str, float] = field(default_factory=dict)


def watch_training(
    trainer: Trainer,
    control: RunControl,
    on_update: Callable[[LiveUpdate], None],
    *,
    log_every: int = 10,
    preview_every: int = 100,
    cancelled: Callable[[], bool] | None = None,
):
    """Run `trainer` to its end or until stopped, reporting a LiveUpdate every `log_every` steps
    with the metrics averaged over those steps (one step's GAN losses are too noisy to read).

    The preview is rendered in the training thread between steps (never while weights
    change) from the weights a stop would save (the EMA copy when EMA is on). Returns the
    final checkpoint's path, as `Trainer.run` does.
    """
    preview = TrainingPreview(trainer.inference_model, trainer.validation.x)
    first_step = trainer.step
    control_started = control.active_seconds()
    window: dict[str, list[float]] = {}

    def report(step: int, total: int, with_preview: bool) -> None:
        metrics = {key: sum(values) / len(values) for key, values in window.items()}
        window.clear()
        rate = (step - first_step) / max(control.active_seconds() - control_started, 1e-9)
        update = LiveUpdate(step, total, metrics, rate, (total - step) / max(rate, 1e-9))
        if preview.available and with_preview:
            update.preview, update.preview_step = preview.render(trainer.inference_model), step
        on_update(update)

    def on_step(log: TrainLog) -> None:
        for key, value in log.metrics.items():
            window.setdefault(key, []).append(value)
        if log.step % log_every == 0 or log.step == log.total_steps:
            report(log.step, log.total_steps, log.step % preview_every < log_every or log.step == log.total_steps)

    if preview.available:  # the untrained model: where the noise starts from
        on_update(LiveUpdate(trainer.step, trainer.config.steps, {}, 0.0, float("nan"),
                             preview.render(trainer.inference_model), trainer.step))
    # every step reaches on_step (a few microseconds), which averages metrics over the window
    path = trainer.run(progress=False, on_log=on_step, should_stop=lambda: control.should_stop(cancelled), log_every=1)
    if window:  # stopped between reports: the last steps and the saved model's preview
        report(trainer.step, trainer.config.steps, with_preview=True)
    return path


def metric_groups(declared: dict[str, tuple[str, ...]] | None, names: list[str]) -> dict[str, tuple[str, ...]]:
    """Which metrics share a plot: a task's declared `metric_groups`, else losses vs the rest.

    Metrics a task reports but did not declare go to a last "other metrics" plot.
    """
    if declared:
        groups = {title: tuple(k for k in keys if k in names) for title, keys in declared.items()}
        placed = {k for keys in groups.values() for k in keys}
        rest = tuple(k for k in names if k not in placed)
        return {t: keys for t, keys in (*groups.items(), ("other metrics", rest)) if keys}
    losses = tuple(k for k in names if "loss" in k)
    others = tuple(k for k in names if k not in losses)
    return {title: keys for title, keys in (("losses", losses), ("metrics", others)) if keys}
