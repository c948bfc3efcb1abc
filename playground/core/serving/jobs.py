"""The named jobs a model server runs, and how a trajectory's steps travel.

A job is `fn(loaded, args, arrays, cancelled) -> Iterator[message]` (see `wire`): `loaded` is
the server's `LoadedModel`, `args` JSON, `arrays` NumPy, and `cancelled()` says whether Stop
was asked; a job looks at it after every step and then yields one "stopped" message and ends,
so a remote run stops within one step. `JOBS` holds them by name; `playground serve` adds the
CLI's ("sample": every family's sampler).

"trajectory" is the steps view's run (`core.diffusion.trajectory.trace`) on the server: each
step's row of the `Trajectory` (its frames, x_t, norms, ...) goes back as it is computed and
`apply_row` writes it into the app's own `Trajectory`, so the app's cache, scrubbing, branching
and exports see exactly what a local run gives. A latent run's pictures are decoded where the
model is (the server), as a local run decodes them in the worker.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Iterator

import numpy as np
import torch

from ..checkpoints import CheckpointError, LoadedModel, load_checkpoint
from ..diffusion.latent_pictures import LatentPictures
from ..diffusion.trajectory import SamplerSettings, Trajectory, trace
from ..text2img.denoiser import GuidanceModels
from ..text2img.sampling import GuidedSettings
from .wire import message

Job = Callable[[LoadedModel, dict, dict, Callable[[], bool]], Iterator[dict]]
JOBS: dict[str, Job] = {}
SETTINGS_FIELDS = ("kind", "steps", "eta", "clip_x0", "use_clipped_model_output")


def job(name: str) -> Callable[[Job], Job]:
    def register(fn: Job) -> Job:
        JOBS[name] = fn
        return fn
    return register


# --- one step of a trajectory as a message, and back ------------------------------------------------

def settings_args(settings: SamplerSettings) -> dict:
    return {name: getattr(settings, name) for name in SETTINGS_FIELDS}


def row_message(trajectory: Trajectory, i: int) -> dict:
    """Step `i` of `trajectory` as a progress message (with the sample once it is complete)."""
    arrays = {f"frame.{view}": trajectory.frames[view][i] for view in trajectory.views}
    arrays["state"] = trajectory.states[i]
    if trajectory.latent:
        arrays["x0_state"] = trajectory.x0_states[i]
    if trajectory.complete:
        arrays["final"] = trajectory.final
        arrays["final_picture"] = trajectory.final_picture
    meta = {"index": i, "noise_std": float(trajectory.noise_std[i]), "has_noise": bool(trajectory.has_noise[i]),
            "decoded": bool(trajectory.decoded[i]) if trajectory.latent else True,
            "norms": {view: float(values[i]) for view, values in trajectory.norms.items()}}
    return message("progress", done=trajectory.count, total=trajectory.num_steps, meta=meta, arrays=arrays)


def apply_row(trajectory: Trajectory, msg: dict) -> None:
    """Write a `row_message` into `trajectory` (rows come in order, as `Trajectory.append` wants)."""
    meta, arrays = msg["meta"], msg["arrays"]
    i = int(meta["index"])
    if i != trajectory.count:
        raise ValueError(f"the server sent step {i + 1}, expected step {trajectory.count + 1}")
    for view in trajectory.views:
        trajectory.frames[view][i] = arrays[f"frame.{view}"]
    trajectory.states[i] = arrays["state"]
    if trajectory.latent:
        trajectory.x0_states[i] = arrays["x0_state"]
        trajectory.decoded[i] = bool(meta["decoded"])
    trajectory.noise_std[i] = meta["noise_std"]
    trajectory.has_noise[i] = meta["has_noise"]
    for view, value in meta["norms"].items():
        trajectory.norms[view][i] = value
    trajectory.count = i + 1
    if "final" in arrays:
        trajectory.final = arrays["final"].copy()
        trajectory.final_picture = arrays["final_picture"].copy()


@job("trajectory")
def trajectory_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """args: sampler (SamplerSettings' fields), seed, shape (or null), decode_each_step; for a branch
    branch = {parent_seed, start_index} with arrays["branch_x_t"], the parent's x_t there; for a text-guided
    run guided = GuidedSettings' fields (its helper networks are the server's shipped ones)."""
    model, schedule = loaded.model, loaded.model.noise_schedule
    if args.get("guided") is not None:  # a text-guided run: the same denoiser the app built, built here
        guided = guidance_models(model).guide(model, GuidedSettings(**args["guided"]))
        model, schedule = guided.eps, guided.base.noise_schedule
    settings = SamplerSettings(**{k: args["sampler"][k] for k in SETTINGS_FIELDS if k in args["sampler"]})
    seed = int(args["seed"])
    shape = tuple(args["shape"]) if args.get("shape") else None
    branch = args.get("branch")
    if branch is None:
        runs = trace(model, schedule, settings, seed, shape=shape, decode_each_step=bool(args.get("decode_each_step", True)))
    else:
        k = int(branch["start_index"])
        x_t = np.asarray(arrays["branch_x_t"], np.float32)
        parent = Trajectory.for_run(settings, int(branch["parent_seed"]), settings.make(schedule), tuple(x_t.shape),
                                    pictures=LatentPictures.of(model))
        if not 0 <= k < parent.num_steps:
            raise ValueError(f"branch step must be between 0 and {parent.num_steps - 1}, not {k}")
        parent.states[k] = x_t
        parent.count = k + 1
        runs = trace(model, schedule, settings, seed, branch_from=parent, branch_step=k)
    if cancelled():
        yield message("stopped", meta={"count": 0})
        return
    for trajectory in runs:
        yield row_message(trajectory, trajectory.count - 1)
        if cancelled() and not trajectory.complete:
            yield message("stopped", meta={"count": trajectory.count})
            return


@job("decode")
def decode_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """A latent model's decoder (vae, ae, dae, gan): arrays["z"] (N, D) -> images (N, H, W, 3) uint8."""
    from ..latent.sampling import decode

    yield message("result", arrays={"images": decode(loaded.model, np.asarray(arrays["z"], np.float32))})


