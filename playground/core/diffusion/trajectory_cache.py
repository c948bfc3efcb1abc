"""The last few single-image runs that frame and strip recipes showed, kept for the next picture.

A lesson scrubbing a run (a sweep of `step_index`) or a video of it draws many frames of one
run: each frame's recipe differs from the last only in what it shows (the step, the views, the
scale), never in what makes the run. Keyed by the checkpoint file and any guiding network's (path, size and
modification time: a retrained file is another run) and the recipe without those keys, the run is made once.
The same computation gives the same pixels, so a cached run draws what a fresh one would.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

from ..provenance import HELPER_ROLES
from .trajectory import Trajectory

SHOWN_KEYS = frozenset({"picture", "step_index", "t", "strip_step_indices", "strip_t", "views", "scale"})
KEPT_RUNS = 2  # a 1000-step run of every view is tens of MB

_lock = threading.Lock()
_runs: OrderedDict[str, Trajectory] = OrderedDict()


def run_key(recipe: dict[str, Any], checkpoint: Path | None) -> str | None:
    """What makes the run a recipe shows (None: not cacheable, e.g. a model with no file)."""
    if checkpoint is None:
        return None
    try:
        files = [Path(checkpoint)] + [Path(recipe[role]) for role in HELPER_ROLES  # a guiding network's file too
                                      if isinstance(recipe.get(role), str) and Path(recipe[role]).is_file()]
        stamps = [(str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
        made = {k: v for k, v in recipe.items() if k not in SHOWN_KEYS}
        return json.dumps([stamps, made], sort_keys=True, default=str)
    except (OSError, TypeError, ValueError):
        return None


def cached_trajectory(key: str | None, make: Callable[[], Trajectory]) -> Trajectory:
    """The run under `key`, made (and kept) when it is not there."""
    if key is None:
        return make()
    with _lock:
        if key in _runs:
            _runs.move_to_end(key)
            return _runs[key]
    trajectory = make()
    with _lock:
        _runs[key] = trajectory
        while len(_runs) > KEPT_RUNS:
            _runs.popitem(last=False)
    return trajectory


def clear() -> None:
    with _lock:
        _runs.clear()
