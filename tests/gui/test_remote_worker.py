"""The worker seam over a real `playground serve` on 127.0.0.1: the Diffusion tab's steps run on the
server (same previews, same cached run, Stop), and a killed server is one message and a local run."""

from __future__ import annotations

import numpy as np
import pytest

from playground.core.checkpoints import load_checkpoint
from playground.core.diffusion.trajectory import SamplerSettings, run_trajectory
from playground.gui.remote_worker import RemoteWorker
from playground.gui.widgets.steps import runs
from playground.gui.widgets.steps.runs import RunControl, StepPreview, trace_job
from tolerance import assert_same_picture

pytest.importorskip("litserve")


@pytest.fixture
def nothing_local(monkeypatch):
    """A local sampling run fails the test: whatever samples must be the server."""
    def refuse(*args, **kwargs):
        raise AssertionError("sampled on this computer")
    monkeypatch.setattr(runs, "trace", refuse)


def run_job(qtbot, worker, job, stop_after=None):
    got = {"progress": [], "result": None, "errors": [], "ended": False}

    def progress(done, total, preview):
        got["progress"].append(preview)
        if stop_after is not None and len(got["progress"]) == stop_after:
            stop_after_control.stop()

    stop_after_control = getattr(job, "control", None)
    worker.error.connect(got["errors"].append)
    worker.job_ended.connect(lambda _label: got.__setitem__("ended", True))  # after its result, in order
    worker.submit(job, channel="sample", label="Sampling", on_result=lambda r: got.__setitem__("result", r),
                  on_error=got["errors"].append, on_progress=progress)
    qtbot.waitUntil(lambda: got["ended"], timeout=30000)
    return got


def loaded_through(qtbot, worker, path):
    """Load like the window does (a "load" job in the worker): the worker remembers the weights."""
    box = []
    worker.submit(lambda ctx: load_checkpoint(path), channel="load", on_result=box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10000)
    return box[0].model


def test_the_steps_job_runs_on_the_server_with_the_same_previews_and_result(qtbot, link, tiny_assets, nothing_local):
    worker = RemoteWorker("remote-test", link=link)
    try:
        model = loaded_through(qtbot, worker, tiny_assets / "ddpm-tiny")
        control = RunControl()
        settings = SamplerSettings("ddim", 8)
        got = run_job(qtbot, worker, trace_job(model, model.noise_schedule, settings, 5, control))
        assert not got["errors"]
        remote = got["result"]
        assert remote.complete and all(isinstance(p, StepPreview) for p in got["progress"])
        assert got["progress"][-1].index == 7
        local = run_trajectory(model, model.noise_schedule, settings, 5)
        assert_same_picture(remote.final_image(), local.final_image())
        np.testing.assert_allclose(remote.states, local.states, atol=1e-4)
    finally:
        worker.shutdown()


def test_stop_keeps_the_steps_so_far_and_ends_the_server_run(qtbot, link, tiny_assets, nothing_local):
    worker = RemoteWorker("remote-test", link=link)
    try:
        model = loaded_through(qtbot, worker, tiny_assets / "ddpm-tiny")
        control = RunControl()
        job = trace_job(model, model.noise_schedule, SamplerSettings("ddpm", 100), 1, control)
        job.control = control
        got = run_job(qtbot, worker, job, stop_after=1)
        assert not got["errors"]
        assert 0 < got["result"].count < 100 and not got["result"].complete  # kept, marked as stopped
    finally:
        worker.shutdown()


def test_the_diffusion_tab_runs_remotely_and_scrubs_the_cached_run(main_window, qtbot, link, nothing_local):
    from playground.gui.panels.diffusion import DiffusionPanel

    panel = next(p for p in main_window.panels if isinstance(p, DiffusionPanel))
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    assert isinstance(panel.worker, RemoteWorker)
    controls = panel.controls
    controls.sampler_box.setCurrentIndex(controls.sampler_box.findData("ddim"))
    controls.steps.setText("6")
    controls.seed_field.setText("3")
    panel.view.run_button.click()
    qtbot.waitUntil(lambda: panel.view.current is not None and not panel.view.sampling, timeout=30000)
    run = panel.view.current
    assert run.complete and run.num_steps == 6 and run in panel.view.runs.runs
    panel.view.scrubber.step_by(-3)  # scrubbing shows the cached steps: no model call
    assert panel.view.scrubber.value() == 2
    assert panel.view.scrubber.label.text().startswith("seed 3") and panel.view.current is run


