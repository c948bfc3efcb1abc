"""Text-to-image speed on this CPU: a guided DDIM-50 sample, and slider-to-first-preview in the panel.

    python benchmarks/bench_text2img.py [--checkpoint assets/text2img-shapes] [--moves 12]

Prints, with one torch thread (the GUI worker's setting on a 2-core machine):
- the U-Net forward at batch 1 and 2 (a guided step is one forward of batch 2: unconditional
  and conditional together), CPU time;
- a guided DDIM-50 run of one 32x32 image, the core's guided denoiser (`make_denoiser`) through `sample`:
  CPU time (`time.process_time`, so other processes on a busy machine do not count) and wall
  time, medians; target <= 1 s;
- in the real panel (offscreen): guidance slider moved -> the first predicted-x0 preview on
  the canvas, wall time, with the worker idle and with a render running (the running one is
  cancelled after its current step); target <= 150 ms.

Uses the shipped checkpoint when present, else a fresh model of the shipped config (same cost).

Measured 2026-12-04 on a 2-core AMD EPYC (Zen 4), the panel as a package, with other jobs running
(load average 3.7, so wall times are inflated; CPU times hold):
    U-Net forward: batch 1 14.0 ms CPU, batch 2 21.7 ms CPU
    guided DDIM-50, one image: 1.04 s CPU, 1.99 s wall
    slider -> first preview, DDIM-20: idle p50 44 ms, p95 62 ms; a render running p50 57 ms, p95 168 ms

Measured 2026-12-02, text2img-shapes at 10000 steps (16x16 layout map), machine idle:
    U-Net forward: batch 1 11.0 ms CPU, batch 2 18.4 ms CPU
    guided DDIM-50, one image: 0.96 s CPU, 0.96 s wall (target <= 1 s)
    slider -> first preview, DDIM-20: idle p50 26 ms, p95 32 ms; a render running p50 45 ms, p95 48 ms

Measured 2026-11-22 on the 2-core dev machine, text2img-shapes at 4500 training steps, one
training running on the other core (load average 1.0):
    U-Net forward: batch 1 9.7 ms CPU, batch 2 16.4 ms CPU
    guided DDIM-50, one image: 0.84 s CPU, 0.86 s wall (target <= 1 s); all of it is the 50
        forwards of batch 2. bf16 autocast or channels-last saved only ~13% and would change
        the images, so neither is used.
    slider -> first preview, DDIM-20: worker idle p50 28 ms, p95 38 ms; a render running
        p50 55 ms, p95 59 ms (the running render finishes its current forward, then the new
        one's first forward) (target <= 150 ms)
Earlier, with seven trainings running (load average 7.6): DDIM-50 1.15 s CPU but 11 s wall;
slider -> first preview p50 133 / 251 ms (idle / render running).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import torch

from playground.core.checkpoints import WEIGHTS_NAME, load_checkpoint
from playground.core.diffusion.sampling import sample
from playground.core.models.text2img import Text2ImgConfig, TextToImageModel
from playground.core.text2img.sampling import GuidedSettings, make_denoiser
from harness import timed  # noqa: E402 (benchmarks/, on sys.path when a script runs)

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "assets" / "text2img-shapes"
PROMPT = "a large red circle at the top left"


def load_model(checkpoint: Path) -> tuple[TextToImageModel, str]:
    if (checkpoint / WEIGHTS_NAME).exists():
        loaded = load_checkpoint(checkpoint)
        return loaded.model, f"{loaded.name} ({loaded.meta.steps} training steps)"
    torch.manual_seed(0)
    return TextToImageModel(Text2ImgConfig()).eval().requires_grad_(False), "fresh model of the shipped config"


def bench_sampling(model: TextToImageModel, repeats: int) -> None:
    x = torch.randn(2, 3, 32, 32)
    t = torch.full((2,), 500)
    cond = model.embed(None, 2)
    with torch.inference_mode():
        for batch in (1, 2):
            cpu, _ = timed(lambda: model(x[:batch], t[:batch], cond=cond[:batch]), 20)
            print(f"U-Net forward, batch {batch}: {cpu * 1000:.1f} ms CPU")
    settings = GuidedSettings(prompt=PROMPT, guidance_scale=3.0, steps=50).validate()
    guidance, scheduler = make_denoiser(model, settings), settings.make_scheduler(model)  # as the panel runs it
    cpu, wall = timed(lambda: sample(guidance, scheduler, n=1, seed=0), repeats)
    print(f"guided DDIM-50, one 32x32 image (w = 3, 50 forwards of batch 2): {cpu:.2f} s CPU, {wall:.2f} s wall "
          f"(target <= 1 s)")


def bench_slider(checkpoint: Path, moves: int) -> None:
    from PySide6.QtWidgets import QApplication

    from playground.gui.main_window import MainWindow
    from playground.gui.panels.text2img import Text2ImgPanel

    if (checkpoint / WEIGHTS_NAME).exists():
        os.environ.setdefault("PLAYGROUND_ASSETS", str(checkpoint.parent))
    else:  # an assets folder holding only a fresh model of the shipped config (same cost)
        import tempfile

        from playground.core.checkpoints import save_checkpoint

        root = Path(tempfile.mkdtemp(prefix="bench-text2img-"))
        model, _ = load_model(checkpoint)
        save_checkpoint(root / "text2img-shapes" / WEIGHTS_NAME, model, model.config, "text2img")
        os.environ["PLAYGROUND_ASSETS"] = str(root)
    app = QApplication.instance() or QApplication([])
    window = MainWindow(torch.device("cpu"))
    window.show()
    panel = next(p for p in window.panels if isinstance(p, Text2ImgPanel))
    window.show_panel(panel)

    def wait(condition, timeout: float = 120.0) -> bool:
        end = time.perf_counter() + timeout
        while not condition() and time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.0005)
        return condition()

    if not wait(lambda: panel.result is not None):
        print("slider benchmark: the panel did not render (no text2img checkpoint?)")
        return
    shown: list[float] = []
    panel.preview_shown.connect(lambda index: shown.append(time.perf_counter()) if index == 0 else None)

    def move(value: float) -> float:
        before = len(shown)
        start = time.perf_counter()
        panel.controls.guidance_slider.slider.setValue(int(round(value * 100)))
        wait(lambda: len(shown) > before, 30.0)
        return (shown[-1] - start) * 1000

    idle, busy = [], []
    for i in range(moves):
        wait(lambda: not panel.worker.is_busy())
        idle.append(move(2.0 + 0.25 * (i % 8)))
        # move again while that render is still running: the newest value cancels it after its current step
        busy.append(move(4.0 + 0.25 * (i % 8)))
    wait(lambda: not panel.worker.is_busy())
    steps = panel.result.settings.steps
    for name, values in (("worker idle", idle), ("a render running", busy)):
        print(f"slider move -> first preview ({name}, DDIM-{steps}): p50 {np.percentile(values, 50):.0f} ms, "
              f"p95 {np.percentile(values, 95):.0f} ms, max {max(values):.0f} ms (target <= 150 ms)")
    window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--moves", type=int, default=12)
    parser.add_argument("--no-gui", action="store_true", help="only the sampling numbers")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, name = load_model(args.checkpoint)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{name}, 1 torch thread, load average {load:.1f}", file=sys.stderr)
    bench_sampling(model, args.repeats)
    if not args.no_gui:
        bench_slider(args.checkpoint, args.moves)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
