"""The VQGAN views as a user drives them: VQGAN-CLIP in the CLIP panel (Run, the image and score curve
live, Stop within a step) and VQGAN vs VQ-VAE in the VQ-VAE panel (which now opens a vqgan too)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground.core.checkpoints import save_checkpoint
from playground.core.models.attribute_classifier import AttributeClassifier, AttributeClassifierConfig
from playground.gui.panels.codebook import VQVAEPanel
from playground.gui.panels.codebook import compare_view


def _clip_panel(window, qtbot):
    from playground.gui.panels.clip import ClipPanel
    from playground.gui.panels.clip.vqgan_clip_tab import VQGANCLIPTab

    panel = next(p for p in window.panels if isinstance(p, ClipPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    window.show_panel(panel)
    tab = panel.view(VQGANCLIPTab)
    panel.tabs.setCurrentWidget(tab)
    return panel, tab


def test_vqgan_clip_runs_live_and_ends_with_its_score_curve(main_window, qtbot):
    panel, tab = _clip_panel(main_window, qtbot)
    assert "vqgan-tiny" in tab.vq_box.currentText()  # a vqgan first; the tiny vqvae is offered too
    assert any("vqvae-tiny" in tab.vq_box.itemText(i) for i in range(tab.vq_box.count()))
    tab.steps_box.setValue(6)
    tab.lr_box.setValue(0.3)
    shown = []
    tab.frame_shown.connect(shown.append)
    with qtbot.waitSignal(tab.finished, timeout=60000) as ended:
        tab.run_button.click()
        assert tab.running and tab.stop_button.isEnabled() and not tab.run_button.isEnabled()
    assert ended.args == ["done"]
    assert shown and shown[-1] == 6 and shown == sorted(shown)  # frames in order, the last one shown
    assert not tab.running and tab.run_button.isEnabled() and not tab.stop_button.isEnabled()
    xs, ys = tab.curve.getData()
    assert list(xs) == list(range(7)) and np.isfinite(ys).all()
    assert tab.canvas.image is not None and tab.canvas.image.shape == (256, 256, 3)
    assert "done: step 6" in tab.canvas.caption.text()
    assert tab.frame.tokens.shape == (8, 8) and tab.frame.tokens.max() < 16


def test_vqgan_clip_stop_ends_the_run_within_a_step(main_window, qtbot):
    panel, tab = _clip_panel(main_window, qtbot)
    tab.steps_box.setValue(2000)
    with qtbot.waitSignal(tab.frame_shown, timeout=60000, check_params_cb=lambda step: step >= 2):
        tab.run_button.click()
    with qtbot.waitSignal(tab.finished, timeout=5000) as ended:
        tab.stop_button.click()
    assert ended.args == ["stopped"]
    qtbot.waitUntil(lambda: not panel.worker.is_busy("vqgan-clip"), timeout=5000)  # the step under way, at most
    step = tab.frame.step
    assert "stopped at step" in tab.canvas.caption.text() and step < 2000
    qtbot.wait(300)
    assert tab.frame.step == step  # nothing arrives after Stop


def test_vqgan_clip_refuses_a_bad_prompt_in_one_line(main_window, qtbot):
    panel, tab = _clip_panel(main_window, qtbot)
    messages = []
    panel.status_message.connect(messages.append)
    tab.prompt.set_text("a purple blob")
    assert not tab.run_button.isEnabled()
    tab.run()
    assert not tab.running and messages and "blob" in messages[-1]


@pytest.fixture
def tiny_classifier(tmp_path, monkeypatch):
    """The comparison needs the attribute classifier; the tiny assets ship none: an untrained tiny one."""
    torch.manual_seed(0)
    config = AttributeClassifierConfig(channels=(4, 8, 8))
    path = tmp_path / "classifier-tiny" / "model.safetensors"
    save_checkpoint(path, AttributeClassifier(config), config, "classifier", data="shapes", steps=0)
    monkeypatch.setattr(compare_view, "classifier_checkpoint", lambda: path)
    return path


def _codebook_panel(window, qtbot) -> VQVAEPanel:
    panel = next(p for p in window.panels if isinstance(p, VQVAEPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    window.show_panel(panel)
    return panel


def test_the_vqvae_panel_opens_a_vqgan_with_its_codebook(main_window, qtbot, tiny_assets):
    panel = _codebook_panel(main_window, qtbot)
    assert panel.loaded.family == "vqvae"
    assert main_window.panel_for_family("vqgan") is panel
    main_window.open_checkpoint(tiny_assets / "vqgan-tiny" / "model.safetensors")
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.loaded.family == "vqgan", timeout=10000)
    qtbot.waitUntil(lambda: panel.editor is not None and panel.codebook is not None, timeout=20000)
    assert panel.editor.grid.shape == (8, 8) and len(panel.codebook.fill_tiles) == 16


def test_compare_view_shows_each_model_with_its_numbers(main_window, qtbot, tiny_classifier, monkeypatch):
    panel = _codebook_panel(main_window, qtbot)
    panel.compare_view.n_box.setValue(12)
    with qtbot.waitSignal(panel.compare_view.compared, timeout=60000):
        panel.tabs.setCurrentWidget(panel.compare_view)  # computed when shown
    table = panel.compare_view.table
    names = [r.name for r in table.rows]
    assert sorted(names) == ["vqgan-tiny", "vqvae-tiny"] and len(table.originals) == 12
    labels = [label.text() for label, _ in panel.compare_view.rows if label.isVisible()]
    assert "Originals" in labels[0] and len(labels) == 3
    for row, text in zip(table.rows, labels[1:]):
        assert row.name in text and f"MSE {row.mse:.5f}" in text and f"sharpness {row.sharpness_ratio:.2f}" in text
        assert "attributes kept" in text
    strip = panel.compare_view.rows[1][1].image
    assert strip.shape[1] > 5 * strip.shape[0]  # a row of images


def test_compare_view_on_a_users_file(main_window, qtbot, tiny_classifier, tmp_path):
    from playground.core.data import load_dataset
    from playground.core.images import save_png

    path = save_png(tmp_path / "mine.png", load_dataset("shapes", n=1, seed=9).images[0])
    panel = _codebook_panel(main_window, qtbot)
    panel.tabs.setCurrentWidget(panel.compare_view)
    with qtbot.waitSignal(panel.compare_view.compared, timeout=60000):
        panel.compare_view.compare(str(path))
    table = panel.compare_view.table
    assert len(table.originals) == 1 and "reading of the originals" in table.reference
    assert "your image" in panel.compare_view.rows[0][0].text()
