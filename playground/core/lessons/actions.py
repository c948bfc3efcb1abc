"""What a scene plays: the recipes an action passes through, one per frame, the same on every machine.

- sweep: the recipe value at a dotted path ("guidance_scale", "latent.3", "grid_of.seed") goes
  from `from` to `to` in `frames` frames (whole numbers stay whole), then back if `back`;
  this drags a slider, runs the denoising and scrubs back (`step_index`), sweeps guidance.
- fill: the token grid at `key` fills cell by cell in raster order, from a blank grid (every
  cell the grid's most common code, its background, or `blank`) to the recipe's grid.
- paint: the cells [[row, col, code], ...] are painted one by one onto the recipe's grid.
- train: a training run the Train tab steps live (GUI only): no frames here.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from typing import Any

KINDS = ("sweep", "fill", "paint", "train")
MAX_FRAMES = 600
_KEYS = {"sweep": {"kind", "key", "from", "to", "frames", "back"}, "fill": {"kind", "key", "order", "blank"},
         "paint": {"kind", "key", "cells"}, "train": {"kind", "steps", "preset"}}


def check_action(action: Any, recipe: dict[str, Any]) -> None:
    """ValueError (one line) when the action is malformed or names a value the recipe lacks."""
    if not isinstance(action, dict):
        raise ValueError(f"an action is a JSON object with a 'kind', not {action!r}")
    kind = action.get("kind")
    if kind not in KINDS:
        raise ValueError(f"'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
    unknown = set(action) - _KEYS[kind]
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r} for a {kind} (it has {', '.join(sorted(_KEYS[kind]))})")
    if kind == "train":
        steps = action.get("steps", 1)
        if not _is_int(steps) or not 1 <= steps <= 1_000_000:
            raise ValueError(f"'steps' must be a whole number from 1 to 1000000, not {steps!r}")
        from ..training.presets import PRESETS

        if action.get("preset", "demo") not in PRESETS:
            raise ValueError(f"'preset' must be one of {', '.join(PRESETS)}, not {action['preset']!r}")
        return
    key = action.get("key")
    if not isinstance(key, str) or not key:
        raise ValueError("it names no 'key' (the recipe value it changes, e.g. \"step_index\" or \"latent.3\")")
    value = value_at(recipe, key)
    if kind == "sweep":
        _check_sweep(action, key, value)
    else:
        grid = _grid(value, key)
        if kind == "fill":
            if action.get("order", "raster") != "raster":
                raise ValueError(f"'order' must be \"raster\", not {action['order']!r}")
            if "blank" in action and not (_is_int(action["blank"]) and action["blank"] >= 0):
                raise ValueError(f"'blank' must be a code (a whole number from 0), not {action['blank']!r}")
        else:
            _check_cells(action.get("cells"), grid, recipe.get("codebook_size"))


def action_frames(scene) -> list[dict[str, Any]]:
    """The recipes the scene's action passes through, in order ([] for no action or a training run)."""
    action, recipe = scene.action, scene.recipe
    if not action or action.get("kind") == "train":
        return []
    check_action(action, recipe)
    key = action["key"]
    if action["kind"] == "sweep":
        whole = _is_int(value_at(recipe, key))  # a whole-number setting (a step, a count) stays whole
        values = sweep_values(action["from"], action["to"], action["frames"], bool(action.get("back", False)), whole)
        return [with_value(recipe, key, v) for v in values]
    target = [list(row) for row in value_at(recipe, key)]
    if action["kind"] == "paint":
        frames, grid = [], copy.deepcopy(target)
        for row, col, code in action["cells"]:
            grid[row][col] = code
            frames.append(with_value(recipe, key, copy.deepcopy(grid)))
        return frames
    blank = action.get("blank", _background(target))
    width, cells = len(target[0]), len(target) * len(target[0])
    frames = []
    for filled in range(1, cells + 1):
        grid = [[target[r][c] if r * width + c < filled else blank for c in range(width)] for r in range(len(target))]
        frames.append(with_value(recipe, key, grid))
    return frames


def frame_labels(scene) -> list[str]:
    """A few words per frame of the action ("step_index = 12", "cell 21 of 64"), for a video's frames."""
    action = scene.action or {}
    frames = action_frames(scene)
    if action.get("kind") == "sweep":
        return [f"{action['key']} = {value_at(frame, action['key'])}" for frame in frames]
    what = "cell" if action.get("kind") == "fill" else "token"
    return [f"{what} {i + 1} of {len(frames)}" for i in range(len(frames))]


