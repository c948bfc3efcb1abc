"""Codebook-browser speed in the real window: a click on a token-grid cell to its decoded pixels.

    python benchmarks/bench_vqvae_panel.py [--clicks 30] [--threads 1]

Opens the main window offscreen on the shipped vqvae-shapes, waits for the tab's codebook,
usage counts and first image, then clicks random cells with a new code (a mouse press and
release on the canvas, as a user does) and prints, p50/p90:
- click -> decoded pixels on the canvas (what the user waits for), and the part of it from
  the edit to the decoded image reaching the canvas (the rest is Qt repainting the window);
- GUI-thread time of the click itself (the brush step: editor, overlay, stats; the decode
  runs on the panel's live worker);
- decode alone, batch 1, in this process (the floor under the first number).
On a busy two-core machine the wall times are mostly waiting for a core.
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
    parser.add_argument("--clicks", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from playground.core.codebook.analysis import decode_tokens
    from playground.gui.main_window import MainWindow
    from playground.gui.panels.codebook import VQVAEPanel
    from playground.gui.theme import apply_dark_theme

    app = QApplication([])
    apply_dark_theme(app)
    window = MainWindow(torch.device("cpu"))
    window.show()
    panel = next(p for p in window.panels if isinstance(p, VQVAEPanel))

    def wait(condition, timeout: float = 300.0) -> bool:
        start = time.perf_counter()
        while not condition() and time.perf_counter() - start < timeout:
            app.processEvents()
            time.sleep(0.001)
        return condition()

    def settle(seconds: float = 0.1) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.005)

    wait(lambda: panel.loaded is not None)
    window.show_panel(panel)
    if not wait(lambda: panel.usage is not None and panel.editor is not None and panel.codebook is not None):
        raise SystemExit("the panel did not get ready in time")
    settle(0.5)
    model, k = panel.loaded.model, panel.loaded.model.codebook_size
    grid = np.array(panel.editor.grid)
    decode_ms = []
    for _ in range(args.clicks):
        start = time.perf_counter()
        decode_tokens(model, grid)
        decode_ms.append((time.perf_counter() - start) * 1000)

    canvas = panel.grid_column.canvas
    viewport, rng = canvas.viewport(), np.random.default_rng(0)
    click_ms, gui_ms, handed_ms = [], [], []
    for _ in range(args.clicks):
        row, col = (int(v) for v in rng.integers(0, panel.editor.shape[0], 2))
        panel.select_code((int(panel.editor.grid[row, col]) + 1 + int(rng.integers(k - 1))) % k)
        settle()  # the selection's repaints are not part of the click
        pos = canvas.widget_pos_of_cell(row, col)
        press = QMouseEvent(QEvent.Type.MouseButtonPress, pos, canvas.mapToGlobal(pos), Qt.MouseButton.LeftButton,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        release = QMouseEvent(QEvent.Type.MouseButtonRelease, pos, canvas.mapToGlobal(pos),
                              Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
        start = time.perf_counter()
        app.sendEvent(viewport, press)
        gui_ms.append((time.perf_counter() - start) * 1000)
        app.sendEvent(viewport, release)
        target = np.array(panel.editor.grid)
        wait(lambda: panel.decoded_grid is not None and np.array_equal(panel.decoded_grid, target), 10.0)
        handed_ms.append(panel.last_latency_ms)
        app.processEvents()
        click_ms.append((time.perf_counter() - start) * 1000)
    window.close()

    def line(name: str, values: list[float]) -> str:
        return f"{name:<34} p50 {np.percentile(values, 50):7.1f} ms   p90 {np.percentile(values, 90):7.1f} ms"

    print(f"vqvae-shapes, {args.clicks} clicks, torch threads {args.threads}, load average {os.getloadavg()[0]:.1f}")
    print(line("click -> decoded pixels", click_ms))
    print(line("  of which edit -> image handed over", handed_ms))
    print(line("GUI thread per click", gui_ms))
    print(line("decode alone (batch 1)", decode_ms))


if __name__ == "__main__":
    main()
