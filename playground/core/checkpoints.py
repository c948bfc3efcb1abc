"""One checkpoint format for every model: `NAME.safetensors` weights + `NAME.json` metadata.

The JSON holds the family, the model config (a frozen dataclass), the data set, training
steps, final metrics and the command that made it. Loading reads tensors with safetensors
and plain JSON, so opening a file can never run code (a pickle under any name is refused
as "not a safetensors file" or "not valid JSON"). Every failure is a `CheckpointError`
that names the file and the problem: a hand-edited config is checked field by field
(types, finite numbers, sizes) and a model it describes is built only while it stays
within what its weights file could hold, so a typo such as 100000 channels is an error,
not an hour of swapping; weights holding NaN or infinity are refused too.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import threading
import typing
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from .images import atomic_path
from .models.registry import get_family

FORMAT = "playground-checkpoint"
FORMAT_VERSION = 1
WEIGHTS_NAME = "model.safetensors"
MAX_JSON_BYTES = 64 * 2**20  # a checkpoint's metadata is a few kB; a larger "JSON" is something else
MAX_CONFIG_INT = 65_536      # no config field of any family counts higher (channels, timesteps, sizes)
CONFIG_INT_LIMITS = {"image_size": 1024}  # the sampler allocates image_size^2 per image


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; str() says which file and why."""


@dataclass
class CheckpointMeta:
    family: str
    config: dict[str, Any]
    data: str = ""
    steps: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    command: str = ""
    created: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadedModel:
    """A model ready for inference (eval mode, on its device) with what its JSON said."""

    model: nn.Module
    config: Any
    meta: CheckpointMeta
    path: Path

    @property
    def family(self) -> str:
        return self.meta.family

    @property
    def name(self) -> str:
        """A short display name: the checkpoint's folder (or file stem)."""
        return self.path.parent.name if self.path.name == WEIGHTS_NAME else self.path.stem


def config_to_dict(config: Any) -> dict[str, Any]:
    return {f.name: _to_json(getattr(config, f.name)) for f in dataclasses.fields(config)}


def _to_json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


