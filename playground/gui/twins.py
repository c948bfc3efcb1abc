"""`remotable(local, remote)`: a work function with its remote twin (see `gui/remote_worker.py`), for
submit sites that pass a lambda."""

from __future__ import annotations

from typing import Any, Callable


def remotable(local: Callable[[Any], Any], remote: Callable[[Any, Any], Any]) -> Callable[[Any], Any]:
    """`local(ctx)` that a connected `RemoteWorker` runs as `remote(ctx, connection)` (the same result)."""
    def work(ctx: Any) -> Any:
        return local(ctx)

    work.remote = remote
    return work
