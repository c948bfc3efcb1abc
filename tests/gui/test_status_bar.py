"""The status bar as a user meets it: a long job's progress and Cancel, and messages that stay until
replaced by their own kind; a checkpoint load never waits behind, or is dropped with, a long job."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from playground.core.images import save_png


def _endless(ctx) -> None:
    """A long run (DDPM-1000 on a slow machine): it reports progress until cancelled."""
    i = 0
    while True:
        ctx.progress(i % 1000, 1000)
        i += 1
        time.sleep(0.01)


def _loaded(window, family: str, qtbot):
    panel = window.panel_for_family(family)
    qtbot.waitUntil(lambda: panel.loaded is not None and not panel.worker.is_busy(), timeout=20000)
    return panel


def test_a_job_names_itself_on_the_progress_bar_and_leaves_the_messages_alone(main_window, qtbot):
    panel = _loaded(main_window, "ddpm", qtbot)
    status = main_window.statusBar()
    panel.report_error("the recipe lacks 'seed'")
    done, release = threading.Event(), threading.Event()

    def job(ctx):
        for i in range(5):
            ctx.progress(i, 5)
            time.sleep(0.05)
        release.wait(20)  # runs until the test has looked at the bar (a loaded machine may show it late)
        done.set()

    panel.submit(job, channel="sample", label="Sampling, DDPM-1000", on_result=lambda _: None)
    qtbot.waitUntil(lambda: main_window.progress.isVisible(), timeout=10000)
    assert main_window.progress.text().startswith("Sampling, DDPM-1000")
    assert main_window.progress.toolTip() == "Sampling, DDPM-1000"
    assert status.currentMessage() == "Error: the recipe lacks 'seed'"  # not replaced by the job's name
    release.set()
    assert done.wait(10)
    qtbot.waitUntil(lambda: not main_window.progress.isVisible(), timeout=5000)
    assert status.currentMessage() == "Error: the recipe lacks 'seed'"  # and not cleared when the job ends


def test_cancel_stops_the_long_job_but_not_a_checkpoint_load_queued_behind_it(main_window, qtbot):
    panel = _loaded(main_window, "ddpm", qtbot)
    worker, loaded = panel.worker, []
    worker.submit(_endless, channel="sample", label="Sampling, DDPM-1000")
    qtbot.waitUntil(lambda: main_window.cancel_button.isVisible(), timeout=5000)
    worker.submit(lambda ctx: "the other checkpoint", channel="load", on_result=loaded.append)
    main_window.cancel_button.click()
    qtbot.waitUntil(lambda: loaded == ["the other checkpoint"], timeout=5000)
    assert main_window.statusBar().currentMessage() == "Cancelled" and not worker.is_busy()


def test_opening_a_checkpoint_does_not_wait_for_a_long_run_on_its_tab(main_window, qtbot, tiny_assets):
    panel = _loaded(main_window, "ddpm", qtbot)
    ended = []
    panel.submit(_endless, channel="sample", label="Sampling, DDPM-1000", on_result=ended.append)
    qtbot.waitUntil(lambda: main_window.cancel_button.isVisible(), timeout=5000)
    before = panel.loaded
    main_window.load_into(panel, tiny_assets / "ddpm-tiny" / "model.safetensors", interactive=True)
    qtbot.waitUntil(lambda: panel.loaded is not before, timeout=10000)
    assert "Loaded ddpm-tiny" in main_window.statusBar().currentMessage()
    assert not main_window.cancel_button.isVisible() and ended == []


@pytest.mark.parametrize("recipe", [
    {"grid_of": "vae", "n": 4},
    {"grid_of": ["vae"]},
    {"family": ["vae"], "model": {"name": "x"}},
])
def test_a_dropped_png_with_an_odd_hand_edited_recipe_is_a_message(main_window, tmp_path, recipe):
    path = save_png(tmp_path / "odd.png", np.zeros((4, 4, 3), np.uint8), recipe)
    main_window.open_dropped(path)
    message = main_window.statusBar().currentMessage()
    assert message.startswith("Error: cannot load odd.png") and "names no model family" in message


def test_the_train_tab_starts_no_model_worker_thread(main_window):
    train = next(p for p in main_window.panels if not p.uses_worker)
    assert train.title == "Train" and train.worker is None
    assert not any(t.name.startswith(type(train).__name__) for t in threading.enumerate())
    assert len(main_window.workers) == sum(1 for p in main_window.panels if p.uses_worker)
