"""The model server's jobs for the panels' views (beside `jobs`' trajectory, decode and sample).

- "forward": the Diffusion panel's Forward tab (`core.diffusion.forward.forward_view`): one data
  image noised to t and the network's one-shot guess, the same `ForwardView` as a local call.

The DDPM-vs-DDIM comparison needs no job of its own: it is two "trajectory" runs (`remote_trace`).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterator

import numpy as np

from ..checkpoints import LoadedModel
from ..diffusion.forward import ForwardView, forward_view
from .jobs import job
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
