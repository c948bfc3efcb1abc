"""The panel's model work, as functions its worker runs: they call the headless core and never
touch a widget. Each takes what it needs now (model, settings) so a later change cannot reach in.

A latent denoiser's run is decoded here, in the worker: a render decodes its sample and the
steps it previews (its other steps only if the steps tab shows the run: `decode_job`), the grid
decodes its latents before drawing them."""

from __future__ import annotations

import time
from typing import Callable, Sequence

import torch
from torch import nn

from ....core.diffusion.trajectory import Trajectory, trace
from ....core.serving.remote import remember_guided, remote_trace
from ....core.serving.remote_views import remote_decompose, remote_guided_picture
from ....core.text2img.clip_guidance import comparison_picture, comparison_steps
from ....core.text2img.denoiser import GuidanceModels
from ....core.text2img.render import guidance_grid_picture
from ....core.text2img.sampling import (
    Decomposition, GuidedSettings, decompose, grid_steps, image_shape, model_device, pixels,
)
from ...widgets.throttle import Throttle
from ...worker import JobContext
from .compare_tab import ComparisonResult
from .results import GridResult, RenderPreview, RenderResult

GRID_PREVIEW_INTERVAL_S = 0.2


def render_job(models: GuidanceModels, model: nn.Module, settings: GuidedSettings,
               model_name: str) -> Callable[[JobContext], RenderResult]:
    """One guided run, step by step; throttled previews of its predicted x0 (the first step at once)."""

    def work(ctx: JobContext, connection=None) -> RenderResult:
        started = time.perf_counter()
        guided = models.guide(model, settings)
        remember_guided(guided.eps, model, settings)  # a model server can run this denoiser (the steps tab's too)
        run = (guided.eps, guided.base.noise_schedule, settings.sampler_settings(), settings.seed)
        throttle, trajectory = Throttle(), None
        # a latent step's pictures cost more than its denoising: decoded later, if the steps tab shows them
        if connection is None:
            runs = trace(*run, shape=image_shape(guided.base), device=model_device(guided.base), decode_each_step=False)
        else:  # `work.remote`: on the connected model server (gui/remote_worker.py), the same steps streamed
            runs = remote_trace(connection, *run, shape=image_shape(guided.base), decode_each_step=False,
                                stopping=lambda: ctx.cancelled)
        for trajectory in runs:
            ctx.check()
            index = trajectory.count - 1
            if throttle.ready():
                ctx.progress(trajectory.count, trajectory.num_steps, RenderPreview(
                    index, trajectory.num_steps, trajectory.x0_picture(index).copy()))
        return RenderResult(trajectory, guided.eps, settings, model_name, time.perf_counter() - started)

    work.remote = work
    return work


def decode_job(trajectory: Trajectory) -> Callable[[JobContext], Trajectory]:
    """Decode the steps of a latent run that a render left undecoded (`Trajectory.decode_missing`)."""

    def work(ctx: JobContext) -> Trajectory:
        ctx.check()
        trajectory.decode_missing()
        return trajectory

    return work


def decomposition_job(models: GuidanceModels, model: nn.Module, result: RenderResult,
                      index: int) -> Callable[[JobContext], Decomposition]:
    """The two branches at step `index` of a finished run, from its cached x_t (one forward)."""
    trajectory, settings = result.trajectory, result.settings
    t = int(trajectory.t[index])
    x_t = torch.from_numpy(trajectory.states[index].copy())

    def work(ctx: JobContext) -> Decomposition:
        base, classifier = models.networks(model, settings)
        return decompose(base, settings, x_t, t, index, classifier, models.clip(settings))

    # on the connected model server (gui/remote_worker.py), with its own helper networks
    work.remote = lambda ctx, connection: remote_decompose(connection, model, settings, x_t.numpy(), t, index)
    return work


def grid_job(models: GuidanceModels, model: nn.Module, settings: GuidedSettings, scales: Sequence[float],
             seeds: Sequence[int]) -> Callable[[JobContext], GridResult]:
    """Seeds (rows) by scales (columns) in one batch, with a labelled preview now and then."""
    axis = "s" if settings.base == "ddpm" else "w"

    def grid(x: torch.Tensor, final: bool) -> GridResult:
        # a latent model's samples painted by its autoencoder, as `playground reproduce` draws them
        picture = guidance_grid_picture(pixels(model, x), scales, seeds, axis)
        return GridResult(settings, tuple(scales), tuple(seeds), axis, picture, final)

    def work(ctx: JobContext) -> GridResult:
        base, classifier = models.networks(model, settings, grid=True)
        throttle, record = Throttle(GRID_PREVIEW_INTERVAL_S), None
        for record in grid_steps(base, settings, scales, seeds, classifier, models.clip(settings)):
            ctx.check()
            if throttle.ready() and not record.is_last:
                ctx.progress(record.index + 1, record.num_steps, grid(record.pred_x0, False))
        return grid(record.x_prev, True)

    def remote(ctx: JobContext, connection) -> GridResult:
        picture = remote_guided_picture(connection, "grid", model, settings, seeds, scales=scales, axis=axis,
                                        on_step=previews(ctx, lambda p: GridResult(settings, tuple(scales),
                                                                                   tuple(seeds), axis, p, False)),
                                        stopping=lambda: ctx.cancelled)
        ctx.check()
        return GridResult(settings, tuple(scales), tuple(seeds), axis, picture, True)

    work.remote = remote
    return work


def comparison_job(models: GuidanceModels, model: nn.Module, settings: GuidedSettings,
                   seeds: Sequence[int]) -> Callable[[JobContext], ComparisonResult]:
    """No guidance, CFG, CLIP and both for each seed, in one batch (`clip_guidance.comparison_steps`)."""

    def work(ctx: JobContext) -> ComparisonResult:
        base, classifier = models.networks(model, settings)
        throttle, record = Throttle(GRID_PREVIEW_INTERVAL_S), None
        for record in comparison_steps(base, settings, seeds, models.clip(settings), classifier):
            ctx.check()
            if throttle.ready() and not record.is_last:
                ctx.progress(record.index + 1, record.num_steps, ComparisonResult(
                    settings, tuple(seeds), comparison_picture(record.pred_x0, settings, seeds), False))
        return ComparisonResult(settings, tuple(seeds), comparison_picture(record.x_prev, settings, seeds), True)

    def remote(ctx: JobContext, connection) -> ComparisonResult:
        picture = remote_guided_picture(connection, "compare", model, settings, seeds,
                                        on_step=previews(ctx, lambda p: ComparisonResult(settings, tuple(seeds), p,
                                                                                         False)),
                                        stopping=lambda: ctx.cancelled)
        ctx.check()
        return ComparisonResult(settings, tuple(seeds), picture, True)

    work.remote = remote
    return work


def previews(ctx: JobContext, result: Callable) -> Callable:
    """A remote batch run's `on_step`: the server's preview pictures as progress (`result(picture)`), as the
    local run's throttled previews."""

    def on_step(done: int, total: int, picture) -> None:
        if picture is None:
            ctx.check()
        else:
            ctx.progress(done, total, result(picture))

    return on_step
