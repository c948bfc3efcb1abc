"""Remote versions of the app's model work: each yields what its local counterpart yields.

`remote_trace` is `core.diffusion.trajectory.trace` run by a server: the same growing
`Trajectory` after every step (its rows come over the wire, `jobs.apply_row`), so whatever
consumes `trace` (the steps view's job, its previews, Stop, the cache) takes either.
A text-guided denoiser (`GuidanceModels.guide(model, settings).eps`) that the app marked with
`remember_guided` runs remotely too: the server builds the same denoiser from the settings.
`remote_decode` is a latent model's decoder (the Latent tab's sliders), `remote_sample` is
`playground sample FAMILY` on the server: (images, recipes).
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Callable, Iterator

import numpy as np
import torch

from ..diffusion.latent_pictures import LatentPictures
from ..diffusion.schedules import NoiseSchedule
from ..diffusion.trajectory import BranchPoint, SamplerSettings, Trajectory
from ..text2img.sampling import GuidedSettings
from .client import Connection, ServerClient
from .jobs import apply_row, settings_args


class NotServed(LookupError):
    """The server does not have this model: run it here."""


_guided: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # a guided denoiser -> (its model, its settings)


def remember_guided(eps: object, model: torch.nn.Module, settings: GuidedSettings) -> None:
    """`eps` is `GuidanceModels.guide(model, settings).eps`: a server with `model` can build and run it too."""
    try:
        _guided[eps] = (model, settings)
    except TypeError:
        pass


def served_id(connection: Connection, model: torch.nn.Module) -> str:
    model_id = connection.model_id(model)
    if model_id is None:
        raise NotServed("the model server does not have this checkpoint")
    return model_id


def served_run(connection: Connection, model_fn: object) -> tuple[str, dict | None]:
    """(the server's id, the guided settings or None) of a model function: a checkpoint's model, or a
    guided denoiser around one (`remember_guided`); NotServed otherwise."""
    try:
        guided = _guided.get(model_fn)
    except TypeError:  # not weakly referable: no guided denoiser of ours
        guided = None
    if guided is not None:
        return served_id(connection, guided[0]), dataclasses.asdict(guided[1])
    return served_id(connection, model_fn), None


def remote_trace(connection: Connection, model: torch.nn.Module, schedule: NoiseSchedule, settings: SamplerSettings,
                 seed: int, *, shape: tuple[int, int, int] | None = None, branch_from: Trajectory | None = None,
                 branch_step: int = 0, decode_each_step: bool = True,
                 stopping: Callable[[], bool] = lambda: False) -> Iterator[Trajectory]:
    """`trace(model, schedule, settings, seed, ...)` on the server (same arguments, same trajectories);
    `stopping()` turning true cancels the server's run after its current step. NotServed if the
    server lacks the model, ServerLost if it is gone."""
    model_id, guided = served_run(connection, model)
    if branch_from is not None:
        if not 0 <= branch_step < branch_from.count:
            raise ValueError(f"branch step must be between 0 and {branch_from.count - 1}, not {branch_step}")
        settings, shape, pictures = branch_from.settings, branch_from.shape, branch_from.pictures
    else:
        pictures = LatentPictures.of(model)
    if shape is None:  # as `trace` finds it
        config = getattr(model, "config")
        shape = tuple(config.latent_shape) if hasattr(config, "latent_shape") else (config.in_channels, config.image_size, config.image_size)
    scheduler = settings.make(schedule)
    args: dict = {"sampler": settings_args(settings), "seed": int(seed), "shape": list(shape),
                  "decode_each_step": decode_each_step, "guided": guided}
    arrays: dict[str, np.ndarray] = {}
    if branch_from is None:
        trajectory = Trajectory.for_run(settings, seed, scheduler, shape, pictures=pictures,
                                        decode_each_step=decode_each_step)
    else:
        trajectory = Trajectory.for_run(settings, seed, scheduler, shape, BranchPoint(branch_from.recipe(), branch_step),
                                        pictures, decode_each_step)
        trajectory.copy_prefix(branch_from, branch_step)
        args["branch"] = {"parent_seed": branch_from.seed, "start_index": branch_step}
        arrays["branch_x_t"] = branch_from.states[branch_step]
    for msg in connection.client.stream("trajectory", model_id, args, arrays, stopping):
        if msg["kind"] == "progress":
            apply_row(trajectory, msg)
            yield trajectory
        elif msg["kind"] == "stopped":
            return


def remote_decode(connection: Connection, model: torch.nn.Module, z: np.ndarray) -> np.ndarray:
    """`core.latent.sampling.decode(model, z)` on the server: latents (N, D) or (D,) -> uint8 images (N, H, W, 3)."""
    model_id = served_id(connection, model)
    z = np.asarray(z, np.float32)
    for msg in connection.client.stream("decode", model_id, {}, {"z": z[None] if z.ndim == 1 else z}):
        if msg["kind"] == "result":
            return msg["arrays"]["images"]
    raise ValueError("the server's decode job returned nothing")


def remote_sample(connection: Connection, model: torch.nn.Module, options: list[str]) -> tuple[np.ndarray, list[dict]]:
    """`playground sample FAMILY OPTIONS` of the app's `model` on the server: (images (N, H, W, 3) uint8, recipes)."""
    model_id = served_id(connection, model)
    for msg in connection.client.stream("sample", model_id, {"options": list(options)}):
        if msg["kind"] == "result":
            return msg["arrays"]["images"], msg["meta"]["recipes"]
    raise ValueError("the server's sample job returned nothing")


__all__ = ["NotServed", "ServerClient", "remote_decode", "remote_sample", "remote_trace"]