def sweep_values(start: float, stop: float, frames: int, back: bool = False, whole: bool = False) -> list[float | int]:
    """`frames` values from start to stop (both ends included; rounded to whole numbers if `whole`), then back."""
    values = []
    for i in range(frames):
        value = start + (stop - start) * (i / (frames - 1) if frames > 1 else 1.0)
        values.append(int(round(value)) if whole else round(float(value), 6))
    values[-1] = int(stop) if whole else float(stop)
    values[0] = int(start) if whole else float(start)
    return values + values[-2::-1] if back else values


def value_at(recipe: dict[str, Any], key: str) -> Any:
    """The value at a dotted path: dict keys and list indices ("latent.3", "grid_of.seed")."""
    value: Any = recipe
    for part in key.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise ValueError(f"the recipe has no value at {key!r}")
    return value


# a recipe's keys that record what another key implies (checked against it by the renderer): a frame
# that changes the one drops the other, which the renderer then derives again
DERIVED_KEYS = {"step_index": "t", "strip_step_indices": "strip_t"}


def with_value(recipe: dict[str, Any], key: str, new: Any) -> dict[str, Any]:
    """A deep copy of the recipe with the value at `key` replaced (and what it implies dropped)."""
    result = copy.deepcopy(recipe)
    if key in DERIVED_KEYS:
        result.pop(DERIVED_KEYS[key], None)
    *path, last = key.split(".")
    holder: Any = result
    for part in path:
        holder = holder[int(part)] if isinstance(holder, list) else holder[part]
    holder[int(last) if isinstance(holder, list) else last] = new
    return result


def _check_sweep(action: dict[str, Any], key: str, value: Any) -> None:
    if not _is_number(value):
        raise ValueError(f"a sweep changes a number, but the recipe's {key!r} is {value!r}")
    for end in ("from", "to"):
        if not _is_number(action.get(end)):
            raise ValueError(f"{end!r} must be a number, not {action.get(end)!r}")
    if _is_int(value) and not (_is_int(action["from"]) and _is_int(action["to"])):
        raise ValueError(f"the recipe's {key!r} is a whole number: 'from' and 'to' must be whole numbers too")
    frames = action.get("frames")
    if not _is_int(frames) or not 2 <= frames <= MAX_FRAMES:
        raise ValueError(f"'frames' must be a whole number from 2 to {MAX_FRAMES}, not {frames!r}")
    if not isinstance(action.get("back", False), bool):
        raise ValueError(f"'back' must be true or false, not {action['back']!r}")


def _grid(value: Any, key: str) -> list[list[int]]:
    if not (isinstance(value, list) and value and all(isinstance(r, list) and len(r) == len(value[0]) and r
                                                      and all(_is_int(c) for c in r) for r in value)):
        raise ValueError(f"the recipe's {key!r} is not a token grid (rows of codes)")
    if len(value) * len(value[0]) > MAX_FRAMES:
        raise ValueError(f"the recipe's {key!r} has more than {MAX_FRAMES} cells")
    return value


def _check_cells(cells: Any, grid: list[list[int]], codebook_size: Any) -> None:
    rows, cols = len(grid), len(grid[0])
    codes = codebook_size if _is_int(codebook_size) else None
    if not isinstance(cells, list) or not 1 <= len(cells) <= MAX_FRAMES:
        raise ValueError(f"'cells' must be a list of 1 to {MAX_FRAMES} [row, col, code]")
    for cell in cells:
        if not (isinstance(cell, list) and len(cell) == 3 and all(_is_int(v) for v in cell)
                and 0 <= cell[0] < rows and 0 <= cell[1] < cols
                and 0 <= cell[2] < (codes if codes is not None else cell[2] + 1)):
            raise ValueError(f"each cell is [row, col, code] within the {rows}x{cols} grid"
                             + (f" and its {codes} codes" if codes else "") + f", not {cell!r}")


def _background(grid: list[list[int]]) -> int:
    """The grid's most common code (ties: the smallest), what its empty cells show."""
    counts = Counter(c for row in grid for c in row)
    return min(counts, key=lambda code: (-counts[code], code))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