def test_the_text_to_image_render_and_its_steps_run_remotely(main_window, qtbot, link, nothing_local, monkeypatch):
    from playground.gui.panels.text2img import Text2ImgPanel
    from playground.gui.panels.text2img import jobs as text2img_jobs

    monkeypatch.setattr(text2img_jobs, "trace", runs.trace)  # refused here: the server must sample
    panel = next(p for p in main_window.panels if isinstance(p, Text2ImgPanel))
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.result is not None, timeout=30000)
    panel.apply_settings(panel.settings().replace(steps=4))
    with qtbot.waitSignal(panel.rendered, timeout=30000):
        panel.generate()
    rendered = panel.result.trajectory
    assert rendered.complete and rendered.num_steps == 4
    tab = panel.steps_tab
    main_window.show_panel(panel)
    tab.view.run()  # the steps tab re-runs the guided denoiser of the render: on the server as well
    qtbot.waitUntil(lambda: tab.current is not rendered and not tab.sampling, timeout=30000)
    assert tab.current.complete
    assert_same_picture(tab.current.final_image(), rendered.final_image())


def test_the_latent_tabs_decoder_runs_remotely(link, main_window, qtbot, monkeypatch):
    from playground.gui.panels.latent import LatentPanel
    from playground.gui.panels.latent import panel as latent_panel

    panel = next(p for p in main_window.panels if isinstance(p, LatentPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None and not panel.worker.is_busy(), timeout=20000)
    local_decode = latent_panel.decode
    monkeypatch.setattr(latent_panel, "decode", lambda *a: pytest.fail("decoded on this computer"))
    shown = []
    monkeypatch.setattr(panel, "_show_decoded", shown.append)
    z = np.linspace(-1, 1, panel.loaded.model.config.latent_dim).astype(np.float32)
    panel._request_decode(z)
    qtbot.waitUntil(lambda: bool(shown) and not panel.worker.is_busy("decode"), timeout=20000)
    np.testing.assert_array_equal(shown[-1][0], z)
    assert_same_picture(shown[-1][1], local_decode(panel.loaded.model, z)[0])


def test_the_connect_dialog_lists_the_servers_models(qtbot, link, served, tiny_assets):
    from playground.gui.connect_dialog import ConnectDialog

    dialog = ConnectDialog(link)
    qtbot.addWidget(dialog)
    dialog.address.setText(served.address)
    dialog.connect_button.click()
    qtbot.waitUntil(lambda: dialog.table.rowCount() > 0 and dialog.connect_button.isEnabled(), timeout=10000)
    names = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    assert "ddpm-tiny" in names and "ldm-tiny" in names
    assert served.address in dialog.status.text()
    # this test's app has none of them (its assets are the real ones): "Copy here and open" fetches one
    row = names.index("ddpm-tiny")
    assert dialog.table.item(row, 3).text() == "only on the server"
    opened = []
    dialog.open_requested.connect(opened.append)
    # selected (again, should a refresh of the list have replaced its items meanwhile: CI saw that once)
    qtbot.waitUntil(lambda: dialog.table.selectRow(row) or dialog.open_button.text() == "Copy here and open",
                    timeout=10000)
    dialog.open_button.click()
    qtbot.waitUntil(lambda: bool(opened), timeout=10000)
    assert load_checkpoint(opened[0]).family == "ddpm"
    assert dialog.table.item(row, 3).text().startswith("yes")


def test_a_killed_server_is_one_message_and_the_run_falls_back_here(qtbot, link, served, tiny_assets):
    """Last in this file: it kills the module's server."""
    worker = RemoteWorker("remote-test", link=link)
    try:
        model = loaded_through(qtbot, worker, tiny_assets / "ddpm-tiny")
        served.kill()
        messages = []
        link.lost.connect(messages.append)
        got = run_job(qtbot, worker, trace_job(model, model.noise_schedule, SamplerSettings("ddim", 4), 2, RunControl()))
        assert got["result"] is not None and got["result"].complete  # sampled here instead
        assert not link.connected
        qtbot.waitUntil(lambda: bool(messages), timeout=5000)
        assert len(messages) == 1 and "\n" not in messages[0]
        assert messages[0].startswith(f"lost the model server at {served.address}") and "running on this computer" in messages[0]
        assert got["errors"] == messages  # the window's status bar shows the worker's error line
    finally:
        worker.shutdown()
