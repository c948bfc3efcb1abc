"""The Qt binding itself: a regression guard for a refcount bug that aborts the app."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal()


def test_emitting_a_signal_keeps_true_alive(qapp):
    """PySide6 6.12.0's emit() drops a reference to True each call; on Python 3.11 the count
    reaches zero after a few thousand emits (a minute of playback) and Python aborts."""
    emitter = _Emitter()
    emitter.fired.connect(lambda: None)
    before = sys.getrefcount(True)
    for _ in range(500):
        emitter.fired.emit()
    assert sys.getrefcount(True) >= before
