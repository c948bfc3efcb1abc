"""The Tokens panel as a user drives it: generate token by token, step, pause and stop, pick a cell's code
(a branch), reshape the distribution live, the likelihood heat map, CLIP reranking, export and Load PNG."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import QPoint, Qt

from playground.core.assets import shipped_for
from playground.core.checkpoints import load_checkpoint
from playground.core.clip.scores import clip_score
from playground.core.data import to_tensor, to_uint8
from playground.core.images import read_recipe
from playground.core.models.dalle import Dalle
from playground.core.tokens.likelihood import LN2, token_nll
from playground.core.tokens.render import render
from playground.core.tokens.sampling import TokenSettings, TokenWriter, sample_tokens
from playground.gui.widgets import partner_models as flow_models
from playground.gui.panels.tokens import TokensPanel
from playground.gui.panels.tokens.rerank_tab import ordered_scores
from playground.gui.panels.tokens.token_tab import SPEEDS

FASTEST, SLOWEST = len(SPEEDS) - 1, 0


def _panel(window, qtbot, speed: int = FASTEST) -> TokensPanel:
    panel = next(p for p in window.panels if isinstance(p, TokensPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    panel.token_tab.speed_box.setCurrentIndex(speed)  # before it is shown: showing it writes a first image
    window.show_panel(panel)
    return panel


def _finished(panel) -> bool:
    tab = panel.token_tab
    return tab.frame is not None and tab.frame.done and not tab.playing


def _paused_after_a_few_cells(panel, qtbot):
    """A run of the slowest playback, paused after its first cells."""
    tab = panel.token_tab
    qtbot.waitUntil(lambda: _finished(panel), timeout=20000)
    run = tab.frame.run
    tab.speed_box.setCurrentIndex(SLOWEST)
    tab.generate_button.click()
    qtbot.waitUntil(lambda: tab.frame.run > run and tab.frame.position >= 1, timeout=10000)
    tab.pause_button.click()
    qtbot.waitUntil(lambda: not tab.playing, timeout=5000)
    tab.speed_box.setCurrentIndex(FASTEST)
    return tab.frame


def test_generate_fills_the_grid_cell_by_cell_and_shows_the_decoded_image(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    tab = panel.token_tab
    qtbot.waitUntil(lambda: _finished(panel), timeout=20000)
    frame = tab.frame
    model = panel.loaded.model
    assert frame.position == 64 and (frame.tokens >= 0).all()
    settings, seed = panel.token_settings(), panel.seed()
    expected = sample_tokens(model, panel.prompt.text(), settings, 1, seed)[0].numpy()
    np.testing.assert_array_equal(frame.tokens, expected)  # the core's own run, same batch of rows
    with torch.inference_mode():
        decoded = to_uint8(model.decode(torch.from_numpy(frame.tokens)[None]))[0]
    np.testing.assert_array_equal(tab.canvas.image, decoded)
    assert tab.canvas.image.shape == (32, 32, 3) and tab.canvas.width() >= 380
    assert "64 of 64 cells written" in tab.grid_title.text() and "done" in tab.grid_title.text()
    assert "entropy" in tab.entropy_label.text() and tab.bars.shown_codes


def test_step_one_token_writes_exactly_one_cell(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    tab = panel.token_tab
    before = _paused_after_a_few_cells(panel, qtbot)
    p = before.position
    assert 0 < p < 64 and (before.tokens[p:] == -1).all()
    for n in (1, 2):
        with qtbot.waitSignal(tab.run_ended, timeout=10000):
            tab.step_button.click()
        frame = tab.frame
        assert frame.position == p + n
        np.testing.assert_array_equal(frame.tokens[:p], before.tokens[:p])
        assert (frame.tokens[:p + n] >= 0).all() and (frame.tokens[p + n:] == -1).all()
        assert not tab.playing and tab.canvas.next_cell == p + n


def test_clicking_a_cell_and_picking_a_code_branches_and_keeps_the_prefix(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    tab = panel.token_tab
    qtbot.waitUntil(lambda: _finished(panel), timeout=20000)
    before = tab.frame.tokens.copy()
    cell = 10
    qtbot.mouseClick(tab.canvas, Qt.MouseButton.LeftButton, pos=tab.canvas.widget_pos_of_cell(cell).toPoint())
    assert tab.picked == cell and tab.canvas.picked == cell
    assert f"cell {cell}" in tab.cell_title.text() and f"cell {cell}" in tab.picker_title.text()
    assert tab.bars.chosen == before[cell]
    code = next(c for c in tab.bars.shown_codes if c != before[cell])
    x, y = tab.bars.row_centre(tab.bars.row_of_code(code))
    qtbot.mouseClick(tab.bars, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    qtbot.waitUntil(lambda: _finished(panel) and tab.frame.branches == ((cell, code),), timeout=20000)
    after = tab.frame.tokens
    np.testing.assert_array_equal(after[:cell], before[:cell])
    assert after[cell] == code and (after >= 0).all()
    # the model went on from there as the core's branch does (same prompt, settings and seed)
    model, settings = panel.loaded.model, panel.token_settings()
    writer = TokenWriter(model, panel.prompt.text(), settings, seed=panel.seed(), live_guidance=True,
                         prefix=torch.from_numpy(np.append(before[:cell], code))[None])
    np.testing.assert_array_equal(after, writer.run()[0].numpy())


def test_temperature_reshapes_the_shown_distribution_without_a_model_call(main_window, qtbot, monkeypatch):
    panel = _panel(main_window, qtbot)
    tab = panel.token_tab
    frame = _paused_after_a_few_cells(panel, qtbot)
    before_p, before_text = tab.bars.probabilities.copy(), tab.entropy_label.text()
    calls = []
    for name in ("forward", "start", "step", "decode"):
        original = getattr(Dalle, name)
        monkeypatch.setattr(Dalle, name, lambda self, *a, _o=original, _n=name, **k: (calls.append(_n), _o(self, *a, **k))[1])
    panel.controls.temperature.set_value(0.3, emit=True)
    panel.controls.top_k.setValue(3)
    qtbot.wait(300)
    assert calls == [], "moving a slider must not run the model"
    shown = tab.bars.probabilities
    assert not np.allclose(shown, before_p) and tab.entropy_label.text() != before_text
    assert (shown > 0).sum() == 3, "top-k 3 keeps three codes"
    monkeypatch.undo()
    settings = TokenSettings(temperature=0.3, top_k=3, top_p=panel.token_settings().top_p,
                             guidance=panel.token_settings().guidance)
    writer = TokenWriter(panel.loaded.model, frame.prompt, settings, seed=frame.seed, live_guidance=True,
                         prefix=torch.from_numpy(frame.tokens[:frame.position])[None])
    np.testing.assert_allclose(shown, writer.distribution()[0].numpy(), atol=1e-4)


def test_stop_halts_the_writing_within_a_token(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    tab = panel.token_tab
    qtbot.waitUntil(lambda: _finished(panel), timeout=20000)
    tab.speed_box.setCurrentIndex(SLOWEST)
    run = tab.frame.run
    tab.generate_button.click()
    qtbot.waitUntil(lambda: tab.frame.run > run and tab.frame.position >= 1, timeout=10000)
    assert tab.stop_button.isEnabled()
    tab.stop_button.click()
    qtbot.waitUntil(lambda: not tab.playing, timeout=2000)
    stopped = tab.frame.position
    qtbot.wait(1200)  # at 2 tokens/s, two more cells had it not stopped
    assert tab.frame.position == stopped < 64 and not panel.worker.is_busy("tokens")
    assert "stopped" in tab.grid_title.text() and tab.pause_button.text() == "Continue"


def test_likelihood_of_a_data_set_image_shows_a_heat_map_and_bits(main_window, qtbot):
    panel = _panel(main_window, qtbot)
    view = panel.likelihood_tab
    panel.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.result is not None, timeout=20000)
    result = view.result
    assert view.heatmap.values.shape == (8, 8) and np.isfinite(result.bits).all() and (result.bits > 0).all()
    image = view.gallery.image(0)
    np.testing.assert_array_equal(view.image_canvas.image, image)
    nll = token_nll(panel.loaded.model, to_tensor(image[None]), panel.prompt.text())
    np.testing.assert_allclose(result.bits, nll[0].numpy() / LN2, rtol=1e-4)
    assert abs(result.bits_per_token - result.bits.mean()) < 1e-4
    assert abs(result.bits_per_dim - result.bits.sum() / 3072) < 1e-6
    assert view.numbers.text("bpt") != "–" and view.numbers.text("bpd") != "–"
    assert view.recon_canvas.image is not None and view.recon_canvas.image.shape == (32, 32, 3)


def test_rerank_orders_the_candidates_by_clip_score(main_window, qtbot, monkeypatch):
    panel = _panel(main_window, qtbot)
    view = panel.rerank_tab
    panel.tabs.setCurrentWidget(view)
    view.count.setValue(4)
    with qtbot.waitSignal(view.ranked, timeout=30000):
        view.run_button.click()
    result = view.result
    scores = ordered_scores(result)
    assert len(scores) == 4 and scores == sorted(scores, reverse=True)
    clip = load_checkpoint(shipped_for("clip").path, torch.device("cpu")).model
    expected = clip_score(clip, to_tensor(result.images), result.prompt).numpy()
    np.testing.assert_allclose(result.scores, expected, atol=0.02)  # decoded images vs their uint8 copies
    assert view.grid.count() == 4 and view.grid.item(0).text().startswith("#1")
    assert "clip" in view.message.text()
    # without a clip checkpoint: one line says so, the candidates are shown unranked
    monkeypatch.setattr(flow_models, "shipped_for", lambda family: None)
    view.count.setValue(2)
    with qtbot.waitSignal(view.ranked, timeout=30000):
        view.run_button.click()
    assert view.result.scores is None and list(view.result.order) == [0, 1]
    assert view.message.text().startswith("No clip checkpoint") and view.grid.item(0).text() == f"seed {panel.seed()}"


def test_export_carries_the_tokens_and_load_png_shows_them_again(main_window, qtbot, tmp_path):
    panel = _panel(main_window, qtbot)
    tab = panel.token_tab
    qtbot.waitUntil(lambda: _finished(panel), timeout=20000)
    tokens = tab.frame.tokens.copy()
    path = panel.export_png(tmp_path / "dalle.png")
    recipe = read_recipe(path)
    assert recipe["family"] == "dalle" and recipe["picture"] == "sample" and recipe["prompt"] == panel.prompt.text()
    assert np.array_equal(np.asarray(recipe["tokens"]).reshape(-1), tokens)
    np.testing.assert_array_equal(render(recipe, panel.loaded)[::8, ::8], tab.frame.image)
    panel.prompt.set_text("a small blue square")
    panel.controls.seed.set_value(7)
    run = tab.frame.run
    tab.generate_button.click()
    qtbot.waitUntil(lambda: _finished(panel) and tab.frame.run > run, timeout=20000)
    assert panel.load_png(path)
    qtbot.waitUntil(lambda: tab.frame.run > run + 1 and _finished(panel), timeout=20000)
    np.testing.assert_array_equal(tab.frame.tokens, tokens)
    assert panel.prompt.text() == recipe["prompt"] and panel.seed() == recipe["seed"]
