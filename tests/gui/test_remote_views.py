"""The panels' views over a real `playground serve` on 127.0.0.1 (the window connected): the Diffusion
panel's Forward tab and DDPM-vs-DDIM comparison, the Text-to-image grid and CFG decomposition run on the
server (their local computation is patched to fail) and show what a local run shows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground.core.diffusion.forward import forward_view
from playground.core.diffusion.trajectory import run_trajectory
from playground.core.text2img.render import guidance_grid_picture
from playground.core.text2img.sampling import decompose, grid_steps, pixels
from tolerance import assert_same_picture

pytest.importorskip("litserve")


def refuse(*args, **kwargs):
    raise AssertionError("computed on this computer")


def shown(main_window, qtbot, kind):
    panel = next(p for p in main_window.panels if type(p).__name__ == kind)
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None and not panel.worker.is_busy(), timeout=30000)
    return panel


def test_the_forward_tab_asks_the_server(link, main_window, qtbot, monkeypatch):
    from playground.gui.panels.diffusion import forward_tab

    panel = shown(main_window, qtbot, "DiffusionPanel")
    tab = panel.forward_tab
    panel.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.gallery.count() > 0 and tab.view is not None, timeout=10000)
    monkeypatch.setattr(forward_tab, "forward_view", refuse)
    tab.gallery.setCurrentRow(2)
    tab.t_slider.setValue(60)
    qtbot.waitUntil(lambda: tab.view.t == 60 and not panel.worker.is_busy("forward"), timeout=10000)
    model, image = panel.loaded.model, tab.gallery.data.images[2]
    expected = forward_view(model, model.noise_schedule, image, 60, 0)
    np.testing.assert_array_equal(tab.canvases["x0"].image, image)
    assert_same_picture(tab.canvases["pred_x0"].image, expected.pred_x0)
    assert tab.numbers.text("t") == "60"


def test_ddpm_vs_ddim_runs_both_on_the_server(link, main_window, qtbot, monkeypatch):
    from playground.gui.panels.diffusion import compare_tab

    panel = shown(main_window, qtbot, "DiffusionPanel")
    monkeypatch.setattr(compare_tab, "trace", refuse)
    controls = panel.controls
    controls.sampler_box.setCurrentIndex(controls.sampler_box.findData("ddim"))
    controls.steps.setText("5")
    controls.seed_field.setText("7")
    tab = panel.compare_tab
    panel.tabs.setCurrentWidget(tab)
    tab.comparison = None
    tab.compare_button.click()
    qtbot.waitUntil(lambda: tab.comparison is not None and tab.compare_button.isEnabled(), timeout=60000)
    model = panel.loaded.model
    for run in (tab.comparison.ddpm, tab.comparison.ddim):
        assert run.complete and run.seed == 7
        local = run_trajectory(model, model.noise_schedule, run.settings, 7)
        assert run.recipe() == local.recipe()
        assert_same_picture(run.final_image(), local.final_image())
    assert tab.comparison.ddim.num_steps == 5


def test_the_guidance_grid_and_decomposition_run_on_the_server(link, main_window, qtbot, monkeypatch):
    from playground.gui.panels.text2img import jobs as text2img_jobs

    panel = shown(main_window, qtbot, "Text2ImgPanel")
    panel.apply_settings(panel.settings().replace(steps=4))
    with qtbot.waitSignal(panel.rendered, timeout=30000):
        panel.generate()
    monkeypatch.setattr(text2img_jobs, "grid_steps", refuse)
    monkeypatch.setattr(text2img_jobs, "decompose", refuse)
    panel.grid_tab.scales_edit.setText("1, 4")
    panel.grid_tab.seeds_box.setValue(2)
    with qtbot.waitSignal(panel.grid_rendered, timeout=30000):
        panel.run_grid()
    grid, model = panel.grid_tab.grid, panel.loaded.model
    assert grid.final and grid.scales == (1.0, 4.0)
    base, classifier = panel.models.networks(model, grid.settings, grid=True)
    record = None
    for record in grid_steps(base, grid.settings, grid.scales, grid.seeds, classifier):
        pass
    assert_same_picture(grid.picture, guidance_grid_picture(pixels(model, record.x_prev), grid.scales, grid.seeds,
                                                            grid.axis))
    panel.decomposition = None
    with qtbot.waitSignal(panel.decomposed, timeout=30000):
        panel.request_decomposition()
    parts, result = panel.decomposition, panel.result
    index = parts.index
    local = decompose(model, result.settings, torch.from_numpy(result.trajectory.states[index].copy()),
                      int(result.trajectory.t[index]), index)
    for name in ("uncond", "difference", "guided"):
        assert_same_picture(getattr(parts, name), getattr(local, name))


def test_the_flow_comparison_runs_every_sampler_on_the_server(link, main_window, qtbot, monkeypatch):
    from playground.core.latent_diffusion.comparison import compare
    from playground.gui.panels.flow import flow_view

    panel = next(p for p in main_window.panels if type(p).__name__ == "FlowPanel")
    main_window.show_panel(panel)
    view = panel.flow_view
    qtbot.waitUntil(lambda: panel.loaded is not None and bool(view.paths) and not panel.worker.is_busy("flow"),
                    timeout=30000)
    monkeypatch.setattr(flow_view, "compare", refuse)
    view.seed_field.setText("11")
    view.request()
    qtbot.waitUntil(lambda: view.shown_key is not None and view.shown_key[0] == 11, timeout=30000)
    assert [p.sampler for p in view.paths] == ["ddpm", "ddim", "euler", "heun"]
    assert all(np.array_equal(p.latents[0], view.noise) for p in view.paths)  # the same x_T, drawn here
    models = {f: m.model for f, m in view.models.items()}
    for local in compare(models, view.shown_key[1], 11, samplers=["ddim", "heun"]):
        remote = next(p for p in view.paths if p.sampler == local.sampler)
        np.testing.assert_allclose(remote.latents, local.latents, atol=1e-4)
        assert_same_picture(view.samples[local.sampler].image, local.image)


def test_a_compare_row_falls_back_here_when_the_server_cannot_judge(link, main_window, qtbot, monkeypatch):
    """The server here has no shipped attribute classifier to judge samples with: the row is measured on this
    computer (tests/core/test_serving_views.py checks the server's scores against a local measurement)."""
    from playground.gui.panels.compare import ComparePanel
    from playground.gui.panels.compare import panel as compare_panel

    panel = next(p for p in main_window.panels if isinstance(p, ComparePanel))
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: bool(panel.rows) and not panel.worker.is_busy(), timeout=30000)
    monkeypatch.setattr(compare_panel, "score_checkpoint", refuse)  # here: the fallback's run
    messages = []
    panel.status_message.connect(messages.append)
    key = next(k for k, r in panel.rows.items() if r.name == "vae-tiny")
    panel.pending.append(key)
    panel._queue(panel.rows[key], 4, 0, force=True)
    qtbot.waitUntil(lambda: panel.rows[key].state == "failed", timeout=30000)
    assert any("computed on this computer" in m for m in messages), messages