def config_from_dict(config_class: type, values: dict[str, Any], source: str = "") -> Any:
    """Build a frozen config dataclass from JSON, refusing unknown or mistyped fields."""
    where = f"{source}: " if source else ""
    if not isinstance(values, dict):
        raise CheckpointError(f"{where}config must be a JSON object, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise CheckpointError(f"{where}config has unknown fields {unknown} for {config_class.__name__}")
    hints = typing.get_type_hints(config_class)
    kwargs = {}
    for name, value in values.items():
        hint = hints[name]
        if typing.get_origin(hint) is tuple:
            if not isinstance(value, list):
                raise CheckpointError(f"{where}config field {name!r} must be a list, got {value!r}")
            item = typing.get_args(hint)[0]
            value = tuple(_config_value(f"{name}[{i}]", v, item, where) for i, v in enumerate(value))
        else:
            value = _config_value(name, value, hint, where)
        kwargs[name] = value
    try:
        return config_class(**kwargs)
    except (TypeError, ValueError) as exc:  # the dataclass's own checks
        raise CheckpointError(f"{where}config is not a valid {config_class.__name__} ({exc})") from None


def _config_value(name: str, value: Any, hint: Any, where: str) -> Any:
    """One config value checked against its type hint; numbers must be finite and of sane size."""
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if hint in (int, float, bool, str) and not _is_json_type(value, hint):
        raise CheckpointError(f"{where}config field {name!r} must be {hint.__name__}, got {value!r}")
    if hint is float and not math.isfinite(value):
        raise CheckpointError(f"{where}config field {name!r} must be a finite number, got {value!r}")
    if hint is int:
        limit = CONFIG_INT_LIMITS.get(name, MAX_CONFIG_INT)
        if not -limit <= value <= limit:
            raise CheckpointError(f"{where}config field {name!r} = {value} is beyond any model this app "
                                  f"builds (at most {limit})")
    return value


def _is_json_type(value: Any, hint: type) -> bool:
    if isinstance(value, bool):  # JSON true/false is a bool, never an int (Python says it is)
        return hint is bool
    return isinstance(value, hint)


def _diffusers_folder(path: str | Path) -> Path | None:
    """The diffusers pipeline folder `path` names (the folder, its model_index.json or unet weights), else None."""
    from .diffusers_io.folder import diffusers_folder_of

    return diffusers_folder_of(path)


def resolve_paths(path: str | Path) -> tuple[Path, Path]:
    """(weights, json) for a checkpoint given as a folder, a .safetensors or a .json path."""
    path = Path(path)
    if (folder := _diffusers_folder(path)) is not None:  # a diffusers pipeline: its unet's weights, its index
        from .diffusers_io.folder import diffusers_paths

        return diffusers_paths(folder)
    if path.is_dir() and path.suffix != ".safetensors":  # a folder named *.safetensors is a broken weights file
        path = path / WEIGHTS_NAME
    elif not path.exists() and path.suffix not in (".json", ".safetensors"):
        raise CheckpointError(f"{path}: no such checkpoint file or folder")
    if path.suffix == ".json":
        return path.with_suffix(".safetensors"), path
    if path.suffix != ".safetensors":
        raise CheckpointError(f"{path}: a checkpoint is a folder, a .safetensors file or its .json sidecar")
    return path, path.with_suffix(".json")


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    config: Any,
    family: str,
    *,
    data: str = "",
    steps: int = 0,
    metrics: dict[str, float] | None = None,
    command: str = "",
    extra: dict[str, Any] | None = None,
    state_dict: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write weights and JSON side by side (atomically: a crash never leaves half a file)."""
    if _diffusers_folder(path) is not None:
        raise CheckpointError(f"{path} is a diffusers pipeline folder: the playground never writes into it")
    weights_path, json_path = resolve_paths(path)
    weights_path.parent.mkdir(parents=True, exist_ok=True)
    tensors = state_dict if state_dict is not None else model.state_dict()
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    meta = CheckpointMeta(
        family=family, config=config_to_dict(config), data=data, steps=int(steps),
        metrics=dict(metrics or {}), command=command,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        extra=dict(extra or {}),
    )
    with atomic_path(weights_path) as tmp_weights, atomic_path(json_path) as tmp_json:
        save_file(tensors, str(tmp_weights), metadata={"format": FORMAT, "family": family})
        tmp_json.write_text(json.dumps({"format": FORMAT, "version": FORMAT_VERSION, **dataclasses.asdict(meta)},
                                       indent=2) + "\n")
    return weights_path


def parse_format_json(content: bytes, fmt: str, version: int, what: str) -> dict[str, Any]:
    """A JSON object that names its format and version (checkpoint metadata, token grids); ValueError
    saying what is wrong otherwise (not JSON, another format, an unsupported version)."""
    try:
        raw = json.loads(content.decode())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"not valid JSON ({type(exc).__name__}: {str(exc)[:80]})") from None
    if not isinstance(raw, dict) or raw.get("format") != fmt:
        raise ValueError(f"not {what} (needs \"format\": \"{fmt}\")")
    if raw.get("version") != version:
        raise ValueError(f"{what} version {raw.get('version')!r} is not supported (expected {version})")
    return raw


def read_meta(path: str | Path) -> CheckpointMeta:
    """Read and validate only the JSON sidecar (cheap: used to list checkpoints)."""
    if (folder := _diffusers_folder(path)) is not None:
        from .diffusers_io.folder import diffusers_meta

        return diffusers_meta(folder)
    weights_path, json_path = resolve_paths(path)
    if not json_path.exists() and not weights_path.exists():
        raise CheckpointError(f"{weights_path.parent}: no checkpoint in this folder (no {weights_path.name} "
                              f"and no {json_path.name})")
    if not json_path.exists():
        raise CheckpointError(f"{json_path}: checkpoint metadata file not found")
    if json_path.is_dir() or json_path.stat().st_size > MAX_JSON_BYTES:
        raise CheckpointError(f"{json_path}: not checkpoint metadata (a folder, or far too large for it)")
    try:
        raw = parse_format_json(json_path.read_bytes(), FORMAT, FORMAT_VERSION, "a playground checkpoint")
    except ValueError as exc:
        raise CheckpointError(f"{json_path}: {exc}") from None
    known = {f.name for f in dataclasses.fields(CheckpointMeta)}
    missing = {"family", "config"} - set(raw)
    if missing:
        raise CheckpointError(f"{json_path}: missing {sorted(missing)}")
    meta = CheckpointMeta(**{k: v for k, v in raw.items() if k in known})
    _check_meta_types(meta, json_path)
    return meta


_META_TYPES = {"family": str, "config": dict, "data": str, "steps": int, "metrics": dict, "command": str,
               "created": str, "extra": dict}


def _check_meta_types(meta: CheckpointMeta, json_path: Path) -> None:
    """A hand-edited sidecar: every field of the type the app reads it as."""
    for name, kind in _META_TYPES.items():
        value = getattr(meta, name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise CheckpointError(f"{json_path}: {name!r} must be a JSON {_JSON_NAMES[kind]}, got {value!r:.60}")
    bad = [k for k, v in meta.metrics.items() if not isinstance(v, (int, float)) or isinstance(v, bool)]
    if bad:
        raise CheckpointError(f"{json_path}: metric {bad[0]!r} must be a number, got {meta.metrics[bad[0]]!r:.60}")


_JSON_NAMES = {str: "string", dict: "object", int: "whole number"}


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu",
                    families: tuple[str, ...] | None = None) -> LoadedModel:
    """Load a checkpoint for inference. Raises CheckpointError naming the file and the problem;
    with `families`, also for a checkpoint of any other family (before building anything)."""
    if (folder := _diffusers_folder(path)) is not None:  # a diffusers pipeline folder: its own loader
        from .diffusers_io.load import open_folder

        return open_folder(folder, device, families)
    weights_path, json_path = resolve_paths(path)
    meta = read_meta(weights_path)
    if families is not None and meta.family not in families:
        raise CheckpointError(f"{weights_path} holds a {meta.family} model, not a {' or '.join(families)}")
    try:
        family = get_family(meta.family)
    except KeyError as exc:
        raise CheckpointError(f"{json_path}: {exc.args[0]}") from None
    config = config_from_dict(family.config_class, meta.config, str(json_path))
    if not weights_path.is_file():
        raise CheckpointError(f"{weights_path}: weights file not found")
    shapes = _read_header(weights_path)
    try:
        with _allocation_budget(2 * weights_path.stat().st_size + 64 * 2**20):
            model = family.build(config)
    except _ModelTooLarge:
        raise CheckpointError(f"{json_path}: its config describes a far larger {meta.family} model than "
                              f"{weights_path.name} holds; the config does not match the weights") from None
    except Exception as exc:  # a config the architecture cannot be built from
        raise CheckpointError(f"{json_path}: config cannot build a {meta.family} model ({exc})") from exc
    _check_state_dict(model, shapes, weights_path)
    try:
        tensors = load_file(str(weights_path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights_path}: corrupt or not a safetensors file ({exc})") from None
    _check_finite(tensors, weights_path)
    model.load_state_dict(tensors)
    model.eval().requires_grad_(False)
    model.to(device)
    return LoadedModel(model=model, config=config, meta=meta, path=weights_path)


def _read_header(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes from a safetensors header, before any tensor data is read."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: corrupt or not a safetensors file ({exc})") from None


def _check_finite(tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Weights holding NaN or inf draw black or garbage pictures: say so instead."""
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{path}: the weights hold NaN or infinite values (first in {name}); "
                                  "the run that wrote them diverged")


