"""What a model server offers: the shipped checkpoints and those under the folders it is given.

Each is an `Entry` named by a short id (its folder or file name; a second one of the same
name gets "-2", ...). The app matches a server's model to the checkpoint it has open by the
SHA-256 of the weights file (`fingerprint`), so "the same model" means the same weights,
not the same name.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from ..assets import list_shipped
from ..checkpoints import WEIGHTS_NAME, CheckpointError, read_meta

MAX_DEPTH = 3  # how deep under a --checkpoints folder checkpoints are looked for

_hashes: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


def fingerprint(weights: str | Path) -> str:
    """SHA-256 of a weights file (hex), cached by path, size and modification time."""
    path = Path(weights).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _lock:
        if key in _hashes:
            return _hashes[key]
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    with _lock:
        _hashes[key] = digest.hexdigest()
    return _hashes[key]


@dataclass(frozen=True)
class Entry:
    """One model a server offers (what its /models lists, less `path`)."""

    id: str
    name: str
    family: str
    source: str       # "shipped" or "user"
    sha256: str
    steps: int
    data: str
    path: str         # the weights file on the server (not sent)

    def public(self) -> dict:
        out = asdict(self)
        out.pop("path")
        return out


def _weights_under(folder: Path) -> list[Path]:
    """Weights files with a JSON sidecar in `folder` and up to MAX_DEPTH folders below it."""
    patterns = ["/".join(["*"] * depth + ["*.safetensors"]) for depth in range(MAX_DEPTH + 1)]
    return [p for pattern in patterns for p in sorted(folder.glob(pattern))
            if p.is_file() and p.with_suffix(".json").is_file()]


def find_checkpoints(folders: list[str | Path] = (), shipped: bool = True) -> list[Entry]:
    """The shipped checkpoints (unless `shipped` is False) and every checkpoint under `folders`.
    A folder that does not exist is an error (a typo must not serve nothing); broken checkpoints are skipped."""
    candidates: list[tuple[str, Path, str]] = []
    if shipped:
        candidates += [(c.name, c.path, "shipped") for c in list_shipped()]
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise CheckpointError(f"{folder}: no such folder of checkpoints")
        for weights in _weights_under(folder):
            name = weights.parent.name if weights.name == WEIGHTS_NAME else weights.stem
            candidates.append((name, weights, "user"))
    entries: list[Entry] = []
    seen_paths: set[Path] = set()
    used: dict[str, int] = {}
    for name, weights, source in candidates:
        if weights.resolve() in seen_paths:
            continue
        try:
            meta = read_meta(weights)
        except CheckpointError:
            continue
        seen_paths.add(weights.resolve())
        used[name] = used.get(name, 0) + 1
        model_id = name if used[name] == 1 else f"{name}-{used[name]}"
        entries.append(Entry(model_id, name, meta.family, source, fingerprint(weights), int(meta.steps),
                             str(meta.data), str(weights)))
    return entries
