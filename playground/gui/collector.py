"""Python's cyclic garbage collector, run on the GUI thread only.

A Qt object caught in a reference cycle is destroyed by whichever thread the collector
happens to run on. On a worker thread its C++ destructor takes Qt's locks and then waits
for the GIL, which the GUI thread holds while it waits for those same locks: the window
freezes for good (seen in the test suite: a model load in a worker collected a dead
widget while the GUI thread destroyed another). pyqtgraph's GarbageCollector is made for
this: it turns automatic collection off and collects from a timer on the GUI thread.
"""

from __future__ import annotations

from pyqtgraph.util.garbage_collector import GarbageCollector

_collector: GarbageCollector | None = None


def collect_on_gui_thread(interval_s: float = 1.0) -> GarbageCollector:
    """Start (once per process, from the GUI thread) collecting garbage only on the GUI thread."""
    global _collector
    if _collector is None:
        _collector = GarbageCollector(interval=interval_s)
    return _collector