class _ModelTooLarge(Exception):
    pass


_budget = threading.local()  # bytes a model being loaded on this thread may still allocate


def _count_allocation(module: nn.Module, name: str, tensor: torch.Tensor | None) -> None:
    """A module-registration hook: every parameter and buffer of a model built under
    `_allocation_budget` is counted, and the build stops before the next tensor once the
    model outgrows what its weights file could hold (other threads are not affected)."""
    left = getattr(_budget, "left", None)
    if left is None or tensor is None:
        return None
    _budget.left = left - tensor.numel() * tensor.element_size()
    if _budget.left < 0:
        raise _ModelTooLarge
    return None


# registered once, at import: adding hooks later could race with a model built on another thread
torch.nn.modules.module.register_module_parameter_registration_hook(_count_allocation)
torch.nn.modules.module.register_module_buffer_registration_hook(_count_allocation)


@contextmanager
def _allocation_budget(limit: int):
    _budget.left = limit
    try:
        yield
    finally:
        _budget.left = None


def _check_state_dict(model: nn.Module, shapes: dict[str, tuple[int, ...]], path: Path) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    mismatched = [
        f"{k} {shapes[k]} vs config's {tuple(v.shape)}"
        for k, v in expected.items() if k in shapes and shapes[k] != tuple(v.shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing tensors (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensors (e.g. {', '.join(unexpected[:3])})")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatches (e.g. {'; '.join(mismatched[:3])})")
    if problems:
        raise CheckpointError(f"{path}: weights do not match the config in the JSON: " + "; ".join(problems))


def record_in_extra(checkpoint: str | Path, evaluated: CheckpointMeta, what: str, **values: Any) -> Path:
    """Write `values` into the checkpoint's JSON `extra`, every other key as it was (an evaluation's best settings).

    Atomic (a failed write leaves the old file); refused when the checkpoint changed since it was
    evaluated (a training run saved over it: what was measured is not the new weights')."""
    if _diffusers_folder(checkpoint) is not None:
        raise CheckpointError(f"{checkpoint} is a diffusers pipeline folder: {what} was not recorded (never written into it)")
    _, json_path = resolve_paths(checkpoint)
    now = read_meta(json_path)
    if (now.steps, now.created) != (evaluated.steps, evaluated.created):
        raise ValueError(f"{json_path}: the checkpoint changed while it was evaluated (step {evaluated.steps} "
                         f"-> {now.steps}); {what} was not recorded: evaluate it again")
    raw = json.loads(json_path.read_text())
    raw["extra"] = {**raw.get("extra", {}), **values}
    with atomic_path(json_path) as tmp:
        tmp.write_text(json.dumps(raw, indent=2) + "\n")
    return json_path