def test_the_attention_tab_samples_and_reads_maps_on_the_server(link, main_window, qtbot, monkeypatch, tiny_assets):
    from playground.core.latent_diffusion.attention import run_maps, sample_run
    from playground.core.text2img.sampling import to_images
    from playground.gui.panels.text2img import attention_tab

    panel = shown(main_window, qtbot, "Text2ImgPanel")
    main_window.load_into(panel, tiny_assets / "ldm-tiny" / "model.safetensors", interactive=True)
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.loaded.family == "ldm", timeout=20000)
    panel.prompt.set_text("a large red circle at the top left")
    panel.apply_settings(panel.settings().replace(steps=4, seed=7))
    monkeypatch.setattr(attention_tab, "sample_run", refuse)
    monkeypatch.setattr(attention_tab, "run_maps", refuse)
    tab = panel.attention_tab
    with qtbot.waitSignal(tab.computed, timeout=30000):
        panel.tabs.setCurrentWidget(tab)
    run, model = tab.run, panel.loaded.model
    local = sample_run(model, run.settings)
    assert run.num_steps == 4 and run.words == local.words and run.timesteps == local.timesteps
    assert_same_picture(run.final, local.final)
    with qtbot.waitSignal(tab.computed, timeout=20000):
        tab.step_slider.setValue(0)
    expected = run_maps(model, run, 0, "cross")
    assert tab.maps.t == run.timesteps[0] and len(tab.maps.layers) == len(expected.layers)
    for shown_layer, core in zip(tab.maps.layers, expected.layers):
        np.testing.assert_allclose(shown_layer.weights, core.weights, atol=1e-5)
    assert_same_picture(tab.step_image, to_images(model, run.pred_x0[0])[0])


def test_the_autoencoder_view_encodes_and_decodes_on_the_server(link, main_window, qtbot, monkeypatch):
    from playground.core.latent_diffusion.first_stage import first_stage_of, reconstruct
    from playground.gui.panels.flow import autoencoder_view

    panel = next(p for p in main_window.panels if type(p).__name__ == "FlowPanel")
    main_window.show_panel(panel)
    view = panel.autoencoder_view
    panel.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.latent is not None and not panel.worker.is_busy(), timeout=30000)
    monkeypatch.setattr(autoencoder_view, "reconstruct", refuse)
    image = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    view.encode(image, "noise")
    qtbot.waitUntil(lambda: view.original is image and not panel.worker.is_busy("ae-encode"), timeout=20000)
    ae = first_stage_of(panel.loaded.model)
    local = reconstruct(ae, image)
    np.testing.assert_allclose(view.encoded, local.latent, atol=1e-4)
    assert_same_picture(view.recon_canvas.image, local.image)
    view.latent[0, 1, 1] = 3.0
    view._decode()
    qtbot.waitUntil(lambda: "edited" in view.recon_canvas.caption.text(), timeout=20000)
    assert_same_picture(view.recon_canvas.image, reconstruct(ae, image, view.latent).image)
