"""What watching costs: training steps per second headless and with the Train panel's live view open.

    python benchmarks/bench_training_view.py [--family gan] [--steps 300] [--rounds 3]

Both sides run the same `playground train` arguments in the same kind of child process,
with the torch threads the app gives it (every core but one: 1 on two cores):

- headless: the child process the panel would start (`playground train ... --live`), its
  reports read by a plain loop with no window and no Qt;
- live view: the offscreen main window's Train panel runs it as its child process
  (`playground train ... --live`), with the loss plot updated every 10 steps and the
  fixed-noise preview every 100, the GUI event loop running (`QEventLoop.exec`, as in the app).

Speed is timed where each side receives the reports of step `--skip` and of the last step
(startup, data loading and the final save are left out). Rounds alternate, so slow drifts
of a shared machine hit both sides alike, and each side goes first in every other round.
Target: the view costs at most 5%. On a machine other programs load, steps/s swing more
than that between runs: read the load averages printed beside each round, and the GUI
thread's own CPU share (what the view takes from a core).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch


def training_argv(family: str, steps: int, out: Path, data_size: int) -> list[str]:
    return [family, "--data", "shapes", "--data-size", str(data_size), "--steps", str(steps), "--out", str(out),
            "--fresh", "--device", "cpu"]


def headless_rate(argv: list[str], skip: int, preview_every: int) -> float:
    """The very child the panel starts, its reports read by a plain loop: no window, no Qt."""
    from playground.core.training.live_child import live_command
    from playground.core.training.live import LiveUpdate
    from playground.core.training.live_protocol import RunFailed, decode
    from playground.gui.panels.train.form import LOG_EVERY
    from playground.gui.training_process import training_threads

    steps = int(argv[argv.index("--steps") + 1])
    command = live_command(argv, threads=training_threads(), live_every=LOG_EVERY, preview_every=preview_every)
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    marks: dict[int, float] = {}
    for line in child.stdout:
        message = decode(line)
        if isinstance(message, LiveUpdate) and message.metrics and message.step in (skip, steps):
            marks.setdefault(message.step, time.perf_counter())
        if isinstance(message, RunFailed):
            raise RuntimeError(f"the headless run failed: {message.message}")
    child.stdin.close()
    child.wait()
    return (steps - skip) / (marks[steps] - marks[skip])


def view_rate(window, argv: list[str], skip: int, preview_every: int) -> float:
    from PySide6.QtCore import QEventLoop, QTimer

    from playground.core.training.registry import parse_train_args
    from playground.gui.panels.train import TrainPanel

    panel = next(p for p in window.panels if isinstance(p, TrainPanel))
    window.show_panel(panel)
    panel.form.preview_every.setValue(preview_every)
    args = parse_train_args(argv)
    marks: dict[int, float] = {}

    class TimedInbox(deque):
        """The panel's inbox, noting when the reports we time reach the GUI."""

        def append(self, item) -> None:
            step = getattr(item, "step", None)
            if step in (skip, args.steps) and getattr(item, "metrics", None):
                marks.setdefault(step, time.perf_counter())
            super().append(item)

    panel._inbox = TimedInbox()
    loop = QEventLoop()
    watcher = QTimer()
    watcher.setInterval(250)
    watcher.timeout.connect(lambda: None if panel.running else loop.quit())  # ended: saved or failed
    draws = panel.curves.draws
    panel.begin(argv)
    watcher.start()
    gui_cpu, wall = time.thread_time(), time.perf_counter()
    loop.exec()
    gui_cpu, wall = time.thread_time() - gui_cpu, time.perf_counter() - wall
    watcher.stop()
    print(f"  GUI thread busy {100 * gui_cpu / wall:.1f}% of the run's {wall:.0f} s; "
          f"curves drawn {panel.curves.draws - draws} times", flush=True)
    if not panel.last_checkpoint:
        raise RuntimeError(f"the run in the panel failed: {panel.state_label.text()}")
    return (args.steps - skip) / (marks[args.steps] - marks[skip])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="gan")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--skip", type=int, default=20, help="steps left out at the start (warm-up)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-size", type=int, default=5000)
    parser.add_argument("--preview-every", type=int, default=100)
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from playground.gui.app import configure_threads
    from playground.gui.main_window import MainWindow
    from playground.gui.theme import apply_dark_theme

    configure_threads()
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, {torch.get_num_threads()} torch thread(s), "
          f"python {sys.version.split()[0]}; {args.family}, {args.steps} steps per run, load average "
          f"{os.getloadavg()[0]:.1f}")
    app = QApplication.instance() or QApplication([])
    apply_dark_theme(app)
    window = MainWindow(torch.device("cpu"))
    window.resize(1500, 900)
    window.show()
    headless, view = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            sides = (("headless", headless), ("live view", view))
            for side, results in sides if round_ % 2 == 0 else sides[::-1]:  # neither side always goes first
                argv = training_argv(args.family, args.steps, Path(tmp) / f"{side}-{round_}", args.data_size)
                if side == "headless":
                    rate = headless_rate(argv, args.skip, args.preview_every)
                else:
                    rate = view_rate(window, argv, args.skip, args.preview_every)
                results.append(rate)
                print(f"round {round_ + 1} {side:<9}: {rate:.2f} steps/s  (load average {os.getloadavg()[0]:.1f})",
                      flush=True)
    window.close()
    h, v = statistics.median(headless), statistics.median(view)
    print(f"median headless {h:.2f} steps/s, with the live view {v:.2f} steps/s: "
          f"the view costs {100 * (1 - v / h):+.1f}%  (target <= 5%)")


if __name__ == "__main__":
    main()
