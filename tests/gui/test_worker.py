"""The shared worker: coalescing, ordering, errors, cancellation, shutdown."""

from __future__ import annotations

import threading
import time

from playground.gui.worker import ModelWorker


def test_waiting_requests_coalesce_to_the_newest(qtbot):
    worker = ModelWorker("test")
    gate, started = threading.Event(), threading.Event()
    ran: list[int] = []
    shown: list[int] = []

    def job(value):
        def fn(ctx):
            if value == 0:
                started.set()
                gate.wait(5)
            ran.append(value)
            return value
        return fn

    worker.submit(job(0), channel="decode", on_result=shown.append)
    assert started.wait(5)
    for value in range(1, 20):  # job 0 blocks; 1..19 pile up on the same channel
        worker.submit(job(value), channel="decode", on_result=shown.append)
    gate.set()
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] == 19, timeout=5000)
    assert ran == [0, 19], "only the running request and the newest waiting one are computed"
    assert shown == [0, 19]
    assert worker.shutdown()


def test_channels_do_not_replace_each_other(qtbot):
    worker = ModelWorker("test")
    results = []
    worker.submit(lambda ctx: "a", channel="one", on_result=results.append)
    worker.submit(lambda ctx: "b", channel="two", on_result=results.append)
    qtbot.waitUntil(lambda: len(results) == 2, timeout=5000)
    assert sorted(results) == ["a", "b"]
    assert worker.shutdown()


def test_an_error_is_reported_and_the_worker_keeps_working(qtbot):
    worker = ModelWorker("test")
    errors, results = [], []

    def broken(ctx):
        raise RuntimeError("the model exploded")

    worker.submit(broken, channel="x", on_error=errors.append)
    qtbot.waitUntil(lambda: len(errors) > 0, timeout=5000)
    assert "the model exploded" in errors[0]
    worker.submit(lambda ctx: 42, channel="x", on_result=results.append)
    qtbot.waitUntil(lambda: results == [42], timeout=5000)
    assert worker.shutdown()


def test_errors_without_a_handler_reach_the_error_signal(qtbot):
    worker = ModelWorker("test")
    with qtbot.waitSignal(worker.error, timeout=5000) as blocker:
        worker.submit(lambda ctx: 1 / 0, channel="x")
    assert "ZeroDivisionError" in blocker.args[0]
    assert worker.shutdown()


def test_cancel_stops_long_work_within_a_step_and_drops_its_result(qtbot):
    worker = ModelWorker("test")
    steps, results, progress = [], [], []

    def long_job(ctx):
        for i in range(1000):
            ctx.check()
            time.sleep(0.005)
            steps.append(i)
            ctx.progress(i + 1, 1000)
        return "finished"

    worker.submit(long_job, channel="sample", label="sampling", on_result=results.append,
                  on_progress=lambda d, t, p: progress.append(d))
    qtbot.waitUntil(lambda: len(progress) >= 3, timeout=5000)
    worker.cancel("sample")
    n_at_cancel = len(steps)
    qtbot.waitUntil(lambda: not worker.is_busy(), timeout=5000)
    assert len(steps) <= n_at_cancel + 1, "cancelling takes effect within one step"
    assert results == []
    worker.submit(lambda ctx: "again", channel="sample", on_result=results.append)
    qtbot.waitUntil(lambda: results == ["again"], timeout=5000)
    assert worker.shutdown()


def test_shutdown_cancels_running_work_and_joins_the_thread(qtbot):
    worker = ModelWorker("test")
    started = threading.Event()

    def endless(ctx):
        started.set()
        while True:
            ctx.check()
            time.sleep(0.01)

    worker.submit(endless, channel="x")
    assert started.wait(5)
    assert worker.shutdown(timeout=5)
    assert not worker._thread.is_alive()


def test_progress_coalesces_but_a_payload_and_the_order_survive(qtbot):
    """Reports may be merged (newest wins) but a waiting payload is kept and shown before the result."""
    worker = ModelWorker("test")
    events = []

    def job(ctx):
        ctx.progress(0, 3, "the data set")
        ctx.progress(1, 3)
        ctx.progress(2, 3)
        return "done"

    worker.submit(job, channel="x", on_progress=lambda d, t, p: events.append(("progress", d, p)),
                  on_result=lambda r: events.append(("result", r)))
    qtbot.waitUntil(lambda: bool(events) and events[-1][0] == "result", timeout=5000)
    assert any(e[0] == "progress" and e[2] == "the data set" for e in events), "a payload is never dropped"
    assert [e[0] for e in events].index("result") == len(events) - 1, "no report after the result"
    assert worker.shutdown()


def test_a_result_that_arrives_after_shutdown_is_dropped(qtbot):
    """A job that ends while the window closes must not reach a panel whose worker is gone (a panel
    that submits more work from the result would raise)."""
    from PySide6.QtWidgets import QApplication

    worker = ModelWorker("test")
    shown = []
    done = threading.Event()

    def fn(ctx):
        done.set()
        return "late"

    worker.submit(fn, channel="load", on_result=shown.append)
    assert done.wait(5)
    time.sleep(0.05)  # the result is queued for the GUI thread, not yet delivered
    assert worker.shutdown()
    QApplication.processEvents()
    assert shown == []


def test_a_preempting_job_runs_next_and_stops_a_long_job_but_not_a_short_one(qtbot):
    """A checkpoint load never waits behind a long run (nor behind queued work); a short job finishes."""
    worker = ModelWorker("test")
    order, started, release = [], threading.Event(), threading.Event()

    def long_run(ctx):
        started.set()
        while True:
            ctx.check()
            time.sleep(0.01)

    worker.submit(long_run, channel="sample", label="DDPM-1000", on_result=order.append)
    assert started.wait(5)
    worker.submit(lambda ctx: "queued", channel="decode", on_result=order.append)
    worker.submit(lambda ctx: "load", channel="load", on_result=order.append, preempt=True)
    qtbot.waitUntil(lambda: order == ["load", "queued"], timeout=5000)

    started.clear()

    def short(ctx):
        started.set()
        release.wait(5)
        return "short"

    worker.submit(short, channel="decode", on_result=order.append)
    assert started.wait(5)
    worker.submit(lambda ctx: "load 2", channel="load", on_result=order.append, preempt=True)
    release.set()
    qtbot.waitUntil(lambda: order[2:] == ["short", "load 2"], timeout=5000)
    assert worker.shutdown()


def test_out_of_gpu_memory_is_a_message_that_says_what_to_do(qtbot):
    import torch

    worker = ModelWorker("test")
    errors = []

    def work(ctx):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    try:
        with qtbot.waitSignal(worker.job_ended, timeout=5000, raising=False):
            worker.submit(work, channel="render", label="Rendering", on_result=lambda _: None, on_error=errors.append)
        qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    finally:
        worker.shutdown()
    assert "out of GPU memory" in errors[0] and "fewer images" in errors[0] and "--device cpu" in errors[0]
