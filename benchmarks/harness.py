"""What the benchmark scripts share: timing a call, and a real window (offscreen) with a heartbeat that sees stalls."""

from __future__ import annotations

import statistics
import time


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median CPU and wall seconds of fn() (one warm-up call first)."""
    fn()
    cpu, wall = [], []
    for _ in range(repeats):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return statistics.median(cpu), statistics.median(wall)


def open_window(size: tuple[int, int] = (1280, 720)):
    """(app, the main window shown at `size` with the dark theme), as `playground` opens it."""
    import torch
    from PySide6.QtWidgets import QApplication

    from playground.gui.app import configure_threads
    from playground.gui.main_window import MainWindow
    from playground.gui.theme import apply_dark_theme

    configure_threads()
    app = QApplication.instance() or QApplication([])
    apply_dark_theme(app)
    window = MainWindow(torch.device("cpu"))
    window.resize(*size)
    window.show()
    return app, window


def heartbeat():
    """(the QTimer ticking every 1 ms, the list of tick times in ms): gaps between ticks are GUI stalls."""
    from PySide6.QtCore import QElapsedTimer, QTimer

    clock = QElapsedTimer()
    clock.start()
    ticks: list[int] = []
    timer = QTimer()
    timer.setInterval(1)
    timer.timeout.connect(lambda: ticks.append(clock.elapsed()))
    timer.start()
    timer.clock = clock  # kept alive with the timer
    return timer, ticks


def pump_until(app, condition, timeout: float) -> bool:
    """Process the window's events until `condition()` holds or `timeout` seconds pass; whether it held."""
    import time

    deadline = time.perf_counter() + timeout
    while not condition() and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.0005)
    return condition()
