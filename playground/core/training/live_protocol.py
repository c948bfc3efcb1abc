"""What a training process tells the app that watches it: one JSON object per line.

The Train panel runs `playground train ... --live` as a child process, so training never
shares the GUI's interpreter (on a thread of the app it lost 5-11% of its steps to the
live view) and a crash in training cannot take the window down. The child
writes `RunStarted`, then `LiveUpdate`s, then `RunFinished` or `RunFailed` on stdout;
it reads `pause`, `resume` and `stop` lines on stdin. Previews travel as base64 of their
uint8 pixels (a 4x4 grid of 32x32 samples is 16 KB a time).
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass

import numpy as np

from .live import LiveUpdate


@dataclass
class RunStarted:
    """Sent once when data and model are ready."""

    command: str
    declared_groups: dict[str, tuple[str, ...]] | None  # the task's metric_groups, if it has them
    preview_kind: str | None
    parameters: int
    out_dir: str
    first_step: int


@dataclass
class RunFinished:
    """The run ended (its steps done, or stopped) and saved this checkpoint."""

    path: str


@dataclass
class RunFailed:
    """The run raised; `message` says what went wrong, in words a user can act on."""

    message: str


Message = RunStarted | LiveUpdate | RunFinished | RunFailed
_KINDS = {"started": RunStarted, "update": LiveUpdate, "finished": RunFinished, "failed": RunFailed}
_NAMES = {cls: name for name, cls in _KINDS.items()}


def encode(message: Message) -> str:
    """One line of JSON (no newline inside: base64 and json.dumps never write one)."""
    fields = asdict(message)
    if isinstance(message, LiveUpdate) and message.preview is not None:
        pixels = np.ascontiguousarray(message.preview, dtype=np.uint8)
        fields["preview"] = {"shape": list(pixels.shape), "pixels": base64.b64encode(pixels.tobytes()).decode("ascii")}
    return json.dumps({"kind": _NAMES[type(message)], **fields})  # NaN (an unknown ETA) stays NaN


def decode(line: str | bytes) -> Message | None:
    """The message on a line, or None for a line that is not one (a stray print, a warning)."""
    try:
        fields = json.loads(line)
        cls = _KINDS[fields.pop("kind")]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if cls is LiveUpdate and fields.get("preview") is not None:
        preview = fields["preview"]
        fields["preview"] = np.frombuffer(base64.b64decode(preview["pixels"]), np.uint8).reshape(preview["shape"])
    if cls is RunStarted and fields.get("declared_groups") is not None:
        fields["declared_groups"] = {title: tuple(keys) for title, keys in fields["declared_groups"].items()}
    try:
        return cls(**fields)
    except TypeError:
        return None