# --- the server's side: models kept loaded, and a job run to messages ----------------------------------

_guidance: dict[str, GuidanceModels] = {}


def guidance_models(model: torch.nn.Module) -> GuidanceModels:
    """The helper networks of guided runs (classifier, CLIP, DDPM) on `model`'s device, loaded once."""
    device = str(next(model.parameters()).device)
    if device not in _guidance:
        _guidance[device] = GuidanceModels(device)
    return _guidance[device]


class ModelCache:
    """The models a server has loaded, by weights path, the `size` most recently used."""

    def __init__(self, device: torch.device | str = "cpu", size: int = 4):
        self.device, self.size = device, size
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str) -> LoadedModel:
        with self._lock:
            if path in self._models:
                self._models.move_to_end(path)
                return self._models[path]
        loaded = load_checkpoint(path, self.device)
        with self._lock:
            self._models[path] = loaded
            while len(self._models) > self.size:
                self._models.popitem(last=False)
        return loaded


def run_job(name: str, loaded: Callable[[], LoadedModel], args: dict, arrays: dict,
            cancelled: Callable[[], bool]) -> Iterator[dict]:
    """The messages of job `name`; any failure is one "error" message (never a traceback to the app)."""
    fn = JOBS.get(name)
    if fn is None:
        yield message("error", message=f"unknown job {name!r} (this server runs {', '.join(sorted(JOBS))})")
        return
    try:
        yield from fn(loaded(), args, arrays, cancelled)
    except (ValueError, KeyError, TypeError, CheckpointError) as exc:
        text = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        yield message("error", message=f"{name}: {text}")
        return
    except Exception as exc:  # a model error must reach the app as a message
        yield message("error", message=f"{name}: {type(exc).__name__}: {exc}")
        return
    yield message("end")  # a stream without it was cut: the connection was lost


from . import jobs_views  # noqa: E402,F401  (registers the panels' view jobs)
from . import jobs_tokens  # noqa: E402,F401  (registers the token and CLIP families' jobs)
