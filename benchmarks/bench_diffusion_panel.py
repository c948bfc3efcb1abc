"""The diffusion panel while it samples: does the window stay responsive?

    python benchmarks/bench_diffusion_panel.py [--sampler ddpm|ddim] [--steps 50]

Opens the real window offscreen with the shipped ddpm-shapes checkpoint, runs one
sampling run in the panel, and prints: the run's wall time, the longest GUI event-loop
stall while the worker samples (a 1 ms heartbeat timer; target <= 30 ms), and the time
to show a cached step when scrubbing the finished run (p50/p99 over every step).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sampler", choices=("ddpm", "ddim"), default="ddpm")
    parser.add_argument("--steps", type=int, default=50, help="DDIM steps (DDPM always runs every step)")
    args = parser.parse_args()

    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from playground.gui.app import configure_threads
    from playground.gui.main_window import MainWindow
    from playground.gui.panels.diffusion_panel import DiffusionPanel
    from playground.gui.theme import apply_dark_theme

    configure_threads()
    app = QApplication.instance() or QApplication([])
    apply_dark_theme(app)
    window = MainWindow(torch.device("cpu"))
    window.show()
    panel = next(p for p in window.panels if isinstance(p, DiffusionPanel))
    window.show_panel(panel)

    def pump_until(condition, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while not condition() and time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.0005)

    pump_until(lambda: panel.loaded is not None, 60)
    panel.sampler_box.setCurrentIndex(0 if args.sampler == "ddpm" else 1)
    panel.steps_box.setValue(args.steps)
    runs_before = len(panel.runs)

    clock = QElapsedTimer()
    clock.start()
    ticks: list[int] = []
    heartbeat = QTimer()
    heartbeat.setInterval(1)
    heartbeat.timeout.connect(lambda: ticks.append(clock.elapsed()))
    heartbeat.start()
    started = time.perf_counter()
    panel.run()
    pump_until(lambda: len(panel.runs) > runs_before and not panel.sampling, 600)
    elapsed = time.perf_counter() - started
    heartbeat.stop()
    gaps = np.diff(np.asarray(ticks))
    run = panel.runs[-1]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} torch thread(s), {os.cpu_count()} cores")
    print(f"{args.sampler.upper()}-{run.num_steps} run in the panel: {elapsed:.1f} s wall")
    print(f"longest GUI event-loop stall during the run: {gaps.max():.0f} ms "
          f"(p99 gap {np.percentile(gaps, 99):.0f} ms; target <= 30 ms)")

    times = []
    for index in range(run.num_steps):
        start = time.perf_counter()
        panel.show_step(index)
        app.processEvents()
        times.append((time.perf_counter() - start) * 1000)
    print(f"scrub to a cached step: p50 {np.percentile(times, 50):.1f} ms, p99 {np.percentile(times, 99):.1f} ms; "
          f"trajectory cache {panel.cache_bytes() / 2**20:.1f} MiB")
    window.close()


if __name__ == "__main__":
    main()
