"""`playground train ... --live`: the child process the Train panel watches, and what it says."""

from __future__ import annotations

import io
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from playground.core.training.registry import parse_train_args
from playground.core.training.live_child import live_command, serve
from playground.core.training.live import LiveUpdate
from playground.core.training.live_protocol import RunFailed, RunFinished, RunStarted, decode, encode

TINY_GAN = ["gan", "--data", "shapes", "--data-size", "64", "--batch-size", "8", "--latent-dim", "8",
            "--channels", "4,8,8,16", "--device", "cpu"]


def test_every_message_survives_the_line_it_travels_on():
    preview = np.random.default_rng(0).integers(0, 256, (10, 14, 3), dtype=np.uint8)
    messages = [
        RunStarted("playground train gan --steps 5", {"losses": ("d_loss", "g_loss")}, "samples from fixed noise",
                   1234, "runs/x", 0),
        LiveUpdate(0, 5, {}, 0.0, float("nan"), preview, 0),
        LiveUpdate(5, 5, {"d_loss": 1.25, "g_loss": float("inf")}, 3.5, 0.0),
        RunFinished("runs/x/model.safetensors"),
        RunFailed("FileNotFoundError: no-such-folder"),
    ]
    for message in messages:
        line = encode(message)
        assert "\n" not in line
        back = decode(line.encode())
        assert type(back) is type(message)
        if isinstance(message, LiveUpdate):
            assert back.step == message.step and back.metrics == message.metrics
            assert math.isnan(back.eta_seconds) or back.eta_seconds == message.eta_seconds
            if message.preview is not None:
                assert back.preview.dtype == np.uint8
                np.testing.assert_array_equal(back.preview, message.preview)
        else:
            assert back == message


@pytest.mark.parametrize("line", [b"", b"training gan (0.17M parameters)", b"[1, 2]", b'{"kind": "nonsense"}',
                                  b'{"kind": "finished", "wrong_field": 1}'])
def test_a_line_that_is_no_message_is_skipped_not_fatal(line):
    assert decode(line) is None


def _open_commands() -> tuple[io.TextIOBase, int]:
    """A stdin that stays open (as the app's pipe does) until the test closes its write end."""
    read, write = os.pipe()
    return os.fdopen(read, "r"), write


def test_a_live_run_reports_start_updates_previews_and_its_checkpoint(tmp_path):
    commands, write_end = _open_commands()
    reports = io.StringIO()
    args = parse_train_args([*TINY_GAN, "--steps", "25", "--out", str(tmp_path / "run"), "--live-every", "10",
                             "--preview-every", "20"])
    try:
        assert serve(args, commands, reports) == 0
    finally:
        os.close(write_end)
    messages = [decode(line) for line in reports.getvalue().splitlines()]
    started, *updates, finished = messages
    assert isinstance(started, RunStarted) and started.command.startswith("playground train gan ")
    assert "--live" not in started.command  # model.json's command repeats the training, not the reporting
    assert [u.step for u in updates] == [0, 10, 20, 25]
    assert [u.preview_step for u in updates] == [0, None, 20, 25]
    assert all(np.isfinite(list(u.metrics.values())).all() for u in updates[1:])
    assert isinstance(finished, RunFinished) and Path(finished.path).exists()


def test_a_failing_run_reports_why_and_exits_nonzero(tmp_path):
    commands, write_end = _open_commands()
    reports = io.StringIO()
    argv = [*TINY_GAN, "--steps", "5", "--out", str(tmp_path / "run")]
    argv[argv.index("shapes")] = str(tmp_path / "no-such-folder")
    try:
        assert serve(parse_train_args(argv), commands, reports) == 1
    finally:
        os.close(write_end)
    (failed,) = [decode(line) for line in reports.getvalue().splitlines()]
    assert isinstance(failed, RunFailed) and "no-such-folder" in failed.message


def test_the_child_obeys_stop_on_stdin_and_saves_the_model_so_far(tmp_path):
    """The real child process: `stop` ends a long run within a few steps, with its checkpoint."""
    command = live_command([*TINY_GAN, "--steps", "100000", "--out", str(tmp_path / "run")], threads=1,
                           live_every=5, preview_every=100)
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    messages = []
    try:
        for line in child.stdout:
            messages.append(decode(line))
            if isinstance(messages[-1], LiveUpdate) and messages[-1].step >= 10:
                child.stdin.write("stop\n")
                child.stdin.flush()
                break
        messages += [decode(line) for line in child.stdout]
        assert child.wait(timeout=60) == 0
    finally:
        child.kill()
    finished = messages[-1]
    assert isinstance(finished, RunFinished) and Path(finished.path).exists()
    last_step = max(m.step for m in messages if isinstance(m, LiveUpdate))
    assert 10 <= last_step < 100
