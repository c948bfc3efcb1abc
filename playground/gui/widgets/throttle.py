"""A rate limit for previews sent from a worker to the GUI (one definition for every panel)."""

from __future__ import annotations

import time

PREVIEW_INTERVAL_S = 1 / 30  # at most ~30 previews a second reach the GUI during a run


class Throttle:
    """`ready()` is True at most once per `interval` seconds (and always the first time)."""

    def __init__(self, interval: float = PREVIEW_INTERVAL_S):
        self.interval = interval
        self.last = -float("inf")

    def ready(self) -> bool:
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            return True
        return False
