"""The model server's jobs for the panels' views (beside `jobs`' trajectory, decode and sample).

- "forward": the Diffusion panel's Forward tab (`core.diffusion.forward.forward_view`): one data
  image noised to t and the network's one-shot guess, the same `ForwardView` as a local call.
- "text2img_grid" / "text2img_compare": the Text-to-image panel's grid (seeds x scales) and its CFG-vs-CLIP
  comparison, one batch each, the labelled picture streamed now and then (`PREVIEW_INTERVAL_S`) and at the end.
- "text2img_decompose": the CFG decomposition at one step of a run, from that step's x_t.
- "flow_path": one sampler's walk of the Flow panel's flow-vs-diffusion comparison
  (`latent_diffusion.comparison.sampler_path`), a progress message per step.
- "score": the Compare panel's measurement of a served checkpoint (`compare.report.score_checkpoint`, cached
  in the server's cache), its progress streamed; the scores as JSON (`FamilyScores.to_json`).
- "attention_run" / "attention_maps": the Text-to-image panel's attention tab (a latent model's guided run
  with every step's x_t kept, `latent_diffusion.attention.sample_run`; the maps at one step, `run_maps`).
- "reconstruct": the Flow panel's autoencoder view (`latent_diffusion.first_stage.reconstruct`: an image
  encoded, or an edited latent, decoded by the model's autoencoder-kl).

The helper networks (classifier, CLIP, Compare's judge) are the server's shipped ones (`jobs.guidance_models`;
the app runs a job here when the server lists none: `remote_views.check_helpers`). Long jobs check
`cancelled()` at every step (`stepped` runs a core function that reports steps by callback in a thread,
so its steps stream as they happen). The DDPM-vs-DDIM comparison needs no job of its own: it is two "trajectory" runs (`remote_trace`).
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from typing import Callable, Iterator

import numpy as np
import torch

from ..checkpoints import LoadedModel
from ..diffusion.forward import ForwardView, forward_view
from ..latent_diffusion.comparison import SamplerPath, sampler_path
from ..text2img.clip_guidance import comparison_picture, comparison_steps
from ..text2img.render import guidance_grid_picture
from ..text2img.sampling import GuidedSettings, decompose, grid_steps, pixels
from .jobs import guidance_models, job
from .wire import message

FORWARD_IMAGES = tuple(f.name for f in dataclasses.fields(ForwardView) if f.type in ("np.ndarray", np.ndarray))


def split_view(view: ForwardView) -> tuple[dict, dict]:
    """(meta, arrays) of a `ForwardView`: its pictures travel as arrays, its numbers as JSON."""
    fields = dataclasses.asdict(view)
    arrays = {name: fields.pop(name) for name in FORWARD_IMAGES}
    return fields, arrays


def join_view(meta: dict, arrays: dict) -> ForwardView:
    return ForwardView(**meta, **{name: np.asarray(arrays[name]) for name in FORWARD_IMAGES})


@job("forward")
def forward_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """args: t, seed; arrays["image"] (H, W, 3) uint8 -> the `ForwardView` (meta: its numbers, arrays: its pictures)."""
    model = loaded.model
    view = forward_view(model, model.noise_schedule, np.asarray(arrays["image"], np.uint8), int(args["t"]),
                        int(args.get("seed", 0)))
    meta, pictures = split_view(view)
    yield message("result", meta=meta, arrays=pictures)


PREVIEW_INTERVAL_S = 0.2  # as the panel's own previews (text2img/jobs.py GRID_PREVIEW_INTERVAL_S)


def guided_settings(args: dict) -> GuidedSettings:
    return GuidedSettings(**args["settings"])


def picture_stream(records: Iterator, draw: Callable[[torch.Tensor], np.ndarray],
                   cancelled: Callable[[], bool]) -> Iterator[dict]:
    """A batch run's steps as progress (a preview picture every `PREVIEW_INTERVAL_S`), then the final picture;
    "stopped" within one step of a cancel."""
    last, record = time.monotonic(), None
    for record in records:
        if cancelled():
            yield message("stopped", meta={"count": record.index + 1})
            return
        preview = None
        if not record.is_last and time.monotonic() - last >= PREVIEW_INTERVAL_S:
            preview, last = {"picture": draw(record.pred_x0)}, time.monotonic()
        yield message("progress", done=record.index + 1, total=record.num_steps, arrays=preview)
    if record is None:
        raise ValueError("the sampler has no steps")
    yield message("result", arrays={"picture": draw(record.x_prev)})


@job("text2img_grid")
def grid_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """args: settings (GuidedSettings' fields), scales, seeds, axis -> the labelled grid (`guidance_grid_picture`)."""
    model, settings = loaded.model, guided_settings(args)
    scales, seeds = [float(s) for s in args["scales"]], [int(s) for s in args["seeds"]]
    models = guidance_models(model)
    base, classifier = models.networks(model, settings, grid=True)
    draw = lambda x: guidance_grid_picture(pixels(model, x), scales, seeds, str(args["axis"]))  # noqa: E731
    yield from picture_stream(grid_steps(base, settings, scales, seeds, classifier, models.clip(settings)), draw,
                              cancelled)


@job("text2img_compare")
def compare_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """args: settings, seeds -> no guidance, CFG, CLIP and both per seed (`comparison_picture`)."""
    model, settings = loaded.model, guided_settings(args)
    seeds = [int(s) for s in args["seeds"]]
    models = guidance_models(model)
    base, classifier = models.networks(model, settings)
    draw = lambda x: comparison_picture(x, settings, seeds)  # noqa: E731
    yield from picture_stream(comparison_steps(base, settings, seeds, models.clip(settings), classifier), draw,
                              cancelled)


@job("text2img_decompose")
def decompose_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """args: settings, t, index; arrays["x_t"] -> the `Decomposition` (its pictures as arrays, the rest as meta)."""
    model, settings = loaded.model, guided_settings(args)
    models = guidance_models(model)
    base, classifier = models.networks(model, settings)
    x_t = torch.from_numpy(np.asarray(arrays["x_t"], np.float32).copy())
    parts = decompose(base, settings, x_t, int(args["t"]), int(args["index"]), classifier, models.clip(settings))
    fields = dataclasses.asdict(parts)
    pictures = {k: fields.pop(k) for k in list(fields) if isinstance(fields[k], np.ndarray)}
    yield message("result", meta=fields, arrays=pictures)


class _Stopped(Exception):
    pass


def stepped(run: Callable[[Callable[..., None]], object], cancelled: Callable[[], bool]) -> Iterator[tuple[tuple, object]]:
    """`run(on_step)` (a core function that reports its steps by calling `on_step(...)`) as a stream: (the
    step's arguments, None) after every step, then ((), its result); it ends early, with no result, when
    `cancelled()` turns true (checked at every step; a core function's own InterruptedError counts too).
    The run is in a thread so its steps stream as they happen."""
    events: queue.Queue = queue.Queue()

    def on_step(*args) -> None:
        if cancelled():
            raise _Stopped()
        events.put(("step", args))

    def target() -> None:
        try:
            events.put(("result", run(on_step)))
        except (_Stopped, InterruptedError):
            events.put(("stopped", None))
        except BaseException as exc:  # to the job, which makes it one "error" message
            events.put(("error", exc))

    threading.Thread(target=target, name="serve-stepped", daemon=True).start()
    while True:
        kind, value = events.get()
        if kind == "step":
            yield value, None
        elif kind == "result":
            yield (), value
            return
        elif kind == "stopped":
            return
        else:
            raise value


PATH_ARRAYS = ("levels", "latents", "image")


@job("flow_path")
def flow_path_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """args: sampler, steps, seed, prompt, guidance_scale, spacing -> the `SamplerPath` (progress every step)."""
    steps = int(args["steps"])

    def run(on_step: Callable[[], None]) -> SamplerPath:
        return sampler_path(loaded.model, str(args["sampler"]), steps, int(args["seed"]), prompt=str(args.get("prompt", "")),
                            guidance_scale=float(args.get("guidance_scale", 1.0)),
                            spacing=args.get("spacing", "leading"), on_step=on_step)

    path, done = None, 0
    for _, path in stepped(run, cancelled):
        if path is None:
            done += 1
            yield message("progress", done=done, total=steps)
    if path is None:
        yield message("stopped", meta={"count": 0})
        return
    fields = dataclasses.asdict(path)
    yield message("result", meta={k: v for k, v in fields.items() if k not in PATH_ARRAYS},
                  arrays={k: fields[k] for k in PATH_ARRAYS})


@job("score")
def score_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """args: n, seed, cache -> progress (done, total) as it measures, then meta["scores"] (`FamilyScores.to_json`)."""
    from ..compare.report import score_checkpoint

    device = next(loaded.model.parameters()).device

    def run(on_step: Callable[..., None]):
        return score_checkpoint(loaded.path, n=int(args["n"]), seed=int(args["seed"]),
                                progress=lambda done, total, *_: on_step(done, total), should_stop=cancelled,
                                cache=bool(args.get("cache", True)), device=device)

    scores = None
    for step, scores in stepped(run, cancelled):
        if scores is None:
            yield message("progress", done=int(step[0]), total=int(step[1]))
    if scores is None:
        yield message("stopped", meta={"count": 0})
        return
    yield message("result", meta={"scores": scores.to_json()})


@job("attention_run")
def attention_run_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """args: settings -> progress (done, total) per step, then the `AttentionRun` (its tensors stacked as arrays)."""
    from ..latent_diffusion.attention import sample_run

    run = None
    for step, run in stepped(lambda on_step: sample_run(loaded.model, guided_settings(args), on_step=on_step),
                             cancelled):
        if run is None:
            yield message("progress", done=int(step[0]), total=int(step[1]))
    if run is None:
        yield message("stopped", meta={"count": 0})
        return
    yield message("result", meta={"settings": dataclasses.asdict(run.settings), "words": list(run.words),
                                  "timesteps": [int(t) for t in run.timesteps]},
                  arrays={"states": torch.stack(run.states).numpy(), "pred_x0": torch.stack(run.pred_x0).numpy(),
                          "final": run.final})


@job("attention_maps")
def attention_maps_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """args: settings, words, t, kind; arrays x_t, pred_x0 (that step's) -> the maps (a layer an array) and the
    step's predicted image, as the attention tab computes them (`run_maps`, `to_images`)."""
    from ..latent_diffusion.attention import AttentionRun, run_maps
    from ..text2img.sampling import to_images

    model = loaded.model
    x_t, pred_x0 = (torch.from_numpy(np.asarray(arrays[k], np.float32).copy()) for k in ("x_t", "pred_x0"))
    one_step = AttentionRun(guided_settings(args), tuple(args["words"]), (int(args["t"]),), (x_t,), (pred_x0,),
                            np.zeros((1, 1, 3), np.uint8))
    maps = run_maps(model, one_step, 0, str(args["kind"]))
    yield message("result", meta={"kind": maps.kind, "words": list(maps.words), "t": int(maps.t),
                                  "layers": [layer.name for layer in maps.layers]},
                  arrays={"image": to_images(model, pred_x0)[0],
                          **{f"layer.{i}": layer.weights for i, layer in enumerate(maps.layers)}})


@job("reconstruct")
def reconstruct_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """arrays: original (H, W, 3) uint8, latent (C, h, w) or absent -> the `Reconstruction` and the scale factor."""
    from ..latent_diffusion.first_stage import first_stage_of, reconstruct

    ae = first_stage_of(loaded.model)
    recon = reconstruct(ae, np.asarray(arrays["original"], np.uint8), arrays.get("latent"))
    yield message("result", meta={"mse": recon.mse, "scale_factor": float(ae.scale_factor)},
                  arrays={"latent": recon.latent, "image": recon.image})
