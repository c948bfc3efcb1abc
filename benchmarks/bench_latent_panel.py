"""Latent-panel speed: decode latency, frames per second while dragging, GUI stalls.

    python benchmarks/bench_latent_panel.py [--checkpoint assets/vae-shapes] [--seconds 4]

Prints:
- decode latency at batch 1 (latent -> decoder -> uint8 image), p50/p99, in the worker's
  thread setting; targets: p50 <= 2 ms;
- slider-to-pixels latency in the real window (slider.setValue -> image on the canvas);
- frames rendered per second during a simulated drag at 120 slider events/s; target >= 60;
- the longest GUI event-loop stall while the worker is busy; target <= 30 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import torch


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def bench_decode(checkpoint: str, n: int = 500) -> None:
    from playground.core.checkpoints import load_checkpoint
    from playground.core.latent.sampling import decode

    loaded = load_checkpoint(checkpoint)
    z = np.zeros(loaded.model.latent_dim, np.float32)
    for _ in range(20):
        decode(loaded.model, z)
    times = []
    for i in range(n):
        z[i % len(z)] = np.sin(i / 10)
        start = time.perf_counter()
        decode(loaded.model, z)
        times.append((time.perf_counter() - start) * 1000)
    print(f"decode batch 1 ({torch.get_num_threads()} thread): p50 {percentile(times, 50):.2f} ms, "
          f"p99 {percentile(times, 99):.2f} ms  (target p50 <= 2 ms)")


def bench_window(checkpoint: str, seconds: float) -> None:
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from playground.gui.main_window import MainWindow
    from playground.gui.panels.latent import LatentPanel
    from playground.gui.theme import apply_dark_theme

    app = QApplication.instance() or QApplication([])
    apply_dark_theme(app)
    window = MainWindow(torch.device("cpu"), checkpoint)
    window.show()
    panel = next(p for p in window.panels if isinstance(p, LatentPanel))
    deadline = time.perf_counter() + 30
    while (panel.loaded is None or panel.current_image is None) and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.005)

    frames: list[float] = []
    sent: dict[int, float] = {}
    latencies: list[float] = []
    original_show = panel._show_decoded

    def show_and_count(result):
        original_show(result)
        now = time.perf_counter()
        frames.append(now)
        # the newest request issued before this frame is the one it answers (coalescing)
        if sent:
            latest = max(sent)
            latencies.append((now - sent.pop(latest)) * 1000)
            sent.clear()

    panel._show_decoded = show_and_count
    row = next(iter(panel.sliders.rows.values()))
    clock = QElapsedTimer()
    clock.start()
    ticks: list[int] = []
    heartbeat = QTimer()
    heartbeat.setInterval(1)
    heartbeat.timeout.connect(lambda: ticks.append(clock.elapsed()))
    heartbeat.start()

    drag = QTimer()
    drag.setInterval(8)  # ~120 slider events per second, like a fast mouse drag
    step = [0]

    def move():
        step[0] += 1
        value = int(280 * np.sin(step[0] / 25))
        sent[step[0]] = time.perf_counter()
        row.slider.setValue(value)

    drag.timeout.connect(move)
    started = time.perf_counter()
    drag.start()
    while time.perf_counter() - started < seconds:
        app.processEvents()
        time.sleep(0.0005)
    drag.stop()
    heartbeat.stop()
    elapsed = time.perf_counter() - started
    gaps = np.diff(np.asarray(ticks)) if len(ticks) > 1 else np.array([0])
    print(f"simulated drag: {step[0]} slider events in {elapsed:.1f} s, {len(frames)} frames rendered "
          f"= {len(frames) / elapsed:.0f} frames/s  (target >= 60)")
    if latencies:
        print(f"slider to pixels in the window: p50 {statistics.median(latencies):.1f} ms, "
              f"p99 {percentile(latencies, 99):.1f} ms")
    print(f"longest GUI event-loop stall while the worker decodes: {gaps.max():.0f} ms  (target <= 30 ms)")
    window.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(Path(__file__).resolve().parents[1] / "assets" / "vae-shapes"))
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    from playground.gui.app import configure_threads

    configure_threads()
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads, python {sys.version.split()[0]}")
    bench_decode(args.checkpoint)
    bench_window(args.checkpoint, args.seconds)


if __name__ == "__main__":
    main()
