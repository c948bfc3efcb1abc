"""Where measured rows are kept: the user's cache, and the scores shipped with the assets.

A row is cached per (weights SHA-256, n, seed, REPORT_VERSION, the likelihood code's
fingerprint) under the user's cache folder (never under assets/): a second look at an
unchanged checkpoint is instant. The shipped models' rows at the default N and seed ship in
`assets/compare/scores.json` (written by the command in it), so the Compare page is full the
moment it opens; a shipped row is used only for the exact weights it measured (the same
SHA-256), at the same N, seed and report version.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..assets import assets_dir
from ..checkpoints import resolve_paths
from ..disk_cache import store_text, user_cache_dir
from ..provenance import weights_sha256

REPORT_VERSION = 2
SHIPPED_SCORES = Path("compare") / "scores.json"
SHIPPED_COMMAND = ("playground compare --n 500 --seed 0 --threads 1 --json assets/compare/scores.json "
                   "--out /tmp/compare.html")
LIKELIHOOD_SOURCES = ("compare/likelihood.py", "diffusion/likelihood.py", "latent_diffusion/likelihood.py",
                      "latent/likelihood.py", "tokens/likelihood.py")


def cache_dir() -> Path:
    """The user's cache folder for comparison results ($XDG_CACHE_HOME/playground/compare)."""
    return user_cache_dir("compare")


@lru_cache(maxsize=1)
def likelihood_key() -> str:
    """A fingerprint of the likelihood code: a changed bound is measured again."""
    core = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for name in LIKELIHOOD_SOURCES:
        try:
            digest.update((core / name).read_bytes())
        except OSError:
            digest.update(name.encode())
    return "l" + digest.hexdigest()[:10]


def cache_path(sha256: str, n: int, seed: int) -> Path:
    return cache_dir() / f"{sha256[:32]}-n{n}-s{seed}-v{REPORT_VERSION}{likelihood_key()}.json"


def cached_row(path: str | Path, n: int, seed: int) -> dict[str, Any] | None:
    """The JSON of this checkpoint's row at (n, seed): the user's cache, else the shipped scores; or None."""
    weights, _ = resolve_paths(path)
    sha = weights_sha256(weights)
    try:
        return json.loads(cache_path(sha, n, seed).read_text())
    except (OSError, ValueError):
        pass
    return shipped_rows().get((sha, n, seed))


def store_row(sha256: str, n: int, seed: int, row: dict[str, Any]) -> None:
    store_text(cache_path(sha256, n, seed), json.dumps(row))


def shipped_rows() -> dict[tuple[str, int, int], dict[str, Any]]:
    """The shipped scores by (SHA-256, n, seed); empty when there are none (or they are of another version)."""
    file = assets_dir() / SHIPPED_SCORES
    try:
        stamp = file.stat().st_mtime_ns
    except OSError:
        return {}
    return _read_shipped(str(file), stamp)


@lru_cache(maxsize=2)
def _read_shipped(file: str, _stamp: int) -> dict[tuple[str, int, int], dict[str, Any]]:
    try:
        data = json.loads(Path(file).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != REPORT_VERSION:
        return {}
    rows = {}
    for row in data.get("models", []):
        try:
            rows[(row["sha256"], int(row["n"]), int(row["seed"]))] = row
        except (KeyError, TypeError, ValueError):
            continue
    return rows
