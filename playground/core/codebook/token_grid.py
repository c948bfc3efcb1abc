"""Token grids as small JSON files, so an edited VQ-VAE grid can be saved, shared and decoded again.

Format (version 1), one JSON object:

    {
      "format": "playground-token-grid",
      "version": 1,
      "model": "vqvae-shapes",          # the checkpoint the codes belong to (informational)
      "grid_size": [8, 8],              # rows, columns
      "codebook_size": 128,             # optional: indices must be below it
      "indices": [[12, 12, 40, ...], ...]   # rows of integer code indices
    }

Every problem with a file raises `TokenGridError` (a ValueError) whose message starts
with the file name and says what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..checkpoints import parse_format_json
from ..images import atomic_path, read_recipe

FORMAT = "playground-token-grid"
FORMAT_VERSION = 1
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_FILE_BYTES = 16 * 2**20  # a 64x64 grid is ~20 kB; anything far larger is not a token grid
MAX_CODE = 2**31 - 1         # beyond any codebook; keeps every index an int64


class TokenGridError(ValueError):
    """A token grid file that cannot be used; str() names the file and the problem."""


@dataclass(frozen=True)
class TokenGrid:
    """One grid of code indices, (rows, columns) int64, and the model it was made with."""

    indices: np.ndarray
    model: str = ""
    codebook_size: int | None = None

    @property
    def grid_size(self) -> tuple[int, int]:
        return int(self.indices.shape[0]), int(self.indices.shape[1])

    def to_json(self) -> dict:
        data = {"format": FORMAT, "version": FORMAT_VERSION, "model": self.model, "grid_size": list(self.grid_size)}
        if self.codebook_size is not None:
            data["codebook_size"] = int(self.codebook_size)
        data["indices"] = [[int(v) for v in row] for row in self.indices]
        return data


def save_token_grid(path: str | Path, grid: TokenGrid) -> Path:
    """Write the grid as JSON, one row of indices per line so it stays readable and diffable."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = grid.to_json()
    rows = ",\n    ".join(json.dumps(row) for row in data.pop("indices"))
    head = "".join(f"  {json.dumps(key)}: {json.dumps(value)},\n" for key, value in data.items())
    with atomic_path(path) as tmp:  # a failed save never leaves half a grid in place of the old one
        tmp.write_text(f"{{\n{head}  \"indices\": [\n    {rows}\n  ]\n}}\n")
    return path


def load_token_grid(
    path: str | Path, grid_size: tuple[int, int] | int | None = None, codebook_size: int | None = None,
) -> TokenGrid:
    """Read and validate a token grid file: the JSON format above, or a PNG whose recipe holds
    "tokens" (what the codebook browser and `playground encode vqvae --recon` write).

    `grid_size` and `codebook_size`, when given (from the model that will decode it), must
    match the file; the file's own `grid_size` and `codebook_size` are checked too.
    """
    path = Path(path)

    def fail(problem: str) -> TokenGridError:
        return TokenGridError(f"{path}: {problem}")

    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise fail(f"{path.stat().st_size / 2**20:.0f} MB is far too large for a token grid file")
        content = path.read_bytes()
    except FileNotFoundError:
        raise fail("no such file") from None
    except IsADirectoryError:
        raise fail("is a folder, not a token grid file") from None
    if content.startswith(PNG_SIGNATURE):
        raw = _raw_from_png(path, fail)
        content = json.dumps(raw).encode()
    try:
        raw = parse_format_json(content, FORMAT, FORMAT_VERSION, "a token grid file")
    except ValueError as exc:
        raise fail(str(exc)) from None
    indices = _indices(raw.get("indices"), fail)
    declared = raw.get("grid_size")
    if declared is not None:
        if not (isinstance(declared, list) and len(declared) == 2 and all(_is_int(v) for v in declared)):
            raise fail(f"grid_size must be [rows, columns], got {declared!r}")
        if tuple(declared) != indices.shape:
            raise fail(f"grid_size says {declared[0]}x{declared[1]} but indices are {indices.shape[0]}x{indices.shape[1]}")
    if grid_size is not None:
        expected = (grid_size, grid_size) if isinstance(grid_size, int) else tuple(grid_size)
        if indices.shape != expected:
            raise fail(f"wrong size: the grid is {indices.shape[0]}x{indices.shape[1]}, "
                       f"the model needs {expected[0]}x{expected[1]}")
    file_codebook = raw.get("codebook_size")
    if file_codebook is not None and (not _is_int(file_codebook) or file_codebook < 1):
        raise fail(f"codebook_size must be a positive integer, got {file_codebook!r}")
    for limit, whose in ((file_codebook, "the file's codebook_size"), (codebook_size, "the model's codebook")):
        if limit is not None:
            bad = np.argwhere((indices < 0) | (indices >= limit))
            if len(bad):
                r, c = (int(v) for v in bad[0])
                raise fail(f"index out of range: {int(indices[r, c])} at row {r}, column {c} "
                           f"(valid codes are 0..{limit - 1} for {whose})")
    if (indices < 0).any():
        r, c = (int(v) for v in np.argwhere(indices < 0)[0])
        raise fail(f"index out of range: {int(indices[r, c])} at row {r}, column {c} (codes are >= 0)")
    model = raw.get("model", "")
    if not isinstance(model, str):
        raise fail(f"model must be a string, got {model!r}")
    return TokenGrid(indices=indices, model=model, codebook_size=file_codebook)


def _raw_from_png(path: Path, fail) -> dict:
    """A PNG's recipe as the JSON format's fields, so both go through the same checks."""
    try:
        recipe = read_recipe(path)
    except (OSError, SyntaxError, ValueError, RecursionError) as exc:  # a broken PNG or a recipe that is not JSON
        raise fail(f"cannot read the PNG's metadata ({exc})") from None
    if not isinstance(recipe, dict) or "tokens" not in recipe:
        raise fail("this PNG carries no token grid in its metadata (no \"tokens\" in its recipe)")
    return {"format": FORMAT, "version": FORMAT_VERSION, "model": recipe.get("model") or "",
            "codebook_size": recipe.get("codebook_size"), "indices": recipe["tokens"]}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _indices(value: object, fail) -> np.ndarray:
    if not isinstance(value, list) or not value or not all(isinstance(row, list) for row in value):
        raise fail("indices must be a non-empty list of rows (lists of integers)")
    widths = {len(row) for row in value}
    if len(widths) != 1 or 0 in widths:
        raise fail(f"indices rows have different or zero lengths {sorted(widths)}: the grid must be rectangular")
    for r, row in enumerate(value):
        for c, v in enumerate(row):
            if not _is_int(v):
                raise fail(f"indices must be integers, got {v!r:.40} at row {r}, column {c}")
            if not -MAX_CODE <= v <= MAX_CODE:
                raise fail(f"index out of range: {v:.3g} at row {r}, column {c} (codes are 0 to the codebook's size - 1)")
    return np.asarray(value, dtype=np.int64)
