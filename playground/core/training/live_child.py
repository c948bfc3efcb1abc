"""`playground train FAMILY ... --live`: the same training, spoken to a watching program.

The app's Train panel starts this as a child process and reads its stdout, one
`live_protocol` message per line; it writes `pause`, `resume` or `stop` lines to our
stdin. Stdin closing (the app went away) stops the run, which still saves the model so
far, so a training process never outlives its window unnoticed.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import IO, Sequence

from .. import distributed
from ..distributed import free_port
from .live import RunControl, TrainingPreview, watch_training
from .live_protocol import Message, RunFailed, RunFinished, RunStarted, encode
from .registry import build_trainer


def live_command(train_arguments: Sequence[str], *, threads: int, live_every: int, preview_every: int,
                 processes: int = 1) -> list[str]:
    """The child's command line: this interpreter running `playground train ARGUMENTS --live`.

    With `processes` > 1, torchrun runs that many on this machine (data-parallel, gloo on
    127.0.0.1), `threads` shared among them; process 0 reports and obeys, the others follow.
    """
    launcher = [sys.executable, "-m", "playground"]
    if processes > 1:
        threads = max(1, threads // processes)
        launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes),
                    "--master_addr", "127.0.0.1", "--master_port", str(free_port()), "-m", "playground"]
    return [*launcher, "train", *train_arguments, "--live", "--threads", str(threads),
            "--live-every", str(live_every), "--preview-every", str(preview_every)]


def obey(commands: IO[str], control: RunControl) -> None:
    """Apply the watcher's command lines to `control` until stdin closes, then stop."""
    actions = {"pause": control.pause, "resume": control.resume, "stop": control.stop}
    for line in commands:
        action = actions.get(line.strip())
        if action is not None:
            action()
    control.stop()


def serve(args: argparse.Namespace, commands: IO[str] | None = None, reports: IO[str] | None = None) -> int:
    """Train as `playground train` would, reporting on `reports` (stdout) and obeying `commands` (stdin)."""
    if not distributed.is_main_by_env():  # under torchrun: process 0 reports and obeys, the others follow it
        return _follow(args)
    reports = reports or sys.stdout
    stdout, sys.stdout = sys.stdout, sys.stderr  # a stray print() must not garble the protocol
    try:
        return _serve(args, commands or sys.stdin, reports)
    finally:
        sys.stdout = stdout


def _follow(args: argparse.Namespace) -> int:
    """One of the other processes of a torchrun run: train in step with process 0, silently."""
    try:
        build_trainer(args).run(progress=False)
    except Exception as exc:  # process 0 reports the run's failure to the watcher; this one says why it stopped
        print(f"playground train: stopped: {exc}", file=sys.stderr)
        return 1
    return 0


def _serve(args: argparse.Namespace, commands: IO[str], reports: IO[str]) -> int:
    lock = threading.Lock()

    def send(message: Message) -> None:
        with lock:
            reports.write(encode(message) + "\n")
            reports.flush()

    control = RunControl()
    threading.Thread(target=obey, args=(commands, control), daemon=True, name="commands").start()
    try:
        trainer = build_trainer(args)
        send(RunStarted(
            command=trainer.command, declared_groups=getattr(trainer.task, "metric_groups", None),
            preview_kind=TrainingPreview(trainer.inference_model, trainer.validation.x).kind,
            parameters=sum(p.numel() for p in trainer.task.model.parameters()),
            out_dir=str(trainer.out_dir), first_step=trainer.step,
        ))
        path = watch_training(trainer, control, send, log_every=args.live_every, preview_every=args.preview_every)
    except Exception as exc:  # reported, not raised: the watcher shows it and stays usable
        send(RunFailed(f"{type(exc).__name__}: {exc}"))
        return 1
    send(RunFinished(str(path)))
    return 0
