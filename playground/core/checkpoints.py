"""One checkpoint format for every model: `NAME.safetensors` weights + `NAME.json` metadata.

The JSON holds the family, the model config (a frozen dataclass), the data set, training
steps, final metrics and the command that made it. Loading reads tensors with safetensors
and plain JSON, so opening a file can never run code. Every failure is a
`CheckpointError` that names the file and the problem.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from .models.registry import get_family

FORMAT = "playground-checkpoint"
FORMAT_VERSION = 1
WEIGHTS_NAME = "model.safetensors"


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
            value = tuple(value)
        elif hint is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        elif hint in (int, float, bool, str) and not _is_json_type(value, hint):
            raise CheckpointError(f"{where}config field {name!r} must be {hint.__name__}, got {value!r}")
        kwargs[name] = value
    return config_class(**kwargs)


def _is_json_type(value: Any, hint: type) -> bool:
    if isinstance(value, bool):  # JSON true/false is a bool, never an int (Python says it is)
        return hint is bool
    return isinstance(value, hint)


def resolve_paths(path: str | Path) -> tuple[Path, Path]:
    """(weights, json) for a checkpoint given as a folder, a .safetensors or a .json path."""
    path = Path(path)
    if path.is_dir():
        path = path / WEIGHTS_NAME
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
    tmp_weights = weights_path.with_name(weights_path.name + ".tmp")
    save_file(tensors, str(tmp_weights), metadata={"format": FORMAT, "family": family})
    tmp_json = json_path.with_name(json_path.name + ".tmp")
    tmp_json.write_text(json.dumps({"format": FORMAT, "version": FORMAT_VERSION, **dataclasses.asdict(meta)}, indent=2) + "\n")
    tmp_weights.replace(weights_path)
    tmp_json.replace(json_path)
    return weights_path


def read_meta(path: str | Path) -> CheckpointMeta:
    """Read and validate only the JSON sidecar (cheap: used to list checkpoints)."""
    weights_path, json_path = resolve_paths(path)
    if not json_path.exists():
        raise CheckpointError(f"{json_path}: checkpoint metadata file not found")
    try:
        raw = json.loads(json_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{json_path}: not valid JSON ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CheckpointError(f"{json_path}: not a playground checkpoint (no \"format\": \"{FORMAT}\")")
    if raw.get("version") != FORMAT_VERSION:
        raise CheckpointError(f"{json_path}: checkpoint format version {raw.get('version')!r} is not supported")
    known = {f.name for f in dataclasses.fields(CheckpointMeta)}
    missing = {"family", "config"} - set(raw)
    if missing:
        raise CheckpointError(f"{json_path}: missing {sorted(missing)}")
    return CheckpointMeta(**{k: v for k, v in raw.items() if k in known})


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu") -> LoadedModel:
    """Load a checkpoint for inference. Raises CheckpointError naming the file and the problem."""
    weights_path, json_path = resolve_paths(path)
    meta = read_meta(weights_path)
    try:
        family = get_family(meta.family)
    except KeyError as exc:
        raise CheckpointError(f"{json_path}: {exc.args[0]}") from None
    config = config_from_dict(family.config_class, meta.config, str(json_path))
    if not weights_path.exists():
        raise CheckpointError(f"{weights_path}: weights file not found")
    try:
        tensors = load_file(str(weights_path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"{weights_path}: corrupt or not a safetensors file ({exc})") from exc
    try:
        model = family.build(config)
    except Exception as exc:  # a config the architecture cannot be built from
        raise CheckpointError(f"{json_path}: config cannot build a {meta.family} model ({exc})") from exc
    _check_state_dict(model, tensors, weights_path)
    model.load_state_dict(tensors)
    model.eval().requires_grad_(False)
    model.to(device)
    return LoadedModel(model=model, config=config, meta=meta, path=weights_path)


def _check_state_dict(model: nn.Module, tensors: dict[str, torch.Tensor], path: Path) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    mismatched = [
        f"{k} {tuple(tensors[k].shape)} vs config's {tuple(v.shape)}"
        for k, v in expected.items() if k in tensors and tensors[k].shape != v.shape
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
