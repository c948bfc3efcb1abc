"""The panels' views on a model server (`jobs_views`), each returning what its local call returns.

`remote_forward_view` is `core.diffusion.forward.forward_view`; `remote_guided_picture` is the
Text-to-image panel's grid or comparison (the labelled picture; previews through `on_preview`);
`remote_decompose` is `core.text2img.sampling.decompose` at one step of a run; `remote_sampler_path`
is one sampler of the Flow panel's comparison (`latent_diffusion.comparison.sampler_path`); `remote_score`
is the Compare panel's `score_checkpoint` of a checkpoint the server has (same weights);
`remote_attention_run` / `remote_attention_maps` are the attention tab's `sample_run` / maps;
`remote_reconstruct` is the autoencoder view's `first_stage.reconstruct`. NotServed when
the server lacks the model, or a shipped helper network the job needs (the guided runs' classifier or
CLIP, Compare's judge), ServerLost when it is gone (the worker then runs the local function).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..diffusion.forward import ForwardView
from ..latent_diffusion.comparison import SamplerPath
from ..text2img.denoiser import helper_families
from ..text2img.sampling import Decomposition, GuidedSettings
from .catalog import fingerprint
from .client import Connection
from .jobs_views import join_view
from .remote import NotServed, served_id


def _result(connection: Connection, name: str, model: torch.nn.Module, args: dict,
            arrays: dict | None = None) -> dict:
    for msg in connection.client.stream(name, served_id(connection, model), args, arrays):
        if msg["kind"] == "result":
            return msg
    raise ValueError(f"the server's {name} job returned nothing")


def check_helpers(connection: Connection, families: Sequence[str]) -> None:
    """NotServed unless the server lists a shipped checkpoint of each of `families` (the helpers it loads)."""
    shipped = {m.get("family") for m in connection.models if m.get("source") == "shipped"}
    missing = [f for f in families if f not in shipped]
    if missing:
        raise NotServed(f"the model server has no shipped {', '.join(missing)} checkpoint")


def remote_forward_view(connection: Connection, model: torch.nn.Module, image: np.ndarray, t: int,
                        seed: int = 0) -> ForwardView:
    """`forward_view(model, model.noise_schedule, image, t, seed)` on the server."""
    msg = _result(connection, "forward", model, {"t": int(t), "seed": int(seed)},
                  {"image": np.asarray(image, np.uint8)})
    return join_view(msg["meta"], msg["arrays"])


def remote_guided_picture(connection: Connection, kind: str, model: torch.nn.Module, settings: GuidedSettings,
                          seeds: Sequence[int], *, scales: Sequence[float] = (), axis: str = "w",
                          on_step: Callable[[int, int, np.ndarray | None], None] = lambda d, n, p: None,
                          stopping: Callable[[], bool] = lambda: False) -> np.ndarray | None:
    """The panel's "grid" (seeds x `scales`, labelled along `axis`) or "compare" picture, run on the server:
    `on_step(done, total, preview or None)` after every step; the final picture, or None when stopped."""
    if kind not in ("grid", "compare"):
        raise ValueError(f"kind must be grid or compare, not {kind!r}")
    check_helpers(connection, helper_families(settings, kind == "grid"))
    args = {"settings": dataclasses.asdict(settings), "seeds": [int(s) for s in seeds],
            "scales": [float(s) for s in scales], "axis": axis}
    for msg in connection.client.stream(f"text2img_{kind}", served_id(connection, model), args, None, stopping):
        if msg["kind"] == "progress":
            on_step(int(msg["done"]), int(msg["total"]), msg["arrays"].get("picture"))
        elif msg["kind"] == "result":
            return msg["arrays"]["picture"]
        elif msg["kind"] == "stopped":
            return None
    raise ValueError(f"the server's {kind} job returned nothing")


def remote_decompose(connection: Connection, model: torch.nn.Module, settings: GuidedSettings, x_t: np.ndarray,
                     t: int, index: int = 0) -> Decomposition:
    """`decompose` of the guided `model` at (x_t, t) (step `index` of its run) on the server."""
    check_helpers(connection, helper_families(settings))
    msg = _result(connection, "text2img_decompose", model,
                  {"settings": dataclasses.asdict(settings), "t": int(t), "index": int(index)},
                  {"x_t": np.asarray(x_t, np.float32)})
    return Decomposition(**{"cond": None, **msg["meta"], **msg["arrays"]})


def remote_sampler_path(connection: Connection, model: torch.nn.Module, sampler: str, steps: int, seed: int, *,
                        prompt: str = "", guidance_scale: float = 1.0, spacing: str = "leading",
                        on_step: Callable[[], None] = lambda: None,
                        stopping: Callable[[], bool] = lambda: False) -> SamplerPath | None:
    """`sampler_path(model, sampler, steps, seed, ...)` on the server: `on_step()` after each of its steps;
    None when `stopping()` ended it early."""
    args = {"sampler": sampler, "steps": int(steps), "seed": int(seed), "prompt": prompt,
            "guidance_scale": float(guidance_scale), "spacing": spacing}
    for msg in connection.client.stream("flow_path", served_id(connection, model), args, None, stopping):
        if msg["kind"] == "progress":
            on_step()
        elif msg["kind"] == "result":
            meta = msg["meta"]
            return SamplerPath(**{**meta, "timesteps": tuple(meta["timesteps"])}, **msg["arrays"])
        elif msg["kind"] == "stopped":
            return None
    raise ValueError("the server's flow_path job returned nothing")


def remote_score(connection: Connection, weights: str | Path, n: int, seed: int, *, cache: bool = True,
                 progress: Callable[[int, int], None] = lambda done, total: None,
                 stopping: Callable[[], bool] = lambda: False):
    """`score_checkpoint(weights, n, seed, ...)` by a server with the same weights: its `FamilyScores` (naming
    the app's file), also stored in the app's cache as a local measurement is; None when stopped. NotServed
    when the server lacks the weights."""
    from ..checkpoints import resolve_paths
    from ..compare.cache import store_row
    from ..compare.report import FamilyScores

    weights = resolve_paths(weights)[0]
    model_id = connection.by_sha.get(fingerprint(weights))
    if model_id is None:
        raise NotServed("the model server does not have this checkpoint")
    check_helpers(connection, ("classifier",))  # the judge of every sample
    args = {"n": int(n), "seed": int(seed), "cache": bool(cache)}
    for msg in connection.client.stream("score", model_id, args, None, stopping):
        if msg["kind"] == "progress":
            progress(int(msg["done"]), int(msg["total"]))
        elif msg["kind"] == "result":
            scores = dataclasses.replace(FamilyScores.from_json(msg["meta"]["scores"]), checkpoint=str(weights))
            store_row(scores.sha256, scores.n, scores.seed, scores.to_json())
            return scores
        elif msg["kind"] == "stopped":
            return None
    raise ValueError("the server's score job returned nothing")


def remote_attention_run(connection: Connection, model: torch.nn.Module, settings: GuidedSettings,
                         on_step: Callable[[int, int], None] = lambda done, total: None,
                         stopping: Callable[[], bool] = lambda: False):
    """`latent_diffusion.attention.sample_run(model, settings, on_step)` on the server; None when stopped."""
    from ..latent_diffusion.attention import AttentionRun

    args = {"settings": dataclasses.asdict(settings)}
    for msg in connection.client.stream("attention_run", served_id(connection, model), args, None, stopping):
        if msg["kind"] == "progress":
            on_step(int(msg["done"]), int(msg["total"]))
        elif msg["kind"] == "result":
            meta, arrays = msg["meta"], msg["arrays"]
            return AttentionRun(GuidedSettings(**meta["settings"]), tuple(meta["words"]), tuple(meta["timesteps"]),
                                tuple(torch.from_numpy(x.copy()) for x in arrays["states"]),
                                tuple(torch.from_numpy(x.copy()) for x in arrays["pred_x0"]), arrays["final"])
        elif msg["kind"] == "stopped":
            return None
    raise ValueError("the server's attention_run job returned nothing")


def remote_attention_maps(connection: Connection, model: torch.nn.Module, run, step: int, kind: str):
    """(the maps at `step` of `run`, the image of that step's predicted x0), as the attention tab's `_maps_of`."""
    from ..latent_diffusion.attention import AttentionLayer, AttentionMaps

    step = run.check_step(step)
    args = {"settings": dataclasses.asdict(run.settings), "words": list(run.words), "t": int(run.timesteps[step]),
            "kind": kind}
    msg = _result(connection, "attention_maps", model, args,
                  {"x_t": run.states[step].numpy(), "pred_x0": run.pred_x0[step].numpy()})
    meta, arrays = msg["meta"], msg["arrays"]
    layers = tuple(AttentionLayer(name, arrays[f"layer.{i}"]) for i, name in enumerate(meta["layers"]))
    return AttentionMaps(meta["kind"], layers, tuple(meta["words"]), int(meta["t"])), arrays["image"]


def remote_reconstruct(connection: Connection, model: torch.nn.Module, original: np.ndarray,
                       latent: np.ndarray | None = None):
    """(`reconstruct(first_stage_of(model), original, latent)`, the autoencoder's scale factor) on the server."""
    from ..latent_diffusion.first_stage import Reconstruction

    arrays = {"original": np.asarray(original, np.uint8)}
    if latent is not None:
        arrays["latent"] = np.asarray(latent, np.float32)
    msg = _result(connection, "reconstruct", model, {}, arrays)
    return (Reconstruction(msg["arrays"]["latent"], msg["arrays"]["image"], float(msg["meta"]["mse"])),
            float(msg["meta"]["scale_factor"]))
