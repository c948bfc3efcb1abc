"""`torchrun --nproc_per_node 2 -m playground train ...` for real: a lost process, and resuming.

A process killed mid-run makes the others stop within seconds with a one-line message (gloo
notices the closed connection; PLAYGROUND_DIST_TIMEOUT bounds a process that hangs instead),
and the last checkpoint, written by process 0 in the format one process writes, resumes
with one process or with two.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from distributed_support import TIMEOUT_S, free_port, run_processes, train_once

ROOT = Path(__file__).resolve().parents[2]
TORCHRUN = Path(sys.executable).with_name("torchrun")
TINY = ["vqvae", "--data-size", "200", "--channels", "8,16", "--codebook-size", "16", "--code-dim", "8",
        "--precision", "fp32", "--quiet"]


def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "PLAYGROUND_DIST_TIMEOUT": str(TIMEOUT_S)}


def workers_of(parent: int) -> dict[int, int]:
    """rank -> pid of torchrun's worker processes (read from /proc: their parent and RANK)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            variables = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent:
            for variable in variables:
                if variable.startswith(b"RANK="):
                    found[int(variable[5:])] = int(entry.name)
    return found


def resume_step(out: Path) -> int:
    try:
        return int(json.loads((out / "resume" / "state.json").read_text())["step"])
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.skipif(not TORCHRUN.exists() or not Path("/proc/self/environ").exists(), reason="needs torchrun and /proc")
def test_a_killed_process_stops_the_run_with_a_message_and_the_last_checkpoint_resumes(tmp_path):
    out = tmp_path / "run"
    command = [str(TORCHRUN), "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
               "-m", "playground", "train", *TINY, "--steps", "100000", "--batch-size", "4", "--checkpoint-every", "2",
               "--out", str(out)]
    run = subprocess.Popen(command, env=env(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while resume_step(out) < 2:
            assert run.poll() is None, run.communicate()[0][-2000:]
            assert time.monotonic() < deadline, "no checkpoint within 90 s"
            time.sleep(0.2)
        ranks = workers_of(run.pid)
        assert sorted(ranks) == [0, 1], ranks
        os.kill(ranks[1], signal.SIGKILL)
        killed = time.monotonic()
        output, _ = run.communicate(timeout=TIMEOUT_S + 30)  # no hang
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode != 0
    assert time.monotonic() - killed < TIMEOUT_S + 30
    assert output.count("training vqvae") == 1 and "2 processes (global batch 8)" in output  # process 0 speaks
    # process 0 says what happened in one line (unless torchrun ended it first: then torchrun's report names rank 1)
    assert "lost the others of this run" in output or "rank      : 1" in output, output[-2000:]
    saved = resume_step(out)
    assert saved >= 2 and saved % 2 == 0

    # one process resumes the two processes' run from the same files (global batch 8 = 2 x 4)
    resumed = subprocess.run([sys.executable, "-m", "playground", "train", *TINY, "--steps", str(saved + 2),
                              "--batch-size", "8", "--out", str(out)], env=env(), cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"from step {saved}, from its optimizer state" in resumed.stderr
    meta = json.loads((out / "model.json").read_text())
    assert meta["steps"] == saved + 2 and meta["extra"]["processes"] == 1


def test_two_processes_resume_a_run_one_process_wrote(tmp_path):
    args = [*TINY, "--out", str(tmp_path / "run"), "--seed", "0"]
    first = train_once([*args, "--steps", "2", "--batch-size", "8"])
    assert first["world"] == 1
    ranks = run_processes(2, {"resumed": [*args, "--steps", "4", "--batch-size", "4"]}, tmp_path)
    assert [r["resumed"]["first_step"] for r in ranks] == [2, 2]
    assert len(ranks[0]["resumed"]["metrics"]) == 2  # steps 3 and 4 only
    meta = json.loads((tmp_path / "run" / "model.json").read_text())
    assert meta["steps"] == 4 and meta["extra"]["processes"] == 2 and meta["extra"]["global_batch_size"] == 8


def test_processes_that_see_different_resume_states_refuse_to_start(tmp_path):
    """Process 0 finds a run at step 2 in its --out, process 1 none in its own (as on two machines
    without a shared folder): continuing would train with two optimizer states; both say so."""
    train_once([*TINY, "--out", str(tmp_path / "run0"), "--steps", "2", "--batch-size", "8"])
    errors = run_processes(2, {"split": [*TINY, "--out", str(tmp_path / "run{rank}"), "--steps", "4",
                                         "--batch-size", "4"]}, tmp_path, expect_failure=True)
    assert all(e is not None and "the step this run resumes from" in e and "same --out" in e for e in errors), errors
