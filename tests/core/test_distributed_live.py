"""The Train panel's child with 2 processes: `live_command(..., processes=2)` under torchrun.

Process 0 reports (JSON lines on stdout) and obeys the panel's pause/resume/stop; the other
follows it. A pause longer than the collectives' timeout is not taken for a lost process:
process 0 tells the others to wait every HEARTBEAT_S.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from playground.core.training.distributed import HEARTBEAT_S
from playground.core.training.live import LiveUpdate
from playground.core.training.live_child import live_command
from playground.core.training.live_protocol import RunFinished, RunStarted, decode

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 4  # shorter than the pause below: only the heartbeat keeps the waiting process alive
TINY_GAN = ["gan", "--data-size", "64", "--batch-size", "4", "--latent-dim", "8", "--channels", "4,8,8,16",
            "--device", "cpu", "--precision", "fp32"]


@pytest.mark.skipif(not Path(sys.executable).with_name("torchrun").exists(), reason="needs torch's launcher")
def test_two_process_live_run_reports_from_process_0_pauses_past_the_timeout_and_stops(tmp_path):
    command = live_command([*TINY_GAN, "--steps", "100000", "--out", str(tmp_path / "run")], threads=2,
                           live_every=1, preview_every=1000, processes=2)
    assert command[1:4] == ["-m", "torch.distributed.run", "--nproc_per_node"] and "--threads" in command
    assert command[command.index("--threads") + 1] == "1"  # the threads shared among the processes
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "PLAYGROUND_DIST_TIMEOUT": str(TIMEOUT_S)}
    child = subprocess.Popen(command, env=env, cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    messages: list = []
    reader = threading.Thread(target=lambda: messages.extend(filter(None, map(decode, child.stdout))), daemon=True)
    reader.start()

    def updates() -> list[LiveUpdate]:
        return [m for m in list(messages) if isinstance(m, LiveUpdate) and m.metrics]

    def wait_for(condition, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert child.poll() is None, f"the run ended while waiting for {what}: {child.stderr.read()[-2000:]}"
            assert time.monotonic() < deadline, f"no {what} within {seconds} s"
            time.sleep(0.1)

    try:
        wait_for(lambda: len(updates()) >= 2, 90, "training updates")
        child.stdin.write("pause\n")
        child.stdin.flush()
        time.sleep(1.0)
        paused_at = updates()[-1].step
        time.sleep(TIMEOUT_S + 2 * HEARTBEAT_S)  # longer than a collective may wait
        assert child.poll() is None, child.stderr.read()[-2000:]
        assert updates()[-1].step <= paused_at + 1  # at most the step in flight
        child.stdin.write("resume\n")
        child.stdin.flush()
        wait_for(lambda: updates()[-1].step > paused_at + 1, 30, "steps after resuming")
        child.stdin.write("stop\n")
        child.stdin.flush()
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    reader.join(5)
    stderr = child.stderr.read()
    assert child.returncode == 0, stderr[-2000:]
    started = [m for m in messages if isinstance(m, RunStarted)]
    finished = [m for m in messages if isinstance(m, RunFinished)]
    assert len(started) == 1 and len(finished) == 1  # one voice: process 0's
    assert Path(finished[0].path).exists()
    steps = [u.step for u in updates()]
    assert steps == sorted(set(steps))  # one report per step, from one process
