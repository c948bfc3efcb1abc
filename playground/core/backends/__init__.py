"""Inference backends for the denoisers the samplers call: eager torch, or ONNX Runtime.

`choose_backend(model, "auto" | "torch" | "onnx")` gives the model a run samples with:
the model itself (torch), or it wrapped to run an exported ONNX Runtime session (onnx,
`wrapper.BackendModel`), and one line saying why, when it is not the one asked for. A run
keeps the backend it started with, so its pixels repeat on the same machine, and the
recipe of every PNG records it ("backend"), so `reproduce` uses the same one
(`recipe_backend`).

The session of a checkpoint is built once, in a background thread (`builds.py`): exported
(or read from the cache, `cache.py`), and checked against eager torch on fixed inputs; a
failure keeps torch and says why. Until it is ready "auto" uses torch: the first sample
never waits for an export. On CUDA or MPS, "auto" is eager torch (the runtime here is
the CPU one), and for a tiny network too (`AUTO_MIN_PARAMETERS`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from torch import nn

from ..checkpoints import LoadedModel
from ..device import model_device
from ..provenance import RecipeFields
from .builds import TOLERANCE, Build, build_for, forget_builds, pending_builds
from .onnx_runtime import runtime, runtime_version
from .wrapper import BackendModel

BACKEND_CHOICES = ("auto", "torch", "onnx")
# "auto" keeps torch for a network smaller than this (parameters, the latent models' autoencoder not
# counted): its export and check take longer than the runtime can save (the shipped denoisers have
# 1.1-3.3 M, the tests' tiny ones under 60 k). Per network, so one checkpoint always runs one way.
AUTO_MIN_PARAMETERS = 250_000
RUNTIMES = ("torch", "onnx")  # what a recipe records: the backend that ran

__all__ = ["BACKEND_CHOICES", "RUNTIMES", "TOLERANCE", "BackendChoice", "BackendModel", "Build", "choose_backend",
           "forget_builds", "pending_builds", "recipe_backend", "runtime_version", "with_backend"]


@dataclass(frozen=True)
class BackendChoice:
    """What a run samples with: `model` (the model itself, or wrapped), `name` ("torch" or "onnx", what
    the recipe records), `note` (one line: why not the backend asked for, or that it is being built)."""

    model: nn.Module
    name: str
    note: str | None = None
    build: Build | None = None


def choose_backend(model: nn.Module, requested: str = "auto", wait: bool | None = None) -> BackendChoice:
    """The backend a run uses. `wait`: True blocks until the session is built (an explicit choice,
    `reproduce`); False never blocks (the app: the first sample never waits); None (the default)
    waits for "onnx", and for "auto" only when the export is already cached (a quick load and check)."""
    if requested not in BACKEND_CHOICES:
        raise ValueError(f"unknown backend {requested!r}; use one of {', '.join(BACKEND_CHOICES)}")
    model = unwrap(model)
    if requested == "torch":
        return BackendChoice(model, "torch")
    explicit = requested == "onnx"

    def torch_because(why: str, build: Build | None = None) -> BackendChoice:
        return BackendChoice(model, "torch", f"backend: torch ({why})" if explicit or build else None, build)

    device = model_device(model)
    if device.type != "cpu":
        return torch_because(f"the onnx backend runs on the CPU; the model is on {device.type}")
    if runtime() is None:
        return torch_because("onnxruntime is not installed: pip install 'playground[fast]'")
    if not explicit and denoiser_parameters(model) < AUTO_MIN_PARAMETERS:
        return BackendChoice(model, "torch")
    build = build_for(model)
    if build is None:
        return torch_because(f"a {type(model).__name__} has no exported form")
    if wait or (wait is None and (explicit or build.from_cache)):
        build.wait()
    if build.ready:
        return BackendChoice(BackendModel(model, build.runner), "onnx", None, build)
    if build.state == "failed":
        return BackendChoice(model, "torch", f"backend: torch ({build.reason})", build)
    return BackendChoice(model, "torch", "backend: torch for now (the onnx session is being built in the "
                                         "background; later runs use it)", build)


def denoiser_parameters(model: nn.Module) -> int:
    """The network's parameters, a latent model's frozen autoencoder not counted."""
    return sum(p.numel() for name, p in model.named_parameters() if not name.startswith("first_stage."))


def unwrap(model: nn.Module) -> nn.Module:
    """The torch model behind a backend's wrapper (the model itself when it is not wrapped)."""
    return model.inner if isinstance(model, BackendModel) else model


def with_backend(loaded: LoadedModel, requested: str = "auto", wait: bool | None = None) -> tuple[LoadedModel, BackendChoice]:
    """`loaded` with its model replaced by the one `choose_backend` gives, and the choice."""
    choice = choose_backend(loaded.model, requested, wait)
    return dataclasses.replace(loaded, model=choice.model), choice


def recipe_backend(recipe: dict[str, Any], loaded: LoadedModel) -> tuple[LoadedModel, list[str]]:
    """`loaded` running the backend a recipe names (none: torch, as before backends were recorded), and
    the difference to report when that backend cannot run here."""
    named = RecipeFields(recipe).choice("backend", RUNTIMES, default="torch")
    loaded, choice = with_backend(loaded, named, wait=True)
    if choice.name != named:
        return loaded, [f"backend: the image was made with {named}, re-rendered with {choice.name} "
                        f"({choice.note or 'unavailable'})"]
    return loaded, []
